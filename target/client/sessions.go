package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Sessions is a run's store of logged-in sessions, keyed by base URL and
// username: deployments throttle logins per client IP, so a run logs each
// user in once and every phase that logs the same user in again (with a
// context carrying the store, see WithSessions) gets that session's cookies
// instead of a new login. Safe for concurrent use.
type Sessions struct {
	// Wait bounds how long one login waits out login throttling (a 429 or
	// a lockout page) before its error is returned (0: no waiting).
	Wait time.Duration
	// OnThrottle, when set, is told of each throttled attempt.
	OnThrottle func(user string, attempt int, err error)

	mu   sync.Mutex
	byID map[string]*stored

	logins, throttled, reused atomic.Int64
}

type stored struct {
	mu      sync.Mutex // held during the login: one login per user at a time
	cookies []*http.Cookie
}

// NewSessions returns an empty store whose logins wait out throttling for
// up to wait.
func NewSessions(wait time.Duration) *Sessions {
	return &Sessions{Wait: wait, byID: map[string]*stored{}}
}

// Logins is how many logins the store made (successful or refused), apart
// from the attempts refused for their rate, which Throttled counts; Reused
// how many logins it answered with a session it already had.
func (s *Sessions) Logins() int    { return int(s.logins.Load()) }
func (s *Sessions) Throttled() int { return int(s.throttled.Load()) }
func (s *Sessions) Reused() int    { return int(s.reused.Load()) }

func (s *Sessions) entry(base, user string) *stored {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := base + "\x00" + user
	e := s.byID[k]
	if e == nil {
		e = &stored{}
		s.byID[k] = e
	}
	return e
}

type sessionsKey struct{}
type freshKey struct{}

// WithSessions returns ctx carrying the store: Client.Login under it reuses
// the user's stored session.
func WithSessions(ctx context.Context, s *Sessions) context.Context {
	return context.WithValue(ctx, sessionsKey{}, s)
}

// SessionsFrom is the store ctx carries, nil when none.
func SessionsFrom(ctx context.Context) *Sessions {
	s, _ := ctx.Value(sessionsKey{}).(*Sessions)
	return s
}

// FreshSession returns ctx under which Client.Login really logs in, also
// when the store has a session for the user: for checks that need a new
// session on purpose (identity rotation, another session's CSRF token) and
// for renewing a session that bounced. The new session replaces the stored
// one (the latest login is the one the next phase gets).
func FreshSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

func isFresh(ctx context.Context) bool { b, _ := ctx.Value(freshKey{}).(bool); return b }

// login is Client.Login through the store: the stored session's cookies
// when there is one (and ctx is not FreshSession), else a real login whose
// throttling is waited out within s.Wait, stored on success.
func (s *Sessions) login(ctx context.Context, c *Client, user, password string) error {
	e := s.entry(c.base.String(), user)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cookies != nil && !isFresh(ctx) {
		c.jar.SetCookies(c.base, e.cookies)
		s.reused.Add(1)
		return nil
	}
	b := Backoff{Wait: time.Second, Max: 8 * time.Second, Within: s.Wait,
		Retry: func(err error) bool { return errors.Is(err, ErrLoginThrottled) }}
	b.OnRetry = func(attempt int, err error) {
		if s.OnThrottle != nil {
			s.OnThrottle(user, attempt, err)
		}
	}
	if s.Wait <= 0 {
		b.Tries = 1
	}
	err := Retry(ctx, b, func(ctx context.Context) error {
		err := c.login(ctx, user, password)
		if errors.Is(err, ErrLoginThrottled) {
			s.throttled.Add(1)
		} else if err == nil || errors.Is(err, ErrLoginFailed) {
			s.logins.Add(1)
		}
		return err
	})
	if err != nil {
		return err
	}
	e.cookies = c.jar.Cookies(c.base)
	return nil
}
