package scan

import (
	"fmt"
	"io"
	"strings"

	"github.com/ahsp-harness/harness/check"
)

// Attempt is one run of a probe, kept with its own evidence: a retry never
// hides what an earlier attempt saw.
type Attempt struct {
	Status          check.Status `json:"status"`
	Reason          string       `json:"reason"`
	Evidence        Evidence     `json:"evidence"`
	DurationSeconds float64      `json:"duration_s"`
	Findings        []Finding    `json:"findings,omitempty"`
}

// foldAttempts makes a probe's result from all its attempts: a failure seen
// in any attempt stays a finding (the reason and evidence of the first
// failing attempt with an overshoot, else with a measurement, else the first), marked intermittent "k of n" when another attempt passed;
// otherwise the last attempt stands.
func foldAttempts(name string, atts []Attempt) Result {
	res := Result{Probe: name, Attempts: len(atts), AttemptLog: atts}
	var total float64
	for _, a := range atts {
		total += a.DurationSeconds
	}
	res.DurationSeconds = round3(total)
	// Of the failing attempts, the most informative one stands: an
	// overshoot over a measurement over one that measured nothing.
	failed, first, rank := 0, -1, -1
	for i, a := range atts {
		if a.Status != check.Fail {
			continue
		}
		failed++
		r := 0
		if a.Evidence.Sent > 0 {
			r = 1
		}
		if a.Evidence.Overshoot > 0 {
			r = 2
		}
		if r > rank {
			first, rank = i, r
		}
	}
	pick := len(atts) - 1
	if first >= 0 {
		pick = first
	}
	if pick < 0 {
		return res
	}
	res.Status, res.Reason, res.Evidence, res.Findings = atts[pick].Status, atts[pick].Reason, atts[pick].Evidence, atts[pick].Findings
	if failed > 0 && failed < len(atts) {
		res.Intermittent = fmt.Sprintf("%d of %d", failed, len(atts))
		res.Reason = fmt.Sprintf("intermittent (failed in %s attempts): %s", res.Intermittent, res.Reason)
	} else if failed > 1 {
		res.Reason = fmt.Sprintf("failed in %d of %d attempts: %s", failed, len(atts), res.Reason)
	}
	if len(atts) == 1 {
		res.AttemptLog = nil // the result is the attempt
	}
	return res
}

// writeAttempts prints every attempt of a retried probe.
func writeAttempts(w io.Writer, p Result) {
	if len(p.AttemptLog) < 2 {
		return
	}
	for i, a := range p.AttemptLog {
		fmt.Fprintf(w, "  attempt %d of %d: %s in %.1fs, sent %d accepted %d limited %d: %s\n", i+1, len(p.AttemptLog),
			strings.ToUpper(string(a.Status)), a.DurationSeconds, a.Evidence.Sent, a.Evidence.Accepted, a.Evidence.Limited, a.Reason)
	}
}
