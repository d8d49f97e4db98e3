package reports

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/contracts"
	e2e "github.com/ahsp-harness/harness/e2e/e2eresult"
	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/security"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// SchemaVersion is the version of the Run model; summary.json carries it and
// reports/summary.schema.json describes it. Bump the major part on any
// change that breaks readers.
const SchemaVersion = "2.0"

// Run is the one result model of a harness run: every check fills its
// section, the gate judges them, every output renders from it.
type Run struct {
	SchemaVersion string `json:"schema_version"`
	Meta          Meta   `json:"meta"`
	// Stack is what the run really used (nil when no stack was brought up).
	Stack     *stackinfo.Info     `json:"stack,omitempty"`
	Scan      *scan.Report        `json:"scan,omitempty"`
	Scenarios []*scenarios.Result `json:"scenarios,omitempty"`
	Contracts *contracts.Report   `json:"contracts,omitempty"`
	E2E       *e2e.Report         `json:"e2e,omitempty"`
	Capacity  *capacity.Report    `json:"capacity,omitempty"`
	// Security and Observability are the audit sections (reports/audit.go).
	Security      *security.Report      `json:"security,omitempty"`
	Observability *observability.Report `json:"observability,omitempty"`
	// Logins are the run's logins: sessions are shared by every phase.
	Logins *Logins `json:"logins,omitempty"`
	// Errors are checks that could not run at all, in words.
	Errors []string `json:"errors,omitempty"`
	Gate   Gate     `json:"gate"`
}

// Logins counts a run's logins through its session store.
type Logins struct {
	// Planned is the bound said up front; Made the logins made (successful
	// or refused); Throttled the attempts refused for their rate (429 or a
	// lockout page) and waited out; Reused the logins answered with a
	// session the run already had.
	Planned   int `json:"planned"`
	Made      int `json:"made"`
	Throttled int `json:"throttled"`
	Reused    int `json:"reused"`
}

// Meta says what ran, where and when.
type Meta struct {
	Tool      string    `json:"tool"`
	Version   string    `json:"version"`
	GitSHA    string    `json:"git_sha,omitempty"`
	Command   string    `json:"command"`
	Profile   string    `json:"profile,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	DurationS float64   `json:"duration_s"`
	Machine   Machine   `json:"machine"`
}

// Machine describes the host the harness ran on.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	Hostname  string `json:"hostname,omitempty"`
	GoVersion string `json:"go_version"`
}

// Subjects lists what thresholds can be measured on: each scenario as a
// whole and each of its endpoints.
func (r *Run) Subjects() []Subject {
	var out []Subject
	for _, sc := range r.Scenarios {
		if sc == nil {
			continue
		}
		whole := Subject{Scenario: sc.Scenario, Kind: string(sc.Kind), Values: map[string]float64{"requests": 0}}
		if sc.Metrics.Total != nil {
			whole.Requests, whole.Values = sc.Metrics.Total.Requests, values(sc.Metrics.Total, sc)
		}
		out = append(out, whole)
		names := make([]string, 0, len(sc.Metrics.Operations))
		for name := range sc.Metrics.Operations {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			st := sc.Metrics.Operations[name]
			if st == nil {
				continue
			}
			out = append(out, Subject{Scenario: sc.Scenario, Endpoint: name, Kind: string(sc.Kind), Requests: st.Requests, Values: values(st, nil)})
		}
	}
	return out
}

// values are the metrics of st; latency and rates only when requests were
// measured (zero requests has no p95, not a p95 of 0).
func values(st *scenarios.Stats, sc *scenarios.Result) map[string]float64 {
	v := map[string]float64{"requests": float64(st.Requests)}
	if st.Requests == 0 {
		return v
	}
	for k, x := range map[string]float64{
		"min": st.Latency.Min, "mean": st.Latency.Mean, "p50": st.Latency.P50, "p90": st.Latency.P90,
		"p95": st.Latency.P95, "p99": st.Latency.P99, "max": st.Latency.Max,
		"throughput": st.Throughput, "error_rate": 100 * float64(st.Errors) / float64(st.Requests),
	} {
		v[k] = x
	}
	if sc != nil && sc.RequestedRate > 0 {
		v["achieved_ratio"] = 100 * sc.AchievedRate / sc.RequestedRate
	}
	return v
}

// Overshoot sums the scan's overshoot over the probes that ran to a verdict
// (pass or fail): a skipped or errored probe measured nothing.
func (r *Run) Overshoot() Overshoot {
	if r.Scan == nil {
		return Overshoot{}
	}
	o := Overshoot{Scanned: true, Probes: len(r.Scan.Probes)}
	for _, p := range r.Scan.Probes {
		if probeStatus(p).Ran() {
			o.Ran++
			o.Sum += float64(p.Evidence.Overshoot)
		}
	}
	return o
}

// EvaluateGate judges the run against cfg and stores the verdict in r.Gate.
// The gate fails when any row blocks (see GateRow.Blocking), when a check
// could not run (r.Errors), and when no row measured anything.
func (r *Run) EvaluateGate(cfg GateConfig) {
	var rows []GateRow
	for _, sec := range cfg.Require {
		rows = append(rows, r.sectionRow(sec, cfg.allowed(sec)))
	}
	subjects := r.Subjects()
	for _, t := range cfg.Thresholds {
		rows = append(rows, evalThreshold(t, subjects, r.Overshoot(), cfg.allowed(metricSection(t.Metric)))...)
	}
	for _, e := range r.Errors {
		rows = append(rows, errorRow(e, cfg))
	}
	measured := false
	for _, row := range rows {
		measured = measured || row.Status.Ran()
	}
	if !measured {
		rows = append(rows, GateRow{Name: nothingCheckedRow, Status: check.Inconclusive, Blocking: true, Expected: "at least one rule measured",
			Message: "nothing was checked: no required section ran a check and no threshold had data"})
	}
	g := Gate{Status: check.Pass, Rows: rows}
	for _, row := range rows {
		if row.Blocking {
			g.Status = check.Fail
		}
	}
	r.Gate = g
}

// couldNotRunRow names the rows of r.Errors.
const couldNotRunRow = "check could not run"

// errorRow is the row of one r.Errors entry ("PHASE: what went wrong"; the
// run package names phases after their sections). It is an error either
// way; it blocks unless it belongs to a section the gate allows to skip, as
// that section's own row does (anything else, the stack say, always blocks).
func errorRow(e string, cfg GateConfig) GateRow {
	row := GateRow{Name: couldNotRunRow, Status: check.Error, Blocking: true, Message: e}
	name, _, ok := strings.Cut(e, ": ")
	if _, known := SectionByName(name); !ok || !known {
		return row
	}
	row.Section = name
	if cfg.allowed(name) {
		row.Blocking, row.Hint = false, "allowed to skip"
	} else {
		row.Hint = fmt.Sprintf("a section that could not run fails the gate (allow with --allow-skip %s)", name)
	}
	return row
}

// nothingCheckedRow names the row added when no other row measured anything.
const nothingCheckedRow = "something was checked"

// sectionRowName names the gate row that requires every check of sec to pass.
func sectionRowName(sec string) string { return "all " + sec + " checks pass" }

// maxNamed bounds the checks a gate row names in its message; report.html
// links the rest.
const maxNamed = 5

func (r *Run) sectionRow(name string, allowed bool) GateRow {
	row := GateRow{Name: sectionRowName(name), Section: name, Expected: "pass"}
	sec, ok := SectionByName(name)
	if !ok {
		row.Status, row.Blocking = check.Error, true
		row.Message = fmt.Sprintf("unknown section %q; allowed: %s", name, strings.Join(Sections, ", "))
		return row
	}
	sr := sec.Of(r)
	row.Status = sr.Verdict()
	row.Observed = string(row.Status)
	row.Blocking = blocks(row.Status, allowed)
	var counts []check.Status
	for _, c := range sr.Cases {
		counts = append(counts, c.Status)
	}
	for _, st := range check.All {
		if st == check.Pass || st == check.Skip {
			continue
		}
		for _, c := range sr.Cases {
			if c.Status == st {
				row.Checks = append(row.Checks, CheckRef{Name: c.Name, Status: c.Status, Anchor: c.Anchor})
			}
		}
	}
	var msg string
	switch {
	case !sr.Ran:
		msg = name + " did not run"
	case len(sr.Cases) == 0:
		msg = "no " + sec.Label + " ran"
		if sr.Reason != "" {
			msg = sr.Reason
		}
	case row.Status == check.Skip:
		msg = fmt.Sprintf("all %d %s were skipped", len(sr.Cases), sec.Label)
	case row.Status != check.Pass:
		msg = check.Count(counts...).String()
	}
	if row.Status != check.Pass && row.Status != check.Fail {
		if allowed {
			row.Hint = "allowed to skip"
		} else {
			row.Hint = fmt.Sprintf("a required section must run and pass (allow with --allow-skip %s)", name)
		}
	}
	row.Message = msg
	return row
}

// namedChecks names the first maxNamed checks and counts the rest.
func namedChecks(cs []CheckRef) string {
	var names []string
	for i, c := range cs {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-maxNamed))
			break
		}
		n := c.Name
		if c.Status != check.Fail {
			n += " (" + string(c.Status) + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}
