package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// needChromium skips loudly without a browser, and fails under CI=true.
func needChromium(t *testing.T) {
	t.Helper()
	_, err := ChromiumPath("")
	stacktest.Need(t, "Chromium", err)
}

// upTarget brings the reference target up in local mode (the browser reaches
// it only over HTTP).
func upTarget(t *testing.T, defects ...string) *stack.Stack {
	t.Helper()
	return stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 1, Cache: stack.CacheLocmem,
		Defects: defects, Seed: stack.Seed{Users: 2, Projects: 2}})
}

func suiteConfig(t *testing.T, s *stack.Stack) Config {
	t.Helper()
	creds := s.Credentials()
	require.NotEmpty(t, creds)
	return Config{BaseURL: s.BaseURL(), User: creds[0], ScreenshotDir: t.TempDir(), CI: testenv.InCI()}
}

func logReport(t *testing.T, rep Report) {
	t.Helper()
	for _, r := range rep.Results {
		t.Logf("%-28s %-4s %6.0f ms  %s", r.Name, r.Status, r.DurationMS, r.Reason)
		if r.Status == check.Fail {
			for _, e := range r.Evidence {
				t.Logf("    evidence: %s", e)
			}
			for _, c := range r.Console {
				t.Logf("    console: %s %s %s", c.Kind, c.Level, c.Text)
			}
		}
	}
	t.Logf("suite %s: %d checks in %.1f s (%s)", rep.Status, len(rep.Results), rep.DurationMS/1000, rep.Browser)
}

// TestSuitePassesOnReferenceTarget: every check passes on the correct target.
func TestSuitePassesOnReferenceTarget(t *testing.T) {
	needChromium(t)
	s := upTarget(t)
	rep, err := Run(context.Background(), suiteConfig(t, s), All())
	require.NoError(t, err)
	logReport(t, rep)
	require.Empty(t, rep.Reason)
	starts := map[string]string{}
	for _, c := range All() {
		starts[c.Name] = c.Start
	}
	for _, r := range rep.Results {
		require.Equal(t, check.Pass, r.Status, "%s: %s", r.Name, r.Reason)
		if starts[r.Name] != "" { // checks of discovery results have no page of their own
			require.NotEmpty(t, r.Screenshots, "%s has no key-moment screenshot", r.Name)
		}
	}
	require.Equal(t, check.Pass, rep.Status)
	require.Len(t, rep.Results, len(All()))
}

// TestDefectMatrix: with each UI defect switched on, exactly the check that
// targets it fails, with a reason naming the problem; the rest pass.
func TestDefectMatrix(t *testing.T) {
	needChromium(t)
	// The component checks; page flows do not depend on these defects.
	const components = `^(toast|toast-wrapper|loading)\.`
	for _, tc := range []struct {
		defect string
		only   string
		fails  map[string]string // check -> words its reason must contain
	}{
		{"unescaped-ui", components, map[string]string{"toast.xss": "parsed as HTML", "loading.xss": "parsed as HTML"}},
		{"loader-race", components, map[string]string{"loading.race": "hide timer"}},
		{"toast-legacy-ignored", components, map[string]string{"toast.legacy": "legacy signature ignored"}},
		{"toast-legacy-raw", components, map[string]string{"toast.legacy": "lacks dp-toast-error"}},
		{"unused-ui-scripts", `^(pages\.ui-scripts|toast-wrapper\.|loading\.)`, map[string]string{"pages.ui-scripts": "served (200) but not loaded by any page"}},
		{"unescaped-stored", `^pages\.stored-text$`, map[string]string{"pages.stored-text": "volume-pekerjaan parsed pekerjaan uraian into element(s)"}},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			s := upTarget(t, tc.defect)
			cfg := suiteConfig(t, s)
			cfg.Only = tc.only
			// Which check catches which defect is under test here; timing
			// precision is TestSuitePassesOnReferenceTarget's (300 ms) and
			// TestAutoDismissCatchesWrongTimings', so a loaded machine's late
			// timers must not fail an unrelated row.
			cfg.Tolerance = time.Second
			rep, err := Run(context.Background(), cfg, All())
			require.NoError(t, err)
			logReport(t, rep)
			require.Equal(t, check.Fail, rep.Status)
			for _, r := range rep.Results {
				words, want := tc.fails[r.Name]
				if !want {
					require.Equal(t, check.Pass, r.Status, "%s should pass with only %s on: %s", r.Name, tc.defect, r.Reason)
					continue
				}
				require.Equal(t, check.Fail, r.Status, "%s must catch %s", r.Name, tc.defect)
				require.Contains(t, r.Reason, words)
				require.True(t, hasShot(r, "failure"), "%s: no failure screenshot", r.Name)
			}
			var catches []string
			for _, c := range All() {
				if slices.Contains(strings.Split(c.Catches, ","), tc.defect) {
					catches = append(catches, c.Name)
				}
			}
			require.Len(t, catches, len(tc.fails), "Check.Catches disagrees with the matrix: %s", strings.Join(catches, ", "))
		})
	}
}

func hasShot(r Result, name string) bool {
	for _, s := range r.Screenshots {
		if s.Name == name && len(s.PNG) > 0 && s.Path != "" {
			return true
		}
	}
	return false
}

// TestAsDeployedFindings: on the as-deployed profile the suite reports exactly
// the deployed app's findings (the unused scripts, the legacy 'danger'
// class); the unused components are tested on the harness-owned page and
// pass; a check bounced by per-worker sessions is inconclusive, never failed.
func TestAsDeployedFindings(t *testing.T) {
	needChromium(t)
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Profile: "as-deployed", Seed: stack.Seed{Users: 2, Projects: 2}})
	cfg := suiteConfig(t, s)
	// Timing is proven on the correct target; here the outcomes are under
	// test, on a machine that may be far busier than a user's.
	cfg.Tolerance = time.Second
	rep, err := Run(context.Background(), cfg, All())
	require.NoError(t, err)
	logReport(t, rep)
	t.Logf("suite reason: %s", rep.Reason)
	findings := map[string]string{
		"pages.ui-scripts": "served (200) but not loaded by any page",
		"toast.legacy":     "lacks dp-toast-error",
	}
	for _, r := range rep.Results {
		if words, ok := findings[r.Name]; ok {
			require.Equal(t, check.Fail, r.Status, "%s: %s", r.Name, r.Reason)
			require.Contains(t, r.Reason, words)
			continue
		}
		switch r.Status {
		case check.Pass:
		case check.Inconclusive:
			if r.Name == "flow.list-pekerjaan-save" && strings.Contains(r.Reason, "served from a cache") {
				break // the deployed tree cache (quirk 16) may hide a klasifikasi-only save
			}
			require.Contains(t, r.Reason, "login page", "%s: only a session bounce or the tree cache may leave a check inconclusive", r.Name)
		case check.Error:
			// A loaded machine's browser may not open a tab in time: an
			// error (nothing measured), never a verdict.
			require.True(t, strings.HasPrefix(r.Reason, "open tab"), "%s: %s", r.Name, r.Reason)
		default:
			require.Failf(t, "unexpected outcome", "%s: %s %s", r.Name, r.Status, r.Reason)
		}
		if strings.HasPrefix(r.Name, "toast-wrapper.methods") || strings.HasPrefix(r.Name, "loading.") {
			if r.Status == check.Pass {
				require.Contains(t, strings.Join(r.Evidence, "\n"), "harness-owned page", r.Name)
			}
		}
	}
}

// TestFlowsInconclusiveOnOtherDOM: a deployment whose DOM differs from the
// configured selectors (here: the settings point at elements the pages do
// not have) leaves the flows inconclusive, naming the selector, the page
// and the setting to change; nothing fails.
func TestFlowsInconclusiveOnOtherDOM(t *testing.T) {
	needChromium(t)
	s := upTarget(t)
	cfg := suiteConfig(t, s)
	cfg.Pages = Pages{
		Selectors: map[string]string{"volume_save": "#harness-no-such-save", "tree_save": "#harness-no-such-tree-save"},
		Roots:     map[string]string{pageTemplate: "#harness-no-such-app"},
	}
	var flows []Check
	want := map[string][2]string{
		"flow.volume-save":         {"selector #harness-no-such-save not found on page volume-pekerjaan", "set e2e.pages.selectors.volume_save"},
		"flow.list-pekerjaan-save": {"selector #harness-no-such-tree-save not found on page list-pekerjaan", "set e2e.pages.selectors.tree_save"},
		"flow.detail-ahsp-save":    {"selector #harness-no-such-app not found on page template-ahsp", "set e2e.pages.roots.template-ahsp"},
	}
	for _, c := range FlowChecks() {
		if _, ok := want[c.Name]; ok {
			flows = append(flows, c)
		}
	}
	require.Len(t, flows, len(want))
	rep, err := Run(context.Background(), cfg, flows)
	require.NoError(t, err)
	logReport(t, rep)
	require.Len(t, rep.Results, len(want))
	for _, r := range rep.Results {
		require.Equal(t, check.Inconclusive, r.Status, "%s: %s", r.Name, r.Reason)
		require.Contains(t, r.Reason, want[r.Name][0], r.Name)
		require.Contains(t, r.Reason, want[r.Name][1], r.Name)
	}
}
