package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// start is aligned to every window used here, so sliding windows (aligned to
// multiples of the window since the Unix epoch) begin at offset 0.
var start = time.Unix(1_799_996_400, 0)

// fakeClock is the injected locmem clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// clockEnv is a limiter whose clock the test moves: locmem with an injected
// clock, or redis through miniredis (a fake clock needs a fake server; the real
// redis-server is used for concurrency and round-trip tests).
type clockEnv struct {
	name string
	lim  Limiter
	at   func(d time.Duration) // move the clock to start+d (never backwards)
}

func clockEnvs(t *testing.T, alg string, naive bool) []clockEnv {
	t.Helper()
	fc := &fakeClock{now: start}
	loc, err := New(Config{Backend: "locmem", Algorithm: alg, Naive: naive, Now: fc.Now})
	require.NoError(t, err)
	mc, rdb := newMiniredis(t, start)
	red, err := New(Config{Backend: "redis", Algorithm: alg, Naive: naive, Redis: rdb})
	require.NoError(t, err)
	return []clockEnv{
		{name: "locmem", lim: loc, at: func(d time.Duration) { fc.set(start.Add(d)) }},
		{name: "miniredis", lim: red, at: func(d time.Duration) { mc.set(start.Add(d)) }},
	}
}

type step struct {
	at   time.Duration // offset from start
	want Decision
}

func allow(count, remaining int, reset time.Duration) Decision {
	return Decision{Allowed: true, Count: count, Remaining: remaining, Reset: reset}
}

func deny(count int, retry, reset time.Duration) Decision {
	return Decision{Count: count, RetryAfter: retry, Reset: reset}
}

const sec = time.Second

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown backend", Config{Backend: "memcached", Algorithm: "fixed"}, `unknown limiter backend "memcached": allowed values are locmem, redis`},
		{"unknown algorithm", Config{Backend: "locmem", Algorithm: "token"}, `unknown limiter algorithm "token": allowed values are fixed, sliding, gcra`},
		{"empty algorithm", Config{Backend: "locmem"}, `unknown limiter algorithm ""`},
		{"redis without client", Config{Backend: "redis", Algorithm: "gcra"}, "needs a redis client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNewNames(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Backend: "locmem", Algorithm: "fixed"}, "fixed/locmem"},
		{Config{Backend: "locmem", Algorithm: "gcra"}, "gcra/locmem"},
		{Config{Backend: "locmem", Naive: true}, "naive/locmem"},
	}
	for _, tt := range tests {
		l, err := New(tt.cfg)
		require.NoError(t, err)
		require.Equal(t, tt.want, l.Name())
	}
}

func TestAllowRejectsBadPolicy(t *testing.T) {
	l, err := New(Config{Backend: "locmem", Algorithm: "fixed"})
	require.NoError(t, err)
	tests := []struct {
		p    Policy
		want string
	}{
		{Policy{Limit: 0, Window: sec}, "limit 0 must be at least 1"},
		{Policy{Limit: 5, Window: time.Microsecond}, "window 1µs must be at least 1ms"},
		{Policy{Limit: 1 << 30, Window: 24 * time.Hour}, "too large"},
	}
	for _, tt := range tests {
		_, err := l.Allow(context.Background(), "k", tt.p)
		require.ErrorContains(t, err, tt.want)
	}
}

// TestAlgorithms replays a timed request sequence on each algorithm and
// backend and checks every field of every decision, RetryAfter included.
func TestAlgorithms(t *testing.T) {
	tests := []struct {
		name  string
		alg   string
		naive bool
		p     Policy
		steps []step
	}{
		{
			name: "fixed window counts from the first request and answers the rest of the window",
			alg:  "fixed", p: Policy{Limit: 3, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 2, 10*sec)},
				{0, allow(2, 1, 10*sec)},
				{1 * sec, allow(3, 0, 9*sec)},
				{2 * sec, deny(3, 8*sec, 8*sec)},
				{9999 * time.Millisecond, deny(3, time.Millisecond, time.Millisecond)},
				{10 * sec, allow(1, 2, 10*sec)},
			},
		},
		{
			name: "fixed window lets 2×limit−1 through across a window boundary",
			alg:  "fixed", p: Policy{Limit: 3, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 2, 10*sec)},
				{9900 * time.Millisecond, allow(2, 1, 100*time.Millisecond)},
				{9900 * time.Millisecond, allow(3, 0, 100*time.Millisecond)},
				{10 * sec, allow(1, 2, 10*sec)},
				{10 * sec, allow(2, 1, 10*sec)},
				{10 * sec, allow(3, 0, 10*sec)},
				{10 * sec, deny(3, 10*sec, 10*sec)},
			},
		},
		{
			name: "sliding window weighs the previous window and answers when the weight allows one more",
			alg:  "sliding", p: Policy{Limit: 4, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 3, 20*sec)},
				{0, allow(2, 2, 20*sec)},
				{0, allow(3, 1, 20*sec)},
				{0, allow(4, 0, 20*sec)},
				// Next window: prev=4 must decay to 3 (4×(10−e)/10 ≤ 3 at e=2.5 s).
				{0, deny(4, 12500*time.Millisecond, 20*sec)},
				{10 * sec, deny(4, 2500*time.Millisecond, 10*sec)},
				{12499999 * time.Microsecond, deny(4, time.Microsecond, 7500001*time.Microsecond)},
				{12500 * time.Millisecond, allow(4, 0, 17500*time.Millisecond)},
				{12500 * time.Millisecond, deny(4, 2500*time.Millisecond, 17500*time.Millisecond)},
				{15 * sec, allow(4, 0, 15*sec)},
				{40 * sec, allow(1, 3, 20*sec)},
			},
		},
		{
			name: "sliding window does not allow a fresh burst right after a full window",
			alg:  "sliding", p: Policy{Limit: 3, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 2, 20*sec)},
				{9900 * time.Millisecond, allow(2, 1, 10100*time.Millisecond)},
				{9900 * time.Millisecond, allow(3, 0, 10100*time.Millisecond)},
				{10 * sec, deny(3, 3333334*time.Microsecond, 10*sec)},
			},
		},
		{
			name: "gcra lets limit through back to back, then one per window/limit",
			alg:  "gcra", p: Policy{Limit: 4, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 3, 2500*time.Millisecond)},
				{0, allow(2, 2, 5*sec)},
				{0, allow(3, 1, 7500*time.Millisecond)},
				{0, allow(4, 0, 10*sec)},
				{0, deny(4, 2500*time.Millisecond, 10*sec)},
				{2499999 * time.Microsecond, deny(4, time.Microsecond, 7500001*time.Microsecond)},
				{2500 * time.Millisecond, allow(4, 0, 10*sec)},
				{3 * sec, deny(4, 2*sec, 9500*time.Millisecond)},
				{30 * sec, allow(1, 3, 2500*time.Millisecond)},
			},
		},
		{
			name: "gcra rounds the emission interval up (7 per 10 s: 1428572 µs)",
			alg:  "gcra", p: Policy{Limit: 7, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 6, 1428572*time.Microsecond)},
				{0, allow(2, 5, 2857144*time.Microsecond)},
				{0, allow(3, 4, 4285716*time.Microsecond)},
				{0, allow(4, 3, 5714288*time.Microsecond)},
				{0, allow(5, 2, 7142860*time.Microsecond)},
				{0, allow(6, 1, 8571432*time.Microsecond)},
				{0, allow(7, 0, 10000004*time.Microsecond)},
				{0, deny(7, 1428572*time.Microsecond, 10000004*time.Microsecond)},
			},
		},
		{
			name:  "naive limiter pushes the expiry back on every allowed request",
			naive: true, p: Policy{Limit: 3, Window: 10 * sec},
			steps: []step{
				{0, allow(1, 2, 10*sec)},
				{4 * sec, allow(2, 1, 10*sec)},
				{8 * sec, allow(3, 0, 10*sec)},
				// A correct fixed window would have reset at 10 s.
				{12 * sec, deny(3, 6*sec, 6*sec)},
				{18 * sec, allow(1, 2, 10*sec)},
			},
		},
	}
	for _, tt := range tests {
		for _, env := range clockEnvs(t, tt.alg, tt.naive) {
			t.Run(tt.name+"/"+env.name, func(t *testing.T) {
				for i, s := range tt.steps {
					env.at(s.at)
					got, err := env.lim.Allow(context.Background(), "user:1:op", tt.p)
					require.NoError(t, err)
					require.Equal(t, s.want, got, "step %d at %s", i, s.at)
				}
			})
		}
	}
}

// TestRetryAfterIsHonest sends random traffic and, after each denial, checks
// that a request just before RetryAfter is still denied and one at RetryAfter
// passes: the 429's Retry-After is neither too short nor too long.
func TestRetryAfterIsHonest(t *testing.T) {
	for _, alg := range Algorithms {
		for _, env := range clockEnvs(t, alg, false) {
			t.Run(alg+"/"+env.name, func(t *testing.T) {
				p := Policy{Limit: 5, Window: 3 * sec}
				// The fixed window on redis counts in PTTL milliseconds.
				unit := time.Microsecond
				if alg == "fixed" && env.name != "locmem" {
					unit = time.Millisecond
				}
				rng := rand.New(rand.NewPCG(1, 2))
				now, denials := time.Duration(0), 0
				for range 400 {
					now += time.Duration(rng.IntN(400_000)) * time.Microsecond
					env.at(now)
					d, err := env.lim.Allow(context.Background(), "k", p)
					require.NoError(t, err)
					if d.Allowed {
						require.Zero(t, d.RetryAfter)
						continue
					}
					denials++
					require.Positive(t, d.RetryAfter)
					require.LessOrEqual(t, d.RetryAfter, d.Reset)
					if d.RetryAfter > unit {
						env.at(now + d.RetryAfter - unit)
						early, err := env.lim.Allow(context.Background(), "k", p)
						require.NoError(t, err)
						require.False(t, early.Allowed, "allowed %s before the announced RetryAfter %s", unit, d.RetryAfter)
					}
					now += d.RetryAfter
					env.at(now)
					after, err := env.lim.Allow(context.Background(), "k", p)
					require.NoError(t, err)
					require.True(t, after.Allowed, "denied at the announced RetryAfter %s", d.RetryAfter)
				}
				require.Greater(t, denials, 20, "the traffic must hit the limit often")
			})
		}
	}
}

// maxInWindow is the largest number of accepted timestamps inside any closed
// interval of length d.
func maxInWindow(ts []time.Duration, d time.Duration) int {
	best, lo := 0, 0
	for hi := range ts {
		for ts[hi]-ts[lo] > d {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// TestOracleBounds checks the formulas of docs/limiter.md (the most requests
// an algorithm accepts inside any interval of length D) against random bursty
// traffic and against a greedy client (one request per millisecond after an
// idle start, which is the worst case for the sliding window).
func TestOracleBounds(t *testing.T) {
	p := Policy{Limit: 5, Window: 10 * sec}
	ds := []time.Duration{0, 100 * time.Millisecond, 2 * sec, 9999 * time.Millisecond, 10 * sec, 15 * sec, 30 * sec, 95 * sec}
	traffic := map[string]func(rng *rand.Rand, i int) time.Duration{ // gap before request i
		"random": func(rng *rand.Rand, _ int) time.Duration {
			switch rng.IntN(10) {
			case 0:
				return time.Duration(rng.IntN(12_000_000)) * time.Microsecond
			case 1, 2, 3:
				return 0
			}
			return time.Duration(rng.IntN(50_000)) * time.Microsecond
		},
		"greedy": func(_ *rand.Rand, i int) time.Duration {
			if i == 0 {
				return 9995 * time.Millisecond
			}
			return time.Millisecond
		},
	}
	for _, alg := range Algorithms {
		for name, gap := range traffic {
			t.Run(alg+"/"+name, func(t *testing.T) {
				fc := &fakeClock{now: start}
				l, err := New(Config{Backend: "locmem", Algorithm: alg, Now: fc.Now})
				require.NoError(t, err)
				rng := rand.New(rand.NewPCG(3, 4))
				var accepted []time.Duration
				now := time.Duration(0)
				for i := range 100_000 {
					now += gap(rng, i)
					fc.set(start.Add(now))
					d, err := l.Allow(context.Background(), "k", p)
					require.NoError(t, err)
					if d.Allowed {
						accepted = append(accepted, now)
					}
				}
				for _, d := range ds {
					got, bound := maxInWindow(accepted, d), oracleMax(alg, p, d)
					require.LessOrEqual(t, got, bound, "interval %s", d)
					t.Logf("%s %s: interval %s: max accepted %d, oracle %d", alg, name, d, got, bound)
				}
				span := accepted[len(accepted)-1] - accepted[0]
				require.LessOrEqual(t, len(accepted), oracleMax(alg, p, span))
			})
		}
	}
}

// TestFixedWindowReachesBound shows the oracle for the fixed window is tight:
// one request, limit−1 just before the window ends and limit right after.
func TestFixedWindowReachesBound(t *testing.T) {
	p := Policy{Limit: 5, Window: 10 * sec}
	fc := &fakeClock{now: start}
	l, err := New(Config{Backend: "locmem", Algorithm: "fixed", Now: fc.Now})
	require.NoError(t, err)
	var accepted []time.Duration
	for _, at := range []time.Duration{0, 9999, 9999, 9999, 9999, 10000, 10000, 10000, 10000, 10000, 10000} {
		fc.set(start.Add(at * time.Millisecond))
		d, err := l.Allow(context.Background(), "k", p)
		require.NoError(t, err)
		if d.Allowed {
			accepted = append(accepted, at*time.Millisecond)
		}
	}
	require.Equal(t, 9, maxInWindow(accepted, time.Millisecond))
	require.Equal(t, 9, oracleMax("fixed", p, time.Millisecond))
}

// TestSmoothness sends a client at twice the allowed rate for a minute and
// compares how evenly each algorithm spreads what it accepts: the smoother
// ones never accept more than limit in a row after the first burst.
func TestSmoothness(t *testing.T) {
	p := Policy{Limit: 10, Window: 10 * sec} // 1 per second allowed, 2 per second sent
	tests := []struct {
		alg     string
		maxGap  time.Duration // longest stretch without an accepted request
		max5s   int           // most accepted in any 5 s after the first window
		minRate int           // accepted in [10 s, 60 s)
	}{
		{alg: "fixed", maxGap: 6 * sec, max5s: 10, minRate: 50},
		{alg: "sliding", maxGap: 1500 * time.Millisecond, max5s: 7, minRate: 45},
		{alg: "gcra", maxGap: time.Second, max5s: 6, minRate: 50},
	}
	for _, tt := range tests {
		for _, env := range clockEnvs(t, tt.alg, false) {
			t.Run(tt.alg+"/"+env.name, func(t *testing.T) {
				var late []time.Duration
				for i := range 120 {
					at := time.Duration(i) * 500 * time.Millisecond
					env.at(at)
					d, err := env.lim.Allow(context.Background(), "k", p)
					require.NoError(t, err)
					if d.Allowed && at >= 10*sec {
						late = append(late, at)
					}
				}
				gap := time.Duration(0)
				for i := 1; i < len(late); i++ {
					gap = max(gap, late[i]-late[i-1])
				}
				t.Logf("%s: accepted %d in [10s,60s), longest gap %s, most in 5 s %d", tt.alg, len(late), gap, maxInWindow(late, 5*sec-time.Microsecond))
				require.LessOrEqual(t, gap, tt.maxGap)
				require.LessOrEqual(t, maxInWindow(late, 5*sec-time.Microsecond), tt.max5s)
				require.GreaterOrEqual(t, len(late), tt.minRate)
				require.LessOrEqual(t, len(late), 50+1)
			})
		}
	}
}

func TestKeysAreIndependent(t *testing.T) {
	for _, alg := range Algorithms {
		for _, env := range clockEnvs(t, alg, false) {
			t.Run(alg+"/"+env.name, func(t *testing.T) {
				p := Policy{Limit: 2, Window: 10 * sec}
				for _, key := range []string{"user:1:save", "user:2:save", "user:1:tree"} {
					for i := range 3 {
						d, err := env.lim.Allow(context.Background(), key, p)
						require.NoError(t, err)
						require.Equal(t, i < 2, d.Allowed, "%s request %d", key, i+1)
					}
				}
			})
		}
	}
}

// TestLocmemMemoryIsBounded touches many keys that expire, then keeps going
// with fresh ones: expired keys are swept, so the store does not grow.
func TestLocmemMemoryIsBounded(t *testing.T) {
	for _, alg := range append([]string{"naive"}, Algorithms...) {
		t.Run(alg, func(t *testing.T) {
			fc := &fakeClock{now: start}
			l, err := New(Config{Backend: "locmem", Algorithm: alg, Naive: alg == "naive", NaiveGap: -1, Now: fc.Now})
			require.NoError(t, err)
			p := Policy{Limit: 5, Window: sec}
			peak := 0
			for round := range 20 {
				fc.set(start.Add(time.Duration(round) * 3 * sec))
				for i := range 5000 {
					_, err := l.Allow(context.Background(), fmt.Sprintf("r%d:k%d", round, i), p)
					require.NoError(t, err)
				}
				peak = max(peak, l.(*locmem).size())
			}
			// Live keys are 5000 at a time; at most one earlier round waits for a sweep.
			require.LessOrEqual(t, peak, 2*5000+numShards*sweepEvery)
		})
	}
}

func TestLocmemHonoursContext(t *testing.T) {
	l, err := New(Config{Backend: "locmem", Algorithm: "fixed"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Allow(ctx, "k", Policy{Limit: 1, Window: sec})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRedisKeysCarryPrefixAndAlgorithm(t *testing.T) {
	mc, rdb := newMiniredis(t, start)
	for _, alg := range Algorithms {
		l, err := New(Config{Backend: "redis", Algorithm: alg, Redis: rdb, KeyPrefix: "ahsp:rl:"})
		require.NoError(t, err)
		_, err = l.Allow(context.Background(), "user:7:save", Policy{Limit: 3, Window: 10 * sec})
		require.NoError(t, err)
	}
	keys := mc.m.Keys()
	require.ElementsMatch(t, []string{"ahsp:rl:fixed:user:7:save", "ahsp:rl:sliding:user:7:save", "ahsp:rl:gcra:user:7:save"}, keys)
	for _, k := range keys {
		require.Positive(t, mc.m.TTL(k), "key %s must expire", k)
		require.True(t, strings.HasPrefix(k, "ahsp:rl:"))
	}
}

// TestSteadyClientUnderLimitPasses is the "must pass" side of the oracle: a
// client spaced more than W/(L−1) apart is never denied by a correct
// algorithm, on either backend; the naive limiter throttles it.
func TestSteadyClientUnderLimitPasses(t *testing.T) {
	p := Policy{Limit: 7, Window: 10 * sec}
	spacing := p.Window/time.Duration(p.Limit-1) + time.Microsecond
	tests := []struct {
		alg        string
		naive      bool
		wantDenied bool
	}{
		{alg: "fixed"}, {alg: "sliding"}, {alg: "gcra"},
		{naive: true, wantDenied: true},
	}
	for _, tt := range tests {
		for _, env := range clockEnvs(t, tt.alg, tt.naive) {
			t.Run(fmt.Sprintf("%s naive=%v/%s", tt.alg, tt.naive, env.name), func(t *testing.T) {
				denied := 0
				for i := range 200 {
					env.at(333*time.Millisecond + time.Duration(i)*spacing)
					d, err := env.lim.Allow(context.Background(), "k", p)
					require.NoError(t, err)
					if !d.Allowed {
						denied++
					}
				}
				require.Equal(t, tt.wantDenied, denied > 0, "denied %d of 200", denied)
			})
		}
	}
}
