package server

import (
	"context"

	"github.com/ahsp-harness/harness/target/internal/limiter"
)

// FromLimiter adapts a limiter.Limiter to the server's LimitFunc.
func FromLimiter(l limiter.Limiter) LimitFunc {
	return func(ctx context.Context, key string, lim Limit) (Decision, error) {
		d, err := l.Allow(ctx, key, limiter.Policy{Limit: lim.Requests, Window: lim.Window})
		if err != nil {
			return Decision{}, err
		}
		return Decision{Allowed: d.Allowed, Count: d.Count, Remaining: d.Remaining, RetryAfter: d.RetryAfter, Reset: d.Reset}, nil
	}
}
