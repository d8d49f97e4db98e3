package scenarios_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/client"
)

// TestLoginWaitsOutLockout: a login answered with the app's lockout page
// (200, the form again, "Terlalu banyak percobaan masuk yang gagal") is
// throttling: LoginWith says so through OnThrottle and tries again until
// the lockout ends, within Wait; past Wait it fails as throttled, never as
// a wrong password.
func TestLoginWaitsOutLockout(t *testing.T) {
	const lockout = `<div class="alert alert-danger">Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti.</div>`
	for _, tc := range []struct {
		name    string
		locked  int32 // POSTs answered with the lockout page first
		wait    time.Duration
		wantErr error
	}{
		{"waited out", 2, 30 * time.Second, nil},
		{"longer than the wait", 1000, 1200 * time.Millisecond, client.ErrLoginThrottled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok", Path: "/"})
				form := `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="tok"></form>`
				if r.Method == http.MethodGet {
					fmt.Fprint(w, form)
					return
				}
				if posts.Add(1) <= tc.locked {
					fmt.Fprint(w, lockout+form)
					return
				}
				http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s", Path: "/"})
				http.Redirect(w, r, "/dashboard/", http.StatusFound)
			}))
			defer srv.Close()
			c, err := client.New(srv.URL)
			require.NoError(t, err)
			var told []int
			err = scenarios.LoginWith(context.Background(), c, client.Credential{User: "u", Password: "p"}, scenarios.LoginOptions{
				Wait: tc.wait, OnThrottle: func(_ string, attempt int, _ error) { told = append(told, attempt) },
			})
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.Equal(t, []int{1, 2}, told, "each lockout answer said before the wait")
				require.Equal(t, "s", c.SessionID())
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.NotEmpty(t, told)
		})
	}
}
