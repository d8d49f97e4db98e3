package limiter

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var keySeq atomic.Int64

func uniqueKey(t testing.TB) string {
	return fmt.Sprintf("%s:%d:%d", t.Name(), time.Now().UnixNano(), keySeq.Add(1))
}

// burst sends n concurrent Allow calls, released together, spread round-robin
// over the limiters (several limiters = several worker processes).
func burst(t *testing.T, lims []Limiter, key string, p Policy, n int) (allowed int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		ok    atomic.Int64
		errs  = make(chan error, n)
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := lims[i%len(lims)].Allow(ctx, key, p)
			if err != nil {
				errs <- err
				return
			}
			if d.Allowed {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return int(ok.Load())
}

// TestExactlyLimitUnderConcurrency: 200 concurrent requests on one key pass
// exactly the limit, on a real redis-server shared by two clients (two worker
// processes) and on locmem within one process.
func TestExactlyLimitUnderConcurrency(t *testing.T) {
	p := Policy{Limit: 50, Window: time.Minute}
	for _, alg := range Algorithms {
		t.Run(alg+"/redis", func(t *testing.T) {
			var lims []Limiter
			for range 2 {
				l, err := New(Config{Backend: "redis", Algorithm: alg, Redis: realRedisClient(t)})
				require.NoError(t, err)
				lims = append(lims, l)
			}
			for round := range 3 {
				require.Equal(t, p.Limit, burst(t, lims, uniqueKey(t), p, 200), "round %d", round)
			}
		})
		t.Run(alg+"/locmem", func(t *testing.T) {
			l, err := New(Config{Backend: "locmem", Algorithm: alg})
			require.NoError(t, err)
			for round := range 3 {
				require.Equal(t, p.Limit, burst(t, []Limiter{l}, uniqueKey(t), p, 200), "round %d", round)
			}
		})
	}
}

// TestLocmemCountsPerProcess: with four workers each keeping its own counters
// (Django's default cache), four times the limit gets through.
func TestLocmemCountsPerProcess(t *testing.T) {
	p := Policy{Limit: 20, Window: time.Minute}
	var workers []Limiter
	for range 4 {
		l, err := New(Config{Backend: "locmem", Algorithm: "fixed"})
		require.NoError(t, err)
		workers = append(workers, l)
	}
	require.Equal(t, 4*p.Limit, burst(t, workers, "user:1:save", p, 200))
}

// TestNaiveOvershoots: the naive limiter's GET and SET are separate round
// trips, so concurrent requests read the same count and more than the limit
// pass. Repeated a few rounds: one overshoot is enough to prove the defect
// (it overshoots by a lot in practice; see the log).
func TestNaiveOvershoots(t *testing.T) {
	p := Policy{Limit: 50, Window: time.Minute}
	tests := []struct {
		name string
		lim  func(t *testing.T) Limiter
	}{
		{"redis", func(t *testing.T) Limiter {
			l, err := New(Config{Backend: "redis", Naive: true, Redis: realRedisClient(t)})
			require.NoError(t, err)
			return l
		}},
		{"locmem", func(t *testing.T) Limiter {
			l, err := New(Config{Backend: "locmem", Naive: true})
			require.NoError(t, err)
			return l
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.lim(t)
			var got []int
			for range 5 {
				got = append(got, burst(t, []Limiter{l}, uniqueKey(t), p, 200))
				if got[len(got)-1] > p.Limit {
					break
				}
			}
			t.Logf("naive %s: allowed per round of 200 (limit %d): %v", tt.name, p.Limit, got)
			require.Greater(t, got[len(got)-1], p.Limit, "naive limiter never overshot in %d rounds: %v", len(got), got)
		})
	}
}

// TestRealRedisDecisions: on a real redis-server (real clock) a quick burst
// gives the counts of the fake-clock tables, and the key really expires.
func TestRealRedisDecisions(t *testing.T) {
	rdb := realRedisClient(t)
	p := Policy{Limit: 3, Window: time.Minute}
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			l, err := New(Config{Backend: "redis", Algorithm: alg, Redis: rdb, KeyPrefix: "t:"})
			require.NoError(t, err)
			key := uniqueKey(t)
			for i := 1; i <= 4; i++ {
				d, err := l.Allow(context.Background(), key, p)
				require.NoError(t, err)
				require.Equal(t, i <= 3, d.Allowed, "request %d", i)
				require.Equal(t, min(i, 3), d.Count)
				require.Equal(t, max(0, 3-i), d.Remaining)
				require.Positive(t, d.Reset)
				require.LessOrEqual(t, d.Reset, 2*p.Window)
				if !d.Allowed {
					require.Positive(t, d.RetryAfter)
					require.LessOrEqual(t, d.RetryAfter, d.Reset)
				}
			}
			ttl, err := rdb.PTTL(context.Background(), "t:"+alg+":"+key).Result()
			require.NoError(t, err)
			require.Positive(t, ttl)
		})
	}
}

// TestRedisScriptCacheFlushed: after SCRIPT FLUSH (a Redis restart or
// failover), EVALSHA fails with NOSCRIPT and the limiter falls back to EVAL.
func TestRedisScriptCacheFlushed(t *testing.T) {
	rdb := realRedisClient(t)
	for _, alg := range Algorithms {
		l, err := New(Config{Backend: "redis", Algorithm: alg, Redis: rdb})
		require.NoError(t, err)
		require.NoError(t, rdb.ScriptFlush(context.Background()).Err())
		d, err := l.Allow(context.Background(), uniqueKey(t), Policy{Limit: 1, Window: time.Minute})
		require.NoError(t, err, alg)
		require.True(t, d.Allowed, alg)
	}
}

// TestRedisErrorsAreReturned: connection refused and a Redis that never
// answers both come back as wrapped errors; the caller picks the policy.
func TestRedisErrorsAreReturned(t *testing.T) {
	refused, err := freeLoopbackAddr() // closed again: nothing listens
	require.NoError(t, err)

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	var conns sync.WaitGroup
	conns.Add(1)
	go func() { // accept and never answer
		defer conns.Done()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()

	tests := []struct {
		name  string
		addr  string
		check func(t *testing.T, err error)
	}{
		{"connection refused", refused, func(t *testing.T, err error) { require.ErrorIs(t, err, syscall.ECONNREFUSED) }},
		{"timeout", silent.Addr().String(), func(t *testing.T, err error) {
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			require.True(t, ne.Timeout(), "want a timeout, got %v", err)
		}},
	}
	for _, tt := range tests {
		for _, alg := range []string{"fixed", "sliding", "gcra", "naive"} {
			t.Run(tt.name+"/"+alg, func(t *testing.T) {
				rdb := redis.NewClient(&redis.Options{Addr: tt.addr, MaxRetries: -1, DialerRetries: 1,
					DialTimeout: 50 * time.Millisecond, ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
				t.Cleanup(func() { _ = rdb.Close() })
				l, err := New(Config{Backend: "redis", Algorithm: alg, Naive: alg == "naive", Redis: rdb})
				require.NoError(t, err)
				began := time.Now()
				_, err = l.Allow(context.Background(), "k", Policy{Limit: 5, Window: time.Minute})
				require.Error(t, err)
				require.Less(t, time.Since(began), 2*time.Second)
				require.Contains(t, err.Error(), "redis")
				tt.check(t, err)
			})
		}
	}
}
