package reports

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Threshold is one gate rule, e.g. `p95{endpoint=rekap} < 250ms`.
//
// Grammar: METRIC[{KEY=VALUE[,KEY=VALUE]}] OP VALUE, where
//   - METRIC is one of Metrics (latency in ms, error_rate in %, throughput in req/s,
//     achieved_ratio in %, requests a count, overshoot a count over all scan probes);
//   - KEY is scenario or endpoint; without them the rule applies to every scenario;
//   - OP is <, <=, >, >=, ==, !=;
//   - VALUE is a number with the metric's unit: 250ms, 1.5s, 1%, 50/s, 0.
type Threshold struct {
	Expr     string            `json:"expr"`
	Metric   string            `json:"metric"`
	Selector map[string]string `json:"selector,omitempty"`
	Op       string            `json:"op"`
	Value    float64           `json:"value"`
	// Where is "file:line" when the rule came from a config file.
	Where string `json:"where,omitempty"`
}

// Metrics lists the metric names a threshold may use, with their unit.
var Metrics = map[string]string{
	"min": "ms", "mean": "ms", "p50": "ms", "p90": "ms", "p95": "ms", "p99": "ms", "max": "ms",
	"error_rate":     "%",
	"throughput":     "/s",
	"achieved_ratio": "%",
	"requests":       "",
	"overshoot":      "",
}

var thresholdRE = regexp.MustCompile(`^\s*([a-z_0-9]+)\s*(?:\{([^}]*)\})?\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$`)

// ParseThreshold parses one rule. Errors name the allowed values.
func ParseThreshold(expr string) (Threshold, error) {
	m := thresholdRE.FindStringSubmatch(expr)
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: want METRIC[{scenario=NAME,endpoint=NAME}] OP VALUE, e.g. \"p95{endpoint=rekap} < 250ms\"", expr)
	}
	t := Threshold{Expr: strings.TrimSpace(expr), Metric: m[1], Op: m[3]}
	unit, ok := Metrics[t.Metric]
	if !ok {
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q; allowed: %s", expr, t.Metric, strings.Join(metricNames(), ", "))
	}
	if m[2] != "" {
		t.Selector = map[string]string{}
		for _, kv := range strings.Split(m[2], ",") {
			k, v, found := strings.Cut(strings.TrimSpace(kv), "=")
			k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
			if !found || v == "" || (k != "scenario" && k != "endpoint") {
				return Threshold{}, fmt.Errorf("threshold %q: bad selector %q; want scenario=NAME and/or endpoint=NAME", expr, kv)
			}
			t.Selector[k] = v
		}
		if t.Metric == "overshoot" {
			return Threshold{}, fmt.Errorf("threshold %q: overshoot is summed over all scan probes and takes no selector", expr)
		}
	}
	v, err := parseValue(m[4], unit)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", expr, err)
	}
	t.Value = v
	return t, nil
}

func metricNames() []string {
	out := make([]string, 0, len(Metrics))
	for k := range Metrics {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func parseValue(s, unit string) (float64, error) {
	switch unit {
	case "ms":
		if d, err := time.ParseDuration(s); err == nil {
			return float64(d) / float64(time.Millisecond), nil
		}
		return 0, fmt.Errorf("value %q is not a duration; write e.g. 250ms or 1.5s", s)
	case "%":
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || !strings.HasSuffix(s, "%") {
			return 0, fmt.Errorf("value %q is not a percentage; write e.g. 1%% or 0.5%%", s)
		}
		return n, nil
	case "/s":
		n, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
		if err != nil {
			return 0, fmt.Errorf("value %q is not a rate; write e.g. 50/s", s)
		}
		return n, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return n, nil
}

// Holds reports whether the observed value satisfies the rule.
func (t Threshold) Holds(observed float64) bool {
	const eps = 1e-9
	switch t.Op {
	case "<":
		return observed < t.Value
	case "<=":
		return observed <= t.Value+eps
	case ">":
		return observed > t.Value
	case ">=":
		return observed >= t.Value-eps
	case "==":
		return math.Abs(observed-t.Value) < eps
	default: // "!="
		return math.Abs(observed-t.Value) >= eps
	}
}

// Subject is one thing a threshold can be measured on: a whole scenario
// (Endpoint empty) or one endpoint within it.
type Subject struct {
	Scenario string
	Endpoint string
	Values   map[string]float64
}

// GateRow is one evaluated rule or required check.
type GateRow struct {
	Name     string       `json:"name"`
	Status   check.Status `json:"status"`
	Observed string       `json:"observed,omitempty"`
	Expected string       `json:"expected,omitempty"`
	Message  string       `json:"message,omitempty"`
}

// Gate is the verdict of a run.
type Gate struct {
	Status check.Status `json:"status"`
	Rows   []GateRow    `json:"rows"`
}

func formatValue(metric string, v float64) string {
	switch Metrics[metric] {
	case "ms":
		return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
	case "%":
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	case "/s":
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// evalThreshold checks t against every subject it selects. A rule that selects
// nothing fails: a typo in a scenario name must not pass silently.
func evalThreshold(t Threshold, subjects []Subject, overshoot *float64) []GateRow {
	name := t.Expr
	if t.Metric == "overshoot" {
		if overshoot == nil {
			return []GateRow{{Name: name, Status: check.Skip, Message: "no scan ran in this run"}}
		}
		return []GateRow{row(t, name, *overshoot)}
	}
	var rows []GateRow
	for _, s := range subjects {
		if want, ok := t.Selector["scenario"]; ok && want != s.Scenario {
			continue
		}
		want, byEndpoint := t.Selector["endpoint"]
		if byEndpoint != (s.Endpoint != "") || (byEndpoint && want != s.Endpoint) {
			continue
		}
		v, ok := s.Values[t.Metric]
		if !ok {
			continue
		}
		label := name + " [" + s.Scenario
		if s.Endpoint != "" {
			label += " / " + s.Endpoint
		}
		rows = append(rows, row(t, label+"]", v))
	}
	if len(rows) == 0 {
		msg := "no scenario or endpoint matched this rule"
		if len(subjects) == 0 {
			return []GateRow{{Name: name, Status: check.Skip, Message: "no load scenario ran in this run"}}
		}
		if t.Where != "" {
			msg += " (" + t.Where + ")"
		}
		return []GateRow{{Name: name, Status: check.Fail, Message: msg}}
	}
	return rows
}

func row(t Threshold, name string, v float64) GateRow {
	r := GateRow{Name: name, Status: check.Pass, Observed: formatValue(t.Metric, v), Expected: t.Op + " " + formatValue(t.Metric, t.Value)}
	if !t.Holds(v) {
		r.Status = check.Fail
		r.Message = fmt.Sprintf("%s is %s, want %s", t.Metric, r.Observed, r.Expected)
	}
	return r
}
