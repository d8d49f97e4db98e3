package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
)

func TestFoldAttempts(t *testing.T) {
	pass := Attempt{Status: check.Pass, Reason: "within", Evidence: Evidence{Sent: 10, Accepted: 5}, DurationSeconds: 1}
	failA := Attempt{Status: check.Fail, Reason: "accepted 9, at most 5", Evidence: Evidence{Sent: 10, Accepted: 9, Overshoot: 4}, DurationSeconds: 2}
	failB := Attempt{Status: check.Fail, Reason: "accepted 7, at most 5", Evidence: Evidence{Sent: 10, Accepted: 7, Overshoot: 2}, DurationSeconds: 2}
	for _, tc := range []struct {
		name         string
		atts         []Attempt
		status       check.Status
		reason       string
		intermittent string
		overshoot    int
		logged       int
	}{
		{"one pass", []Attempt{pass}, check.Pass, "within", "", 0, 0},
		{"race seen in one of two attempts", []Attempt{failA, pass}, check.Fail, "intermittent (failed in 1 of 2 attempts): accepted 9, at most 5", "1 of 2", 4, 2},
		{"failure in the last attempt", []Attempt{pass, failB}, check.Fail, "intermittent (failed in 1 of 2 attempts): accepted 7, at most 5", "1 of 2", 2, 2},
		{"every attempt failed", []Attempt{failA, failB}, check.Fail, "failed in 2 of 2 attempts: accepted 9, at most 5", "", 4, 2},
		{"skip", []Attempt{{Status: check.Skip, Reason: "no hook"}}, check.Skip, "no hook", "", 0, 0},
		{"the overshoot outranks a setup failure", []Attempt{{Status: check.Fail, Reason: "set up: 302"}, failB}, check.Fail, "failed in 2 of 2 attempts: accepted 7, at most 5", "", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := foldAttempts("race", tc.atts)
			require.Equal(t, tc.status, r.Status)
			require.Equal(t, tc.reason, r.Reason)
			require.Equal(t, tc.intermittent, r.Intermittent)
			require.Equal(t, tc.overshoot, r.Evidence.Overshoot, "the failing attempt's evidence is kept")
			require.Len(t, r.AttemptLog, tc.logged)
			require.Equal(t, len(tc.atts), r.Attempts)
		})
	}
}

// TestRunKeepsEveryAttempt: Run retries a failed probe, keeps both attempts,
// and a pass on the retry does not turn the finding into a pass.
func TestRunKeepsEveryAttempt(t *testing.T) {
	calls := 0
	saved := catalog
	t.Cleanup(func() { catalog = saved })
	catalog = []probeDef{{Race, "flaky", func(context.Context, *scanner) Result {
		calls++
		if calls == 1 {
			return Result{Status: check.Fail, Reason: "accepted 31 of 60, at most 20", Evidence: Evidence{Sent: 60, Accepted: 31, Overshoot: 11}}
		}
		return Result{Status: check.Pass, Reason: "accepted 20 of 60", Evidence: Evidence{Sent: 60, Accepted: 20}}
	}}}
	rep, err := Run(context.Background(), external{url: "http://127.0.0.1:1"}, Config{Retries: 2})
	require.NoError(t, err)
	require.Equal(t, 2, calls, "retried once, then stopped at the pass")
	p := rep.Probes[0]
	require.Equal(t, check.Fail, p.Status)
	require.Equal(t, check.Fail, rep.Status, "a race seen in one of two attempts fails the scan")
	require.Equal(t, "1 of 2", p.Intermittent)
	require.Equal(t, 11, p.Evidence.Overshoot)
	require.Len(t, p.AttemptLog, 2)
	var out strings.Builder
	rep.WriteText(&out)
	require.Contains(t, out.String(), "attempt 1 of 2: FAIL")
	require.Contains(t, out.String(), "attempt 2 of 2: PASS")
}
