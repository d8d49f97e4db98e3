package reports

import (
	"bytes"
	"testing"

	"github.com/ahsp-harness/harness/check"
	"github.com/stretchr/testify/require"
)

func findDelta(c *Comparison, sc, ep, metric string) Delta {
	for _, d := range c.Deltas {
		if d.Scenario == sc && d.Endpoint == ep && d.Metric == metric {
			return d
		}
	}
	return Delta{}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(r *Run)
		regressed bool
		check     func(t *testing.T, c *Comparison)
	}{
		{"identical runs", func(*Run) {}, false, func(t *testing.T, c *Comparison) {
			require.Empty(t, c.NewFailures)
			require.Empty(t, c.Fixed)
			require.Equal(t, 0.0, findDelta(c, "steady-read", "", "p95").ChangePct)
		}},
		{"p95 within threshold", func(r *Run) { r.Scenarios[0].Metrics.Total.Latency.P95 *= 1.09 }, false, func(t *testing.T, c *Comparison) {
			d := findDelta(c, "steady-read", "", "p95")
			require.InDelta(t, 9, d.ChangePct, 0.01)
			require.False(t, d.Regressed)
		}},
		{"endpoint p99 regressed", func(r *Run) { r.Scenarios[0].Metrics.Operations["rekap"].Latency.P99 *= 1.5 }, true, func(t *testing.T, c *Comparison) {
			d := findDelta(c, "steady-read", "rekap", "p99")
			require.True(t, d.Regressed)
			require.InDelta(t, 50, d.ChangePct, 0.01)
		}},
		{"throughput dropped", func(r *Run) { r.Scenarios[1].Metrics.Total.Throughput *= 0.8 }, true, func(t *testing.T, c *Comparison) {
			require.True(t, findDelta(c, "write-spike", "", "throughput").Regressed)
		}},
		{"throughput rose and latency fell", func(r *Run) {
			r.Scenarios[0].Metrics.Total.Throughput *= 1.5
			r.Scenarios[0].Metrics.Total.Latency.P50 /= 2
		}, false, func(t *testing.T, c *Comparison) {
			require.True(t, findDelta(c, "steady-read", "", "throughput").Improved)
			require.True(t, findDelta(c, "steady-read", "", "p50").Improved)
		}},
		{"new e2e failure", func(r *Run) { r.E2E.Results[0].Status = check.Fail; r.E2E.Results[0].Reason = "toasts overlap" }, true, func(t *testing.T, c *Comparison) {
			require.Len(t, c.NewFailures, 1)
			require.Equal(t, Check{Section: "e2e", Name: "toast-stacking", Old: check.Pass, New: check.Fail, Message: "toasts overlap"}, c.NewFailures[0])
		}},
		{"probe fixed", func(r *Run) { r.Scan.Probes[0].Status = check.Pass }, false, func(t *testing.T, c *Comparison) {
			require.Equal(t, []Check{{Section: "scan", Name: "multi-worker", Old: check.Fail, New: check.Pass}}, c.Fixed)
		}},
		{"pass -> skip", func(r *Run) { r.Scan.Probes[1].Status = check.Skip }, true, func(t *testing.T, c *Comparison) {
			require.Equal(t, []Check{{Section: "scan", Name: "window-edge", Old: check.Pass, New: check.Skip, Message: r0(c).Scan.Probes[1].Reason}}, c.Degraded)
		}},
		{"pass -> error", func(r *Run) { r.E2E.Results[0].Status = check.Error }, true, func(t *testing.T, c *Comparison) {
			require.Len(t, c.Degraded, 1)
			require.Equal(t, check.Error, c.Degraded[0].New)
		}},
		{"pass -> inconclusive", func(r *Run) { r.Contracts.Results[0].Verdict = check.Inconclusive }, true, func(t *testing.T, c *Comparison) {
			require.Len(t, c.Degraded, 1)
			require.Equal(t, check.Inconclusive, c.Degraded[0].New)
		}},
		{"skip -> skip is no change", func(r *Run) {}, false, func(t *testing.T, c *Comparison) {
			require.Empty(t, c.Degraded)
			require.Empty(t, c.Vanished)
		}},
		{"a check vanished", func(r *Run) { r.E2E.Results = r.E2E.Results[1:] }, true, func(t *testing.T, c *Comparison) {
			require.Contains(t, c.Vanished, Check{Section: "e2e", Name: "toast-stacking", Old: check.Pass, Message: "not in the new run"})
		}},
		{"a whole section vanished", func(r *Run) { r.Contracts = nil }, true, func(t *testing.T, c *Comparison) {
			require.NotEmpty(t, c.Vanished)
		}},
		{"a check that could not run went away: a fix, not a regression", func(r *Run) {
			r.Errors = nil
		}, false, func(t *testing.T, c *Comparison) {
			require.Empty(t, c.Vanished)
		}},
		{"scenario renamed: the old one vanished", func(r *Run) { r.Scenarios[1].Scenario = "write-spike-2" }, true, func(t *testing.T, c *Comparison) {
			require.Equal(t, []string{"write-spike"}, c.OnlyOld)
			require.Equal(t, []string{"write-spike-2"}, c.OnlyNew)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := sampleRun(), sampleRun()
			tc.mutate(cur)
			cur.EvaluateGate(sampleGate())
			c := Compare(old, cur, DefaultCompare())
			require.Equal(t, tc.regressed, c.Regressed())
			tc.check(t, c)
		})
	}
}

// r0 is the unchanged sample, for expected messages.
func r0(*Comparison) *Run { return sampleRun() }

// TestCompareGateRegressed: a gate that passed and now fails is a
// regression even when no single check is listed.
func TestCompareGateRegressed(t *testing.T) {
	old, cur := passingRun(), passingRun()
	old.EvaluateGate(DefaultGate())
	cur.EvaluateGate(DefaultGate())
	require.False(t, Compare(old, cur, DefaultCompare()).Regressed())
	cur.Gate.Status = check.Fail
	require.True(t, Compare(old, cur, DefaultCompare()).Regressed())
}

func TestCompareZeroConfigDefaults(t *testing.T) {
	c := Compare(sampleRun(), sampleRun(), CompareConfig{})
	require.Equal(t, DefaultCompare(), c.Config)
}

func TestCompareGolden(t *testing.T) {
	old, cur := sampleRun(), sampleRun()
	cur.Meta.GitSHA = "fedcba9876543210fedcba9876543210fedcba98"
	cur.Scenarios[0].Metrics.Operations["rekap"].Latency.P95 *= 1.4
	cur.E2E.Results[0].Status = check.Fail
	cur.E2E.Results[0].Reason = "toasts overlap"
	cur.Scan.Probes[0].Status = check.Pass
	cur.Scan.Probes[1].Status = check.Inconclusive
	cur.Contracts.Equivalence = cur.Contracts.Equivalence[:1]
	cur.EvaluateGate(sampleGate())
	c := Compare(old, cur, DefaultCompare())
	var txt, html bytes.Buffer
	require.NoError(t, WriteComparisonText(&txt, c))
	require.NoError(t, WriteComparisonHTML(&html, c))
	golden(t, "compare.txt", txt.Bytes())
	golden(t, "compare.html", html.Bytes())
	require.NotContains(t, html.String(), "<script src")
	require.Contains(t, html.String(), "REGRESSION")
}

// TestCompareCountsAFailingCheckOnce: a probe that newly fails also fails
// its section's gate row; the comparison names the probe, not both.
func TestCompareCountsAFailingCheckOnce(t *testing.T) {
	old, cur := sampleRun(), sampleRun()
	old.Scan.Probes[0].Status, old.Scan.Status = check.Pass, check.Pass
	old.EvaluateGate(DefaultGate())
	cur.EvaluateGate(DefaultGate())
	c := Compare(old, cur, DefaultCompare())
	var names []string
	for _, f := range c.NewFailures {
		names = append(names, f.Section+"/"+f.Name)
	}
	require.Contains(t, names, "scan/multi-worker")
	require.NotContains(t, names, "gate/all scan checks pass")
}
