package limiter

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// benchKeys are 1024 user×operation keys, as a busy worker sees them.
var benchKeys = func() []string {
	k := make([]string, 1024)
	for i := range k {
		k[i] = fmt.Sprintf("user:%d:list_pekerjaan_save:write", i)
	}
	return k
}()

// benchPolicy is large enough that most calls are allowed (the common path).
var benchPolicy = Policy{Limit: 1_000_000, Window: time.Minute}

func benchLimiter(b *testing.B, alg, backend string) Limiter {
	cfg := Config{Backend: backend, Algorithm: alg, Naive: alg == "naive", KeyPrefix: fmt.Sprintf("bench:%d:", time.Now().UnixNano())}
	if backend == "redis" {
		cfg.Redis = realRedisClient(b)
	}
	l, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkAllow is BenchmarkAllow/<algorithm>/<backend>: one goroutine.
func BenchmarkAllow(b *testing.B) {
	for _, alg := range append(Algorithms, "naive") {
		for _, backend := range Backends {
			b.Run(alg+"/"+backend, func(b *testing.B) {
				l := benchLimiter(b, alg, backend)
				ctx := context.Background()
				i := 0
				for b.Loop() {
					if _, err := l.Allow(ctx, benchKeys[i%len(benchKeys)], benchPolicy); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkAllowParallel is BenchmarkAllowParallel/<algorithm>/<backend>:
// GOMAXPROCS×4 goroutines on one limiter, as a worker serving many requests.
func BenchmarkAllowParallel(b *testing.B) {
	for _, alg := range append(Algorithms, "naive") {
		for _, backend := range Backends {
			b.Run(alg+"/"+backend, func(b *testing.B) {
				l := benchLimiter(b, alg, backend)
				ctx := context.Background()
				var seq atomic.Int64
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					i := int(seq.Add(1)) * 7919
					for pb.Next() {
						if _, err := l.Allow(ctx, benchKeys[i%len(benchKeys)], benchPolicy); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		}
	}
}
