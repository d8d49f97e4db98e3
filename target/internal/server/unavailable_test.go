package server

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/limiter"
)

// Both 503s of a dead cache (limiter fail-closed, session store) tell the
// client when to retry, with the same value, and are never cached; the
// session store answers so on every route that reads the session.
func TestCacheDown503sRetryAfter(t *testing.T) {
	tree := opByName(t, "list-pekerjaan.tree")
	want := strconv.Itoa(unavailableRetryAfter)

	lim, err := limiter.New(limiter.Config{Backend: "redis", Algorithm: "fixed", Redis: deadRedis(t)})
	require.NoError(t, err)
	closed := newApp(t, appOpts{lim: lim, policy: FailClosed, limits: map[string]Limit{LoginCategory: {}}})
	resp := call(t, closed.login(t, 1), tree, api.V2, project(1))
	require.Equal(t, http.StatusServiceUnavailable, resp.Status, string(resp.Body))
	require.Contains(t, string(resp.Body), "RATE_LIMIT_UNAVAILABLE")
	require.Equal(t, want, resp.Header.Get("Retry-After"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	sess := newApp(t, appOpts{sessions: NewRedisSessions(deadRedis(t))})
	for _, path := range []string{
		tree.URLPath(api.Legacy, project(1), 0),
		tree.URLPath(api.V2, project(1), 0),
		api.PagePath(api.PageRekapRAB, project(1)),
		"/",
	} {
		t.Run(path, func(t *testing.T) {
			resp := do(t, anon(t, sess.ts.URL), "GET", path,
				http.Header{"Cookie": {SessionCookie + "=abcdefghijklmnopqrstuvwxyz012345"}}, "")
			require.Equal(t, http.StatusServiceUnavailable, resp.Status, string(resp.Body))
			require.Contains(t, string(resp.Body), "SESSION_UNAVAILABLE")
			require.Equal(t, want, resp.Header.Get("Retry-After"))
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		})
	}
}
