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
	require.NoError(t, WriteAlertRules(&b, rep, rules))
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
