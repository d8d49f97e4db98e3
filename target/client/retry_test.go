package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetry(t *testing.T) {
	busy := StatusErrorf(503, "status 503")
	limited := StatusErrorf(429, "status 429")
	refused := &StatusError{Status: 200, Msg: "login failed: status 200", Err: ErrLoginFailed}
	for _, tc := range []struct {
		name    string
		b       Backoff
		errs    []error // what fn returns per call (then nil)
		calls   int
		wantErr error
	}{
		{"success at once", Backoff{Tries: 3}, nil, 1, nil},
		{"transient then success", Backoff{Tries: 3, Wait: time.Millisecond}, []error{busy, limited}, 3, nil},
		{"tries run out: the last error", Backoff{Tries: 2, Wait: time.Millisecond}, []error{busy, limited, busy}, 2, limited},
		{"not transient: no retry", Backoff{Tries: 5, Wait: time.Millisecond}, []error{refused}, 1, ErrLoginFailed},
		{"a plain error is not retried", Backoff{Tries: 5}, []error{errors.New("dial: refused")}, 1, nil},
		{"only the statuses asked for", Backoff{Tries: 5, Wait: time.Millisecond, Retry: OnStatus(503)}, []error{busy, limited}, 2, limited},
		{"within bounds the time", Backoff{Wait: 100 * time.Millisecond, Within: 150 * time.Millisecond}, []error{busy, busy, busy, busy, busy}, 2, busy},
		{"wrapped status errors count", Backoff{Tries: 3, Wait: time.Millisecond}, []error{fmt.Errorf("get x: %w", busy)}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, retried := 0, 0
			tc.b.OnRetry = func(int, error) { retried++ }
			err := Retry(context.Background(), tc.b, func(context.Context) error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			require.Equal(t, tc.calls, calls)
			require.Equal(t, max(calls-1, 0), retried)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case calls <= len(tc.errs):
				require.Error(t, err)
			default:
				require.NoError(t, err)
			}
		})
	}
}

// TestRetryStopsOnCancel: a cancelled context ends the pause at once and
// says so, with the last error.
func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	busy := StatusErrorf(503, "status 503")
	start := time.Now()
	err := Retry(ctx, Backoff{Tries: 5, Wait: time.Hour}, func(context.Context) error {
		cancel()
		return busy
	})
	require.Less(t, time.Since(start), time.Minute)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, busy)
	require.Equal(t, 503, StatusOf(err))
}

// TestRetryHonoursRetryAfter: a StatusError's RetryAfter lengthens the pause
// (a login limit that says how long), and one that would end after Within
// ends the retries at once instead of polling.
func TestRetryHonoursRetryAfter(t *testing.T) {
	ra := func(d time.Duration) error { return &StatusError{Status: 429, Msg: "status 429", RetryAfter: d} }
	calls := 0
	start := time.Now()
	err := Retry(context.Background(), Backoff{Wait: time.Millisecond, Within: 5 * time.Second}, func(context.Context) error {
		if calls++; calls == 1 {
			return ra(60 * time.Millisecond)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
	require.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "paused for Retry-After, not Wait")

	calls = 0
	err = Retry(context.Background(), Backoff{Wait: time.Millisecond, Within: time.Second}, func(context.Context) error {
		calls++
		return ra(time.Minute)
	})
	require.Equal(t, 1, calls, "a Retry-After beyond Within is not waited")
	require.Equal(t, 429, StatusOf(err))
}
