package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/security"
)

// passingRun is a run where every default section ran and passed and every
// default threshold holds: the baseline the verdict tests break one way each.
func passingRun() *Run {
	st := &scenarios.Stats{Requests: 200, OK: 200, Throughput: 40, Status: map[string]int64{"200": 200},
		Latency: scenarios.Latency{Min: 1, Mean: 5, P50: 4, P90: 8, P95: 9, P99: 12, Max: 20}}
	return &Run{
		SchemaVersion: SchemaVersion,
		Meta:          Meta{Tool: "harness", Command: "harness run", Started: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
		Scan: &scan.Report{Status: check.Pass, Probes: []scan.Result{
			{Probe: "multi-worker", Status: check.Pass, Evidence: scan.Evidence{Sent: 30, Accepted: 10, ExpectedMax: 10}},
			{Probe: "window-edge", Status: check.Pass, Evidence: scan.Evidence{Sent: 60, Accepted: 20, ExpectedMax: 20}},
		}},
		Scenarios: []*scenarios.Result{{Scenario: "read-mix", Kind: scenarios.Constant, RequestedRate: 40, AchievedRate: 40, Sent: 200,
			Metrics: scenarios.Summary{Total: st, Operations: map[string]*scenarios.Stats{"rekap": st}}}},
		Contracts: &contracts.Report{Status: check.Pass, Results: []contracts.Result{{Version: "v1", Step: "rekap", Method: "GET", Path: "/api/project/1/rekap/", WantStatus: 200, Status: 200, Verdict: check.Pass}}},
		E2E:       &e2e.Report{Status: check.Pass, Results: []e2e.Result{{Name: "toast-stacking", Status: check.Pass}}},
		Security:  &security.Report{Status: check.Pass, Checks: []security.Result{{Name: security.Headers, Status: check.Pass}}},
		Observability: &observability.Report{Status: check.Pass,
			Checks: []observability.Result{{Name: observability.MetricsLimitHits, Status: check.Pass}}},
	}
}

func blockingRows(g Gate) []string {
	var out []string
	for _, r := range g.Blocking() {
		out = append(out, r.Name+": "+string(r.Status))
	}
	return out
}

func TestPassingRunPasses(t *testing.T) {
	r := passingRun()
	r.EvaluateGate(DefaultGate())
	require.Equal(t, check.Pass, r.Gate.Status, blockingRows(r.Gate))
	require.Empty(t, r.Gate.Blocking())
}

// TestVerdictPaths: each way a run can fail to measure what it claims
// fails the gate, with the row that says why.
func TestVerdictPaths(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(r *Run, g *GateConfig)
		pass    bool
		row     string       // a row that must be there
		status  check.Status // and its status
		blocked bool         // and whether it blocks
	}{
		{"nothing ran", func(r *Run, g *GateConfig) {
			*r = Run{SchemaVersion: SchemaVersion, Meta: r.Meta}
		}, false, "all scan checks pass", check.Skip, true},
		{"nothing ran, every section allowed to skip", func(r *Run, g *GateConfig) {
			*r = Run{SchemaVersion: SchemaVersion, Meta: r.Meta}
			g.AllowSkip = append([]string(nil), Sections...)
		}, false, nothingCheckedRow, check.Inconclusive, true},
		{"nothing required, no thresholds", func(r *Run, g *GateConfig) {
			*g = GateConfig{}
		}, false, nothingCheckedRow, check.Inconclusive, true},
		{"every probe skipped", func(r *Run, g *GateConfig) {
			for i := range r.Scan.Probes {
				r.Scan.Probes[i].Status = check.Skip
			}
			r.Scan.Status = check.Skip
		}, false, "all scan checks pass", check.Skip, true},
		{"every probe skipped: overshoot has no data", func(r *Run, g *GateConfig) {
			for i := range r.Scan.Probes {
				r.Scan.Probes[i].Status = check.Skip
			}
		}, false, "overshoot == 0", check.Inconclusive, true},
		{"overshoot of a skipped probe is not counted", func(r *Run, g *GateConfig) {
			r.Scan.Probes = append(r.Scan.Probes, scan.Result{Probe: "header-spoof", Status: check.Skip, Evidence: scan.Evidence{Overshoot: 7}})
		}, true, "overshoot == 0", check.Pass, false},
		{"race seen in one of two attempts", func(r *Run, g *GateConfig) {
			r.Scan.Probes = append(r.Scan.Probes, scan.Result{Probe: "race", Status: check.Fail, Intermittent: "1 of 2", Attempts: 2,
				Evidence: scan.Evidence{Sent: 12, Accepted: 12, ExpectedMax: 10, Overshoot: 2},
				AttemptLog: []scan.Attempt{
					{Status: check.Fail, Evidence: scan.Evidence{Sent: 12, Accepted: 12, ExpectedMax: 10, Overshoot: 2}},
					{Status: check.Pass, Evidence: scan.Evidence{Sent: 12, Accepted: 10, ExpectedMax: 10}},
				}})
		}, false, "all scan checks pass", check.Fail, true},
		{"race seen in one of two attempts, last attempt's status kept", func(r *Run, g *GateConfig) {
			// A producer that kept only the last verdict must not turn the
			// failing attempt into a pass: the gate reads every attempt.
			r.Scan.Probes = append(r.Scan.Probes, scan.Result{Probe: "race", Status: check.Pass, Attempts: 2,
				AttemptLog: []scan.Attempt{{Status: check.Fail}, {Status: check.Pass}}})
		}, false, "all scan checks pass", check.Fail, true},
		{"race seen in one of two attempts: its overshoot counts", func(r *Run, g *GateConfig) {
			r.Scan.Probes = append(r.Scan.Probes, scan.Result{Probe: "race", Status: check.Fail, Intermittent: "1 of 2", Attempts: 2,
				Evidence:   scan.Evidence{Overshoot: 2},
				AttemptLog: []scan.Attempt{{Status: check.Fail, Evidence: scan.Evidence{Overshoot: 2}}, {Status: check.Pass}}})
		}, false, "overshoot == 0", check.Fail, true},
		{"a scan that reports pass with no probes", func(r *Run, g *GateConfig) {
			r.Scan.Probes = nil
		}, false, "all scan checks pass", check.Inconclusive, true},
		{"zero-request scenario", func(r *Run, g *GateConfig) {
			r.Scenarios[0].Metrics.Total = &scenarios.Stats{}
			r.Scenarios[0].Metrics.Operations = nil
			r.Scenarios[0].AchievedRate = 0
		}, false, "error_rate < 1% [read-mix]", check.Inconclusive, true},
		{"zero-request scenario: the load section is inconclusive", func(r *Run, g *GateConfig) {
			r.Scenarios[0].Metrics.Total = &scenarios.Stats{}
		}, false, "all load checks pass", check.Inconclusive, true},
		{"zero-request scenario: p95 of nothing does not pass", func(r *Run, g *GateConfig) {
			r.Scenarios[0].Metrics.Total = &scenarios.Stats{}
			th, _ := ParseThreshold("p95 < 500ms")
			g.Thresholds = []Threshold{th}
		}, false, "p95 < 500ms [read-mix]", check.Inconclusive, true},
		{"a writing scenario skipped for want of a scratch project is no load pass", func(r *Run, g *GateConfig) {
			r.Scenarios[0] = &scenarios.Result{Scenario: "write-mix", Skipped: "the mix writes, and none of the 2 users declares a scratch project"}
		}, false, "all load checks pass", check.Skip, true},
		{"load 100% 5xx fails the default gate", func(r *Run, g *GateConfig) {
			r.Scenarios[0].Metrics.Total.Errors = r.Scenarios[0].Metrics.Total.Requests
		}, false, "error_rate < 1% [read-mix]", check.Fail, true},
		{"load far below the requested rate fails the default gate", func(r *Run, g *GateConfig) {
			r.Scenarios[0].AchievedRate = 10
		}, false, "achieved_ratio >= 90% [read-mix]", check.Fail, true},
		{"no load, not allowed", func(r *Run, g *GateConfig) {
			r.Scenarios = nil
		}, false, "error_rate < 1%", check.Inconclusive, true},
		{"no load, allowed", func(r *Run, g *GateConfig) {
			r.Scenarios = nil
			g.AllowSkip = []string{"load"}
		}, true, "all load checks pass", check.Skip, false},
		{"required section errored", func(r *Run, g *GateConfig) {
			r.E2E = &e2e.Report{Status: check.Error, Reason: "chromium crashed"}
		}, false, "all e2e checks pass", check.Error, true},
		{"required section errored, allowed", func(r *Run, g *GateConfig) {
			r.E2E = &e2e.Report{Status: check.Error, Reason: "chromium crashed"}
			g.AllowSkip = []string{"e2e"}
		}, true, "all e2e checks pass", check.Error, false},
		{"required section inconclusive", func(r *Run, g *GateConfig) {
			r.E2E.Results[0].Status = check.Inconclusive
		}, false, "all e2e checks pass", check.Inconclusive, true},
		{"a failure is never allowed", func(r *Run, g *GateConfig) {
			r.E2E.Results[0].Status = check.Fail
			g.AllowSkip = []string{"e2e"}
		}, false, "all e2e checks pass", check.Fail, true},
		{"section reports pass over a failed check", func(r *Run, g *GateConfig) {
			r.Scan.Probes[0].Status = check.Fail
		}, false, "all scan checks pass", check.Fail, true},
		{"a pass among skips is a pass", func(r *Run, g *GateConfig) {
			r.Scan.Probes[1].Status = check.Skip
		}, true, "all scan checks pass", check.Pass, false},
		{"a contracts finding fails the contracts section", func(r *Run, g *GateConfig) {
			r.Contracts.Findings = []contracts.Finding{{ID: "legacy-scope", Title: "another user's project answers 200", Status: check.Fail}}
		}, false, "all contracts checks pass", check.Fail, true},
		{"a restore that could not run is an error", func(r *Run, g *GateConfig) {
			r.Contracts.Restores = []contracts.Restore{{Project: 3, User: "user1", Status: check.Error, Reason: "snapshot failed"}}
		}, false, "all contracts checks pass", check.Error, true},
		{"unknown section", func(r *Run, g *GateConfig) {
			g.Require = append(g.Require, "lod")
		}, false, "all lod checks pass", check.Error, true},
		{"a check could not run", func(r *Run, g *GateConfig) {
			r.Errors = []string{"contracts: login failed"}
		}, false, "check could not run", check.Error, true},
		{"a section allowed to skip could not run: shown as an error, does not block", func(r *Run, g *GateConfig) {
			r.E2E, r.Errors = nil, []string{"e2e: chromium crashed"}
			g.AllowSkip = []string{"e2e"}
		}, true, "check could not run", check.Error, false},
		{"another section allowed to skip does not excuse it", func(r *Run, g *GateConfig) {
			r.E2E, r.Errors = nil, []string{"e2e: chromium crashed"}
			g.AllowSkip = []string{"contracts"}
		}, false, "check could not run", check.Error, true},
		{"a stack that could not run is never allowed", func(r *Run, g *GateConfig) {
			r.Errors = []string{"stack: e2e: connection refused"}
			g.AllowSkip = []string{"e2e", "stack"}
		}, false, "check could not run", check.Error, true},
		{"achieved ratio does not apply to a burst", func(r *Run, g *GateConfig) {
			r.Scenarios[0].Kind, r.Scenarios[0].RequestedRate = scenarios.Burst, 0
		}, true, "achieved_ratio >= 90% [read-mix]", check.Skip, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, g := passingRun(), DefaultGate()
			tc.mutate(r, &g)
			r.EvaluateGate(g)
			require.Equal(t, tc.pass, r.Gate.Passed(), "blocking rows: %v", blockingRows(r.Gate))
			var found *GateRow
			for i := range r.Gate.Rows {
				if r.Gate.Rows[i].Name == tc.row {
					found = &r.Gate.Rows[i]
				}
			}
			require.NotNil(t, found, "no row %q in %+v", tc.row, r.Gate.Rows)
			require.Equal(t, tc.status, found.Status, found.Message)
			require.Equal(t, tc.blocked, found.Blocking, found.Message)
			if found.Status != check.Pass {
				require.NotEmpty(t, found.Message, "a row that is not a pass says why")
			}
		})
	}
}

// TestGateRowNamesFirstChecks: a section with many failed checks names the
// first few in the message and keeps all of them, with anchors, in Checks.
func TestGateRowNamesFirstChecks(t *testing.T) {
	r := passingRun()
	r.E2E.Results = nil
	for i := range 12 {
		r.E2E.Results = append(r.E2E.Results, e2e.Result{Name: "check-" + string(rune('a'+i)), Status: check.Fail})
	}
	r.E2E.Results[3].Status = check.Error
	r.EvaluateGate(DefaultGate())
	var row GateRow
	for _, x := range r.Gate.Rows {
		if x.Section == "e2e" {
			row = x
		}
	}
	require.Len(t, row.Checks, 12)
	require.Equal(t, CheckRef{Name: "check-a", Status: check.Fail, Anchor: "e2e-check-a"}, row.Checks[0])
	require.Equal(t, check.Error, row.Checks[11].Status, "worst first: fails, then errors")
	require.Contains(t, row.Text(), "11 fail")
	require.Contains(t, row.Text(), "and 7 more")
	require.NotContains(t, row.Text(), "check-l")

	var b strings.Builder
	require.NoError(t, WriteHTML(&b, r, t.TempDir()))
	html := b.String()
	gate := html[strings.Index(html, `id="gate"`):strings.Index(html, `id="scan"`)]
	require.Contains(t, gate, `<a href="#e2e-check-a">check-a</a>`)
	require.Contains(t, gate, `<a href="#e2e">and 7 more</a>`)
	require.NotContains(t, gate, `check-l`, "the gate row links the first few, not all")
	require.Contains(t, html, `<h2 id="e2e">Browser (e2e) checks <span class="badge fail">fail</span>`, "the section's badge is its verdict, not the suite's own word")
}

// TestAttemptsRendered: every attempt of a retried probe is in report.html
// and junit.xml, with the intermittent marker.
func TestAttemptsRendered(t *testing.T) {
	r := sampleRun()
	var html, junit strings.Builder
	require.NoError(t, WriteHTML(&html, r, t.TempDir()))
	require.NoError(t, WriteRunJUnit(&junit, r))
	require.Contains(t, html.String(), "intermittent: failed in 1 of 2 attempts")
	require.Contains(t, html.String(), "10 of 12 parallel writes accepted, limit 10", "the passing attempt is shown too")
	require.Contains(t, html.String(), "The evidence below is from the first failing attempt.")
	require.Contains(t, junit.String(), "attempt 1: fail in 0.7s: sent 12, accepted 12, expected max 10, overshoot 2")
	require.Contains(t, junit.String(), "attempt 2: pass in 0.8s")
}

func TestDefaultGate(t *testing.T) {
	g := DefaultGate()
	require.Equal(t, []string{"scan", "load", "contracts", "e2e", "security", "observability"}, g.Require)
	var exprs []string
	for _, th := range g.Thresholds {
		exprs = append(exprs, th.Expr)
	}
	require.Equal(t, []string{"overshoot == 0", "error_rate < 1%", "achieved_ratio >= 90%"}, exprs)
}

func TestWriteGateTable(t *testing.T) {
	r := passingRun()
	r.Scenarios = nil
	r.E2E = nil
	g := DefaultGate()
	g.AllowSkip = []string{"e2e"}
	r.EvaluateGate(g)
	var b strings.Builder
	require.NoError(t, WriteGateTable(&b, r.Gate))
	out := b.String()
	require.Contains(t, out, "SKIP (ALLOWED)")
	require.Contains(t, out, "SKIP (BLOCKS THE GATE)")
	require.Contains(t, out, "INCONCLUSIVE (BLOCKS THE GATE)")

	// A long list of names is cut, the hint that says how to pass is not.
	r = passingRun()
	for i := range 30 {
		r.E2E.Results = append(r.E2E.Results, e2e.Result{Name: fmt.Sprintf("a-rather-long-check-name-%02d", i), Status: check.Inconclusive})
	}
	r.EvaluateGate(DefaultGate())
	b.Reset()
	require.NoError(t, WriteGateTable(&b, r.Gate))
	require.Contains(t, b.String(), "...; a required section must run and pass (allow with --allow-skip e2e)")
}

// TestCapacityGate: a capacity run's gate says whether every configuration
// was measured; the optional section stays out of other runs' counts.
func TestCapacityGate(t *testing.T) {
	measured := &capacity.Result{Config: capacity.Config{Workers: 1, Cache: "locmem", Mix: "read-mix"}, Outcome: &capacity.Outcome{MaxRate: 400}}
	broken := &capacity.Result{Config: capacity.Config{Workers: 4, Cache: "redis", Mix: "read-mix"}, Error: "stack failed to start"}
	cfg := GateConfig{Require: []string{"capacity"}}
	for _, tc := range []struct {
		name    string
		results []*capacity.Result
		want    check.Status
	}{
		{"every configuration measured", []*capacity.Result{measured}, check.Pass},
		{"one could not run", []*capacity.Result{measured, broken}, check.Fail},
		{"no configuration", nil, check.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{SchemaVersion: SchemaVersion, Capacity: &capacity.Report{Results: tc.results}}
			r.EvaluateGate(cfg)
			require.Equal(t, tc.want, r.Gate.Status, blockingRows(r.Gate))
		})
	}
	for _, c := range sectionCounts(passingRun()) {
		require.NotEqual(t, "capacity", c.Section, "a run without capacity does not list it")
	}
}
