package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countingDjango is fakeDjango with a new sessionid per successful login
// (s1, s2, ...), counting the login POSTs; the first `throttle` POSTs are
// refused for their rate: a 429, or with lockoutPage the login form again
// with a lockout message (the app's answer).
func countingDjango(t *testing.T, throttle int, lockoutPage bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	const form = `<form><input type="hidden" name="csrfmiddlewaretoken" value="tok123">%s</form>`
	var posts atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok123", Path: "/"})
			fmt.Fprintf(w, form, "")
			return
		}
		n := posts.Add(1)
		if n <= int64(throttle) {
			if lockoutPage {
				fmt.Fprintf(w, form, `<div class="alert alert-danger">Terlalu banyak percobaan masuk. Coba lagi nanti.</div>`)
				return
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: fmt.Sprintf("s%d", n-int64(throttle)), Path: "/"})
		http.Redirect(w, r, "/", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &posts
}

func login(t *testing.T, ctx context.Context, base, user string) *Client {
	t.Helper()
	c, err := New(base)
	require.NoError(t, err)
	require.NoError(t, c.Login(ctx, user, "pw"))
	return c
}

// TestSessionsShareOneLogin: under a store every client of a user gets the
// first login's session (also when asked at once), FreshSession makes a new
// one that the next client gets, and another user is a login of its own.
// Without a store every Login posts the form.
func TestSessionsShareOneLogin(t *testing.T) {
	srv, posts := countingDjango(t, 0, false)
	st := NewSessions(0)
	ctx := WithSessions(context.Background(), st)

	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() { ids[i] = login(t, ctx, srv.URL, "user1").SessionID() })
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, "s1", id)
	}
	require.EqualValues(t, 1, posts.Load(), "one login for eight clients of one user")
	require.Equal(t, 1, st.Logins())
	require.Equal(t, 7, st.Reused())

	c := login(t, ctx, srv.URL, "user1")
	require.Equal(t, "tok123", c.CSRFToken(), "the stored session's CSRF cookie comes along")
	require.Equal(t, "tok123", c.Headers().Get("X-CSRFToken"))

	require.Equal(t, "s2", login(t, FreshSession(ctx), srv.URL, "user1").SessionID(), "a fresh session on purpose")
	require.Equal(t, "s2", login(t, ctx, srv.URL, "user1").SessionID(), "the newest session is the shared one")
	require.Equal(t, "s3", login(t, ctx, srv.URL, "user2").SessionID(), "another user logs in")
	require.EqualValues(t, 3, posts.Load())
	require.Equal(t, 3, st.Logins())

	login(t, context.Background(), srv.URL, "user1")
	login(t, context.Background(), srv.URL, "user1")
	require.EqualValues(t, 5, posts.Load(), "without a store every login posts")
}

// TestSessionsWaitOutThrottling: a 429 or a lockout page is waited out
// within the store's bound and counted apart from the logins made; with no
// bound the throttled error is returned.
func TestSessionsWaitOutThrottling(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lockout bool
	}{{"429", false}, {"lockout page", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, posts := countingDjango(t, 1, tc.lockout)
			st := NewSessions(loginTestWait)
			var told atomic.Int64
			st.OnThrottle = func(user string, attempt int, err error) {
				require.Equal(t, "user1", user)
				require.ErrorIs(t, err, ErrLoginThrottled)
				told.Add(1)
			}
			c := login(t, WithSessions(context.Background(), st), srv.URL, "user1")
			require.Equal(t, "s1", c.SessionID())
			require.EqualValues(t, 2, posts.Load())
			require.Equal(t, 1, st.Logins())
			require.Equal(t, 1, st.Throttled())
			require.EqualValues(t, 1, told.Load())

			srv, _ = countingDjango(t, 1, tc.lockout)
			st = NewSessions(0)
			c, err := New(srv.URL)
			require.NoError(t, err)
			require.ErrorIs(t, c.Login(WithSessions(context.Background(), st), "user1", "pw"), ErrLoginThrottled)
			require.Equal(t, 0, st.Logins())
			require.Equal(t, 1, st.Throttled())
		})
	}
}

// loginTestWait is long enough for one pause of the store's backoff.
const loginTestWait = 5 * time.Second
