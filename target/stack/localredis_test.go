package stack

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The embedded miniredis only expires keys when its clock is advanced; the
// local stack advances it with real time, so rate-limit windows and sessions
// end. One short real wait (400 ms) is the point of this test.
func TestMiniredisFollowsRealTime(t *testing.T) {
	r, err := startMiniredis()
	require.NoError(t, err)
	t.Cleanup(r.close)
	c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	keys := []struct {
		name string
		ttl  time.Duration // 0: no TTL
		gone bool
	}{
		{"short", 200 * time.Millisecond, true},
		{"long", 30 * time.Second, false},
		{"forever", 0, false},
	}
	for _, k := range keys {
		require.NoError(t, c.Set(ctx, k.name, "1", 0).Err())
		if k.ttl > 0 {
			require.True(t, c.PExpire(ctx, k.name, k.ttl).Val())
		}
	}
	require.EqualValues(t, len(keys), c.Exists(ctx, "short", "long", "forever").Val(), "every key is there at first")

	time.Sleep(400 * time.Millisecond)

	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			n, err := c.Exists(ctx, k.name).Result()
			require.NoError(t, err)
			if k.gone {
				require.Zero(t, n, "a key with PEXPIRE %s is gone after 400ms", k.ttl)
				return
			}
			require.EqualValues(t, 1, n)
			if k.ttl > 0 {
				left := c.PTTL(ctx, k.name).Val()
				require.Less(t, left, k.ttl-300*time.Millisecond, "the TTL counts down with real time")
				require.Greater(t, left, k.ttl-2*time.Second, "but not faster")
			}
		})
	}

	// Down stops the clock goroutine; a second close is harmless.
	r.close()
	r.close()
}
