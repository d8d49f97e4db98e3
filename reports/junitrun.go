package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// WriteRunJUnit writes junit.xml: one testcase per scan probe, gate row,
// contract call, equivalence check, schema comparison and e2e check.
func WriteRunJUnit(w io.Writer, run *Run) error {
	return WriteJUnit(w, run.Meta.Tool, run.Meta.Started, runCases(run))
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// runCases flattens the run into JUnit cases, in report order.
func runCases(run *Run) []Case {
	var out []Case
	if run.Scan != nil {
		for _, p := range run.Scan.Probes {
			ev := p.Evidence
			out = append(out, Case{
				Suite: "scan", Name: p.Probe, Status: p.Status, Message: p.Reason, Duration: secs(p.DurationSeconds),
				Detail: fmt.Sprintf("operation %s policy %s: sent %d, accepted %d, expected max %d, overshoot %d, limited %d, other %d\nper worker: %v\n%s",
					ev.Operation, ev.Policy, ev.Sent, ev.Accepted, ev.ExpectedMax, ev.Overshoot, ev.Limited, ev.Other, ev.AcceptedPerWorker, strings.Join(ev.Notes, "\n")),
			})
		}
	}
	for _, r := range run.Gate.Rows {
		msg := r.Message
		if msg == "" && r.Observed != "" {
			msg = "observed " + r.Observed + ", expected " + r.Expected
		}
		out = append(out, Case{Suite: "gate", Name: r.Name, Status: r.Status, Message: msg,
			Detail: fmt.Sprintf("observed: %s\nexpected: %s", r.Observed, r.Expected)})
	}
	if c := run.Contracts; c != nil {
		for _, r := range c.Results {
			var lines []string
			for _, v := range r.Violations {
				lines = append(lines, fmt.Sprintf("%s %s: %s (%s)", v.Where, v.InstancePath, v.Message, v.SchemaPath))
			}
			msg := r.Reason
			if msg == "" && len(r.Violations) > 0 {
				msg = fmt.Sprintf("%d contract violations; first: %s", len(r.Violations), r.Violations[0].Message)
			}
			if msg == "" && r.Verdict == check.Fail {
				msg = fmt.Sprintf("status %d, want %d", r.Status, r.WantStatus)
			}
			out = append(out, Case{Suite: "contracts", Name: fmt.Sprintf("%s %s: %s %s", r.Version, r.Step, r.Method, r.Path),
				Status: r.Verdict, Message: msg, Detail: strings.Join(lines, "\n"), Duration: r.Elapsed})
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
			out = append(out, Case{Suite: "contracts-equivalence", Name: e.Step + " " + e.Operation, Status: e.Status, Message: msg, Detail: strings.Join(lines, "\n")})
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
			out = append(out, Case{Suite: "contracts-breaking", Name: b.Name, Status: b.Status, Message: msg, Detail: strings.Join(lines, "\n")})
		}
	}
	if e := run.E2E; e != nil {
		if len(e.Results) == 0 && e.Reason != "" {
			out = append(out, Case{Suite: "e2e", Name: "e2e suite", Status: e.Status, Message: e.Reason})
		}
		for _, r := range e.Results {
			out = append(out, Case{Suite: "e2e", Name: r.Name, Status: r.Status, Message: r.Reason,
				Detail: strings.Join(r.Evidence, "\n"), Duration: time.Duration(r.DurationMS * float64(time.Millisecond))})
		}
	}
	return out
}
