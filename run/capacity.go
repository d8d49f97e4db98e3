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

// CapacityExternal is the capacity sweep's UpFunc for an external
// deployment: it is reached once (stack.Up checks that it answers) and
// every configuration measures it as it is, with its own limits; the
// credentials and hooks (cpu) of spec come along. Down does nothing.
func CapacityExternal(spec stack.Spec) capacity.UpFunc {
	var s *stack.Stack
	return func(ctx context.Context, _ capacity.Config, _ map[api.Category]api.Limit, _ int) (capacity.Target, error) {
		if s == nil {
			var err error
			if s, err = stack.Up(ctx, spec); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
}
