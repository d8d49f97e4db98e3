package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/limiter"
)

func opByName(t *testing.T, name string) api.Operation {
	t.Helper()
	op, ok := api.Lookup(name)
	require.True(t, ok, name)
	return op
}

// call sends op for user c's first project in version v.
func call(t *testing.T, c *client.Client, op api.Operation, v api.Version, pid int) *client.Response {
	t.Helper()
	body := ""
	if op.Body {
		body = "{}"
	}
	return do(t, c, op.Method, op.URLPath(v, pid, 1), apiHeaders(c), body)
}

// loginAttempt posts bad credentials with a valid CSRF pair from ip (as
// X-Forwarded-For).
func loginAttempt(t *testing.T, base, xff string) *client.Response {
	t.Helper()
	c := anon(t, base)
	h := http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"Cookie":       {"csrftoken=abcdefghijklmnopqrstuvwxyz012345"},
	}
	if xff != "" {
		h.Set("X-Forwarded-For", xff+", 10.0.0.1")
	}
	form := url.Values{"login": {"user1"}, "password": {"wrong"}, "csrfmiddlewaretoken": {"abcdefghijklmnopqrstuvwxyz012345"}}
	return do(t, c, "POST", "/accounts/login/", h, form.Encode())
}

func TestRateLimit429PerCategory(t *testing.T) {
	const limit = 2
	limits := map[string]Limit{}
	for _, c := range []string{"bulk", "write", "read", "export", LoginCategory} {
		limits[c] = Limit{Requests: limit, Window: time.Minute}
	}
	for _, tc := range []struct {
		category string
		op       string
	}{
		{"write", "list-pekerjaan.save"},
		{"bulk", "list-pekerjaan.upsert"},
		{"read", "list-pekerjaan.tree"},
		{"export", "export.rekap-rab-csv"},
		{LoginCategory, ""},
	} {
		t.Run(tc.category, func(t *testing.T) {
			a := newApp(t, appOpts{limits: limits})
			var c *client.Client
			if tc.op != "" {
				c = a.login(t, 1)
			}
			send := func() *client.Response {
				if tc.op == "" {
					return loginAttempt(t, a.ts.URL, "")
				}
				return call(t, c, opByName(t, tc.op), api.V2, project(1))
			}
			for i := 1; i <= limit; i++ {
				resp := send()
				require.NotEqual(t, http.StatusTooManyRequests, resp.Status, "request %d", i)
				require.Equal(t, strconv.Itoa(limit), resp.Header.Get("X-RateLimit-Limit"))
				require.Equal(t, strconv.Itoa(limit-i), resp.Header.Get("X-RateLimit-Remaining"))
				require.Equal(t, fmt.Sprintf("%d;w=60", limit), resp.Header.Get("RateLimit-Policy"))
			}
			resp := send()
			body := decode429(t, resp)
			require.Equal(t, limit, body.Details.MaxRequests)
			require.Equal(t, 60, body.Details.WindowSeconds)
			require.GreaterOrEqual(t, body.Details.CurrentCount, limit)
			require.Equal(t, tc.category, body.Details.Category)
			require.True(t, body.RetryAfter >= 1 && body.RetryAfter <= 60, "retry_after %d", body.RetryAfter)
			h := resp.Header
			require.Equal(t, strconv.Itoa(body.RetryAfter), h.Get("Retry-After"))
			require.Equal(t, fmt.Sprintf("limit=%d, remaining=0, reset=%d", limit, body.RetryAfter), h.Get("RateLimit"))
			require.Equal(t, "0", h.Get("X-RateLimit-Remaining"))
			require.Equal(t, "application/json", h.Get("Content-Type"))

			hits := a.logs.lines("rate limit exceeded")
			require.Len(t, hits, 1)
			for _, k := range []string{"user", "operation", "ip", "user_agent", "worker"} {
				require.Contains(t, hits[0], k)
			}
			require.Equal(t, a.srv.WorkerID(), hits[0]["worker"])
			require.Equal(t, "127.0.0.1", hits[0]["ip"])
		})
	}
}

// TestRateLimitKeys sends a sequence of calls and expects each one's verdict:
// the correct target shares one counter across versions and path spellings;
// each key defect splits it in its own way.
func TestRateLimitKeys(t *testing.T) {
	save := api.Operations[0].URLPath(api.Legacy, project(1), 0) // .../list-pekerjaan/save/
	type step struct {
		path    string
		limited bool
	}
	variants := []step{
		{save, false},
		{api.Operations[0].URLPath(api.V1, project(1), 0), false},
		{api.Operations[0].URLPath(api.V2, project(1), 0), false},
		{save[:len(save)-1], true},                                // no trailing slash
		{"/" + save, true},                                        // doubled slash
		{"/DETAIL_PROJECT" + save[len("/detail_project"):], true}, // case
		{save[:len(save)-5] + "%73ave/", true},                    // %-encoded "s"
	}
	for _, tc := range []struct {
		name    string
		defects []string
		steps   []step
	}{
		{"correct: versions and spellings share one key", nil, variants},
		{"split-versions: v2 counts apart", []string{"split-versions"}, []step{
			{save, false}, {api.Operations[0].URLPath(api.V1, project(1), 0), false},
			{api.Operations[0].URLPath(api.V2, project(1), 0), false},
			{save, false}, {save, true},
			{api.Operations[0].URLPath(api.V2, project(1), 0), false},
		}},
		{"raw-path-key: every spelling counts apart", []string{"raw-path-key"}, []step{
			{save, false}, {save, false}, {save, false}, {save, true},
			{save[:len(save)-1], false}, {"/" + save, false}, {save[:len(save)-5] + "%73ave/", false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOpts{defects: tc.defects, limits: map[string]Limit{"write": {Requests: 3, Window: time.Minute}}})
			c := a.login(t, 1)
			for i, s := range tc.steps {
				resp := do(t, c, "POST", s.path, apiHeaders(c), "{}")
				if s.limited {
					require.Equal(t, http.StatusTooManyRequests, resp.Status, "step %d %s", i, s.path)
				} else {
					require.Equal(t, http.StatusOK, resp.Status, "step %d %s: %s", i, s.path, resp.Body)
				}
			}
		})
	}
}

func TestRateLimitScope(t *testing.T) {
	limits := map[string]Limit{"read": {Requests: 1, Window: time.Minute}, "write": {Requests: 1, Window: time.Minute}}
	tree, saveOp := opByName(t, "list-pekerjaan.tree"), opByName(t, "list-pekerjaan.save")
	volume := opByName(t, "volume-pekerjaan.save")
	for _, tc := range []struct {
		name    string
		defects []string
		// statuses of: tree, tree, volume save, volume save, list save, list save, user2 tree
		want []int
	}{
		{"correct: every operation, per user and operation", nil, []int{200, 429, 200, 429, 200, 429, 200}},
		{"legacy-scope: only list-pekerjaan.save", []string{"legacy-scope"}, []int{200, 200, 200, 200, 200, 429, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOpts{defects: tc.defects, limits: limits})
			c1, c2 := a.login(t, 1), a.login(t, 2)
			got := []int{
				call(t, c1, tree, api.Legacy, project(1)).Status,
				call(t, c1, tree, api.V2, project(1)).Status,
				call(t, c1, volume, api.Legacy, project(1)).Status,
				call(t, c1, volume, api.Legacy, project(1)).Status,
				call(t, c1, saveOp, api.Legacy, project(1)).Status,
				call(t, c1, saveOp, api.V1, project(1)).Status,
				call(t, c2, tree, api.Legacy, project(2)).Status,
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRetryAfterAndXFFDefects(t *testing.T) {
	limits := map[string]Limit{"read": {Requests: 1, Window: time.Minute}, LoginCategory: {Requests: 2, Window: time.Minute}}
	t.Run("no-retry-after", func(t *testing.T) {
		a := newApp(t, appOpts{defects: []string{"no-retry-after"}, limits: limits})
		c := a.login(t, 1)
		call(t, c, opByName(t, "rekap"), api.Legacy, project(1))
		resp := call(t, c, opByName(t, "rekap"), api.Legacy, project(1))
		decode429(t, resp)
		require.Empty(t, resp.Header.Get("Retry-After"))
	})
	t.Run("no-ratelimit-headers", func(t *testing.T) {
		a := newApp(t, appOpts{defects: []string{"no-ratelimit-headers"}, limits: limits})
		c := a.login(t, 1)
		ok := call(t, c, opByName(t, "rekap"), api.Legacy, project(1))
		resp := call(t, c, opByName(t, "rekap"), api.Legacy, project(1))
		body := decode429(t, resp)
		for _, h := range []string{"RateLimit", "RateLimit-Policy", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			require.Empty(t, ok.Header.Get(h), h)
			require.Empty(t, resp.Header.Get(h), h)
		}
		require.NotEmpty(t, resp.Header.Get("Retry-After"), "the trait removes the RateLimit fields, not Retry-After")
		require.NotNil(t, body)
	})
	for _, tc := range []struct {
		name    string
		defects []string
		want    []int
	}{
		{"login limit ignores X-Forwarded-For", nil, []int{200, 200, 429, 429}},
		{"trust-xff: each forged address is a new client", []string{"trust-xff"}, []int{200, 200, 200, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOpts{defects: tc.defects, limits: limits})
			var got []int
			for i := range 4 {
				got = append(got, loginAttempt(t, a.ts.URL, fmt.Sprintf("203.0.113.%d", i+1)).Status)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFailurePolicyWithRedisStopped(t *testing.T) {
	limits := map[string]Limit{"read": {Requests: 5, Window: time.Minute}}
	for _, tc := range []struct {
		policy string
		status int
	}{
		{FailOpen, http.StatusOK},
		{FailClosed, http.StatusServiceUnavailable},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			rs := startRedis(t)
			rc := rs.client(t)
			lim, err := limiter.New(limiter.Config{Backend: "redis", Algorithm: "fixed", Redis: rc})
			require.NoError(t, err)
			a := newApp(t, appOpts{lim: lim, policy: tc.policy, limits: limits, cache: redisPing{rc}})
			c := a.login(t, 1)
			tree := opByName(t, "list-pekerjaan.tree")
			resp := call(t, c, tree, api.Legacy, project(1))
			require.Equal(t, http.StatusOK, resp.Status)
			require.Equal(t, "4", resp.Header.Get("X-RateLimit-Remaining"))
			health := do(t, c, "GET", "/health/", nil, "")
			require.Equal(t, http.StatusOK, health.Status, string(health.Body))

			rs.stop()

			start := time.Now()
			resp = call(t, c, tree, api.Legacy, project(1))
			require.Less(t, time.Since(start), 2*time.Second, "a dead cache must cost one timeout")
			require.Equal(t, tc.status, resp.Status, string(resp.Body))
			if tc.policy == FailClosed {
				var body struct {
					Success bool           `json:"success"`
					Message string         `json:"message"`
					Code    string         `json:"code"`
					Details map[string]any `json:"details"`
				}
				require.NoError(t, resp.JSON(&body))
				require.False(t, body.Success)
				require.Equal(t, "RATE_LIMIT_UNAVAILABLE", body.Code)
				require.NotEmpty(t, body.Message)
				require.Equal(t, "read", body.Details["category"])
				require.Equal(t, "5", resp.Header.Get("Retry-After"))
			} else {
				require.NotEmpty(t, a.logs.lines("rate limiter unavailable, allowing (fail-open)"))
			}
			health = do(t, c, "GET", "/health/", nil, "")
			require.Equal(t, http.StatusServiceUnavailable, health.Status)
			require.Contains(t, string(health.Body), `"status":"error"`)
			require.Contains(t, string(health.Body), `"cache":{"status":"error","backend":"redis","message":"cache unavailable:`)
			metrics := do(t, c, "GET", "/metrics", nil, "")
			require.Contains(t, string(metrics.Body), `ahsp_cache_errors_total{source="limiter"} 1`)
		})
	}
}

// redisPing is the health check of the target's Redis client.
type redisPing struct{ c *redis.Client }

func (r redisPing) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// workers starts n server instances over one database, like n worker
// processes, each with the limiter newLim returns.
func workers(t *testing.T, n int, newLim func() limiter.Limiter, limits map[string]Limit) []*testApp {
	t.Helper()
	st := seededDB(t)
	out := make([]*testApp, n)
	for i := range out {
		out[i] = newAppWithStore(t, st, appOpts{lim: newLim(), limits: limits, index: i + 1})
	}
	return out
}

// burst sends total concurrent requests of op for user 1, round-robin over
// the workers, and counts the allowed ones.
func burst(t *testing.T, apps []*testApp, total int) (allowed, limited int) {
	t.Helper()
	c := apps[0].login(t, 1)
	path := opByName(t, "list-pekerjaan.tree").URLPath(api.Legacy, project(1), 0)
	cookie := "sessionid=" + c.SessionID() + "; csrftoken=" + c.CSRFToken()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 50, MaxIdleConnsPerHost: 50}}
	defer hc.CloseIdleConnections()
	var ok, tooMany, other atomic.Int64
	var otherStatus sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("GET", apps[i%len(apps)].ts.URL+path, nil)
			req.Header.Set("Cookie", cookie)
			resp, err := hc.Do(req)
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				tooMany.Add(1)
			default:
				other.Add(1)
				otherStatus.Store(resp.StatusCode, true)
			}
		}()
	}
	close(start)
	wg.Wait()
	var statuses []any
	otherStatus.Range(func(k, _ any) bool { statuses = append(statuses, k); return true })
	require.Zero(t, other.Load(), "every request answers 200 or 429; also seen: %v", statuses)
	return int(ok.Load()), int(tooMany.Load())
}

func TestLimitAcrossFourWorkers(t *testing.T) {
	const limit, total, n = 20, 200, 4
	limits := map[string]Limit{"read": {Requests: limit, Window: time.Minute}}
	t.Run("locmem: each worker counts alone", func(t *testing.T) {
		apps := workers(t, n, func() limiter.Limiter {
			l, err := limiter.New(limiter.Config{Backend: "locmem", Algorithm: "fixed"})
			require.NoError(t, err)
			return l
		}, limits)
		allowed, limited := burst(t, apps, total)
		t.Logf("locmem x%d: %d allowed, %d limited (limit %d)", n, allowed, limited, limit)
		require.Equal(t, n*limit, allowed, "round-robin over 4 workers lets 4x the limit through")
		require.Equal(t, total-n*limit, limited)
	})
	for _, alg := range limiter.Algorithms {
		t.Run("redis "+alg+": exactly the limit", func(t *testing.T) {
			rs := startRedis(t)
			apps := workers(t, n, func() limiter.Limiter {
				l, err := limiter.New(limiter.Config{Backend: "redis", Algorithm: alg, Redis: rs.client(t)})
				require.NoError(t, err)
				return l
			}, limits)
			allowed, limited := burst(t, apps, total)
			t.Logf("redis/%s x%d: %d allowed, %d limited (limit %d)", alg, n, allowed, limited, limit)
			require.Equal(t, limit, allowed)
			require.Equal(t, total-limit, limited)
		})
	}
}

func TestSessionsAcrossWorkers(t *testing.T) {
	st := seededDB(t)
	for _, tc := range []struct {
		name     string
		sessions func() Sessions
		status   int
	}{
		{"db sessions are shared", func() Sessions { return st.Sessions() }, http.StatusOK},
		{"local-sessions: the other worker bounces to login", func() Sessions { return NewMemorySessions() }, http.StatusFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w1 := newAppWithStore(t, st, appOpts{sessions: tc.sessions(), index: 1})
			w2 := newAppWithStore(t, st, appOpts{sessions: tc.sessions(), index: 2})
			c := w1.login(t, 1)
			path := opByName(t, "rekap").URLPath(api.Legacy, project(1), 0)
			resp := do(t, c, "GET", path, nil, "")
			require.Equal(t, http.StatusOK, resp.Status)
			req, _ := http.NewRequest("GET", w2.ts.URL+path, nil)
			req.Header.Set("Cookie", "sessionid="+c.SessionID())
			r2, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			require.NoError(t, err)
			r2.Body.Close()
			require.Equal(t, tc.status, r2.StatusCode)
			require.Regexp(t, `^2-\d+$`, r2.Header.Get(api.WorkerHeader))
		})
	}
}
