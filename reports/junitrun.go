package reports

import (
	"fmt"
	"io"
	"time"
)

// WriteRunJUnit writes junit.xml: one testcase per check of every section
// (scan probe, load scenario, contract call, equivalence check, schema
// comparison, e2e check) and per gate row.
func WriteRunJUnit(w io.Writer, run *Run) error {
	return WriteJUnit(w, run.Meta.Tool, run.Meta.Started, runCases(run))
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// runCases flattens the run into cases: every section's checks in report
// order, then the gate rows.
func runCases(run *Run) []Case {
	var out []Case
	for _, sec := range sectionTable {
		sr := sec.Of(run)
		if !sr.Ran {
			continue
		}
		if len(sr.Cases) == 0 {
			// A section that ran without checks is still one verdict.
			out = append(out, Case{Suite: sec.Name, Name: sec.Name + " suite", Status: sr.Verdict(), Message: sr.Reason, Anchor: sec.Anchor})
			continue
		}
		out = append(out, sr.Cases...)
	}
	return append(out, gateCases(run)...)
}

func gateCases(run *Run) []Case {
	var out []Case
	for _, r := range run.Gate.Rows {
		msg := r.Text()
		if msg == "" && r.Observed != "" {
			msg = "observed " + r.Observed + ", expected " + r.Expected
		}
		out = append(out, Case{Suite: "gate", Name: r.Name, Status: r.Status, Message: msg, Blocking: r.Blocking,
			Detail: fmt.Sprintf("observed: %s\nexpected: %s", r.Observed, r.Expected)})
	}
	return out
}
