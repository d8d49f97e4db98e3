package limiter

import (
	"context"
	"sync"
	"time"
)

// locmem keeps state in this process only, like Django's default LocMemCache:
// with N worker processes every worker counts on its own.
type locmem struct {
	name   string
	step   func(state, bool, int64, int64, int64) (state, result)
	naive  bool
	gap    time.Duration // naive: between read and write
	now    func() time.Time
	shards [numShards]shard
}

const (
	// naiveGap is the naive limiter's time between reading and writing the
	// counter: about one cache round trip to a Redis on another host.
	naiveGap  = time.Millisecond
	numShards = 64
	// sweepEvery is the minimum number of operations on a shard between two
	// sweeps of its expired keys; a sweep also waits for as many operations as
	// keys survived the last sweep, so cleanup costs O(1) per operation.
	sweepEvery = 256
)

type shard struct {
	mu   sync.Mutex
	m    map[string]state
	ops  int
	kept int // keys left by the last sweep
}

func newLocmem(cfg Config, alg, name string) *locmem {
	l := &locmem{name: name, now: cfg.Now, naive: alg == "naive", gap: cfg.NaiveGap}
	if l.gap == 0 {
		l.gap = naiveGap
	}
	switch alg {
	case "fixed":
		l.step = fixedStep
	case "sliding":
		l.step = slidingStep
	case "gcra":
		l.step = gcraStep
	}
	for i := range l.shards {
		l.shards[i].m = make(map[string]state)
	}
	return l
}

func (l *locmem) Name() string { return l.name }

func (l *locmem) shard(key string) *shard {
	// FNV-1a inline: no allocation on the hot path.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &l.shards[h%numShards]
}

func (l *locmem) Allow(ctx context.Context, key string, p Policy) (Decision, error) {
	if err := p.validate(); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	limit, w := int64(p.Limit), p.Window.Microseconds()
	s := l.shard(key)
	if l.naive {
		return l.naiveAllow(s, key, limit, w).decision(p), nil
	}
	now := l.now().UnixMicro()
	s.mu.Lock()
	st, ok := s.m[key]
	live := ok && now < st.expires
	st, r := l.step(st, live, now, limit, w)
	if r.allowed || live {
		s.m[key] = st
	}
	s.sweep(now)
	s.mu.Unlock()
	return r.decision(p), nil
}

// naiveAllow is the naive-limiter defect: read, then write in a second step
// (the real app's two cache round trips), with the expiry pushed back to a
// full window on every allowed request. Concurrent callers between the two
// steps all see the same count, so more than limit pass.
func (l *locmem) naiveAllow(s *shard, key string, limit, w int64) result {
	now := l.now().UnixMicro()
	s.mu.Lock()
	st, ok := s.m[key]
	s.mu.Unlock()
	var count int64
	if ok && now < st.expires {
		count = st.count
	}
	if count >= limit {
		return result{count: count, retryUS: st.expires - now, reset: st.expires - now}
	}
	// The gap between the real app's GET and SET. A bare yield made the
	// race depend on scheduling luck (a burst of 150 passed exactly the
	// limit in 1 CI run of 4); one cache round trip's time makes it as wide
	// as django-redis's, where 60 concurrent requests let 37 through.
	if l.gap > 0 {
		time.Sleep(l.gap)
	}
	s.mu.Lock()
	s.m[key] = state{count: count + 1, expires: now + w}
	s.sweep(now)
	s.mu.Unlock()
	return result{allowed: true, count: count + 1, reset: w}
}

// sweep drops expired keys now and then, so memory stays bounded by the keys
// active within about one window. Callers hold s.mu.
func (s *shard) sweep(now int64) {
	s.ops++
	if s.ops < sweepEvery || s.ops < s.kept {
		return
	}
	s.ops = 0
	for k, st := range s.m {
		if now >= st.expires {
			delete(s.m, k)
		}
	}
	s.kept = len(s.m)
}

// size is the number of stored keys, expired or not (for tests).
func (l *locmem) size() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
