package security

import (
	"context"
	"net/http"
	"strings"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// sample is one response the header check judges.
type sample struct {
	what string
	resp *client.Response
}

func checkHeaders(ctx context.Context, e *env, res *Result) {
	https := strings.HasPrefix(e.base, "https://")
	a, err := e.anon()
	if err != nil {
		res.fail(err)
		return
	}
	var samples []sample
	if r, err := a.do(ctx, req{method: http.MethodGet, path: api.LoginPath}); err == nil {
		samples = append(samples, sample{"login page", r})
	} else {
		res.fail(err)
		return
	}
	s, err := e.login(ctx, 0)
	if err != nil {
		res.fail(err)
		return
	}
	pid := s.project()
	if pid == 0 {
		res.notef("user %s lists no project: only the login page and the API were sampled", s.cred.User)
	} else {
		if r, err := s.do(ctx, req{method: http.MethodGet, path: api.PagePath("list-pekerjaan", pid), header: http.Header{"Accept": {"text/html"}, "X-Requested-With": nil}}); err == nil {
			samples = append(samples, sample{"project page", r})
		}
		tree, _ := api.Lookup("list-pekerjaan.tree")
		if r, err := s.do(ctx, req{method: http.MethodGet, path: opPath(tree, pid, 0)}); err == nil {
			samples = append(samples, sample{"API answer (tree)", r})
		}
	}
	search, _ := api.Lookup("search-ahsp")
	sp := 1
	if pid != 0 {
		sp = pid
	}
	if r, err := s.do(ctx, req{method: http.MethodGet, path: opPath(search, sp, 0) + "?q=beton"}); err == nil {
		samples = append(samples, sample{"API answer (search)", r})
	}
	for _, sm := range samples {
		judgeHeaders(res, sm, https)
	}
	if len(samples) < 2 {
		res.finish([]string{"fewer than two responses could be fetched"})
		return
	}
	res.finish(nil)
}

// judgeHeaders adds a finding per missing or weak header of one response.
func judgeHeaders(res *Result, sm sample, https bool) {
	h := sm.resp.Header
	isHTML := strings.Contains(h.Get("Content-Type"), "text/html")
	csp := h.Get("Content-Security-Policy")
	res.notef("%s: status %d, %s; X-Frame-Options %q, X-Content-Type-Options %q, Referrer-Policy %q, CSP %q",
		sm.what, sm.resp.Status, h.Get("Content-Type"), h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"), csp)
	xfo := strings.ToUpper(strings.TrimSpace(h.Get("X-Frame-Options")))
	if xfo != "DENY" && xfo != "SAMEORIGIN" && !strings.Contains(csp, "frame-ancestors") {
		res.findf("%s: no X-Frame-Options DENY/SAMEORIGIN and no CSP frame-ancestors (clickjacking)", sm.what)
	}
	if !strings.EqualFold(strings.TrimSpace(h.Get("X-Content-Type-Options")), "nosniff") {
		res.findf("%s: X-Content-Type-Options is %q, want nosniff", sm.what, h.Get("X-Content-Type-Options"))
	}
	switch rp := strings.ToLower(strings.TrimSpace(h.Get("Referrer-Policy"))); rp {
	case "":
		res.findf("%s: no Referrer-Policy", sm.what)
	case "unsafe-url", "no-referrer-when-downgrade":
		res.findf("%s: Referrer-Policy %q leaks full URLs", sm.what, rp)
	}
	if isHTML && sm.resp.Status == http.StatusOK && csp == "" {
		res.findf("%s: page has no Content-Security-Policy", sm.what)
	}
	if https && !strings.Contains(strings.ToLower(h.Get("Strict-Transport-Security")), "max-age=") {
		res.findf("%s: https without Strict-Transport-Security", sm.what)
	}
}

// setCookie is one parsed Set-Cookie header.
type setCookie struct {
	name             string
	httpOnly, secure bool
	sameSite, raw    string
}

func parseSetCookie(v string) setCookie {
	parts := strings.Split(v, ";")
	name, _, _ := strings.Cut(strings.TrimSpace(parts[0]), "=")
	c := setCookie{name: name, raw: v}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "httponly":
			c.httpOnly = true
		case "secure":
			c.secure = true
		case "samesite":
			c.sameSite = strings.ToLower(strings.TrimSpace(val))
		}
	}
	return c
}

// Django's cookie names (the client logs in with them).
const (
	sessionCookie = "sessionid"
	csrfCookie    = "csrftoken"
)

func checkCookies(ctx context.Context, e *env, res *Result) {
	s, err := e.login(ctx, 0)
	if err != nil {
		res.fail(err)
		return
	}
	https := strings.HasPrefix(e.base, "https://")
	s.rec.mu.Lock()
	raw := append([]string(nil), s.rec.setCookies...)
	s.rec.mu.Unlock()
	last := map[string]setCookie{}
	for _, v := range raw {
		c := parseSetCookie(v)
		if c.name == sessionCookie || c.name == csrfCookie {
			last[c.name] = c // the one the browser keeps: the last set
			res.notef("Set-Cookie %s: HttpOnly=%v SameSite=%q Secure=%v", c.name, c.httpOnly, c.sameSite, c.secure)
		}
	}
	var unmeasured []string
	for _, name := range []string{sessionCookie, csrfCookie} {
		c, ok := last[name]
		if !ok {
			unmeasured = append(unmeasured, "no "+name+" cookie was set during login")
			continue
		}
		if name == sessionCookie && !c.httpOnly {
			res.findf("session cookie %s is readable by scripts (no HttpOnly)", name)
		}
		switch c.sameSite {
		case "lax", "strict":
		case "":
			res.findf("cookie %s has no SameSite attribute", name)
		default:
			res.findf("cookie %s has SameSite=%s (sent on cross-site requests)", name, c.sameSite)
		}
		if https && !c.secure {
			res.findf("cookie %s lacks Secure on an https deployment", name)
		}
	}
	if !https {
		res.notef("http deployment: Secure and HSTS are not required")
	}
	res.finish(unmeasured)
}

// foreignOrigin is a reserved name (RFC 2606): it never resolves, and no
// request is ever sent to it; it only appears in the Origin header.
const foreignOrigin = "https://attacker.example"

func checkCORS(ctx context.Context, e *env, res *Result) {
	s, err := e.login(ctx, 0)
	if err != nil {
		res.fail(err)
		return
	}
	pid := max(s.project(), 1)
	tree, _ := api.Lookup("list-pekerjaan.tree")
	save, _ := api.Lookup("list-pekerjaan.save")
	probes := []struct {
		what string
		r    req
	}{
		{"GET tree with a foreign Origin", req{method: http.MethodGet, path: opPath(tree, pid, 0), header: http.Header{"Origin": {foreignOrigin}}}},
		{"GET tree with Origin null", req{method: http.MethodGet, path: opPath(tree, pid, 0), header: http.Header{"Origin": {"null"}}}},
		{"preflight of list save from a foreign Origin", req{method: http.MethodOptions, path: opPath(save, pid, 0), noCSRF: true, header: http.Header{
			"Origin": {foreignOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type,x-csrftoken"}}}},
	}
	for _, p := range probes {
		r, err := s.do(ctx, p.r)
		if err != nil {
			res.fail(err)
			return
		}
		origin := p.r.header.Get("Origin")
		acao := r.Header.Get("Access-Control-Allow-Origin")
		acac := strings.EqualFold(r.Header.Get("Access-Control-Allow-Credentials"), "true")
		res.notef("%s: status %d, Access-Control-Allow-Origin %q, Allow-Credentials %q", p.what, r.Status, acao, r.Header.Get("Access-Control-Allow-Credentials"))
		if acac && (acao == origin || acao == "*") {
			res.findf("%s: the origin is allowed with credentials (Access-Control-Allow-Origin %q, Allow-Credentials true): any site can read users' data", p.what, acao)
		} else if acao == origin {
			res.notef("%s: origin reflected without credentials (not a finding on its own)", p.what)
		}
	}
	res.finish(nil)
}
