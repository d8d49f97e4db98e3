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
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// TestQuickScanWithinLoginLimit is issue 12's login budget: the quick run's
// scan (every probe, no retries) completes against the correct reference
// target whose login limit is 10 logins a minute per client IP, with more
// users than that: each user logs in once, the 429s of the login limit are
// waited out and said, and no probe errors or is inconclusive because of a
// login. The logins stay within the number printed up front.
func TestQuickScanWithinLoginLimit(t *testing.T) {
	bin := needTarget(t)
	limits, err := stack.ParseLimits(strings.Replace(scan.FastLimits, "login=10/2", "login=10/60", 1))
	require.NoError(t, err)
	s := stacktest.Up(t, stack.Spec{
		Mode: stack.ModeLocal, Workers: 4, Cache: stack.CacheRedis, Limits: limits,
		TargetBin: bin, Seed: stack.Seed{Users: 12, Projects: 1},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := scan.Run(ctx, s, scan.Config{Progress: &log})
	require.NoError(t, err)
	var out strings.Builder
	rep.WriteText(&out)
	t.Logf("%s\n%s", log.String(), out.String())
	require.Contains(t, log.String(), "needs at most")
	require.Positive(t, rep.LoginsThrottled, "more logins than the limit: some must have been throttled and waited out")
	require.Contains(t, log.String(), "throttled")
	require.LessOrEqual(t, rep.Logins, rep.LoginsPlanned, "logins beyond the plan")
	require.Len(t, rep.Probes, len(scan.Probes()))
	for _, p := range rep.Probes {
		require.Equal(t, check.Pass, p.Status, "%s: %s", p.Probe, p.Reason)
	}
}
