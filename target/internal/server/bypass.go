package server

import (
	"net/http"
	"strings"

	"github.com/ahsp-harness/harness/target/api"
)

// The rate-limit bypass defects of the scan-diagnosis block: each breaks one
// property the correct limiter keeps (one bucket per user and operation,
// whatever session, header, method or answer).

// IdentityHeaders are client and user identity headers a proxy may set and
// any client can forge; the correct limiter ignores every one of them.
var IdentityHeaders = []string{
	"X-Forwarded-For", "X-Real-IP", "X-Client-IP", "True-Client-IP", "Forwarded", "X-Originating-IP",
	"X-Remote-IP", "X-Remote-Addr", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
	"X-User-Id", "X-Remote-User", "X-Forwarded-User", "X-Auth-User",
}

// keyIdentity returns what the defects put in place of the user id in an
// operation's rate-limit key, or "" for the correct key.
func (s *Server) keyIdentity(r *http.Request) string {
	if s.cfg.Defects.Has("identity-header-key") {
		// Trusts the first identity header present, as a proxy-aware
		// limiter keyed by "client" would.
		for _, h := range IdentityHeaders {
			if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
				return "hdr:" + v
			}
		}
	}
	if s.cfg.Defects.Has("session-key") {
		// Keyed by the session: logging in again gives a fresh quota.
		if c, err := r.Cookie(SessionCookie); err == nil {
			return "sess:" + c.Value
		}
	}
	return ""
}

// overrideMethod is the method-bypass defect: PUT, PATCH and
// X-HTTP-Method-Override reach the operation as if sent with its own method,
// but the limiter only counts requests whose method is literally the
// operation's. It reports whether r is such a request (and rewrites its method).
func (s *Server) overrideMethod(r *http.Request, op api.Operation) (bypass bool) {
	if !s.cfg.Defects.Has("method-bypass") {
		return false
	}
	if o := strings.ToUpper(strings.TrimSpace(r.Header.Get("X-HTTP-Method-Override"))); o != "" {
		r.Method = op.Method
		return true
	}
	if r.Method == http.MethodPut || r.Method == http.MethodPatch {
		r.Method = op.Method
		return true
	}
	return false
}

// appliesWhenLimited is the limited-write-applies defect: a write the limiter
// refused is still handed to the operation (its answer discarded), so the
// client sees 429 but the data changes.
func (s *Server) appliesWhenLimited(w http.ResponseWriter, op api.Operation) bool {
	if !s.cfg.Defects.Has("limited-write-applies") || op.Method == http.MethodGet {
		return false
	}
	rec, ok := w.(*recorder)
	return ok && rec.status == http.StatusTooManyRequests
}

// discard is a ResponseWriter that drops everything.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
