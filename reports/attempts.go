package reports

import (
	"fmt"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

// probeStatus is the verdict of a probe as the gate counts it.
func probeStatus(p scan.Result) check.Status { return p.Status }

// attemptLines describes a probe's retries for JUnit and text output; empty
// for a probe run once.
func attemptLines(p scan.Result) string {
	if p.Attempts <= 1 {
		return ""
	}
	return fmt.Sprintf("attempts: %d (the verdict is the last one's)", p.Attempts)
}

// attemptsNote is the short marker report.html puts next to a probe's
// status; empty for a probe run once.
func attemptsNote(p scan.Result) string {
	if p.Attempts <= 1 {
		return ""
	}
	return fmt.Sprintf("after %d attempts", p.Attempts)
}
