package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Django's cookie names and lifetimes.
const (
	SessionCookie = "sessionid"
	CSRFCookie    = "csrftoken"
	CSRFHeader    = "X-CSRFToken"
	CSRFField     = "csrfmiddlewaretoken"
	SessionTTL    = 14 * 24 * time.Hour
	csrfTTL       = 365 * 24 * time.Hour
)

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomToken returns n characters from Django's token alphabet.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// csrfOK applies Django's rule: unsafe methods carry the csrftoken cookie's
// value in X-CSRFToken (or the form field csrfmiddlewaretoken).
func (s *Server) csrfOK(r *http.Request) bool {
	if safeMethod(r.Method) {
		return true
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || c.Value == "" {
		return false
	}
	tok := r.Header.Get(CSRFHeader)
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tok = r.PostFormValue(CSRFField)
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(c.Value)) == 1
}

func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("csrf failed", "method", r.Method, "path", r.URL.Path, "ip", clientIP(r, false))
	writeHTML(w, http.StatusForbidden, "403 Forbidden", "CSRF verification failed. Request aborted.")
}

// ensureCSRF returns the request's csrftoken, setting a new cookie when the
// request has none (Django's get_token on rendering a form).
func (s *Server) ensureCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	return s.setCSRF(w)
}

func (s *Server) setCSRF(w http.ResponseWriter) string {
	tok := randomToken(32)
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: tok, Path: "/", MaxAge: int(csrfTTL / time.Second),
		SameSite: http.SameSiteLaxMode,
	})
	return tok
}

// user returns the logged-in user id (0 for anonymous). ok is false when the
// session store failed and an error response was written.
func (s *Server) user(w http.ResponseWriter, r *http.Request) (int64, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return 0, true
	}
	ctx, cancel := s.sessionCtx(r)
	defer cancel()
	uid, found, err := s.d.Sessions.Get(ctx, c.Value)
	if err != nil {
		s.metrics.cacheError("session")
		s.log.Error("session store error", "err", err.Error(), "path", r.URL.Path)
		setUnavailable(w.Header())
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"success": false,
			"message": "Penyimpanan sesi tidak tersedia. Silakan coba lagi.",
			"code":    "SESSION_UNAVAILABLE",
		})
		return 0, false
	}
	if !found {
		return 0, true
	}
	return uid, true
}

func (s *Server) sessionCtx(r *http.Request) (context.Context, context.CancelFunc) {
	if s.cfg.SessionTimeout > 0 {
		return context.WithTimeout(r.Context(), s.cfg.SessionTimeout)
	}
	return context.WithCancel(r.Context())
}

func (s *Server) redirectLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, api.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
}

// safeNext accepts only local absolute paths, like Django's
// url_has_allowed_host_and_scheme for a relative URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		tok := s.ensureCSRF(w, r)
		s.d.Login(w, LoginParams{CSRFToken: tok, Next: safeNext(r.URL.Query().Get("next"))})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !s.csrfOK(r) && !s.cfg.Defects.Has("csrf-exempt-login") {
		s.csrfFailed(w, r)
		return
	}
	if !s.limitLogin(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.tooLarge(w, r)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	next := safeNext(r.PostForm.Get("next"))
	if next == "/" {
		next = safeNext(r.URL.Query().Get("next"))
	}
	if next == "/" {
		next = api.DashboardPath // the deployed app's LOGIN_REDIRECT_URL
	}
	locked, err := s.lockedOut(r.Context(), login)
	if err != nil && s.cfg.Defects.Has("cache-errors-raise") {
		// The deployed lockout reads the cache unguarded: Django's 500.
		s.metrics.cacheError("login")
		s.serverError(w, r, fmt.Errorf("login lockout cache: %w", err), nil)
		return
	}
	if locked {
		tok := s.ensureCSRF(w, r)
		s.d.Login(w, LoginParams{CSRFToken: tok, Next: next, Login: login, Error: LoginLockoutMessage})
		return
	}
	uid, ok, err := s.d.Store.Authenticate(r.Context(), login, r.PostForm.Get("password"))
	if err != nil {
		s.serverError(w, r, fmt.Errorf("authenticate: %w", err), nil)
		return
	}
	if !ok {
		s.loginFailed(r.Context(), login)
		tok := s.ensureCSRF(w, r)
		s.d.Login(w, LoginParams{CSRFToken: tok, Next: next, Login: login,
			Error: "Nama pengguna/email dan kata sandi yang Anda masukkan tidak cocok."})
		return
	}
	key := randomToken(32)
	ctx, cancel := s.sessionCtx(r)
	defer cancel()
	if err := s.d.Sessions.Set(ctx, key, uid, SessionTTL); err != nil {
		s.metrics.cacheError("session")
		s.serverError(w, r, fmt.Errorf("save session: %w", err), nil)
		return
	}
	sc := &http.Cookie{
		Name: SessionCookie, Value: key, Path: "/", MaxAge: int(SessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if s.cfg.Defects.Has("session-cookie-js") {
		sc.HttpOnly, sc.SameSite = false, 0
	}
	http.SetCookie(w, sc)
	s.setCSRF(w) // Django rotates the token at login
	http.Redirect(w, r, next, http.StatusFound)
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !s.csrfOK(r) {
		s.csrfFailed(w, r)
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		ctx, cancel := s.sessionCtx(r)
		defer cancel()
		if err := s.d.Sessions.Delete(ctx, c.Value); err != nil {
			s.metrics.cacheError("session")
			s.log.Error("delete session", "err", err.Error())
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, api.LoginPath, http.StatusFound)
}

// The login-lockout defect (the deployed app's failed-login lockout,
// REAL-APP.md section 6): after LoginLockoutFailures failed logins for one
// username within LoginLockoutWindow, every login of that username answers
// 200 with LoginLockoutMessage, right password or not. The count lives in the
// cache: per worker with locmem, shared with Redis.
const (
	LoginLockoutFailures = 5
	LoginLockoutWindow   = 300 * time.Second
	LoginLockoutMessage  = "Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti."
)

func loginFailuresKey(login string) string { return "login-failures:" + strings.ToLower(login) }

// lockedOut reports whether login is locked out. A cache error counts as not
// locked (the lockout is a convenience, never the reason a login fails)
// unless cache-errors-raise, where the caller answers 500.
func (s *Server) lockedOut(ctx context.Context, login string) (bool, error) {
	if !s.cfg.Defects.Has("login-lockout") {
		return false, nil
	}
	n, ok, err := s.d.LoginFailures.Get(ctx, loginFailuresKey(login))
	return err == nil && ok && n >= LoginLockoutFailures, err
}

// loginFailed counts a failed login of login (read, then write: not atomic,
// as a cache-based counter in the app is not).
func (s *Server) loginFailed(ctx context.Context, login string) {
	if !s.cfg.Defects.Has("login-lockout") {
		return
	}
	n, _, err := s.d.LoginFailures.Get(ctx, loginFailuresKey(login))
	if err != nil {
		return
	}
	_ = s.d.LoginFailures.Set(ctx, loginFailuresKey(login), n+1, LoginLockoutWindow)
}

// MemorySessions keeps sessions in this process only: the locmem cache, and
// the local-sessions defect with any cache.
type MemorySessions struct {
	mu  sync.Mutex
	m   map[string]memSession
	now func() time.Time
}

type memSession struct {
	user    int64
	expires time.Time
}

// NewMemorySessions returns an empty per-process session store.
func NewMemorySessions() *MemorySessions {
	return &MemorySessions{m: map[string]memSession{}, now: time.Now}
}

// Get implements Sessions.
func (m *MemorySessions) Get(_ context.Context, key string) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[key]
	if !ok || !m.now().Before(s.expires) {
		delete(m.m, key)
		return 0, false, nil
	}
	return s.user, true, nil
}

// Set implements Sessions.
func (m *MemorySessions) Set(_ context.Context, key string, userID int64, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = memSession{user: userID, expires: m.now().Add(ttl)}
	return nil
}

// Delete implements Sessions.
func (m *MemorySessions) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}
