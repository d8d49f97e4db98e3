// Package check holds the verdict vocabulary shared by every check the harness
// runs (scan probes, scenarios, contracts, security, e2e) so that the result
// model, the gate and every rendering read one set of words.
package check

import "fmt"

// Status is the outcome of one check.
type Status string

// The five outcomes. Only Pass means "ran and passed"; every other state
// carries a reason, and none of them counts as a pass.
const (
	// Pass: the check ran, measured what it claims, and found nothing wrong.
	Pass Status = "pass"
	// Fail: the check ran and found a defect (a finding).
	Fail Status = "fail"
	// Error: the check could not run (setup failed, target unreachable, crash).
	Error Status = "error"
	// Inconclusive: the check ran but could not measure what it claims (too
	// few requests reached the operation, no data behind a threshold).
	Inconclusive Status = "inconclusive"
	// Skip: deliberately not run (not applicable, not requested), with a reason.
	Skip Status = "skip"
)

// All lists every status, most severe first.
var All = []Status{Fail, Error, Inconclusive, Skip, Pass}

// Valid reports whether s is one of the five outcomes.
func (s Status) Valid() bool {
	for _, v := range All {
		if s == v {
			return true
		}
	}
	return false
}

// Ran reports whether the check ran to a verdict (pass or fail).
func (s Status) Ran() bool { return s == Pass || s == Fail }

// OK reports whether s lets a gate pass: only Pass does.
func (s Status) OK() bool { return s == Pass }

// rank orders statuses for Worst: a finding beats could-not-run beats
// could-not-measure beats not-run beats pass. Pass is lowest so that one pass
// among skipped checks never turns a section green.
func rank(s Status) int {
	switch s {
	case Fail:
		return 4
	case Error:
		return 3
	case Inconclusive:
		return 2
	case Skip:
		return 1
	case Pass:
		return 0
	}
	return 3 // an unknown word is treated as an error, never as a pass
}

// Worst returns the more severe of a and b
// (fail > error > inconclusive > skip > pass).
func Worst(a, b Status) Status {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Summarize folds the statuses of a section's checks into the section's
// outcome. No checks at all is Skip (nothing ran); all skipped is Skip; a mix
// of passes and skips is Pass only when at least one check passed and no
// check is worse than skip, since skipped checks are reported on their own.
// Callers that need "every check ran" use Counts.
func Summarize(statuses ...Status) Status {
	if len(statuses) == 0 {
		return Skip
	}
	worst, passed := Pass, false
	for _, s := range statuses {
		if s == Pass {
			passed = true
			continue
		}
		if s == Skip {
			continue
		}
		worst = Worst(worst, s)
	}
	if worst != Pass {
		return worst
	}
	if !passed {
		return Skip
	}
	return Pass
}

// Counts tallies statuses by outcome.
type Counts map[Status]int

// Count tallies statuses.
func Count(statuses ...Status) Counts {
	c := Counts{}
	for _, s := range statuses {
		c[s]++
	}
	return c
}

// String renders counts in severity order, omitting zeros: "3 pass, 1 fail".
func (c Counts) String() string {
	out := ""
	for i := len(All) - 1; i >= 0; i-- {
		s := All[i]
		if c[s] == 0 {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%d %s", c[s], s)
	}
	if out == "" {
		return "nothing ran"
	}
	return out
}
