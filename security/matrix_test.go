package security_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/security"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

func up(t *testing.T, defects ...string) *stack.Stack {
	t.Helper()
	bin := stacktest.TargetBin(t, "the security matrix")
	return stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: stack.CacheLocmem,
		Defects: defects, TargetBin: bin, Seed: stack.Seed{Users: 3, Projects: 1}})
}

func run(t *testing.T, s *stack.Stack, only ...string) map[string]security.Result {
	t.Helper()
	return runWith(t, s, security.Config{Only: only})
}

func runWith(t *testing.T, s *stack.Stack, cfg security.Config) map[string]security.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	cfg.Writes, cfg.Progress = true, &log
	rep, err := security.Run(ctx, s, cfg)
	require.NoError(t, err)
	t.Log(log.String())
	out := map[string]security.Result{}
	for _, c := range rep.Checks {
		out[c.Name] = c
	}
	return out
}

// The proof matrix: every check passes on the correct target and fails on
// the defect that breaks it.
func TestMatrix(t *testing.T) {
	t.Run("correct", func(t *testing.T) {
		got := run(t, up(t))
		require.Len(t, got, len(security.Names))
		for _, n := range security.Names {
			require.Equal(t, check.Pass, got[n].Status, "%s: %s %v %v", n, got[n].Reason, got[n].Findings, got[n].Evidence)
		}
		// The target, like the real app, stores JSON sent as text/plain:
		// an advisory, not a finding, without a declared JSON-only policy.
		adv := strings.Join(got[security.HostileBody].Advisories, "\n")
		require.Contains(t, adv, "detail-ahsp.save, JSON as text/plain: status 200 and stored")
		require.Contains(t, adv, "harga-items.save, JSON as text/plain: status 200 and stored")
		require.Contains(t, got[security.HostileBody].Reason, "advisory: ")
	})
	// Declared JSON only: the same stored text/plain writes are findings.
	t.Run("json-only policy", func(t *testing.T) {
		got := runWith(t, up(t), security.Config{Only: []string{security.HostileBody}, JSONOnly: true})[security.HostileBody]
		require.Equal(t, check.Fail, got.Status, got.Reason)
		require.Contains(t, strings.Join(got.Findings, "\n"), "harga-items.save, JSON as text/plain: status 200 and stored")
		require.Empty(t, got.Advisories)
	})
	for _, row := range []struct {
		defect, check, finding string
	}{
		{"no-csp", security.Headers, "no Content-Security-Policy"},
		{"session-cookie-js", security.Cookies, "no HttpOnly"},
		{"cors-reflect", security.CORS, "allowed with credentials"},
		{"csrf-exempt-op", security.CSRF, "harga-items.save with no token"},
		{"idor-op", security.ObjectWrite, "volume-pekerjaan.save"},
		{"leaky-errors", security.HostileQuery, "leaks internals"},
		{"idor-read-op", security.ObjectRead, "GET rekap of"},
		{"leaky-body-errors", security.HostileBody, "volume-pekerjaan.save, non-object row: status 500"},
		{"csrf-exempt-login", security.CSRF, "login form with no token: status 302"},
	} {
		t.Run(row.defect, func(t *testing.T) {
			got := run(t, up(t, row.defect), row.check)[row.check]
			require.Equal(t, check.Fail, got.Status, "%s on %s: %s", row.check, row.defect, got.Reason)
			require.Contains(t, strings.Join(got.Findings, "\n"), row.finding)
		})
	}
}
