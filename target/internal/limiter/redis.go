package limiter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts run the steps of algorithms.go atomically inside Redis, one
// round trip each (EVALSHA, falling back to EVAL when the script cache is
// empty). Time comes from Redis itself (PTTL for the fixed window, TIME for
// the others), so all worker processes agree whatever their own clocks say.
// Large integers are written with string.format('%d'): Lua would otherwise
// format them with %.14g and lose digits.

// fixedScript: KEYS[1] counter; ARGV limit, window ms. Returns
// {allowed, count, retry ms, reset ms}.
var fixedScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then c = 0 end
if c >= limit then return {0, c, ttl, ttl} end
if c == 0 then
  redis.call('SET', KEYS[1], 1, 'PX', win)
  return {1, 1, 0, win}
end
redis.call('INCR', KEYS[1])
return {1, c + 1, 0, ttl}
`)

// slidingScript: KEYS[1] hash {w: window index, p: previous count, c: current
// count}; ARGV limit, window µs. Returns {allowed, count, retry µs, reset µs}.
var slidingScript = redis.NewScript(`
local limit = tonumber(ARGV[1])
local w = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local idx = math.floor(now / w)
local cs = idx * w
local v = redis.call('HMGET', KEYS[1], 'w', 'p', 'c')
local prev, cur = 0, 0
if v[1] then
  local s = tonumber(v[1])
  if s == idx then
    prev, cur = tonumber(v[2]), tonumber(v[3])
  elseif s == idx - 1 then
    prev = tonumber(v[3])
  end
end
local weighted = prev * (w - (now - cs)) + cur * w
if weighted + w > limit * w then
  local retry
  if cur < limit then
    retry = cs + w - math.floor((limit - cur - 1) * w / prev) - now
  else
    retry = cs + 2 * w - math.floor((limit - 1) * w / cur) - now
  end
  local reset = cs + 2 * w - now
  if cur == 0 then reset = cs + w - now end
  return {0, math.ceil(weighted / w), retry, reset}
end
cur = cur + 1
redis.call('HSET', KEYS[1], 'w', string.format('%d', idx), 'p', string.format('%d', prev), 'c', string.format('%d', cur))
redis.call('PEXPIRE', KEYS[1], math.ceil((cs + 2 * w - now) / 1000))
return {1, math.ceil((weighted + w) / w), 0, cs + 2 * w - now}
`)

// gcraScript: KEYS[1] theoretical arrival time in µs; ARGV emission interval
// and tolerance in µs. Returns {allowed, count, retry µs, reset µs}.
var gcraScript = redis.NewScript(`
local ti = tonumber(ARGV[1])
local tol = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > tol then
  return {0, math.ceil((tat - now) / ti), tat - tol - now, tat - now}
end
tat = tat + ti
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
return {1, math.ceil((tat - now) / ti), 0, tat - now}
`)

type redisLimiter struct {
	name   string
	alg    string
	prefix string
	rdb    redis.UniversalClient
}

func newRedis(cfg Config, alg, name string) *redisLimiter {
	return &redisLimiter{name: name, alg: alg, prefix: cfg.KeyPrefix + alg + ":", rdb: cfg.Redis}
}

func (l *redisLimiter) Name() string { return l.name }

func (l *redisLimiter) Allow(ctx context.Context, key string, p Policy) (Decision, error) {
	if err := p.validate(); err != nil {
		return Decision{}, err
	}
	k := []string{l.prefix + key}
	limit := int64(p.Limit)
	var (
		cmd  *redis.Cmd
		unit = time.Microsecond
	)
	switch l.alg {
	case "naive":
		return l.naive(ctx, k[0], p)
	case "fixed":
		cmd = fixedScript.Run(ctx, l.rdb, k, limit, p.Window.Milliseconds())
		unit = time.Millisecond
	case "sliding":
		cmd = slidingScript.Run(ctx, l.rdb, k, limit, p.Window.Microseconds())
	case "gcra":
		w := p.Window.Microseconds()
		t := gcraInterval(limit, w)
		cmd = gcraScript.Run(ctx, l.rdb, k, t, (limit-1)*t)
	}
	v, err := cmd.Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("run %s limiter script on redis: %w", l.alg, err)
	}
	if len(v) != 4 {
		return Decision{}, fmt.Errorf("run %s limiter script on redis: got %d values, want 4", l.alg, len(v))
	}
	r := result{allowed: v[0] == 1, count: v[1], retryUS: v[2], reset: v[3]}
	if unit == time.Millisecond {
		r.retryUS *= 1000
		r.reset *= 1000
	}
	return r.decision(p), nil
}

// naive is the naive-limiter defect on Redis, as django-redis does it: GET
// (with PTTL in the same round trip, for an honest Retry-After), then, in a
// second round trip, SET count+1 with a fresh full-window expiry. Requests
// landing between the two round trips all read the same count.
func (l *redisLimiter) naive(ctx context.Context, key string, p Policy) (Decision, error) {
	pipe := l.rdb.Pipeline()
	get := pipe.Get(ctx, key)
	pttl := pipe.PTTL(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Decision{}, fmt.Errorf("read naive limiter counter from redis: %w", err)
	}
	count, err := get.Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Decision{}, fmt.Errorf("read naive limiter counter from redis: %w", err)
	}
	ttl := max(pttl.Val(), 0)
	if count >= int64(p.Limit) {
		return result{count: count, retryUS: ttl.Microseconds(), reset: ttl.Microseconds()}.decision(p), nil
	}
	if err := l.rdb.Set(ctx, key, count+1, p.Window).Err(); err != nil {
		return Decision{}, fmt.Errorf("write naive limiter counter to redis: %w", err)
	}
	return result{allowed: true, count: count + 1, reset: p.Window.Microseconds()}.decision(p), nil
}
