// Package check holds the verdict vocabulary shared by every check the harness
// runs (scan probes, scenarios, contracts, e2e) so that the result model and the
// gate read one set of words.
package check

// Status is the verdict of one check.
type Status string

// The three verdicts. A skipped check always carries a reason; it never counts
// as a pass.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Worst returns the more severe of a and b (fail > pass > skip).
func Worst(a, b Status) Status {
	rank := func(s Status) int {
		switch s {
		case Fail:
			return 2
		case Pass:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
