package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// TestDeploymentTraits: each trait changes exactly what it names, and the
// correct target keeps the conveniences the traits remove.
func TestDeploymentTraits(t *testing.T) {
	tree := api.Operations[2] // list-pekerjaan.tree
	tests := []struct {
		defect string
		check  func(t *testing.T, a *testApp, on bool)
	}{
		{"no-worker-header", func(t *testing.T, a *testApp, on bool) {
			resp := do(t, a.login(t, 1), "GET", "/health/", nil, "")
			require.Equal(t, !on, resp.Header.Get(api.WorkerHeader) != "")
		}},
		{"connection-close", func(t *testing.T, a *testApp, on bool) {
			// Count the connections two requests on a keep-alive client open.
			var conns int
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conns++
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			for range 2 {
				resp, err := hc.Get(a.ts.URL + api.HealthLivePath)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, on, resp.Close, "Connection: close on the answer")
			}
			want := 1
			if on {
				want = 2
			}
			require.Equal(t, want, conns)
		}},
		{"no-api-versions", func(t *testing.T, a *testApp, on bool) {
			c := a.login(t, 1)
			for _, v := range []api.Version{api.V1, api.V2} {
				resp := do(t, c, "GET", tree.URLPath(v, project(1), 0), nil, "")
				if on {
					require.Equal(t, http.StatusNotFound, resp.Status, v)
				} else {
					require.Equal(t, http.StatusOK, resp.Status, v)
				}
			}
			require.Equal(t, http.StatusOK, do(t, c, "GET", tree.URLPath(api.Legacy, project(1), 0), nil, "").Status)
		}},
		{"no-login-limit", func(t *testing.T, a *testApp, on bool) {
			c := anon(t, a.ts.URL)
			do(t, c, "GET", api.LoginPath, nil, "")
			limited := 0
			for range 4 {
				resp := do(t, c, "POST", api.LoginPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
					url.Values{"login": {"user1"}, "password": {"wrong"}, "csrfmiddlewaretoken": {c.CSRFToken()}}.Encode())
				if resp.Status == http.StatusTooManyRequests {
					limited++
				}
			}
			require.Equal(t, !on, limited > 0, "login limited after 2 attempts")
		}},
	}
	for _, tc := range tests {
		for _, on := range []bool{false, true} {
			name := tc.defect + "/off"
			var defs []string
			if on {
				name, defs = tc.defect+"/on", []string{tc.defect}
			}
			t.Run(name, func(t *testing.T) {
				a := newApp(t, appOpts{defects: defs, limits: map[string]Limit{LoginCategory: {Requests: 2, Window: 60e9}}})
				tc.check(t, a, on)
			})
		}
	}
}

// TestLoginLockout is login-lockout's proof row: after 5 failed logins of
// one username the correct target still lets the right password in; with the
// defect the form comes back (200) with the lockout message, which the
// harness's client reads as throttling (not as a wrong password), while
// another username is unaffected.
func TestLoginLockout(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("defect=%v", on), func(t *testing.T) {
			defs := []string{"no-login-limit"}
			if on {
				defs = append(defs, "login-lockout")
			}
			a := newApp(t, appOpts{defects: defs})
			c := anon(t, a.ts.URL)
			do(t, c, "GET", api.LoginPath, nil, "")
			for i := range LoginLockoutFailures {
				resp := do(t, c, "POST", api.LoginPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
					url.Values{"login": {"user1"}, "password": {"wrong"}, "csrfmiddlewaretoken": {c.CSRFToken()}}.Encode())
				require.Equal(t, http.StatusOK, resp.Status, "failure %d", i+1)
				msg, throttled := client.LoginThrottled(resp.Body)
				require.False(t, throttled, "failure %d is a wrong password: %q", i+1, msg)
			}
			u, err := client.New(a.ts.URL)
			require.NoError(t, err)
			err = u.Login(context.Background(), "user1", testPassword)
			if !on {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, client.ErrLoginThrottled)
			require.Contains(t, err.Error(), LoginLockoutMessage)
			require.NoError(t, loginErr(a.ts.URL, "user2"), "another username is not locked")
		})
	}
}

func loginErr(base, user string) error {
	c, err := client.New(base)
	if err != nil {
		return err
	}
	return c.Login(context.Background(), user, testPassword)
}
