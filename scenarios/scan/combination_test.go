package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/stack"
)

// TestCombinationAsDeployed is the combination proof: on the profiles of
// the app as deployed, the whole scan's findings are exactly the known ones
// (issue 12), each named by the probe that owns it, and nothing else fails.
func TestCombinationAsDeployed(t *testing.T) {
	bin := needTarget(t)
	tests := []struct {
		profile  string
		findings map[string]string // probe -> what its reason must say
		causes   map[string]string // probe -> the one root cause its FAIL names
	}{
		{"as-deployed", map[string]string{
			scan.Coverage:    "12 of 13 operations have no limit although one is declared",
			scan.MultiWorker: "each counts in its own memory",
			scan.Race:        "non-atomic read-modify-write",
			scan.Window:      "TTL refresh",
			scan.Headers:     "no Retry-After header",
			scan.Sessions:    "redirected to the login page",
		}, map[string]string{
			// Both defects are on: each FAIL names the one its own burst shows
			// (one request at a time cannot race; concurrency over processes
			// went further than one at a time).
			scan.MultiWorker: scan.CausePerProcess,
			scan.Race:        scan.CauseNonAtomic,
		}},
		{"as-deployed-redis", map[string]string{
			scan.Coverage: "12 of 13 operations have no limit although one is declared",
			scan.Race:     "non-atomic read-modify-write",
			scan.Window:   "TTL refresh",
			scan.Headers:  "no Retry-After header",
			// With Redis stopped the limiter's 500 refuses (fail-closed
			// honoured), and the rekap CSV answers 200 with its amounts
			// blank (REAL-APP.md section 6): wrong data, the one finding.
			scan.CacheDown: scan.FindingBlankRekapCSV + ": the rekap CSV answered 200 while the cache was stopped",
		}, map[string]string{scan.Race: scan.CauseNonAtomic}},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			s := upProfile(t, bin, tc.profile)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			var log strings.Builder
			rep, err := scan.Run(ctx, s, scan.Config{Progress: &log, Retries: 2})
			require.NoError(t, err)
			var out strings.Builder
			rep.WriteText(&out)
			t.Logf("%s\n%s", log.String(), out.String())
			failed := map[string]string{}
			for _, p := range rep.Probes {
				if p.Status == check.Fail || p.Status == check.Error {
					failed[p.Probe] = p.Reason
				}
			}
			for probe, want := range tc.findings {
				require.Contains(t, failed, probe, "%s must report its finding", probe)
				require.Contains(t, failed[probe], want, probe)
				delete(failed, probe)
			}
			require.Empty(t, failed, "nothing else may fail")
			requireNoSessionVerdicts(t, rep)
			if tc.profile == "as-deployed-redis" {
				p := byName(rep)[scan.CacheDown]
				require.Len(t, p.Findings, 1, p.Reason)
				require.Equal(t, scan.FindingBlankRekapCSV, p.Findings[0].ID)
				require.NotContains(t, p.Reason, "fail-closed: want", "the limiter's 500 refuses: the policy is honoured")
			}
			for _, p := range rep.Probes {
				if want, ok := tc.causes[p.Probe]; ok {
					require.NotNil(t, p.Diagnosis, p.Probe)
					require.Equal(t, want, p.Diagnosis.Cause, "%s names the wrong cause: %s", p.Probe, p.Reason)
					require.Equal(t, 1, strings.Count(p.Reason, "most likely cause: "), p.Reason)
				}
			}
		})
	}
}

// sessionWords are what a verdict caused by the harness's own session
// handling says (bounces to the login page not resent).
var sessionWords = []string{"login page", "bounced", "302", "redirect"}

// requireNoSessionVerdicts: the probes that exhaust a quota and compare, and
// the counter diagnosis's controls, judge or say a reason true of the
// deployment, never one of the harness's session handling (issue 12).
func requireNoSessionVerdicts(t *testing.T, rep *scan.Report) {
	t.Helper()
	for _, p := range rep.Probes {
		switch p.Probe {
		case scan.IdentityRotation, scan.IdentityHeaders, scan.LimitedWrite, scan.MethodVariants, scan.CacheDown, scan.CacheSlow, scan.WorkerKill:
			if len(p.Findings) == 0 { // a finding (data served wrong) is the profile's, checked above
				require.Contains(t, []check.Status{check.Pass, check.Skip, check.Inconclusive}, p.Status, "%s: %s", p.Probe, p.Reason)
			}
			if p.Status != check.Pass {
				for _, w := range sessionWords {
					require.NotContains(t, p.Reason, w, "%s is %s because of sessions: %s", p.Probe, p.Status, p.Reason)
				}
			}
		case scan.MultiWorker, scan.Race:
			if p.Status == check.Fail {
				require.NotNil(t, p.Diagnosis, p.Probe)
				require.NotEqual(t, scan.CauseUnconfirmed, p.Diagnosis.Cause, "%s's controls: %s", p.Probe, p.Diagnosis.Detail)
			}
		}
	}
}

// TestCacheProbesPerWorkerSessions: the cache probes judge a Redis-limited
// deployment whose sessions live in each worker's memory (bounces resent by
// the session agent), without worker ids or keep-alive: a correct
// fail-closed limiter passes both.
func TestCacheProbesPerWorkerSessions(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 4, stack.CacheRedis, "local-sessions", "no-worker-header", "connection-close")
	rep := runProbes(t, s, scan.CacheDown, scan.CacheSlow)
	require.Positive(t, rep.Bounces, "sessions per worker must bounce")
	for _, p := range rep.Probes {
		require.Equal(t, check.Pass, p.Status, "%s: %s", p.Probe, p.Reason)
	}
}
