package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/limiter"
)

// TestRedisDown: with its Redis stopped, the as-deployed-redis profile
// answers what REAL-APP.md section 6 verified ("Redis down"), and the
// correct target applies its fail-closed policy (503) wherever the cache is
// needed.
func TestRedisDown(t *testing.T) {
	type want struct {
		status    int
		cacheDown bool // the handler was told the cache is down
	}
	tests := []struct {
		name    string
		defects []string
		// By request name (below).
		want map[string]want
		// health is /health/'s cache message; ready /health/ready/'s status.
		health string
		ready  int
		login  int
	}{
		{"as-deployed-redis", defects.Profiles["as-deployed-redis"].Defects, map[string]want{
			"volume list": {200, false}, "detail get": {200, false}, "search": {200, false}, "harga list": {200, false},
			"rincian csv": {200, false}, "searched tree": {200, false},
			"list save": {500, false}, "tree": {500, false}, "rekap": {500, false},
			"rekap csv": {200, true},
		}, "Error 111 connecting to %s. Connection refused.", 503, 500},
		{"correct", nil, map[string]want{
			"volume list": {503, false}, "detail get": {503, false}, "search": {503, false}, "harga list": {503, false},
			"rincian csv": {503, false}, "searched tree": {503, false},
			"list save": {503, false}, "tree": {503, false}, "rekap": {503, false},
			"rekap csv": {503, false},
		}, "cache unavailable: ", 200, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := startRedis(t)
			rc := rs.client(t)
			set, err := defects.Parse(tc.defects)
			require.NoError(t, err)
			lim, err := limiter.New(limiter.Config{Backend: "redis", Algorithm: "fixed", Redis: rc, Naive: set.Has("naive-limiter")})
			require.NoError(t, err)
			a := newApp(t, appOpts{defects: tc.defects, lim: lim, policy: FailClosed, cache: redisPing{rc},
				loginFailures: NewRedisSessions(rc), cacheAddr: rs.addr})
			// Logged in while the cache is up; sessions live in the database.
			c := a.login(t, 1)
			rs.stop()

			pid := project(1)
			path := func(name string, pek int) string {
				op := opByName(t, name)
				return op.URLPath(api.Legacy, pid, pek)
			}
			reqs := map[string]struct{ method, path, body string }{
				"volume list":   {"GET", path("volume-pekerjaan.list", 0), ""},
				"detail get":    {"GET", path("detail-ahsp.get", 1), ""},
				"search":        {"GET", path("search-ahsp", 0) + "?q=beton", ""},
				"harga list":    {"GET", path("harga-items.list", 0), ""},
				"rincian csv":   {"GET", path("export.rincian-rab-csv", 0), ""},
				"list save":     {"POST", path("list-pekerjaan.save", 0), "{}"},
				"tree":          {"GET", path("list-pekerjaan.tree", 0), ""},
				"searched tree": {"GET", path("list-pekerjaan.tree", 0) + "?search=galian", ""},
				"rekap":         {"GET", path("rekap", 0), ""},
				"rekap csv":     {"GET", path("export.rekap-rab-csv", 0), ""},
			}
			require.Len(t, reqs, len(tc.want))
			for name, rq := range reqs {
				resp := do(t, c, rq.method, rq.path, apiHeaders(c), rq.body)
				w := tc.want[name]
				require.Equal(t, w.status, resp.Status, "%s: %s", name, resp.Body)
				if w.status == 200 {
					var m map[string]any
					require.NoError(t, json.Unmarshal(resp.Body, &m), name)
					require.Equal(t, w.cacheDown, m["cache_down"], name)
				}
				if w.status == 500 {
					require.Contains(t, string(resp.Body), "SERVER_ERROR", "%s: Django's JSON 500 for a JSON client", name)
				}
			}

			anonC := anon(t, a.ts.URL)
			for _, p := range []string{api.HealthPath, "/health/ready/"} {
				resp := do(t, anonC, "GET", p, nil, "")
				wantStatus := 503
				if p != api.HealthPath {
					wantStatus = tc.ready
				}
				require.Equal(t, wantStatus, resp.Status, "%s: %s", p, resp.Body)
				if resp.Status != 503 {
					continue
				}
				var h struct {
					Status string                 `json:"status"`
					Checks map[string]checkResult `json:"checks"`
				}
				require.NoError(t, json.Unmarshal(resp.Body, &h), p)
				require.Equal(t, "error", h.Status)
				require.Equal(t, "error", h.Checks["cache"].Status)
				msg := tc.health
				if strings.Contains(msg, "%s") {
					msg = fmt.Sprintf(msg, rs.addr)
					require.Equal(t, msg, h.Checks["cache"].Message, p)
				} else {
					require.True(t, strings.HasPrefix(h.Checks["cache"].Message, msg), "%s: %s", p, h.Checks["cache"].Message)
				}
			}
			for _, p := range []string{"/health/simple/", "/health/live/"} {
				require.Equal(t, 200, do(t, anonC, "GET", p, nil, "").Status, p)
			}

			// The login page still renders; the login itself needs the cache.
			fresh := anon(t, a.ts.URL)
			page := do(t, fresh, "GET", api.LoginPath, nil, "")
			require.Equal(t, 200, page.Status)
			tok, ok := client.FormCSRFToken(page.Body)
			require.True(t, ok, "login form without a CSRF token")
			form := url.Values{"login": {"user2"}, "password": {testPassword}, "csrfmiddlewaretoken": {tok}}
			resp := do(t, fresh, "POST", api.LoginPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
			require.Equal(t, tc.login, resp.Status, string(resp.Body))
		})
	}
}

// TestRedisPyMessage: the deployed health text for the errors a stopped,
// dropped or slow Redis gives.
func TestRedisPyMessage(t *testing.T) {
	rc := deadRedis(t)
	err := rc.Ping(t.Context()).Err()
	require.Error(t, err)
	addr := rc.Options().Addr
	require.Equal(t, "Error 111 connecting to "+addr+". Connection refused.", redisPyMessage(addr, err))
	require.Equal(t, "Connection closed by server.", redisPyMessage(addr, fmt.Errorf("read: %w", io.EOF)))
}
