package reports

import (
	"fmt"
	"strings"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

// probeStatus is the verdict of a probe as the gate counts it: a failure
// seen in any attempt stays a finding, whatever the last attempt said.
func probeStatus(p scan.Result) check.Status {
	st := p.Status
	for _, a := range p.AttemptLog {
		if a.Status == check.Fail {
			st = check.Worst(st, check.Fail)
		}
	}
	return st
}

// attemptLines lists every attempt of a retried probe for JUnit; empty for
// a probe run once.
func attemptLines(p scan.Result) string {
	if len(p.AttemptLog) < 2 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d attempts", len(p.AttemptLog))
	if p.Intermittent != "" {
		fmt.Fprintf(&b, ", intermittent: failed in %s", p.Intermittent)
	}
	for i, a := range p.AttemptLog {
		ev := a.Evidence
		fmt.Fprintf(&b, "\nattempt %d: %s in %.1fs: sent %d, accepted %d, expected max %d, overshoot %d: %s",
			i+1, a.Status, a.DurationSeconds, ev.Sent, ev.Accepted, ev.ExpectedMax, ev.Overshoot, a.Reason)
	}
	return b.String()
}

// attemptsNote is the short marker report.html puts next to a probe's
// status; empty for a probe run once.
func attemptsNote(p scan.Result) string {
	switch {
	case p.Intermittent != "":
		return "intermittent: failed in " + p.Intermittent + " attempts"
	case p.Attempts > 1:
		return fmt.Sprintf("after %d attempts", p.Attempts)
	}
	return ""
}
