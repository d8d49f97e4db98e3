package limiter

// The three algorithms as pure steps over one key's state, in microseconds.
// locmem runs them under a shard lock; the Redis Lua scripts in redis.go are
// line-for-line translations, so both backends decide identically.

// state is one key's stored value; the fields used depend on the algorithm.
type state struct {
	count   int64 // fixed, naive: requests counted; sliding: current window's count
	prev    int64 // sliding: previous window's count
	start   int64 // sliding: current window's start
	tat     int64 // gcra: theoretical arrival time
	expires int64 // the state is gone at and after this instant
}

// fixedStep is the atomic fixed window: the window starts at the key's first
// request and lasts w; denied requests are not counted (the count stops at
// limit, as the real app's current_count does).
func fixedStep(st state, live bool, now, limit, w int64) (state, result) {
	if !live {
		st = state{expires: now + w}
	}
	ttl := st.expires - now
	if st.count >= limit {
		return st, result{count: st.count, retryUS: ttl, reset: ttl}
	}
	st.count++
	return st, result{allowed: true, count: st.count, reset: ttl}
}

// slidingStep is the sliding-window counter: windows aligned to multiples of
// w, and the previous window's count weighted by the part of it still inside
// the sliding window. A request passes when prev×(w−elapsed)/w + cur + 1 ≤ limit;
// everything is multiplied by w to stay in integers.
func slidingStep(st state, live bool, now, limit, w int64) (state, result) {
	cs := floorDiv(now, w) * w
	if !live {
		st = state{start: cs}
	}
	switch {
	case st.start == cs:
	case st.start == cs-w:
		st.prev, st.count, st.start = st.count, 0, cs
	default:
		st.prev, st.count, st.start = 0, 0, cs
	}
	elapsed := now - cs
	weighted := st.prev*(w-elapsed) + st.count*w
	if weighted+w > limit*w {
		var retry int64
		if st.count < limit {
			// Later in this window, once prev's weight has shrunk enough.
			retry = cs + w - (limit-st.count-1)*w/st.prev - now
		} else {
			// In the next window, where this window's count becomes prev.
			retry = cs + 2*w - (limit-1)*w/st.count - now
		}
		reset := cs + 2*w - now
		if st.count == 0 {
			reset = cs + w - now
		}
		return st, result{count: ceilDiv(weighted, w), retryUS: retry, reset: reset}
	}
	st.count++
	st.expires = cs + 2*w
	return st, result{allowed: true, count: ceilDiv(weighted+w, w), reset: cs + 2*w - now}
}

// gcraInterval is the emission interval, rounded up so that the long-run rate
// never exceeds limit per w.
func gcraInterval(limit, w int64) int64 { return ceilDiv(w, limit) }

// gcraStep is the generic cell rate algorithm with emission interval
// t = ceil(w/limit) and tolerance (limit−1)×t: limit requests may pass back to
// back, then one every t.
func gcraStep(st state, live bool, now, limit, w int64) (state, result) {
	t := gcraInterval(limit, w)
	tol := (limit - 1) * t
	tat := now
	if live && st.tat > now {
		tat = st.tat
	}
	if tat-now > tol {
		return st, result{count: ceilDiv(tat-now, t), retryUS: tat - tol - now, reset: tat - now}
	}
	tat += t
	st = state{tat: tat, expires: tat}
	return st, result{allowed: true, count: ceilDiv(tat-now, t), reset: tat - now}
}
