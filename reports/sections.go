package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Section is one check section of a run. The gate requires sections by
// name, the renderings count and list their checks, compare diffs them; all
// of them read this table. A new section is its field on Run plus one entry
// in sectionTable (and its part of report.html).
type Section struct {
	// Name is how require:, allow_skip: and --allow-skip spell it.
	Name string
	// Label names its checks in counts ("scan probes").
	Label string
	// Anchor is the id of its part of report.html.
	Anchor string
	// Default: DefaultGate requires it.
	Default bool
	// Of reads the section out of a run.
	Of func(r *Run) SectionResult
}

// SectionResult is a section as the gate and the renderings see it.
type SectionResult struct {
	// Ran is false when the section is absent from the run (switched off,
	// or the run stopped before it).
	Ran bool
	// Status is the section's own verdict (e.g. a suite skipped or failed
	// as a whole); it is folded with its cases' statuses.
	Status check.Status
	// Reason says why the section as a whole did not pass or did not run.
	Reason string
	Cases  []Case
}

// sectionTable lists the check sections in report order.
var sectionTable = []Section{
	{Name: "scan", Label: "scan probes", Anchor: "scan", Default: true, Of: scanSection},
	{Name: "load", Label: "load scenarios", Anchor: "scenarios", Default: true, Of: loadSection},
	{Name: "contracts", Label: "contract checks", Anchor: "contracts", Default: true, Of: contractsSection},
	{Name: "e2e", Label: "e2e checks", Anchor: "e2e", Default: true, Of: e2eSection},
	{Name: "security", Label: "security checks", Anchor: "security", Default: true, Of: securitySection},
	{Name: "observability", Label: "observability checks", Anchor: "observability", Default: true, Of: observabilitySection},
	{Name: "capacity", Label: "capacity configurations", Anchor: "capacity", Of: capacitySection},
}

// Sections names every section a GateConfig may require or allow to skip.
var Sections = sectionNames()

func sectionNames() []string {
	out := make([]string, 0, len(sectionTable))
	for _, s := range sectionTable {
		out = append(out, s.Name)
	}
	return out
}

// SectionByName returns the section called name.
func SectionByName(name string) (Section, bool) {
	for _, s := range sectionTable {
		if s.Name == name {
			return s, true
		}
	}
	return Section{}, false
}

// Verdict folds a section into one status: absent is Skip; no checks is
// the section's own status, and never Pass (a pass needs a check that ran);
// otherwise the cases' Summarize, made worse by the section's own status
// when that is fail, error or inconclusive.
func (sr SectionResult) Verdict() check.Status {
	if !sr.Ran {
		return check.Skip
	}
	if len(sr.Cases) == 0 {
		if sr.Status == "" || sr.Status == check.Pass {
			return check.Inconclusive
		}
		return sr.Status
	}
	sts := make([]check.Status, len(sr.Cases))
	for i, c := range sr.Cases {
		sts[i] = c.Status
	}
	st := check.Summarize(sts...)
	switch sr.Status {
	case check.Fail, check.Error, check.Inconclusive:
		st = check.Worst(st, sr.Status)
	}
	return st
}

func scanSection(r *Run) SectionResult {
	if r.Scan == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true, Status: r.Scan.Status}
	for _, p := range r.Scan.Probes {
		ev := p.Evidence
		c := Case{
			Suite: "scan", Name: p.Probe, Status: probeStatus(p), Message: p.Reason, Duration: secs(p.DurationSeconds), Anchor: "probe-" + p.Probe,
			Detail: fmt.Sprintf("operation %s policy %s: sent %d, accepted %d, expected max %d, overshoot %d, limited %d, other %d\nper worker: %v\n%s",
				ev.Operation, ev.Policy, ev.Sent, ev.Accepted, ev.ExpectedMax, ev.Overshoot, ev.Limited, ev.Other, ev.AcceptedPerWorker, strings.Join(ev.Notes, "\n")),
		}
		var fs strings.Builder
		for _, f := range p.Findings {
			fs.WriteString("finding: " + f.String() + "\n")
		}
		c.Detail = fs.String() + c.Detail
		if a := attemptLines(p); a != "" {
			c.Detail += "\n" + a
		}
		out.Cases = append(out.Cases, c)
	}
	return out
}

// scenarioStatus: a scenario is a pass when it measured requests; zero
// requests is inconclusive (nothing behind its numbers), an interrupted
// scenario is an error.
func scenarioStatus(r *Run, i int) (check.Status, string) {
	sc := r.Scenarios[i]
	switch {
	case sc == nil:
		return check.Error, "no result"
	case sc.Skipped != "":
		return check.Skip, sc.Skipped
	case sc.Interrupted:
		return check.Error, "interrupted before its schedule ended"
	case sc.Metrics.Total == nil || sc.Metrics.Total.Requests == 0:
		return check.Inconclusive, "no request was measured"
	}
	return check.Pass, ""
}

func loadSection(r *Run) SectionResult {
	if len(r.Scenarios) == 0 {
		return SectionResult{}
	}
	out := SectionResult{Ran: true}
	for i, sc := range r.Scenarios {
		st, why := scenarioStatus(r, i)
		name := fmt.Sprintf("scenario %d", i)
		var detail string
		var d time.Duration
		if sc != nil {
			name = sc.Scenario
			if why == "" {
				why = sc.Note
			}
			d = secs(sc.Metrics.ElapsedSeconds)
			if t := sc.Metrics.Total; t != nil {
				detail = fmt.Sprintf("%d requests, %d errors, achieved %.1f/s of %.1f/s requested, p50 %s p95 %s p99 %s",
					t.Requests, t.Errors, sc.AchievedRate, sc.RequestedRate, fmtMS(t.Latency.P50), fmtMS(t.Latency.P95), fmtMS(t.Latency.P99))
			}
		}
		out.Cases = append(out.Cases, Case{Suite: "load", Name: name, Status: st, Message: why, Detail: detail, Duration: d, Anchor: "scenario-" + name})
	}
	return out
}

func contractsSection(r *Run) SectionResult {
	c := r.Contracts
	if c == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true, Status: c.Status}
	for _, x := range c.Results {
		var lines []string
		for _, v := range x.Violations {
			lines = append(lines, fmt.Sprintf("%s %s: %s (%s)", v.Where, v.InstancePath, v.Message, v.SchemaPath))
		}
		msg := x.Reason
		if msg == "" && len(x.Violations) > 0 {
			msg = fmt.Sprintf("%d contract violations; first: %s", len(x.Violations), x.Violations[0].Message)
		}
		if msg == "" && x.Verdict == check.Fail {
			msg = fmt.Sprintf("status %d, want %d", x.Status, x.WantStatus)
		}
		out.Cases = append(out.Cases, Case{Suite: "contracts", Name: fmt.Sprintf("%s %s: %s %s", x.Version, x.Step, x.Method, x.Path),
			Status: x.Verdict, Message: msg, Detail: strings.Join(lines, "\n"), Duration: x.Elapsed, Anchor: "contracts"})
	}
	for _, e := range c.Equivalence {
		var lines []string
		for _, d := range e.Differences {
			lines = append(lines, fmt.Sprintf("%s (v1 %s): %s: v1=%s v2=%s", d.Path, d.V1Path, d.What, d.V1, d.V2))
		}
		msg := ""
		if e.Status == check.Fail {
			msg = fmt.Sprintf("%d field differences between v1 and v2", len(e.Differences))
		}
		out.Cases = append(out.Cases, Case{Suite: "contracts-equivalence", Name: e.Step + " " + e.Operation, Status: e.Status, Message: msg, Detail: strings.Join(lines, "\n"), Anchor: "contracts"})
	}
	for _, b := range c.Breaking {
		var lines []string
		for _, ch := range b.Changes {
			if ch.Breaking {
				lines = append(lines, fmt.Sprintf("%s %s %s %s: %s -> %s (accepted: %v)", ch.Operation, ch.Kind, ch.Path, ch.Change, ch.Old, ch.New, ch.Accepted))
			}
		}
		msg := ""
		if b.Status == check.Fail {
			msg = fmt.Sprintf("%d unaccepted breaking changes", b.Unaccepted)
		}
		out.Cases = append(out.Cases, Case{Suite: "contracts-breaking", Name: b.Name, Status: b.Status, Message: msg, Detail: strings.Join(lines, "\n"), Anchor: "contracts"})
	}
	for _, f := range c.Families {
		out.Cases = append(out.Cases, Case{Suite: "contracts-families", Name: f.Version + " family", Status: f.Status, Message: f.Reason,
			Detail: fmt.Sprintf("%s -> %d", f.Probe, f.ProbeCode), Anchor: "contracts"})
	}
	for _, f := range c.Findings {
		msg := f.Title
		if f.Reason != "" {
			msg += " (accepted: " + f.Reason + ")"
		}
		out.Cases = append(out.Cases, Case{Suite: "contracts-findings", Name: f.ID, Status: f.Status, Message: msg,
			Detail: "seen in " + strings.Join(f.Steps, ", ") + "\n" + f.Evidence, Anchor: "contracts"})
	}
	for _, x := range c.Restores {
		out.Cases = append(out.Cases, Case{Suite: "contracts-restore", Name: fmt.Sprintf("restore project %d (%s)", x.Project, x.User), Status: x.Status, Message: x.Reason,
			Detail: strings.Join(append(append([]string(nil), x.Differences...), x.Lost...), "\n"), Anchor: "contracts"})
	}
	if s := c.Sample; s != nil {
		msg := fmt.Sprintf("%d observed, %d validated, %d failed", s.Observed, s.Validated, s.Failed)
		out.Cases = append(out.Cases, Case{Suite: "contracts-sample", Name: "sampled load responses", Status: s.Status, Message: msg, Anchor: "contracts"})
	}
	if len(out.Cases) == 0 && len(c.Notes) > 0 {
		out.Reason = strings.Join(c.Notes, "; ")
	}
	return out
}

func e2eSection(r *Run) SectionResult {
	e := r.E2E
	if e == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true, Status: e.Status, Reason: e.Reason}
	for _, x := range e.Results {
		out.Cases = append(out.Cases, Case{Suite: "e2e", Name: x.Name, Status: x.Status, Message: x.Reason,
			Detail: strings.Join(x.Evidence, "\n"), Duration: time.Duration(x.DurationMS * float64(time.Millisecond)), Anchor: "e2e-" + x.Name})
	}
	return out
}

// capacitySection: each configuration is a check that passes when the
// search measured an outcome; one that could not run is an error, one
// without an outcome inconclusive.
func capacitySection(r *Run) SectionResult {
	c := r.Capacity
	if c == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true}
	for _, x := range c.Results {
		if x == nil {
			continue
		}
		name := x.Config.String()
		cs := Case{Suite: "capacity", Name: name, Status: check.Pass, Anchor: fmt.Sprintf("capacity-%s-%d-%s", x.Mix, x.Workers, x.Cache)}
		switch {
		case x.Error != "":
			cs.Status, cs.Message = check.Error, x.Error
		case x.Outcome == nil:
			cs.Status, cs.Message = check.Inconclusive, "the search measured no outcome"
		default:
			cs.Message = fmt.Sprintf("max %d/s within the SLO", x.Outcome.MaxRate)
			if x.Outcome.Reason != "" {
				cs.Message += ": " + x.Outcome.Reason
			}
		}
		out.Cases = append(out.Cases, cs)
	}
	return out
}
