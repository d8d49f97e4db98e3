package server

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/handlers"
	"github.com/ahsp-harness/harness/target/internal/limiter"
)

// deadRedis is a real go-redis client aimed at a loopback port nobody
// listens on: every call fails at once with "connection refused".
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// The server's own answers on legacy and v1 routes (429, fail-closed 503,
// session 503, 413, the login redirect) carry the deprecation headers like
// the handlers' answers; v2 answers carry none. The two 503s tell the client
// when to retry, with one value.
func TestEarlyAnswersCarryDeprecationHeaders(t *testing.T) {
	tree := opByName(t, "list-pekerjaan.tree")
	save := opByName(t, "list-pekerjaan.save")
	for _, tc := range []struct {
		name   string
		op     api.Operation
		status int
		retry  string // Retry-After wanted; "" means not checked
		// send returns the answer to the request under test in version v.
		send func(t *testing.T, v api.Version) *client.Response
	}{
		{"429 rate limited", tree, http.StatusTooManyRequests, "", func(t *testing.T, v api.Version) *client.Response {
			a := newApp(t, appOpts{limits: map[string]Limit{"read": {Requests: 1, Window: time.Minute}}})
			c := a.login(t, 1)
			require.Equal(t, http.StatusOK, call(t, c, tree, v, project(1)).Status)
			return call(t, c, tree, v, project(1))
		}},
		{"503 limiter fail-closed", tree, http.StatusServiceUnavailable, "5", func(t *testing.T, v api.Version) *client.Response {
			lim, err := limiter.New(limiter.Config{Backend: "redis", Algorithm: "fixed", Redis: deadRedis(t)})
			require.NoError(t, err)
			// Login unlimited, so only the API call meets the dead cache.
			a := newApp(t, appOpts{lim: lim, policy: FailClosed, limits: map[string]Limit{LoginCategory: {}}})
			c := a.login(t, 1)
			return call(t, c, tree, v, project(1))
		}},
		{"503 session store", tree, http.StatusServiceUnavailable, "5", func(t *testing.T, v api.Version) *client.Response {
			a := newApp(t, appOpts{sessions: NewRedisSessions(deadRedis(t))})
			return do(t, anon(t, a.ts.URL), "GET", tree.URLPath(v, project(1), 0),
				http.Header{"Cookie": {SessionCookie + "=abcdefghijklmnopqrstuvwxyz012345"}}, "")
		}},
		{"413 body too large", save, http.StatusRequestEntityTooLarge, "", func(t *testing.T, v api.Version) *client.Response {
			a := newApp(t, appOpts{})
			c := a.login(t, 1)
			return do(t, c, "POST", save.URLPath(v, project(1), 0), apiHeaders(c), strings.Repeat("x", DefaultBodyLimit+1))
		}},
		{"302 anonymous", tree, http.StatusFound, "", func(t *testing.T, v api.Version) *client.Response {
			a := newApp(t, appOpts{})
			return do(t, anon(t, a.ts.URL), "GET", tree.URLPath(v, project(1), 0), nil, "")
		}},
		{"200 through the app handlers", tree, http.StatusOK, "", func(t *testing.T, v api.Version) *client.Response {
			a := newApp(t, appOpts{})
			realAPI(t, a)
			return call(t, a.login(t, 1), tree, v, project(1))
		}},
	} {
		for _, v := range api.Versions {
			t.Run(tc.name+"/"+string(v), func(t *testing.T) {
				resp := tc.send(t, v)
				require.Equal(t, tc.status, resp.Status, string(resp.Body))
				if tc.retry != "" {
					require.Equal(t, tc.retry, resp.Header.Get("Retry-After"))
				}
				links := resp.Header.Values("Link")
				if v == api.V2 {
					require.Empty(t, resp.Header.Get("Deprecation"))
					require.Empty(t, resp.Header.Get("Sunset"))
					require.Empty(t, links)
					return
				}
				require.Regexp(t, `^@\d+$`, resp.Header.Get("Deprecation"))
				_, err := http.ParseTime(resp.Header.Get("Sunset"))
				require.NoError(t, err, "Sunset is an HTTP-date")
				var dep, succ int
				for _, l := range links {
					switch {
					case strings.Contains(l, `rel="deprecation"`):
						dep++
					case strings.Contains(l, `rel="successor-version"`):
						succ++
						require.Contains(t, l, "<"+tc.op.URLPath(api.V2, project(1), 0)+">")
					}
				}
				require.Equal(t, 1, dep, "exactly one deprecation link: %q", links)
				require.Equal(t, 1, succ, "exactly one successor link: %q", links)
			})
		}
	}
}

// TestDeprecationLinkResolves: the rel="deprecation" link of every legacy
// and v1 answer points at a page the target serves, without a session.
func TestDeprecationLinkResolves(t *testing.T) {
	a := newApp(t, appOpts{})
	r := do(t, anon(t, a.ts.URL), "GET", handlers.DeprecationDoc, nil, "")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
	require.Contains(t, string(r.Body), "sunset on <strong>1 July 2027</strong>")
	require.Contains(t, string(r.Body), handlers.SunsetAt.Format("2006"), "the page and the Sunset header agree on the year")
}
