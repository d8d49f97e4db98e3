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
// limited operation from the policy map, a write first (--op pins one).
// Only a limited call consults the limiter's cache (an unlimited read
// answers 200 with the cache down and proves nothing); without one the
// probe is skipped with pick's reason.
func (s *scanner) faultOp() (api.Operation, *Result) {
	_, op, sk := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	return op, sk
}

// faultReq is one call of op with the unparseable probe body, so it never
// changes data.
func faultReq(op api.Operation) func(vu *scenarios.VU) req {
	return func(vu *scenarios.VU) req { return opReq(vu, op, api.Legacy, "") }
}
