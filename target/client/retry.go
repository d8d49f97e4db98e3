package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// StatusError is an answer whose HTTP status was not the one wanted. Err,
// when set, is the kind of failure it is (ErrLoginFailed).
type StatusError struct {
	Status int
	Msg    string
	Err    error
	// RetryAfter is what the answer's Retry-After asked for (0: none);
	// Retry pauses at least that long before the next call.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string { return e.Msg }
func (e *StatusError) Unwrap() error { return e.Err }

// StatusErrorf makes a StatusError; the message should name the status.
func StatusErrorf(status int, format string, args ...any) *StatusError {
	return &StatusError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// StatusOf is the HTTP status of a StatusError in err's chain, or 0.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// OnStatus is a Backoff.Retry that retries a StatusError with one of statuses.
func OnStatus(statuses ...int) func(error) bool {
	return func(err error) bool { return slices.Contains(statuses, StatusOf(err)) }
}

// Transient statuses: a rate limit, or a fail-closed limiter or proxy that
// was briefly unavailable.
var Transient = []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// Backoff says how Retry repeats a call that failed transiently.
type Backoff struct {
	// Tries bounds the calls (0: only Within bounds them).
	Tries int
	// Wait is the pause before the second call; each later pause doubles
	// up to Max (Max 0: every pause is Wait).
	Wait, Max time.Duration
	// Within bounds the whole: no pause that would end after it (0: none).
	Within time.Duration
	// Retry says which errors are transient (nil: a StatusError with a
	// Transient status). Any other error ends at once.
	Retry func(error) bool
	// OnRetry, when set, is told of each failed attempt that is retried
	// (for evidence).
	OnRetry func(attempt int, err error)
}

// Retry calls fn until it succeeds, fails with an error b does not retry,
// or b's tries or time run out, pausing between calls; it returns fn's last
// error. A cancelled ctx ends the pause at once and is returned together with
// the last error. Every loop that retries a transient status uses this.
func Retry(ctx context.Context, b Backoff, fn func(ctx context.Context) error) error {
	retry := b.Retry
	if retry == nil {
		retry = OnStatus(Transient...)
	}
	var deadline time.Time
	if b.Within > 0 {
		deadline = time.Now().Add(b.Within)
	}
	wait := b.Wait
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || !retry(err) || (b.Tries > 0 && attempt >= b.Tries) ||
			(!deadline.IsZero() && time.Now().Add(wait).After(deadline)) {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(context.Cause(ctx), err)
		}
		if b.OnRetry != nil {
			b.OnRetry(attempt, err)
		}
		pause := wait
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > pause {
			pause = se.RetryAfter
			if !deadline.IsZero() && time.Now().Add(pause).After(deadline) {
				return err
			}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(context.Cause(ctx), err)
		case <-t.C:
		}
		if b.Max > 0 {
			wait = min(wait*2, b.Max)
		}
	}
}
