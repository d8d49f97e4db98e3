package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/api"
)

func writeCapacity(t *testing.T, dir, label string, maxRate int) string {
	t.Helper()
	rep := &capacity.Report{
		Label: label, Mode: "external", SLO: capacity.DefaultSLO(),
		Policy: capacity.Policy{Source: "declared (--limits write=20/60)", Limits: map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}}},
		Results: []*capacity.Result{{Config: capacity.Config{Mix: "read-mix", Cache: capacity.AsDeployed},
			Outcome: &capacity.Outcome{MaxRate: maxRate, Knee: maxRate / 2, AtMax: &capacity.Step{P99: 80, TargetCPU: 1.5}}}},
	}
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	p := filepath.Join(dir, label+".json")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// TestCompareCapacitySideBySide: several labelled capacity runs of one
// deployment (redeployed between runs) side by side.
func TestCompareCapacitySideBySide(t *testing.T) {
	dir := t.TempDir()
	a, b, c := writeCapacity(t, dir, "w2", 200), writeCapacity(t, dir, "w4", 380), writeCapacity(t, dir, "w4-redis", 350)
	html := filepath.Join(dir, "side.html")
	code, out, errs := newCLI(t).run(context.Background(), "compare", a, b, c, "--html", html)
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "capacity  w2")
	require.Contains(t, out, "w4-redis")
	require.Contains(t, out, "200/s, p99 80ms, knee 100/s, target cpu 1.50")
	require.Contains(t, out, "380/s, p99 80ms, knee 190/s")
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	require.Contains(t, string(page), "<th>w4-redis</th>")

	code, _, errs = newCLI(t).run(context.Background(), "compare", a, filepath.Join(dir, "nope.json"), c)
	require.Equal(t, exitcode.Usage, code, "three files that are not all capacity reports")
	require.Contains(t, errs, "more than two files only for capacity reports")
}

// TestTuneFromSavedReport: tuning and alert rules from a capacity JSON alone.
func TestTuneFromSavedReport(t *testing.T) {
	dir := t.TempDir()
	p := writeCapacity(t, dir, "ref", 300)
	alerts := filepath.Join(dir, "alerts.yml")
	code, out, errs := newCLI(t).run(context.Background(), "tune", p, "--usage", "read=60,write=12", "--alerts", alerts)
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "N_sat = floor(300 × 60 / 72) = 250")
	require.Contains(t, out, "declared (--limits write=20/60)")
	require.Contains(t, out, "recommend write=")
	rules, err := os.ReadFile(alerts)
	require.NoError(t, err)
	require.Contains(t, string(rules), "alert: AHSPNearCapacity")
	require.Contains(t, string(rules), `"sum(rate(ahsp_http_requests_total[5m])) > 240"`)

	code, _, errs = newCLI(t).run(context.Background(), "tune", p, "--usage", "write=x")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errs, "not a number")
}
