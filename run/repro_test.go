package run

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

func half(mw, race check.Status) *scan.Report {
	r := &scan.Report{}
	if mw != "" {
		r.Probes = append(r.Probes, scan.Result{Probe: scan.MultiWorker, Status: mw})
	}
	if race != "" {
		r.Probes = append(r.Probes, scan.Result{Probe: scan.Race, Status: race})
	}
	return r
}

// TestBypassJudge: the repro passes only when the locmem half reproduces
// the bypass and the redis half does not; every other combination fails
// and says which half disagreed.
func TestBypassJudge(t *testing.T) {
	for _, tc := range []struct {
		name          string
		locmem, redis *scan.Report
		status        check.Status
		says          []string
	}{
		{"locmem reproduces, redis does not", half(check.Fail, check.Pass), half(check.Pass, check.Pass), check.Pass, nil},
		{"locmem race may fail too", half(check.Fail, check.Fail), half(check.Pass, check.Pass), check.Pass, nil},
		{"locmem did not reproduce", half(check.Pass, check.Pass), half(check.Pass, check.Pass), check.Fail, []string{"locmem: multi-worker pass, want fail"}},
		{"locmem inconclusive", half(check.Inconclusive, check.Pass), half(check.Pass, check.Pass), check.Fail, []string{"locmem: multi-worker inconclusive"}},
		{"redis bypassed too", half(check.Fail, check.Pass), half(check.Fail, check.Pass), check.Fail, []string{"redis: multi-worker fail, want pass"}},
		{"redis race (naive limiter)", half(check.Fail, check.Fail), half(check.Pass, check.Fail), check.Fail, []string{"redis: race fail"}},
		{"redis probe errored", half(check.Fail, check.Pass), half(check.Error, check.Pass), check.Fail, []string{"redis: multi-worker error"}},
		{"redis never ran", half(check.Fail, check.Pass), nil, check.Fail, []string{"redis: multi-worker did not run", "redis: race did not run"}},
		{"locmem multi-worker missing", half("", check.Pass), half(check.Pass, check.Pass), check.Fail, []string{"locmem: multi-worker did not run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Bypass{Mode: "local", Limits: "read=40/2", Locmem: tc.locmem, Redis: tc.redis}
			b.judge()
			require.Equal(t, tc.status, b.Status, "%v", b.Disagreements)
			require.Len(t, b.Disagreements, len(tc.says))
			for i, s := range tc.says {
				require.Contains(t, b.Disagreements[i], s)
			}
			var out bytes.Buffer
			b.WriteText(&out)
			if tc.status == check.Pass {
				require.Contains(t, out.String(), "verdict: PASS")
			} else {
				require.Contains(t, out.String(), "verdict: FAIL")
				require.Contains(t, out.String(), tc.says[0])
			}
			require.Contains(t, out.String(), "harness scan --stack local --workers 4 --cache redis")
		})
	}
}
