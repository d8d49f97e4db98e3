package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

// TestCombinationAsDeployed is the combination proof: on the profiles of
// the app as deployed, the whole scan's findings are exactly the known ones
// (issue 12), each named by the probe that owns it, and nothing else fails.
func TestCombinationAsDeployed(t *testing.T) {
	bin := needTarget(t)
	tests := []struct {
		profile  string
		findings map[string]string // probe -> what its reason must say
	}{
		{"as-deployed", map[string]string{
			scan.Coverage:    "12 of 13 operations have no limit although one is declared",
			scan.MultiWorker: "each counts in its own memory",
			scan.Race:        "non-atomic read-modify-write",
			scan.Window:      "TTL refresh",
			scan.Headers:     "no Retry-After header",
			scan.Sessions:    "redirected to the login page",
		}},
		{"as-deployed-redis", map[string]string{
			scan.Coverage: "12 of 13 operations have no limit although one is declared",
			scan.Race:     "non-atomic read-modify-write",
			scan.Window:   "TTL refresh",
			scan.Headers:  "no Retry-After header",
		}},
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
		})
	}
}
