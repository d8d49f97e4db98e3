package reports

import (
	"fmt"
	"strings"

	"time"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/contracts"
	e2e "github.com/ahsp-harness/harness/e2e/e2eresult"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// SchemaVersion is the version of the Run model; summary.json carries it and
// reports/summary.schema.json describes it. Bump the major part on any
// change that breaks readers.
const SchemaVersion = "1.0"

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
	// Errors are checks that could not run at all, in words.
	Errors []string `json:"errors,omitempty"`
	Gate   Gate     `json:"gate"`
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

// GateConfig is the gate part of harness.yaml.
type GateConfig struct {
	Thresholds []Threshold `json:"thresholds"`
	// Require names the check sections whose every verdict must pass:
	// scan, contracts, e2e. A required section that did not run is a skip row.
	Require []string `json:"require"`
}

// Sections a GateConfig may require.
var Sections = []string{"scan", "contracts", "e2e"}

// DefaultGate requires every check section and no rate-limit overshoot.
func DefaultGate() GateConfig {
	th, _ := ParseThreshold("overshoot == 0")
	return GateConfig{Thresholds: []Threshold{th}, Require: append([]string(nil), Sections...)}
}

// Subjects lists what thresholds can be measured on: each scenario as a
// whole and each of its endpoints.
func (r *Run) Subjects() []Subject {
	var out []Subject
	for _, sc := range r.Scenarios {
		if sc == nil || sc.Metrics.Total == nil {
			continue
		}
		out = append(out, Subject{Scenario: sc.Scenario, Values: values(sc.Metrics.Total, sc)})
		for name, st := range sc.Metrics.Operations {
			out = append(out, Subject{Scenario: sc.Scenario, Endpoint: name, Values: values(st, nil)})
		}
	}
	return out
}

func values(st *scenarios.Stats, sc *scenarios.Result) map[string]float64 {
	v := map[string]float64{
		"min": st.Latency.Min, "mean": st.Latency.Mean, "p50": st.Latency.P50, "p90": st.Latency.P90,
		"p95": st.Latency.P95, "p99": st.Latency.P99, "max": st.Latency.Max,
		"throughput": st.Throughput, "requests": float64(st.Requests),
	}
	if st.Requests > 0 {
		v["error_rate"] = 100 * float64(st.Errors) / float64(st.Requests)
	}
	if sc != nil && sc.RequestedRate > 0 {
		v["achieved_ratio"] = 100 * sc.AchievedRate / sc.RequestedRate
	}
	return v
}

// Overshoot sums the scan's overshoot over every probe; nil when no scan ran.
func (r *Run) Overshoot() *float64 {
	if r.Scan == nil {
		return nil
	}
	var n float64
	for _, p := range r.Scan.Probes {
		n += float64(p.Evidence.Overshoot)
	}
	return &n
}

// EvaluateGate judges the run against cfg and stores the verdict in r.Gate.
// The gate fails on any failed row or any check that could not run.
func (r *Run) EvaluateGate(cfg GateConfig) {
	var rows []GateRow
	for _, sec := range cfg.Require {
		rows = append(rows, r.sectionRow(sec))
	}
	subjects := r.Subjects()
	for _, t := range cfg.Thresholds {
		rows = append(rows, evalThreshold(t, subjects, r.Overshoot())...)
	}
	for _, e := range r.Errors {
		rows = append(rows, GateRow{Name: "check could not run", Status: check.Fail, Message: e})
	}
	g := Gate{Status: check.Pass, Rows: rows}
	for _, row := range rows {
		if row.Status == check.Fail {
			g.Status = check.Fail
		}
	}
	r.Gate = g
}

// sectionRowName names the gate row that requires every check of sec to pass.
func sectionRowName(sec string) string { return "all " + sec + " checks pass" }

func (r *Run) sectionRow(sec string) GateRow {
	name := sectionRowName(sec)
	var st check.Status
	var failed []string
	switch sec {
	case "scan":
		if r.Scan == nil {
			return GateRow{Name: name, Status: check.Skip, Message: "scan did not run"}
		}
		st = r.Scan.Status
		for _, p := range r.Scan.Probes {
			if p.Status == check.Fail {
				failed = append(failed, p.Probe)
			}
		}
	case "contracts":
		if r.Contracts == nil {
			return GateRow{Name: name, Status: check.Skip, Message: "contracts did not run"}
		}
		st = r.Contracts.Status
		for _, c := range r.Contracts.Results {
			if c.Verdict == check.Fail {
				failed = append(failed, c.Version+" "+c.Step)
			}
		}
		for _, e := range r.Contracts.Equivalence {
			if e.Status == check.Fail {
				failed = append(failed, "equivalence "+e.Step)
			}
		}
	case "e2e":
		if r.E2E == nil {
			return GateRow{Name: name, Status: check.Skip, Message: "e2e did not run"}
		}
		st = r.E2E.Status
		if st == check.Skip && r.E2E.Reason != "" {
			return GateRow{Name: name, Status: st, Expected: "pass", Observed: string(st), Message: r.E2E.Reason}
		}
		for _, c := range r.E2E.Failed() {
			failed = append(failed, c.Name)
		}
	default:
		return GateRow{Name: name, Status: check.Fail, Message: fmt.Sprintf("unknown section %q; allowed: %s", sec, strings.Join(Sections, ", "))}
	}
	row := GateRow{Name: name, Status: st, Expected: "pass", Observed: string(st)}
	if st == check.Fail {
		row.Message = "failed: " + strings.Join(failed, ", ")
	}
	return row
}
