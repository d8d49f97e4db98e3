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

// TestTuneAlertMetricsFromConfig: harness.yaml alerts.metrics renames the
// series the rules read (a Django deployment with django-prometheus), and a
// bad name is a usage error that names file:line.
func TestTuneAlertMetricsFromConfig(t *testing.T) {
	c := newCLI(t)
	p := writeCapacity(t, c.dir, "ref", 300)
	c.write("harness.yaml", `alerts:
  metrics:
    requests_total:
      name: django_http_responses_total_by_status_view_method_total
      match: {job: ahsp}
    rate_limited_total:
      name: django_http_responses_total_by_status_view_method_total
      match: {job: ahsp, status: "429"}
      category_label: ""
    request_duration:
      name: django_http_requests_latency_seconds_by_view_method
    cache_errors:
      name: django_cache_get_fail_total
`)
	code, _, errs := c.run(context.Background(), "tune", p, "--usage", "read=60,write=12", "--alerts", "alerts.yml")
	require.Equal(t, exitcode.OK, code, errs)
	b, err := os.ReadFile(filepath.Join(c.dir, "alerts.yml"))
	require.NoError(t, err)
	rules := string(b)
	require.Contains(t, rules, `expr: "sum(rate(django_http_responses_total_by_status_view_method_total{job=\"ahsp\",status=\"429\"}[5m])) > 3"`)
	require.Contains(t, rules, `histogram_quantile(0.99, sum by (le) (rate(django_http_requests_latency_seconds_by_view_method_bucket[5m])))`)
	require.Contains(t, rules, `sum(rate(django_cache_get_fail_total[5m])) > 0`)
	require.NotContains(t, rules, "ahsp_", "no reference target name is left")

	c.write("harness.yaml", "alerts:\n  metrics:\n    request_duration:\n      name: django_latency_bucket\n")
	code, _, errs = c.run(context.Background(), "tune", p, "--usage", "read=60", "--alerts", "alerts.yml")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errs, "harness.yaml:2: alerts.metrics: request_duration: give the histogram's base name without _bucket")

	c.write("harness.yaml", "alerts:\n  metrics:\n    requests_total:\n      category_label: x\n")
	code, _, errs = c.run(context.Background(), "tune", p, "--usage", "read=60", "--alerts", "alerts.yml")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errs, `unknown key "category_label"`)
}
