// Package limiter holds the reference target's rate-limit algorithms (atomic
// fixed window, sliding-window counter, GCRA) over two backends: locmem, a
// per-process memory store like Django's default cache, and redis, shared by
// all workers. It knows nothing about HTTP: the server's middleware builds keys,
// applies the failure policy on errors and renders the 429.
package limiter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is a limit of Limit requests per Window.
type Policy struct {
	Limit  int
	Window time.Duration
}

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed bool
	// Count is the number of requests counted against the key in the current
	// window including this one (the real app's current_count).
	Count     int
	Remaining int
	// RetryAfter is, when the request was denied, the time until a request
	// would pass; 0 when allowed.
	RetryAfter time.Duration
	// Reset is the time until the counter or bucket is fully reset.
	Reset time.Duration
}

// Limiter decides whether one request on key passes under policy p.
type Limiter interface {
	Allow(ctx context.Context, key string, p Policy) (Decision, error)
	// Name is "<algorithm>/<backend>", or "naive/<backend>" for the defect.
	Name() string
}

// Config selects the backend and algorithm.
type Config struct {
	Backend   string                // "locmem" | "redis"
	Algorithm string                // "fixed" | "sliding" | "gcra"
	Redis     redis.UniversalClient // required for the redis backend
	// Naive switches on the naive-limiter defect: a non-atomic GET then SET with
	// the TTL pushed back on every allowed request, as the real Django app does.
	// It replaces Algorithm.
	Naive bool
	// NaiveGap is the naive locmem limiter's pause between reading and
	// writing the counter: 0 means naiveGap, negative none (tests that make
	// many calls on a fake clock).
	NaiveGap time.Duration
	// Now is the locmem clock; nil means time.Now. Redis uses its own clock.
	Now       func() time.Time
	KeyPrefix string // default "ratelimit:"
}

// Backends and Algorithms are the accepted Config values.
var (
	Backends   = []string{"locmem", "redis"}
	Algorithms = []string{"fixed", "sliding", "gcra"}
)

// New returns the limiter cfg describes.
func New(cfg Config) (Limiter, error) {
	if !contains(Backends, cfg.Backend) {
		return nil, fmt.Errorf("unknown limiter backend %q: allowed values are %s", cfg.Backend, strings.Join(Backends, ", "))
	}
	if !cfg.Naive && !contains(Algorithms, cfg.Algorithm) {
		return nil, fmt.Errorf("unknown limiter algorithm %q: allowed values are %s", cfg.Algorithm, strings.Join(Algorithms, ", "))
	}
	if cfg.Backend == "redis" && cfg.Redis == nil {
		return nil, fmt.Errorf("limiter backend redis needs a redis client (Config.Redis is nil)")
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "ratelimit:"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	alg := cfg.Algorithm
	if cfg.Naive {
		alg = "naive"
	}
	name := alg + "/" + cfg.Backend
	if cfg.Backend == "redis" {
		return newRedis(cfg, alg, name), nil
	}
	return newLocmem(cfg, alg, name), nil
}

// maxScaled bounds Limit × Window in microseconds so that the weighted sums
// stay exact both in int64 and in Redis Lua numbers (doubles, 53-bit).
const maxScaled = 1 << 50

func (p Policy) validate() error {
	if p.Limit < 1 {
		return fmt.Errorf("invalid rate-limit policy: limit %d must be at least 1", p.Limit)
	}
	if p.Window < time.Millisecond {
		return fmt.Errorf("invalid rate-limit policy: window %s must be at least 1ms", p.Window)
	}
	if int64(p.Limit) > maxScaled/p.Window.Microseconds() {
		return fmt.Errorf("invalid rate-limit policy: %d per %s is too large (limit × window in µs must stay under 2^50)", p.Limit, p.Window)
	}
	return nil
}

// result is the algorithms' answer in microseconds, shared by both backends.
type result struct {
	allowed        bool
	count          int64
	retryUS, reset int64
}

func (r result) decision(p Policy) Decision {
	d := Decision{
		Allowed:    r.allowed,
		Count:      int(r.count),
		Remaining:  max(0, p.Limit-int(r.count)),
		RetryAfter: time.Duration(r.retryUS) * time.Microsecond,
		Reset:      time.Duration(r.reset) * time.Microsecond,
	}
	if d.Allowed {
		d.RetryAfter = 0
	}
	return d
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// floorDiv rounds towards minus infinity (clock values are positive, but a
// test clock may start at the epoch).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
