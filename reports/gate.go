package reports

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
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

// GateConfig is the gate part of harness.yaml.
type GateConfig struct {
	Thresholds []Threshold `json:"thresholds"`
	// Require names the sections whose every check must pass (see Sections).
	// A required section that did not run, errored or was inconclusive
	// fails the gate unless AllowSkip names it.
	Require []string `json:"require"`
	// AllowSkip names sections that may be absent, skipped, errored or
	// inconclusive without failing the gate (--allow-skip, gate.allow_skip);
	// a failure in them still fails it.
	AllowSkip []string `json:"allow_skip,omitempty"`
}

// DefaultThresholds are the rules of the default gate: no rate-limit
// overshoot, under 1% errors and at least 90% of the requested rate.
var DefaultThresholds = []string{"overshoot == 0", "error_rate < 1%", "achieved_ratio >= 90%"}

// DefaultGate requires every default section and DefaultThresholds.
func DefaultGate() GateConfig {
	var g GateConfig
	for _, expr := range DefaultThresholds {
		th, err := ParseThreshold(expr)
		if err != nil {
			panic(err) // a constant above
		}
		g.Thresholds = append(g.Thresholds, th)
	}
	for _, s := range sectionTable {
		if s.Default {
			g.Require = append(g.Require, s.Name)
		}
	}
	return g
}

// allowed reports whether cfg lets section sec go without a verdict.
func (g GateConfig) allowed(sec string) bool {
	for _, s := range g.AllowSkip {
		if s == sec {
			return true
		}
	}
	return false
}

// Subject is one thing a threshold can be measured on: a whole scenario
// (Endpoint empty) or one endpoint within it.
type Subject struct {
	Scenario string
	Endpoint string
	Kind     string
	// Requests measured; a metric over zero requests is no data.
	Requests int64
	Values   map[string]float64
}

// GateRow is one evaluated rule or required section.
type GateRow struct {
	Name   string       `json:"name"`
	Status check.Status `json:"status"`
	// Blocking: this row fails the gate. A fail always blocks; skip, error
	// and inconclusive block unless their section is allowed to skip (or
	// the rule does not apply to what it selected).
	Blocking bool   `json:"blocking"`
	Observed string `json:"observed,omitempty"`
	Expected string `json:"expected,omitempty"`
	Message  string `json:"message,omitempty"`
	// Hint says what would let the row pass (e.g. --allow-skip SECTION).
	Hint string `json:"hint,omitempty"`
	// Section is the section the row judges, when it judges one.
	Section string `json:"section,omitempty"`
	// Checks lists the section's checks that did not pass, worst first.
	Checks []CheckRef `json:"checks,omitempty"`
}

// CheckRef names one check of a section and where report.html shows it.
type CheckRef struct {
	Name   string       `json:"name"`
	Status check.Status `json:"status"`
	Anchor string       `json:"anchor,omitempty"`
}

// Gate is the verdict of a run: pass only when no row blocks and at least
// one row measured something (passed or failed).
type Gate struct {
	Status check.Status `json:"status"`
	Rows   []GateRow    `json:"rows"`
}

// Passed reports whether the gate passed.
func (g Gate) Passed() bool { return g.Status == check.Pass }

// Blocking lists the rows that fail the gate.
func (g Gate) Blocking() []GateRow {
	var out []GateRow
	for _, r := range g.Rows {
		if r.Blocking {
			out = append(out, r)
		}
	}
	return out
}

func blocks(st check.Status, allowed bool) bool {
	return st == check.Fail || (st != check.Pass && !allowed)
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

// metricSection is the section whose data a metric reads.
func metricSection(metric string) string {
	if metric == "overshoot" {
		return "scan"
	}
	return "load"
}

// Overshoot is the scan's overshoot summed over the probes that ran (pass
// or fail), and how many probes that is out of how many there are.
type Overshoot struct {
	Sum         float64
	Ran, Probes int
	// Scanned: a scan is in the run at all.
	Scanned bool
}

// evalThreshold checks t against every subject it selects; allowed says
// whether the rule's section may go without data.
//   - a subject with no data behind the metric (zero requests, metric not
//     measured) is inconclusive;
//   - a metric that does not apply to a subject (achieved_ratio of a burst)
//     is a skip that does not block;
//   - a rule that selects nothing while subjects exist fails: a typo in a
//     scenario name must not pass silently;
//   - no subjects at all (the section did not run) is inconclusive, or a
//     skip when the section is allowed to skip.
func evalThreshold(t Threshold, subjects []Subject, os Overshoot, allowed bool) []GateRow {
	name := t.Expr
	sec := metricSection(t.Metric)
	noData := func(why string) []GateRow {
		st := check.Inconclusive
		if allowed {
			st = check.Skip
			why += " (allowed to skip)"
		}
		return []GateRow{{Name: name, Status: st, Blocking: blocks(st, allowed), Expected: t.Op + " " + formatValue(t.Metric, t.Value), Message: why, Section: sec}}
	}
	if t.Metric == "overshoot" {
		switch {
		case !os.Scanned:
			return noData("no scan ran in this run")
		case os.Ran == 0:
			return noData(fmt.Sprintf("no scan probe ran to a verdict (%d probes, none passed or failed)", os.Probes))
		}
		r := row(t, name, os.Sum)
		r.Section = sec
		if os.Ran < os.Probes {
			r.Message = strings.TrimPrefix(r.Message+"; ", "; ") + fmt.Sprintf("summed over the %d of %d probes that ran", os.Ran, os.Probes)
		}
		return []GateRow{r}
	}
	if len(subjects) == 0 {
		return noData("no load scenario ran in this run")
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
		label := name + " [" + s.Scenario
		if s.Endpoint != "" {
			label += " / " + s.Endpoint
		}
		label += "]"
		exp := t.Op + " " + formatValue(t.Metric, t.Value)
		v, ok := s.Values[t.Metric]
		switch {
		case t.Metric == "achieved_ratio" && !ok:
			rows = append(rows, GateRow{Name: label, Status: check.Skip, Expected: exp, Section: sec,
				Message: fmt.Sprintf("does not apply: a %s scenario has no requested rate", strings.TrimSpace(s.Kind+" "))})
		case s.Requests == 0 && t.Metric != "requests":
			st := check.Inconclusive
			rows = append(rows, GateRow{Name: label, Status: st, Blocking: blocks(st, allowed), Expected: exp, Section: sec,
				Observed: "no data", Message: "no requests were measured, so " + t.Metric + " is not a measurement"})
		case !ok:
			st := check.Inconclusive
			rows = append(rows, GateRow{Name: label, Status: st, Blocking: blocks(st, allowed), Expected: exp, Section: sec,
				Observed: "no data", Message: t.Metric + " was not measured"})
		default:
			r := row(t, label, v)
			r.Section = sec
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		msg := "no scenario or endpoint matched this rule"
		if t.Where != "" {
			msg += " (" + t.Where + ")"
		}
		return []GateRow{{Name: name, Status: check.Fail, Blocking: true, Message: msg, Section: sec}}
	}
	return rows
}

func row(t Threshold, name string, v float64) GateRow {
	r := GateRow{Name: name, Status: check.Pass, Observed: formatValue(t.Metric, v), Expected: t.Op + " " + formatValue(t.Metric, t.Value)}
	if !t.Holds(v) {
		r.Status, r.Blocking = check.Fail, true
		r.Message = fmt.Sprintf("%s is %s, want %s", t.Metric, r.Observed, r.Expected)
	}
	return r
}

// Label is the row's outcome with what it does to the gate, in the
// outcome words: "pass", "fail", "skip (blocks the gate)", "skip (allowed)".
func (r GateRow) Label() string {
	switch {
	case r.Status == check.Pass || r.Status == check.Fail:
		return string(r.Status)
	case r.Blocking:
		return string(r.Status) + " (blocks the gate)"
	}
	return string(r.Status) + " (allowed)"
}

// Text is the row's message in one line: the message, the first checks
// that did not pass and the hint.
func (r GateRow) Text() string {
	out := r.Message
	if len(r.Checks) > 0 {
		out += ": " + namedChecks(r.Checks)
	}
	if r.Hint != "" {
		out += "; " + r.Hint
	}
	return strings.TrimPrefix(out, "; ")
}

// WriteGateTable prints one line per gate row for a terminal.
func WriteGateTable(w io.Writer, g Gate) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GATE\tSTATUS\tOBSERVED\tEXPECTED\tDETAIL")
	for _, r := range g.Rows {
		// Shorten the message and names, never the hint: it says how to pass.
		hint := r.Hint
		r.Hint = ""
		msg := r.Text()
		if m, room := []rune(msg), max(120-len([]rune(hint)), 40); len(m) > room {
			msg = string(m[:room-3]) + "..."
		}
		if hint != "" {
			msg = strings.TrimPrefix(msg+"; "+hint, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, strings.ToUpper(r.Label()), dash(r.Observed), dash(r.Expected), msg)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
