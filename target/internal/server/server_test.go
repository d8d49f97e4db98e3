package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/handlers"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		path    string
		kind    int
		op      string
		version api.Version
		pid, id int64
		page    string
	}{
		{"/detail_project/api/project/7/list-pekerjaan/save/", kindAPI, "list-pekerjaan.save", api.Legacy, 7, 0, ""},
		{"/detail_project/api/project/7/list-pekerjaan/save", kindAPI, "list-pekerjaan.save", api.Legacy, 7, 0, ""},
		{"//detail_project//api/project/7/list-pekerjaan//save//", kindAPI, "list-pekerjaan.save", api.Legacy, 7, 0, ""},
		{"/DETAIL_PROJECT/API/Project/7/List-Pekerjaan/SAVE/", kindAPI, "list-pekerjaan.save", api.Legacy, 7, 0, ""},
		{"/detail_project/api/v1/project/7/list-pekerjaan/save/", kindAPI, "list-pekerjaan.save", api.V1, 7, 0, ""},
		{"/detail_project/api/v2/project/7/list-pekerjaan/save/", kindAPI, "list-pekerjaan.save", api.V2, 7, 0, ""},
		{"/detail_project/api/project/3/detail-ahsp/42/", kindAPI, "detail-ahsp.get", api.Legacy, 3, 42, ""},
		{"/detail_project/api/v2/project/3/detail-ahsp/42/save/", kindAPI, "detail-ahsp.save", api.V2, 3, 42, ""},
		{"/detail_project/api/project/3/rincian-rab/export.csv", kindAPI, "export.rincian-rab-csv", api.Legacy, 3, 0, ""},
		{"/detail_project/api/project/3/rincian-rab/export.csv/", kindAPI, "export.rincian-rab-csv", api.Legacy, 3, 0, ""},
		{"/detail_project/api/project/3/export/rekap-rab/csv/", kindAPI, "export.rekap-rab-csv", api.Legacy, 3, 0, ""},
		{"/detail_project/api/project/x/rekap/", kindNotFound, "", "", 0, 0, ""},
		{"/detail_project/api/project/3/detail-ahsp/abc/", kindNotFound, "", "", 0, 0, ""},
		{"/detail_project/api/v3/project/3/rekap/", kindNotFound, "", "", 0, 0, ""},
		{"/detail_project/api/project/3/nope/", kindNotFound, "", "", 0, 0, ""},
		{"/detail_project/5/rekap-rab/", kindPage, "", "", 5, 0, "rekap-rab"},
		{"/detail_project/5/volume-pekerjaan", kindPage, "", "", 5, 0, "volume-pekerjaan"},
		{"/detail_project/5/template-ahsp/", kindPage, "", "", 5, 0, "template-ahsp"},
		{"/detail_project/5/detail-ahsp/", kindPage, "", "", 5, 0, "detail-ahsp"},
		{"/detail_project/5/harga-items/", kindPage, "", "", 5, 0, "harga-items"},
		{"/detail_project/5/rincian-ahsp/", kindPage, "", "", 5, 0, "rincian-ahsp"},
		{"/detail_project/5/rincian-rab/", kindPage, "", "", 5, 0, "rincian-rab"},
		{"/detail_project/5/rekap/", kindNotFound, "", "", 0, 0, ""},  // not a page of the deployed app
		{"/detail_project/5/volume/", kindNotFound, "", "", 0, 0, ""}, // not a page of the deployed app
		{"/dashboard/", kindDashboard, "", "", 0, 0, ""},
		{"/detail_project/5/other/", kindNotFound, "", "", 0, 0, ""},
		{"/health", kindHealth, "", "", 0, 0, ""},
		{"/health/live/", kindHealth, "", "", 0, 0, ""},
		{"/accounts/login", kindLogin, "", "", 0, 0, ""},
		{"/accounts/logout/", kindLogout, "", "", 0, 0, ""},
		{"/", kindRoot, "", "", 0, 0, ""},
		{"/metrics", kindMetrics, "", "", 0, 0, ""},
		{"/static/detail_project/js/core/toast.js", kindStatic, "", "", 0, 0, ""},
	} {
		t.Run(c.path, func(t *testing.T) {
			rt := resolve(c.path)
			require.Equal(t, c.kind, rt.kind)
			require.Equal(t, c.op, rt.op.Name)
			require.Equal(t, c.version, rt.version)
			require.Equal(t, c.pid, rt.project)
			require.Equal(t, c.id, rt.id)
			require.Equal(t, c.page, rt.page)
		})
	}
}

// Every operation in every version routes to itself through the HTTP stack.
func TestEveryOperationRoutes(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	pid := project(1)
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			t.Run(string(v)+"/"+op.Name, func(t *testing.T) {
				body := ""
				if op.Body {
					body = "{}"
				}
				resp := do(t, c, op.Method, op.URLPath(v, pid, 9), apiHeaders(c), body)
				require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
				var got map[string]any
				require.NoError(t, resp.JSON(&got))
				require.Equal(t, op.Name, got["operation"])
				require.Equal(t, string(v), got["version"])
				require.EqualValues(t, pid, got["project"])
				if strings.Contains(op.Path, "{id}") {
					require.EqualValues(t, 9, got["pekerjaan"])
				}
				require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			})
		}
	}
}

func TestAnonymous(t *testing.T) {
	a := newApp(t, appOpts{})
	tree := api.Operations[2].URLPath(api.Legacy, 1, 0)
	save := api.Operations[0].URLPath(api.V2, 1, 0)
	for _, c := range []struct {
		name, method, path string
		h                  http.Header
		status             int
		location           string
		body               string
	}{
		{"api get redirects to login", "GET", tree, nil, http.StatusFound, "/accounts/login/?next=" + url.QueryEscape(tree), ""},
		{"api post without csrf is 403", "POST", save, nil, http.StatusForbidden, "", "CSRF verification failed"},
		{"api post with csrf redirects", "POST", save, http.Header{"X-CSRFToken": {"abcdefghijklmnopqrstuvwxyz012345"}, "Cookie": {"csrftoken=abcdefghijklmnopqrstuvwxyz012345"}}, http.StatusFound, "/accounts/login/?next=", ""},
		{"page redirects to login", "GET", "/detail_project/1/rekap-rab/", nil, http.StatusFound, "/accounts/login/?next=%2Fdetail_project%2F1%2Frekap-rab%2F", ""},
		{"root is the landing page", "GET", "/", nil, http.StatusOK, "", ""},
		{"dashboard redirects to login", "GET", "/dashboard/", nil, http.StatusFound, "/accounts/login/?next=%2Fdashboard%2F", ""},
		{"unknown path is 404 html", "GET", "/nope/", nil, http.StatusNotFound, "", "Not Found"},
		{"forged session is anonymous", "GET", tree, http.Header{"Cookie": {"sessionid=forged"}}, http.StatusFound, "/accounts/login/", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := do(t, anon(t, a.ts.URL), c.method, c.path, c.h, "")
			require.Equal(t, c.status, resp.Status, string(resp.Body))
			if c.location != "" {
				require.True(t, strings.HasPrefix(resp.Header.Get("Location"), c.location), resp.Header.Get("Location"))
			}
			if c.body != "" {
				require.Contains(t, string(resp.Body), c.body)
				require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
			}
		})
	}
}

func TestLogin(t *testing.T) {
	a := newApp(t, appOpts{})
	csrfField := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

	c := anon(t, a.ts.URL)
	form := do(t, c, "GET", "/accounts/login/?next=/detail_project/1/rekap-rab/", nil, "")
	require.Equal(t, http.StatusOK, form.Status)
	m := csrfField.FindSubmatch(form.Body)
	require.NotNil(t, m, "login form has a csrfmiddlewaretoken")
	require.Equal(t, c.CSRFToken(), string(m[1]), "form token is the csrftoken cookie")

	post := func(t *testing.T, c *client.Client, values url.Values) *client.Response {
		return do(t, c, "POST", "/accounts/login/", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, values.Encode())
	}
	t.Run("no token is 403", func(t *testing.T) {
		resp := post(t, anon(t, a.ts.URL), url.Values{"login": {"user1"}, "password": {testPassword}})
		require.Equal(t, http.StatusForbidden, resp.Status)
		require.Contains(t, string(resp.Body), "CSRF verification failed")
	})
	t.Run("bad password shows the form again", func(t *testing.T) {
		resp := post(t, c, url.Values{"login": {"user1"}, "password": {"wrong"}, "csrfmiddlewaretoken": {c.CSRFToken()}})
		require.Equal(t, http.StatusOK, resp.Status)
		require.Contains(t, string(resp.Body), "tidak cocok")
		require.Empty(t, c.SessionID())
	})
	t.Run("good password redirects with a session", func(t *testing.T) {
		before := c.CSRFToken()
		resp := post(t, c, url.Values{"login": {"user1"}, "password": {testPassword}, "csrfmiddlewaretoken": {before}, "next": {"/detail_project/1/rekap-rab/"}})
		require.Equal(t, http.StatusFound, resp.Status)
		require.Equal(t, "/detail_project/1/rekap-rab/", resp.Header.Get("Location"))
		var session *http.Cookie
		for _, ck := range (&http.Response{Header: resp.Header}).Cookies() {
			if ck.Name == SessionCookie {
				session = ck
			}
		}
		require.NotNil(t, session)
		require.True(t, session.HttpOnly)
		require.Equal(t, http.SameSiteLaxMode, session.SameSite)
		require.NotEqual(t, before, c.CSRFToken(), "csrftoken rotates at login")
		page := do(t, c, "GET", "/detail_project/1/rekap-rab/", nil, "")
		require.Equal(t, http.StatusOK, page.Status)
	})
	t.Run("email login and open redirect refused", func(t *testing.T) {
		c := anon(t, a.ts.URL)
		do(t, c, "GET", "/accounts/login/", nil, "")
		resp := post(t, c, url.Values{"login": {"user2@example.test"}, "password": {testPassword}, "csrfmiddlewaretoken": {c.CSRFToken()}, "next": {"//evil.example/"}})
		require.Equal(t, http.StatusFound, resp.Status)
		require.Equal(t, "/dashboard/", resp.Header.Get("Location"), "an unsafe next falls back to the dashboard")
		root := do(t, c, "GET", "/", nil, "")
		require.Equal(t, http.StatusFound, root.Status)
		require.Equal(t, "/dashboard/", root.Header.Get("Location"), "logged in, the landing page sends to the dashboard")
		dash := do(t, c, "GET", "/dashboard/", nil, "")
		require.Equal(t, http.StatusOK, dash.Status)
		require.Contains(t, string(dash.Body), `href="`+api.PagePath(api.PageListPekerjaan, project(2))+`"`)
	})
	t.Run("logout ends the session", func(t *testing.T) {
		c := a.login(t, 1)
		resp := do(t, c, "POST", "/accounts/logout/", http.Header{"X-CSRFToken": {c.CSRFToken()}}, "")
		require.Equal(t, http.StatusFound, resp.Status)
		resp = do(t, c, "GET", api.Operations[2].URLPath(api.Legacy, project(1), 0), nil, "")
		require.Equal(t, http.StatusFound, resp.Status)
	})
}

func TestCSRFAndMethods(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	save := api.Operations[0].URLPath(api.V1, project(1), 0)
	tree := api.Operations[2].URLPath(api.V1, project(1), 0)
	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
		status             int
		emptyBody          bool
	}{
		{"post without token", "POST", save, http.Header{"Content-Type": {"application/json"}}, http.StatusForbidden, false},
		{"post with wrong token", "POST", save, http.Header{"X-CSRFToken": {"wrongwrongwrongwrongwrongwrong12"}}, http.StatusForbidden, false},
		{"post with token", "POST", save, apiHeaders(c), http.StatusOK, false},
		{"get on a post operation", "GET", save, nil, http.StatusMethodNotAllowed, true},
		{"post on a get operation", "POST", tree, apiHeaders(c), http.StatusMethodNotAllowed, true},
		{"delete with token", "DELETE", tree, apiHeaders(c), http.StatusMethodNotAllowed, true},
		{"post on health", "POST", "/health/", apiHeaders(c), http.StatusMethodNotAllowed, true},
		{"post on a page", "POST", "/detail_project/1/rekap-rab/", apiHeaders(c), http.StatusMethodNotAllowed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, c, tc.method, tc.path, tc.h, "{}")
			require.Equal(t, tc.status, resp.Status, string(resp.Body))
			if tc.emptyBody {
				require.Empty(t, resp.Body)
			}
			if tc.status == http.StatusForbidden {
				require.Contains(t, string(resp.Body), "CSRF verification failed")
			}
		})
	}
}

func TestPagesOwnership(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	for _, tc := range []struct {
		name   string
		pid    int
		status int
	}{
		{"own project", project(1), http.StatusOK},
		{"own second project", project(1) + 1, http.StatusOK},
		{"other user's project", project(2), http.StatusNotFound},
		{"missing project", 99999, http.StatusNotFound},
	} {
		for _, page := range Pages {
			t.Run(tc.name+"/"+page, func(t *testing.T) {
				resp := do(t, c, "GET", api.PagePath(page, tc.pid), nil, "")
				require.Equal(t, tc.status, resp.Status)
				require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
				require.Equal(t, "default-src 'self'; script-src 'self'", resp.Header.Get("Content-Security-Policy"))
				if tc.status == http.StatusOK {
					require.NotRegexp(t, `<script>|<script [^>]*>[^<]`, string(resp.Body), "no inline script on pages")
				}
			})
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	for _, path := range []string{
		"/health/", "/health/simple/", "/metrics", "/accounts/login/", "/nope/", "/",
		"/detail_project/1/rekap-rab/", "/static/detail_project/js/core/toast.js",
		api.Operations[2].URLPath(api.V2, project(1), 0),
	} {
		t.Run(path, func(t *testing.T) {
			resp := do(t, c, "GET", path, nil, "")
			h := resp.Header
			require.Regexp(t, fmt.Sprintf(`^1-\d+$`), h.Get(api.WorkerHeader))
			require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			require.Equal(t, "DENY", h.Get("X-Frame-Options"))
			require.Equal(t, "same-origin", h.Get("Referrer-Policy"))
			require.Equal(t, "default-src 'self'; script-src 'self'", h.Get("Content-Security-Policy"))
			if strings.Contains(path, "/api/") {
				require.Equal(t, "no-store", h.Get("Cache-Control"))
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	save := api.Operations[0].URLPath(api.Legacy, project(1), 0)
	big := strings.Repeat("x", DefaultBodyLimit+1)
	t.Run("content-length over the limit", func(t *testing.T) {
		resp := do(t, c, "POST", save, apiHeaders(c), big)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.Status)
		require.Contains(t, string(resp.Body), "PAYLOAD_TOO_LARGE")
	})
	t.Run("chunked over the limit", func(t *testing.T) {
		req, err := http.NewRequest("POST", a.ts.URL+save, io.MultiReader(strings.NewReader(big)))
		require.NoError(t, err)
		req.ContentLength = -1
		req.Header = apiHeaders(c)
		req.Header.Set("Cookie", "sessionid="+c.SessionID()+"; csrftoken="+c.CSRFToken())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	})
	t.Run("exactly the limit passes", func(t *testing.T) {
		resp := do(t, c, "POST", save, apiHeaders(c), big[:DefaultBodyLimit])
		require.Equal(t, http.StatusOK, resp.Status)
		var got map[string]any
		require.NoError(t, resp.JSON(&got))
		require.EqualValues(t, DefaultBodyLimit, got["body_bytes"])
	})
}

func TestPanicAnswers500WithoutInternals(t *testing.T) {
	a := newApp(t, appOpts{api: func(http.ResponseWriter, *http.Request, api.Operation, api.Version, Params) {
		panic("SELECT secret FROM users -- boom")
	}})
	c := a.login(t, 1)
	tree := api.Operations[2].URLPath(api.Legacy, project(1), 0)
	for _, tc := range []struct {
		name string
		h    http.Header
		json bool
	}{
		{"accept json", http.Header{"Accept": {"application/json"}}, true},
		{"xhr", http.Header{"X-Requested-With": {"XMLHttpRequest"}}, true},
		{"browser", http.Header{"Accept": {"text/html"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, c, "GET", tree, tc.h, "")
			require.Equal(t, http.StatusInternalServerError, resp.Status)
			require.NotContains(t, string(resp.Body), "SELECT")
			require.NotContains(t, string(resp.Body), "goroutine")
			if !tc.json {
				require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
				return
			}
			var got struct {
				Success bool `json:"success"`
				Error   struct {
					Code        string   `json:"code"`
					Message     string   `json:"message"`
					ErrorID     string   `json:"error_id"`
					Recoverable bool     `json:"recoverable"`
					Actions     []string `json:"actions"`
				} `json:"error"`
			}
			require.NoError(t, resp.JSON(&got))
			require.False(t, got.Success)
			require.Equal(t, "SERVER_ERROR", got.Error.Code)
			require.NotEmpty(t, got.Error.Message)
			require.True(t, got.Error.Recoverable)
			require.Equal(t, []string{"reload", "report"}, got.Error.Actions)
			logged := a.logs.lines("server error")
			require.NotEmpty(t, logged)
			ids := []any{}
			for _, l := range logged {
				ids = append(ids, l["error_id"])
			}
			require.Contains(t, ids, got.Error.ErrorID, "the error id in the response is the logged one")
		})
	}
}

func TestHealth(t *testing.T) {
	a := newApp(t, appOpts{})
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/health/simple/", 200, `{"status":"ok"}`},
		{"/health/live/", 200, `{"status":"alive"}`},
		{"/health/ready/", 200, `"status":"ready"`},
		{"/health/", 200, `"checks":{"cache":{"status":"ok","backend":"locmem"},"database":{"status":"ok","backend":"sqlite"}}`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := do(t, anon(t, a.ts.URL), "GET", tc.path, nil, "")
			require.Equal(t, tc.status, resp.Status)
			require.Contains(t, string(resp.Body), tc.want)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		})
	}
}

func TestMetrics(t *testing.T) {
	a := newApp(t, appOpts{limits: map[string]Limit{"read": {Requests: 1, Window: time.Minute}}})
	c := a.login(t, 1)
	tree := api.Operations[2].URLPath(api.Legacy, project(1), 0)
	do(t, c, "GET", tree, nil, "")
	do(t, c, "GET", tree, nil, "")
	resp := do(t, c, "GET", "/metrics", nil, "")
	require.Equal(t, http.StatusOK, resp.Status)
	body := string(resp.Body)
	require.Contains(t, body, `ahsp_http_requests_total{route="list-pekerjaan.tree",status="200"} 1`)
	require.Contains(t, body, `ahsp_http_requests_total{route="list-pekerjaan.tree",status="429"} 1`)
	require.Contains(t, body, `ahsp_rate_limit_hits_total{operation="list-pekerjaan.tree",category="read"} 1`)
	require.Contains(t, body, `ahsp_http_requests_total{route="login",status="302"} 1`)
	// The latency histogram counts every answer the requests counter did.
	var answered, inf int
	for _, line := range strings.Split(body, "\n") {
		var n int
		if strings.HasPrefix(line, "ahsp_http_requests_total{") {
			_, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n)
			require.NoError(t, err)
			answered += n
		}
		if strings.HasPrefix(line, `ahsp_http_request_duration_seconds_bucket{le="+Inf"} `) {
			_, err := fmt.Sscan(strings.TrimPrefix(line, `ahsp_http_request_duration_seconds_bucket{le="+Inf"} `), &inf)
			require.NoError(t, err)
		}
	}
	require.Positive(t, answered)
	require.Equal(t, answered, inf)
	require.Contains(t, body, "# TYPE ahsp_http_request_duration_seconds histogram")
	require.Contains(t, body, `ahsp_http_request_duration_seconds_bucket{le="0.005"} `)
}

func TestDefaultLimitsMatchTheApp(t *testing.T) {
	l := DefaultLimits()
	require.Equal(t, Limit{Requests: 20, Window: time.Minute}, l["write"])
	require.Equal(t, Limit{Requests: 5, Window: 5 * time.Minute}, l["bulk"])
	require.Equal(t, Limit{Requests: 10, Window: time.Minute}, l[LoginCategory])
	_, err := New(Config{FailurePolicy: "maybe"}, Deps{})
	require.ErrorContains(t, err, "allowed values are fail-open, fail-closed")
}

// decode429 checks the real app's 429 envelope and returns its numbers.
func decode429(t *testing.T, resp *client.Response) (body struct {
	Success    bool   `json:"success"`
	Message    string `json:"message"`
	Code       string `json:"code"`
	RetryAfter int    `json:"retry_after"`
	Details    struct {
		MaxRequests   int    `json:"max_requests"`
		WindowSeconds int    `json:"window_seconds"`
		CurrentCount  int    `json:"current_count"`
		Category      string `json:"category"`
	} `json:"details"`
}) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, resp.Status, string(resp.Body))
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(resp.Body, &raw))
	keys := []string{}
	for k := range raw {
		keys = append(keys, k)
	}
	require.ElementsMatch(t, []string{"success", "message", "code", "details", "retry_after"}, keys)
	require.NoError(t, json.Unmarshal(resp.Body, &body))
	require.False(t, body.Success)
	require.Equal(t, "RATE_LIMIT_EXCEEDED", body.Code)
	require.Equal(t, fmt.Sprintf("Terlalu banyak permintaan. Silakan coba lagi dalam %d detik.", body.RetryAfter), body.Message)
	return body
}

// TestServerErrorOfAGoneClient: a store call that failed because the client
// hung up is logged as a cancel (INFO, 499), not as a server error; the
// same failure with the client still there is a 500 with an error id.
func TestServerErrorOfAGoneClient(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cancel    bool
		status    int
		wantMsg   string
		wantLevel string
	}{
		{"client gone", true, handlers.StatusClientClosedRequest, "request canceled", "INFO"},
		{"client there", false, http.StatusInternalServerError, "server error", "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOpts{})
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				cancel()
			} else {
				defer cancel()
			}
			req := httptest.NewRequest(http.MethodPost, "/accounts/login/", nil).WithContext(ctx)
			rec := httptest.NewRecorder()
			a.srv.serverError(rec, req, fmt.Errorf("authenticate: %w", context.Canceled), nil)
			require.Equal(t, tc.status, rec.Code)
			lines := a.logs.lines(tc.wantMsg)
			require.Len(t, lines, 1)
			require.Equal(t, tc.wantLevel, lines[0]["level"])
		})
	}
}
