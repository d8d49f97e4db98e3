package run

import (
	"context"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

// CapacityStacks is the capacity sweep's UpFunc for stacks the harness
// starts: base (mode, binary, seed) with each configuration's workers,
// cache and limits.
func CapacityStacks(base stack.Spec) capacity.UpFunc {
	return func(ctx context.Context, c capacity.Config, limits map[api.Category]api.Limit, users int) (capacity.Target, error) {
		spec := base
		spec.Workers, spec.Cache, spec.Limits = c.Workers, c.Cache, limits
		spec.Seed.Users = max(spec.Seed.Users, users)
		s, err := stack.Up(ctx, spec)
		if s == nil {
			return nil, err // a nil *Stack in the interface would not read as nil
		}
		return s, err
	}
}
