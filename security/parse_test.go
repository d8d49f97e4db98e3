package security

import (
	"context"
	"github.com/ahsp-harness/harness/target/client"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

type clientResponse = client.Response

func TestLeaks(t *testing.T) {
	for _, tc := range []struct {
		name, body, sent string
		leak             bool
	}{
		{"django debug", `<h1>OperationalError at /x</h1><pre>Traceback (most recent call last):`, "", true},
		{"handled 500 with exception class", `{"ok": false, "errors": [{"path": "$", "message": "Server error: AttributeError: 'str' object"}]}`, "", true},
		{"sql constraint", `Gagal membuat klasifikasi: UNIQUE constraint failed: k.ordering_index`, "", true},
		{"go panic", "panic: runtime error: index out of range\n\ngoroutine 7 [running]:", "", true},
		{"echoed input is not a leak", `{"ok":false,"errors":[{"message":"tidak valid: ' UNION SELECT username, password FROM auth_user --"}]}`, `' UNION SELECT username, password FROM auth_user --`, false},
		{"plain 400", `{"ok":false,"errors":[{"path":"$","message":"Payload JSON tidak valid"}]}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.leak, len(leaks([]byte(tc.body), tc.sent)) > 0, "%v", leaks([]byte(tc.body), tc.sent))
		})
	}
}

func TestParseSetCookie(t *testing.T) {
	c := parseSetCookie("sessionid=abc; expires=Wed, 16 Dec 2026 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax")
	require.Equal(t, setCookie{name: "sessionid", httpOnly: true, sameSite: "lax", raw: c.raw}, c)
	c = parseSetCookie("csrftoken=x; Path=/; Secure")
	require.Equal(t, setCookie{name: "csrftoken", secure: true, raw: c.raw}, c)
}

func TestJudgeHeaders(t *testing.T) {
	res := &Result{}
	judgeHeaders(res, sample{"page", &clientResponse{Status: 200, Header: map[string][]string{
		"Content-Type": {"text/html"}, "X-Frame-Options": {"DENY"}, "X-Content-Type-Options": {"nosniff"}, "Referrer-Policy": {"same-origin"}}}}, false)
	require.Equal(t, []string{"page: page has no Content-Security-Policy"}, res.Findings)
	res = &Result{}
	judgeHeaders(res, sample{"api", &clientResponse{Status: 200, Header: map[string][]string{
		"Content-Type": {"application/json"}, "Content-Security-Policy": {"frame-ancestors 'none'"}, "Referrer-Policy": {"unsafe-url"}}}}, true)
	require.Len(t, res.Findings, 3) // nosniff, referrer, HSTS; frame-ancestors stands in for X-Frame-Options
}

// A request bounced to the login page (sessions kept per worker) is sent
// again until it reaches the session's worker.
func TestDoRetriesBounces(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n <= 3 {
			http.Redirect(w, r, "/accounts/login/?next=/x/", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	e := &env{base: srv.URL}
	s, err := e.anon()
	require.NoError(t, err)
	s.cred = client.Credential{User: "u", Password: "p"}
	resp, err := s.do(context.Background(), req{method: http.MethodGet, path: "/x/"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Equal(t, 3, e.bounces)
}
