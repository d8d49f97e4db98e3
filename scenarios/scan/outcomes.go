package scan

import (
	"fmt"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

// errorf is a probe that could not run (setup failed, a control action failed).
func errorf(format string, a ...any) Result {
	return Result{Status: check.Error, Reason: fmt.Sprintf(format, a...)}
}

// inconclusive is a probe that ran but could not measure what it claims.
func inconclusive(format string, a ...any) Result {
	return Result{Status: check.Inconclusive, Reason: fmt.Sprintf(format, a...)}
}

// faultOp is the operation the cache probes judge the failure policy on: a
// limited write (the only kind of call that consults the limiter's cache on
// the real app; an unlimited read answers 200 with the cache down and proves
// nothing). list-pekerjaan.save is limited by the real app and the correct
// reference target alike.
const faultOp = "list-pekerjaan.save"

// faultReq is one call of faultOp with the unparseable probe body, so it
// never changes data.
func faultReq(vu *scenarios.VU, label string) req {
	return opReq(vu, mustOp(faultOp), api.Legacy, label)
}
