package capacity

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

func alertReport(t *testing.T) *Report {
	t.Helper()
	rep := &Report{
		Label: "ref w=4 redis", SLO: DefaultSLO(),
		Results: []*Result{{Config: Config{Mix: "read-mix", Cache: AsDeployed}, Outcome: &Outcome{MaxRate: 400, Knee: 200}}},
	}
	usage, err := ParseUsage("read=45,write=15")
	require.NoError(t, err)
	rep.Tuning, err = Tune(rep, usage)
	require.NoError(t, err)
	return rep
}

func TestAlertRulesThresholds(t *testing.T) {
	rules, err := AlertRules(alertReport(t), DefaultAlertMetrics)
	require.NoError(t, err)
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Alert] = r
	}
	require.Equal(t, "sum(rate(ahsp_http_requests_total[5m])) > 320", byName["AHSPNearCapacity"].Expr, "0.8 × 400/s")
	require.Equal(t, "histogram_quantile(0.99, sum by (le) (rate(ahsp_http_request_duration_seconds_bucket[5m]))) > 0.25", byName["AHSPLatencyP99High"].Expr)
	require.Equal(t, `sum(rate(ahsp_http_requests_total{status=~"5.."}[5m])) / sum(rate(ahsp_http_requests_total[5m])) > 0.01`, byName["AHSPErrorRateHigh"].Expr)
	// write is 15 of 60 per minute: 0.01 × 400 × 0.25 = 1/s.
	require.Equal(t, `sum(rate(ahsp_rate_limit_hits_total{category="write"}[5m])) > 1`, byName["AHSPRateLimitedWrite"].Expr)
	require.Equal(t, `sum(rate(ahsp_rate_limit_hits_total{category="read"}[5m])) > 3`, byName["AHSPRateLimitedRead"].Expr)
	require.Contains(t, byName, "AHSPCacheErrors")

	_, err = AlertRules(&Report{Results: []*Result{{Error: "could not run"}}}, DefaultAlertMetrics)
	require.ErrorContains(t, err, "no sustainable rate")
}

// TestAlertRulesPromtool checks the written rule file with promtool and
// runs promtool's rule unit test: the write 429 rule fires at 2 rejections
// per second (threshold 1/s) and stays silent at 0.5/s; cache errors fire.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	stacktest.Need(t, "promtool (Debian package prometheus)", err)
	rep := alertReport(t)
	rules, err := AlertRules(rep, DefaultAlertMetrics)
	require.NoError(t, err)
	dir := t.TempDir()
	var b bytes.Buffer
	require.NoError(t, WriteAlertRules(&b, rep, rules, DefaultAlertMetrics))
	rulesFile := filepath.Join(dir, "alerts.yml")
	require.NoError(t, os.WriteFile(rulesFile, b.Bytes(), 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "check", "rules", rulesFile).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s\n%s", out, b.String())
	require.Contains(t, string(out), fmt.Sprintf("SUCCESS: %d rules found", len(rules)))

	// 120 per minute = 2/s of write 429s, 30 per minute = 0.5/s of read ones.
	test := `rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ahsp_rate_limit_hits_total{category="write",operation="list-pekerjaan.save"}'
        values: '0+120x20'
      - series: 'ahsp_rate_limit_hits_total{category="read",operation="list-pekerjaan.tree"}'
        values: '0+30x20'
      - series: 'ahsp_cache_errors_total{source="limiter"}'
        values: '0+5x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: AHSPRateLimitedWrite
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations:
              summary: "429 storm in category write: users are being rejected (see docs/ops/incidents.md)"
              basis: "1% of the category's share of capacity: 0.01 × 400/s × 0.25"
      - eval_time: 15m
        alertname: AHSPRateLimitedRead
        exp_alerts: []
      - eval_time: 15m
        alertname: AHSPCacheErrors
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations:
              summary: "the cache (limiter, sessions) is failing: limits and logins depend on it"
              basis: "any cache error: the cache-down probe shows what the app then answers (failure policy)"
`
	testFile := filepath.Join(dir, "alerts_test.yml")
	require.NoError(t, os.WriteFile(testFile, []byte(test), 0o644))
	cmd := exec.CommandContext(ctx, promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "promtool test rules:\n%s", out)
}

// djangoMetrics is the mapping docs/ops/rate-limits.md gives for a Django
// deployment exporting django-prometheus metrics: one counter holds every
// status (no category label), the latency histogram includes middlewares,
// and every series is scoped to the scrape job.
var djangoMetrics = AlertMetrics{
	Requests: "django_http_responses_total_by_status_view_method_total", StatusLabel: "status", RequestsMatch: map[string]string{"job": "ahsp"},
	RateLimited: "django_http_responses_total_by_status_view_method_total", RateLimitedMatch: map[string]string{"job": "ahsp", "status": "429"},
	Latency: "django_http_requests_latency_seconds_by_view_method", LatencyMatch: map[string]string{"job": "ahsp"},
	CacheErrors: "django_cache_get_fail_total", CacheErrorsMatch: map[string]string{"job": "ahsp"},
}

func TestAlertRulesMapped(t *testing.T) {
	rules, err := AlertRules(alertReport(t), djangoMetrics)
	require.NoError(t, err)
	byName := map[string]Rule{}
	for _, r := range rules {
		byName[r.Alert] = r
	}
	require.Equal(t, `sum(rate(django_http_responses_total_by_status_view_method_total{job="ahsp"}[5m])) > 320`, byName["AHSPNearCapacity"].Expr)
	require.Equal(t, `histogram_quantile(0.99, sum by (le) (rate(django_http_requests_latency_seconds_by_view_method_bucket{job="ahsp"}[5m]))) > 0.25`, byName["AHSPLatencyP99High"].Expr)
	require.Equal(t, `sum(rate(django_http_responses_total_by_status_view_method_total{job="ahsp",status=~"5.."}[5m])) / sum(rate(django_http_responses_total_by_status_view_method_total{job="ahsp"}[5m])) > 0.01`, byName["AHSPErrorRateHigh"].Expr)
	require.Equal(t, `sum(rate(django_cache_get_fail_total{job="ahsp"}[5m])) > 0`, byName["AHSPCacheErrors"].Expr)
	// No category label: one 429 rule at 1 % of capacity, none per category.
	require.Equal(t, `sum(rate(django_http_responses_total_by_status_view_method_total{job="ahsp",status="429"}[5m])) > 4`, byName["AHSPRateLimited"].Expr)
	require.NotContains(t, byName, "AHSPRateLimitedWrite")
	require.Len(t, rules, 5)

	for _, tc := range []struct {
		name string
		edit func(*AlertMetrics)
		want string
	}{
		{"bad metric name", func(m *AlertMetrics) { m.Requests = "django-requests" }, "requests_total: metric name \"django-requests\""},
		{"bucket suffix", func(m *AlertMetrics) { m.Latency += "_bucket" }, "without _bucket"},
		{"bad status label", func(m *AlertMetrics) { m.StatusLabel = "" }, "status_label"},
		{"bad match label", func(m *AlertMetrics) { m.CacheErrorsMatch = map[string]string{"a-b": "x"} }, "cache_errors: match label \"a-b\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := djangoMetrics
			tc.edit(&m)
			_, err := AlertRules(alertReport(t), m)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestAlertRulesPromtoolMapped runs promtool over the rules written with
// the Django mapping: they load, the single 429 rule fires on 429 answers of
// the list save view (6/s over the 4/s threshold) and not on other
// statuses, and the p99 rule reads the mapped histogram.
func TestAlertRulesPromtoolMapped(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	stacktest.Need(t, "promtool (Debian package prometheus)", err)
	rep := alertReport(t)
	rules, err := AlertRules(rep, djangoMetrics)
	require.NoError(t, err)
	dir := t.TempDir()
	var b bytes.Buffer
	require.NoError(t, WriteAlertRules(&b, rep, rules, djangoMetrics))
	require.Contains(t, b.String(), "#   rate_limited_total: django_http_responses_total_by_status_view_method_total{job=\"ahsp\",status=\"429\"} (no category label: one rule over every 429)")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yml"), b.Bytes(), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "check", "rules", filepath.Join(dir, "alerts.yml")).CombinedOutput()
	require.NoError(t, err, "promtool check rules:\n%s\n%s", out, b.String())

	// 429s from list save: 120 per minute (2/s, under the 4/s threshold) for
	// 10 min, then 360 (6/s); beside them 20/s of 200s, which the rule must
	// not count (with them it would fire at 9 min). Latency: every request
	// in the 1 s bucket, above 0.25 s.
	test := `rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'django_http_responses_total_by_status_view_method_total{job="ahsp",status="429",view="detail_project:api_save_list_pekerjaan",method="POST"}'
        values: '0+120x10 1560+360x15'
      - series: 'django_http_responses_total_by_status_view_method_total{job="ahsp",status="200",view="detail_project:api_get_list_pekerjaan_tree",method="GET"}'
        values: '0+1200x25'
      - series: 'django_http_requests_latency_seconds_by_view_method_bucket{job="ahsp",view="x",method="GET",le="0.25"}'
        values: '0+0x20'
      - series: 'django_http_requests_latency_seconds_by_view_method_bucket{job="ahsp",view="x",method="GET",le="1"}'
        values: '0+600x20'
      - series: 'django_http_requests_latency_seconds_by_view_method_bucket{job="ahsp",view="x",method="GET",le="+Inf"}'
        values: '0+600x20'
    alert_rule_test:
      - eval_time: 9m
        alertname: AHSPRateLimited
        exp_alerts: []
      - eval_time: 25m
        alertname: AHSPRateLimited
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations:
              summary: "429 storm: users are being rejected (see docs/ops/incidents.md)"
              basis: "1% of capacity: 0.01 × 400/s (the series carry no category label, so one rule covers every 429)"
      - eval_time: 15m
        alertname: AHSPLatencyP99High
        exp_alerts:
          - exp_labels: {severity: warning}
            exp_annotations:
              summary: "p99 latency above the capacity SLO (0.25 s)"
              basis: "the SLO the capacity was measured at: p99 <= 250 ms"
      - eval_time: 15m
        alertname: AHSPErrorRateHigh
        exp_alerts: []
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts_test.yml"), []byte(test), 0o644))
	cmd := exec.CommandContext(ctx, promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "promtool test rules:\n%s", out)
}
