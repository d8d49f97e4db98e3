package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
)

// CompareConfig says how much worse counts as a regression, in percent:
// latency higher by more than LatencyPct, throughput lower by more than ThroughputPct.
type CompareConfig struct {
	LatencyPct    float64 `json:"latency_pct"`
	ThroughputPct float64 `json:"throughput_pct"`
}

// DefaultCompare treats 10% worse latency or throughput as a regression.
func DefaultCompare() CompareConfig { return CompareConfig{LatencyPct: 10, ThroughputPct: 10} }

// Delta is one metric in both runs.
type Delta struct {
	Scenario string  `json:"scenario"`
	Endpoint string  `json:"endpoint,omitempty"` // empty: the scenario as a whole
	Metric   string  `json:"metric"`             // p50, p95, p99 (ms) or throughput (req/s)
	Old      float64 `json:"old"`
	New      float64 `json:"new"`
	// ChangePct is (new-old)/old in percent; 0 when old is 0.
	ChangePct float64 `json:"change_pct"`
	Regressed bool    `json:"regressed"`
	Improved  bool    `json:"improved"`
}

// Check is one named verdict that changed between the runs.
type Check struct {
	Section string       `json:"section"`
	Name    string       `json:"name"`
	Old     check.Status `json:"old"` // "" when the check did not exist before
	New     check.Status `json:"new"`
	Message string       `json:"message,omitempty"`
}

// Comparison is the difference between two runs.
type Comparison struct {
	Config  CompareConfig `json:"config"`
	Old     Meta          `json:"old"`
	New     Meta          `json:"new"`
	OldGate check.Status  `json:"old_gate"`
	NewGate check.Status  `json:"new_gate"`
	Deltas  []Delta       `json:"deltas"`
	// NewFailures fail in new but did not in old (or did not exist).
	NewFailures []Check `json:"new_failures"`
	// Degraded passed in old and are skip, error or inconclusive in new:
	// a check that stopped measuring is not a pass.
	Degraded []Check `json:"degraded"`
	// Vanished checks are in old but not in new (New is "").
	Vanished []Check `json:"vanished"`
	// Fixed failed in old and pass in new.
	Fixed []Check `json:"fixed"`
	// OnlyOld and OnlyNew name scenarios present in one run only; a
	// scenario only in old vanished, which is a regression.
	OnlyOld []string `json:"only_old,omitempty"`
	OnlyNew []string `json:"only_new,omitempty"`
}

// Regressed reports whether anything got worse: a metric beyond its
// threshold, a check that newly fails, stopped passing or vanished, a
// scenario that vanished, or a gate that passed and no longer does.
func (c *Comparison) Regressed() bool {
	if len(c.NewFailures)+len(c.Degraded)+len(c.Vanished)+len(c.OnlyOld) > 0 {
		return true
	}
	if c.OldGate == check.Pass && c.NewGate != check.Pass {
		return true
	}
	for _, d := range c.Deltas {
		if d.Regressed {
			return true
		}
	}
	return false
}

// Regressions lists the deltas that regressed.
func (c *Comparison) Regressions() []Delta {
	var out []Delta
	for _, d := range c.Deltas {
		if d.Regressed {
			out = append(out, d)
		}
	}
	return out
}

// Compare diffs two runs: latency p50/p95/p99 and throughput per scenario
// and endpoint, and verdicts that flipped. A zero cfg field means 10%.
func Compare(old, new *Run, cfg CompareConfig) *Comparison {
	if cfg.LatencyPct <= 0 {
		cfg.LatencyPct = 10
	}
	if cfg.ThroughputPct <= 0 {
		cfg.ThroughputPct = 10
	}
	c := &Comparison{Config: cfg, Old: old.Meta, New: new.Meta, OldGate: old.Gate.Status, NewGate: new.Gate.Status}
	oldSc := map[string]*scenarios.Result{}
	for _, s := range old.Scenarios {
		oldSc[s.Scenario] = s
	}
	seen := map[string]bool{}
	for _, ns := range new.Scenarios {
		seen[ns.Scenario] = true
		os, ok := oldSc[ns.Scenario]
		if !ok {
			c.OnlyNew = append(c.OnlyNew, ns.Scenario)
			continue
		}
		c.Deltas = append(c.Deltas, statDeltas(ns.Scenario, "", os.Metrics.Total, ns.Metrics.Total, cfg)...)
		names := make([]string, 0, len(ns.Metrics.Operations))
		for n := range ns.Metrics.Operations {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c.Deltas = append(c.Deltas, statDeltas(ns.Scenario, n, os.Metrics.Operations[n], ns.Metrics.Operations[n], cfg)...)
		}
	}
	for _, s := range old.Scenarios {
		if !seen[s.Scenario] {
			c.OnlyOld = append(c.OnlyOld, s.Scenario)
		}
	}
	before, after := verdicts(old), verdicts(new)
	for _, k := range verdictOrder(new) {
		n := after[k]
		o, existed := before[k]
		ch := Check{Section: k.suite, Name: k.name, Old: o.Status, New: n.Status, Message: n.Message}
		switch {
		case n.Status == check.Fail && (!existed || o.Status != check.Fail):
			c.NewFailures = append(c.NewFailures, ch)
		case existed && o.Status == check.Pass && n.Status != check.Pass:
			c.Degraded = append(c.Degraded, ch)
		case n.Status == check.Pass && existed && o.Status == check.Fail:
			ch.Message = ""
			c.Fixed = append(c.Fixed, ch)
		}
	}
	for _, k := range verdictOrder(old) {
		o := before[k]
		if _, ok := after[k]; ok {
			continue
		}
		// A gate row that goes away is a regression only when it passed:
		// a "check could not run" row vanishing is a fix.
		if k.suite == "gate" && o.Status != check.Pass {
			continue
		}
		c.Vanished = append(c.Vanished, Check{Section: k.suite, Name: k.name, Old: o.Status, Message: "not in the new run"})
	}
	return c
}

func statDeltas(sc, ep string, o, n *scenarios.Stats, cfg CompareConfig) []Delta {
	if o == nil || n == nil {
		return nil
	}
	mk := func(metric string, ov, nv float64, higherIsWorse bool, limit float64) Delta {
		d := Delta{Scenario: sc, Endpoint: ep, Metric: metric, Old: ov, New: nv}
		if ov > 0 {
			d.ChangePct = 100 * (nv - ov) / ov
		}
		worse := d.ChangePct
		if !higherIsWorse {
			worse = -worse
		}
		d.Regressed = worse > limit
		d.Improved = -worse > limit
		return d
	}
	return []Delta{
		mk("p50", o.Latency.P50, n.Latency.P50, true, cfg.LatencyPct),
		mk("p95", o.Latency.P95, n.Latency.P95, true, cfg.LatencyPct),
		mk("p99", o.Latency.P99, n.Latency.P99, true, cfg.LatencyPct),
		mk("throughput", o.Throughput, n.Throughput, false, cfg.ThroughputPct),
	}
}

type caseKey struct{ suite, name string }

func verdicts(r *Run) map[caseKey]Case {
	m := map[caseKey]Case{}
	for _, c := range compareCases(r) {
		m[caseKey{c.Suite, c.Name}] = c
	}
	return m
}

func verdictOrder(r *Run) []caseKey {
	var out []caseKey
	for _, c := range compareCases(r) {
		out = append(out, caseKey{c.Suite, c.Name})
	}
	return out
}

// compareCases are the run's verdicts without the gate's section rows
// ("all scan checks pass") and its "nothing was checked" row: the checks
// under them are compared one by one, so a newly failing probe is one new
// failure, not two. Rows that share a name ("check could not run") are
// told apart by their order.
func compareCases(r *Run) []Case {
	derived := map[string]bool{nothingCheckedRow: true}
	for _, sec := range Sections {
		derived[sectionRowName(sec)] = true
	}
	var out []Case
	seen := map[caseKey]int{}
	for _, c := range runCases(r) {
		if c.Suite == "gate" && derived[c.Name] {
			continue
		}
		k := caseKey{c.Suite, c.Name}
		if seen[k]++; seen[k] > 1 {
			c.Name = fmt.Sprintf("%s (#%d)", c.Name, seen[k])
		}
		out = append(out, c)
	}
	return out
}

func (d Delta) subject() string {
	if d.Endpoint == "" {
		return d.Scenario
	}
	return d.Scenario + " / " + d.Endpoint
}

func (d Delta) format(v float64) string {
	if d.Metric == "throughput" {
		return fmt.Sprintf("%.1f/s", v)
	}
	return fmtMS(v)
}

func (d Delta) verdict() string {
	switch {
	case d.Regressed:
		return "REGRESSED"
	case d.Improved:
		return "improved"
	}
	return ""
}

// WriteComparisonText writes c as plain-text tables.
func WriteComparisonText(w io.Writer, c *Comparison) error {
	var b strings.Builder
	verdict := "no regression"
	if c.Regressed() {
		verdict = "REGRESSION"
	}
	fmt.Fprintf(&b, "compare: %s (latency +%g%%, throughput -%g%% count as worse)\n", verdict, c.Config.LatencyPct, c.Config.ThroughputPct)
	fmt.Fprintf(&b, "old: %s %s gate %s\nnew: %s %s gate %s\n\n",
		c.Old.Started.UTC().Format("2006-01-02 15:04:05"), c.Old.GitSHA, c.OldGate,
		c.New.Started.UTC().Format("2006-01-02 15:04:05"), c.New.GitSHA, c.NewGate)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tMETRIC\tOLD\tNEW\tCHANGE\t")
	for _, d := range c.Deltas {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%+.1f%%\t%s\n", d.subject(), d.Metric, d.format(d.Old), d.format(d.New), d.ChangePct, d.verdict())
	}
	tw.Flush()
	for _, s := range c.OnlyOld {
		fmt.Fprintf(&b, "scenario %s only in old run (vanished: REGRESSED)\n", s)
	}
	for _, s := range c.OnlyNew {
		fmt.Fprintf(&b, "scenario %s only in new run\n", s)
	}
	fmt.Fprintf(&b, "\nnew failures: %d\n", len(c.NewFailures))
	for _, f := range c.NewFailures {
		fmt.Fprintf(&b, "  [%s] %s: %s -> %s: %s\n", f.Section, f.Name, or(string(f.Old), "absent"), f.New, f.Message)
	}
	fmt.Fprintf(&b, "stopped passing (pass -> skip, error or inconclusive): %d\n", len(c.Degraded))
	for _, f := range c.Degraded {
		fmt.Fprintf(&b, "  [%s] %s: %s -> %s: %s\n", f.Section, f.Name, f.Old, f.New, f.Message)
	}
	fmt.Fprintf(&b, "vanished (in old, not in new): %d\n", len(c.Vanished))
	for _, f := range c.Vanished {
		fmt.Fprintf(&b, "  [%s] %s (was %s)\n", f.Section, f.Name, f.Old)
	}
	fmt.Fprintf(&b, "fixed: %d\n", len(c.Fixed))
	for _, f := range c.Fixed {
		fmt.Fprintf(&b, "  [%s] %s\n", f.Section, f.Name)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// WriteComparisonHTML writes c as a self-contained HTML page.
func WriteComparisonHTML(w io.Writer, c *Comparison) error {
	t, err := parseTemplates("")
	if err != nil {
		return fmt.Errorf("parse report templates: %w", err)
	}
	return t.ExecuteTemplate(w, "compare.html.tmpl", c)
}
