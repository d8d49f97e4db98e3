package server

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessions keeps sessions in Redis (Django's cache session backend with
// django-redis), shared by all workers.
type RedisSessions struct {
	c redis.UniversalClient
}

// NewRedisSessions stores sessions under "session:<key>".
func NewRedisSessions(c redis.UniversalClient) *RedisSessions { return &RedisSessions{c: c} }

// Get implements Sessions.
func (s *RedisSessions) Get(ctx context.Context, key string) (int64, bool, error) {
	v, err := s.c.Get(ctx, "session:"+key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	uid, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, nil
	}
	return uid, true, nil
}

// Set implements Sessions.
func (s *RedisSessions) Set(ctx context.Context, key string, userID int64, ttl time.Duration) error {
	return s.c.Set(ctx, "session:"+key, strconv.FormatInt(userID, 10), ttl).Err()
}

// Delete implements Sessions.
func (s *RedisSessions) Delete(ctx context.Context, key string) error {
	return s.c.Del(ctx, "session:"+key).Err()
}
