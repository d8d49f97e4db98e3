package capacity

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ahsp-harness/harness/target/api"
)

// AlertMetrics names the series the alert rules read, per role. The
// defaults are the reference target's /metrics; a deployment exporting
// other names (the Django app has no /metrics until one is added) maps them
// here (harness.yaml alerts.metrics). Each *Match adds fixed label matchers
// (e.g. job="ahsp", or status="429" where one counter holds every status).
type AlertMetrics struct {
	// Requests is a counter of answers; StatusLabel its label holding the
	// HTTP status.
	Requests      string            `json:"requests_total"`
	RequestsMatch map[string]string `json:"requests_match,omitempty"`
	StatusLabel   string            `json:"status_label"`
	// RateLimited counts 429s; CategoryLabel is its label holding the
	// limit's category, empty when the series carry none (then one rule
	// covers every 429).
	RateLimited      string            `json:"rate_limited_total"`
	RateLimitedMatch map[string]string `json:"rate_limited_match,omitempty"`
	CategoryLabel    string            `json:"category_label"`
	// CacheErrors counts cache call failures.
	CacheErrors      string            `json:"cache_errors"`
	CacheErrorsMatch map[string]string `json:"cache_errors_match,omitempty"`
	// Latency is a histogram's base name (its _bucket series with le).
	Latency      string            `json:"request_duration"`
	LatencyMatch map[string]string `json:"request_duration_match,omitempty"`
}

// DefaultAlertMetrics are the reference target's metric names.
var DefaultAlertMetrics = AlertMetrics{
	Requests:      "ahsp_http_requests_total",
	StatusLabel:   "status",
	RateLimited:   "ahsp_rate_limit_hits_total",
	CategoryLabel: "category",
	CacheErrors:   "ahsp_cache_errors_total",
	Latency:       "ahsp_http_request_duration_seconds",
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Validate says what is wrong with a mapping, by role.
func (m AlertMetrics) Validate() error {
	for role, name := range map[string]string{"requests_total": m.Requests, "rate_limited_total": m.RateLimited, "cache_errors": m.CacheErrors, "request_duration": m.Latency} {
		if !metricName.MatchString(name) {
			return fmt.Errorf("%s: metric name %q is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", role, name)
		}
	}
	if strings.HasSuffix(m.Latency, "_bucket") {
		return fmt.Errorf("request_duration: give the histogram's base name without _bucket (%q)", strings.TrimSuffix(m.Latency, "_bucket"))
	}
	if !labelName.MatchString(m.StatusLabel) {
		return fmt.Errorf("requests_total: status_label %q is not a Prometheus label name", m.StatusLabel)
	}
	if m.CategoryLabel != "" && !labelName.MatchString(m.CategoryLabel) {
		return fmt.Errorf("rate_limited_total: category_label %q is not a Prometheus label name (empty: the series carry no category)", m.CategoryLabel)
	}
	for role, match := range map[string]map[string]string{"requests_total": m.RequestsMatch, "rate_limited_total": m.RateLimitedMatch, "cache_errors": m.CacheErrorsMatch, "request_duration": m.LatencyMatch} {
		for k := range match {
			if !labelName.MatchString(k) || k == "__name__" {
				return fmt.Errorf("%s: match label %q is not a Prometheus label name", role, k)
			}
		}
	}
	return nil
}

// selector is name{match..., extra...} with labels sorted; extra are
// already-formatted matchers.
func selector(name string, match map[string]string, extra ...string) string {
	keys := make([]string, 0, len(match))
	for k := range match {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, match[k]))
	}
	parts = append(parts, extra...)
	if len(parts) == 0 {
		return name
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// Mapping is the mapping as comment lines for the rule file.
func (m AlertMetrics) Mapping() []string {
	cat := "category label " + m.CategoryLabel
	if m.CategoryLabel == "" {
		cat = "no category label: one rule over every 429"
	}
	return []string{
		fmt.Sprintf("requests_total: %s (status label %s)", selector(m.Requests, m.RequestsMatch), m.StatusLabel),
		fmt.Sprintf("rate_limited_total: %s (%s)", selector(m.RateLimited, m.RateLimitedMatch), cat),
		fmt.Sprintf("request_duration: %s (histogram)", selector(m.Latency, m.LatencyMatch)),
		fmt.Sprintf("cache_errors: %s", selector(m.CacheErrors, m.CacheErrorsMatch)),
	}
}

// Rule is one Prometheus alerting rule with the numbers behind it.
type Rule struct {
	Alert    string
	Expr     string
	For      string
	Severity string
	Summary  string
	// Basis says how the threshold was derived from the measurement.
	Basis string
	// Category and Threshold (per second) are set on the 429 rules.
	Category  api.Category
	Threshold float64
}

// AlertRules derives alerting rules from a capacity report: the load
// rule's threshold is 80 % of the lowest sustainable rate, p99 and error
// rate are the SLO's, and the 429 rule per category fires when more than
// 1 % of that category's share of capacity is being rejected (shares from
// the tuning's usage profile, else even over the categories limited).
func AlertRules(rep *Report, m AlertMetrics) ([]Rule, error) {
	var capRate, knee float64
	var from string
	for _, r := range rep.Results {
		if r.Outcome == nil || r.Outcome.MaxRate <= 0 {
			continue
		}
		if capRate == 0 || float64(r.Outcome.MaxRate) < capRate {
			capRate, knee, from = float64(r.Outcome.MaxRate), float64(r.Outcome.Knee), r.Config.String()
		}
	}
	if capRate == 0 {
		return nil, fmt.Errorf("alert rules: the capacity report has no sustainable rate to derive thresholds from")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("alert rules: metrics: %w", err)
	}
	reqs := selector(m.Requests, m.RequestsMatch)
	p99 := rep.SLO.P99Ms / 1000
	errPct := rep.SLO.MaxErrorRate
	var rules []Rule
	rules = append(rules, Rule{
		Alert: "AHSPNearCapacity", For: "10m", Severity: "warning",
		Expr:    fmt.Sprintf("sum(rate(%s[5m])) > %s", reqs, num(0.8*capRate)),
		Summary: fmt.Sprintf("load above 80%% of the measured capacity (%s/s)", num(capRate)),
		Basis:   fmt.Sprintf("0.8 × C, C = %s/s (%s); the knee was %s/s", num(capRate), from, num(knee)),
	}, Rule{
		Alert: "AHSPLatencyP99High", For: "10m", Severity: "warning",
		Expr:    fmt.Sprintf("histogram_quantile(0.99, sum by (le) (rate(%s[5m]))) > %s", selector(m.Latency+"_bucket", m.LatencyMatch), num(p99)),
		Summary: fmt.Sprintf("p99 latency above the capacity SLO (%s s)", num(p99)),
		Basis:   fmt.Sprintf("the SLO the capacity was measured at: p99 <= %s ms", num(rep.SLO.P99Ms)),
	}, Rule{
		Alert: "AHSPErrorRateHigh", For: "5m", Severity: "critical",
		Expr: fmt.Sprintf(`sum(rate(%s[5m])) / sum(rate(%s[5m])) > %s`,
			selector(m.Requests, m.RequestsMatch, m.StatusLabel+`=~"5.."`), reqs, num(errPct/100)),
		Summary: fmt.Sprintf("more than %s%% of answers are 5xx", num(errPct)),
		Basis:   fmt.Sprintf("the SLO the capacity was measured at: errors <= %s%%", num(errPct)),
	}, Rule{
		Alert: "AHSPCacheErrors", For: "1m", Severity: "critical",
		Expr:    fmt.Sprintf("sum(rate(%s[5m])) > 0", selector(m.CacheErrors, m.CacheErrorsMatch)),
		Summary: "the cache (limiter, sessions) is failing: limits and logins depend on it",
		Basis:   "any cache error: the cache-down probe shows what the app then answers (failure policy)",
	})
	if m.CategoryLabel == "" {
		rules = append(rules, Rule{
			Category: AllCategories, Threshold: 0.01 * capRate,
			Alert: "AHSPRateLimited", For: "5m", Severity: "warning",
			Expr:    fmt.Sprintf(`sum(rate(%s[5m])) > %s`, selector(m.RateLimited, m.RateLimitedMatch), num(0.01*capRate)),
			Summary: "429 storm: users are being rejected (see docs/ops/incidents.md)",
			Basis:   fmt.Sprintf("1%% of capacity: 0.01 × %s/s (the series carry no category label, so one rule covers every 429)", num(capRate)),
		})
		return rules, nil
	}
	shares := categoryShares(rep)
	cats := make([]string, 0, len(shares))
	for c := range shares {
		cats = append(cats, string(c))
	}
	sort.Strings(cats)
	for _, c := range cats {
		share := shares[api.Category(c)]
		thr := 0.01 * capRate * share
		rules = append(rules, Rule{
			Category: api.Category(c), Threshold: thr,
			Alert: "AHSPRateLimited" + title(c), For: "5m", Severity: "warning",
			Expr:    fmt.Sprintf(`sum(rate(%s[5m])) > %s`, selector(m.RateLimited, m.RateLimitedMatch, fmt.Sprintf("%s=%q", m.CategoryLabel, c)), num(thr)),
			Summary: fmt.Sprintf("429 storm in category %s: users are being rejected (see docs/ops/incidents.md)", c),
			Basis:   fmt.Sprintf("1%% of the category's share of capacity: 0.01 × %s/s × %s", num(capRate), num(share)),
		})
	}
	return rules, nil
}

// categoryShares is each limited category's share of the load: from the
// tuning's usage profile when there is one, else even.
func categoryShares(rep *Report) map[api.Category]float64 {
	out := map[api.Category]float64{}
	if rep.Tuning != nil && rep.Tuning.Usage.total() > 0 {
		for c, v := range rep.Tuning.Usage.PerMinute {
			if v > 0 {
				out[c] = v / 60 / rep.Tuning.Usage.total()
			}
		}
		return out
	}
	cats := []api.Category{api.Bulk, api.Export, api.Read, api.Write}
	for _, c := range cats {
		out[c] = 1 / float64(len(cats))
	}
	return out
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// num formats a threshold without float noise.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// WriteAlertRules writes rules as a Prometheus rule file (YAML), with the
// metric mapping they read as comments.
func WriteAlertRules(w io.Writer, rep *Report, rules []Rule, m AlertMetrics) error {
	var b strings.Builder
	b.WriteString("# Prometheus alerting rules derived by `harness capacity`")
	if rep.Label != "" {
		b.WriteString(" for " + strconv.Quote(rep.Label))
	}
	b.WriteString(".\n# Thresholds come from the measured capacity; each rule's basis annotation says how.\n")
	b.WriteString("# Metrics read (harness.yaml alerts.metrics):\n")
	for _, l := range m.Mapping() {
		b.WriteString("#   " + l + "\n")
	}
	b.WriteString("groups:\n  - name: ahsp-capacity\n    rules:\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "      - alert: %s\n        expr: %s\n        for: %s\n        labels:\n          severity: %s\n        annotations:\n          summary: %s\n          basis: %s\n",
			r.Alert, yamlString(r.Expr), r.For, r.Severity, yamlString(r.Summary), yamlString(r.Basis))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's escaping is
// valid there).
func yamlString(s string) string { return strconv.Quote(s) }
