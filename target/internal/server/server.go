// Package server is one worker's HTTP stack of the reference target: the
// router over the operation table (with path normalisation), Django-style auth
// with sessions and CSRF, the rate-limit middleware with its failure policy,
// security headers, the body limit, JSON/HTML 500s, health checks, /metrics
// and the project pages. The domain work is done by the API and page
// functions it is given; the server decides who may call them and how often.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/handlers"
)

// Failure policies for cache errors in the limiter.
const (
	FailOpen   = "fail-open"
	FailClosed = "fail-closed"
)

// DefaultBodyLimit is the largest request body accepted (Django's
// DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB; the target is stricter).
const DefaultBodyLimit = 1 << 20

// Limit is one category's policy: at most Requests per Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

// String renders the limit as the --limits flag spells it ("20/60").
func (l Limit) String() string {
	return fmt.Sprintf("%d/%d", l.Requests, int(l.Window/time.Second))
}

// LoginCategory is the rate-limit category of login attempts (per client IP).
const LoginCategory = "login"

// Config is one worker's settings.
type Config struct {
	// WorkerIndex (from 1) and PID make the X-Worker-Id header.
	WorkerIndex int
	PID         int
	Defects     defects.Set
	// Limits by category name: bulk, write, read, export, login.
	Limits        map[string]Limit
	FailurePolicy string
	// CacheTimeout bounds every limiter call.
	CacheTimeout time.Duration
	// SessionTimeout bounds session-store calls when sessions live in a
	// cache; 0 leaves database sessions to the request's own context.
	SessionTimeout time.Duration
	BodyLimit      int64
	// Backend names for health output ("locmem", "redis") and logs;
	// CacheAddr is the Redis address the deployed health text names.
	CacheBackend string
	CacheAddr    string
	// MetricsDir, when set, is shared by every worker of the deployment
	// (the master's run dir): /metrics then reports all workers' counters.
	MetricsDir string
	Logger     *slog.Logger
}

// Decision is a limiter's answer for one request.
type Decision struct {
	Allowed    bool
	Count      int
	Remaining  int
	RetryAfter time.Duration
	Reset      time.Duration
}

// LimitFunc counts one request against key under the given policy. It returns
// the cache's error unchanged; the server applies the failure policy.
type LimitFunc func(ctx context.Context, key string, l Limit) (Decision, error)

// Params identifies what an API call is about.
type Params struct {
	UserID, ProjectID, PekerjaanID int64
	// CacheDown: the cache did not answer (checked only where a defect
	// makes the answer depend on it).
	CacheDown bool
}

// APIFunc serves one project API call after routing, auth, CSRF and the rate
// limit passed. It checks project ownership itself.
type APIFunc func(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p Params)

// PageFunc renders a project page for an owner of the project, or the
// "landing" (anonymous, UserID 0) and "dashboard" pages.
type PageFunc func(w http.ResponseWriter, r *http.Request, page string, p PageParams)

// PageParams is what a page needs to render.
type PageParams struct {
	UserID    int64
	UserName  string
	ProjectID int64
	CSRFToken string
}

// LoginFunc renders the login form.
type LoginFunc func(w http.ResponseWriter, p LoginParams)

// LoginParams is what the login form shows.
type LoginParams struct {
	CSRFToken string
	Next      string
	Login     string
	Error     string
}

// Store is the database part the server needs.
type Store interface {
	Ping(ctx context.Context) error
	// Authenticate returns the user id for a username or email and password;
	// ok is false for bad credentials.
	Authenticate(ctx context.Context, login, password string) (userID int64, ok bool, err error)
	// ProjectOwner returns the owner of project pid; ok is false when it does not exist.
	ProjectOwner(ctx context.Context, pid int64) (owner int64, ok bool, err error)
	// FirstProject returns one project of the user; ok is false when it has none.
	FirstProject(ctx context.Context, userID int64) (pid int64, ok bool, err error)
}

// Sessions stores Django-like sessions: a random key mapped to a user id.
type Sessions interface {
	Get(ctx context.Context, key string) (userID int64, ok bool, err error)
	Set(ctx context.Context, key string, userID int64, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Pinger checks a dependency for /health/.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the collaborators a worker serves with. Nil Cache means the
// in-process cache (always healthy).
type Deps struct {
	Store    Store
	Sessions Sessions
	Cache    Pinger
	Limit    LimitFunc
	// LoginFailures counts failed logins per username for the login-lockout
	// defect, in the cache (nil: this process's memory).
	LoginFailures Sessions
	API           APIFunc
	Page          PageFunc
	Login         LoginFunc
	Static        http.Handler
}

// Server is one worker's http.Handler.
type Server struct {
	cfg      Config
	d        Deps
	log      *slog.Logger
	workerID string
	metrics  *metrics
}

// New returns the worker's handler. Missing Limits categories take the app's
// defaults; a nil Logger logs JSON to stderr.
func New(cfg Config, d Deps) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.PID == 0 {
		cfg.PID = os.Getpid()
	}
	if cfg.WorkerIndex == 0 {
		cfg.WorkerIndex = 1
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.CacheTimeout <= 0 {
		cfg.CacheTimeout = 50 * time.Millisecond
	}
	if cfg.FailurePolicy == "" {
		cfg.FailurePolicy = FailClosed
	}
	if cfg.FailurePolicy != FailOpen && cfg.FailurePolicy != FailClosed {
		return nil, fmt.Errorf("failure policy %q: allowed values are %s, %s", cfg.FailurePolicy, FailOpen, FailClosed)
	}
	if cfg.CacheBackend == "" {
		cfg.CacheBackend = "locmem"
	}
	limits := DefaultLimits()
	for k, v := range cfg.Limits {
		limits[k] = v
	}
	cfg.Limits = limits
	if d.Store == nil || d.Sessions == nil || d.Limit == nil || d.API == nil || d.Page == nil || d.Login == nil || d.Static == nil {
		return nil, errors.New("server deps: store, sessions, limit, api, page, login and static are all required")
	}
	if d.LoginFailures == nil {
		d.LoginFailures = NewMemorySessions()
	}
	s := &Server{
		cfg:      cfg,
		d:        d,
		workerID: fmt.Sprintf("%d-%d", cfg.WorkerIndex, cfg.PID),
		metrics:  newMetrics(),
	}
	s.log = cfg.Logger.With("worker", s.workerID)
	if cfg.MetricsDir != "" {
		s.metrics.share(cfg.MetricsDir, cfg.WorkerIndex)
	}
	return s, nil
}

// DefaultLimits are the app's categories plus login.
func DefaultLimits() map[string]Limit {
	out := map[string]Limit{LoginCategory: {Requests: 10, Window: 60 * time.Second}}
	for c, l := range api.DefaultLimits {
		out[string(c)] = Limit{Requests: l.Requests, Window: time.Duration(l.WindowSeconds) * time.Second}
	}
	return out
}

// WorkerID is the X-Worker-Id value.
func (s *Server) WorkerID() string { return s.workerID }

// recorder remembers the status for metrics and whether headers went out.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	h := w.Header()
	if !s.cfg.Defects.Has("no-worker-header") {
		h.Set(api.WorkerHeader, s.workerID)
	}
	if s.cfg.Defects.Has("connection-close") {
		// net/http closes the connection after a reply that says so.
		h.Set("Connection", "close")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if !s.cfg.Defects.Has("no-csp") {
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
	}
	if s.cfg.Defects.Has("cors-reflect") && s.reflectCORS(rec, r) {
		return
	}
	rt := resolve(r.URL.Path)
	if rt.kind == kindAPI && rt.version != api.Legacy && s.cfg.Defects.Has("no-api-versions") {
		rt = route{}
	}
	// The deployed app (no-api-versions) has no successor family and sends
	// no deprecation headers at all.
	if rt.kind == kindAPI && !s.cfg.Defects.Has("no-api-versions") {
		// Every legacy/v1 answer carries them, the server's own early ones
		// (413, 403, 302, 405, 429, 503, 500) included.
		handlers.SetDeprecationHeaders(h, rt.op, rt.version, rt.project, rt.id)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.serverError(rec, r, fmt.Errorf("panic: %v", v), debug.Stack())
		}
		s.metrics.request(rt.name(), rec.status, time.Since(start))
	}()
	if r.ContentLength > s.cfg.BodyLimit {
		s.tooLarge(rec, r)
		return
	}
	r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.BodyLimit)
	switch rt.kind {
	case kindAPI:
		s.serveAPI(rec, r, rt)
	case kindPage:
		s.servePage(rec, r, rt)
	case kindHealth:
		s.serveHealth(rec, r, rt.health)
	case kindMetrics:
		if s.cfg.Defects.Has("no-metrics") {
			s.notFound(rec, r)
			return
		}
		s.serveMetrics(rec, r)
	case kindStatic:
		s.d.Static.ServeHTTP(rec, r)
	case kindLogin:
		s.serveLogin(rec, r)
	case kindLogout:
		s.serveLogout(rec, r)
	case kindRoot:
		s.serveRoot(rec, r)
	case kindDashboard:
		s.serveDashboard(rec, r)
	default:
		s.notFound(rec, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt route) {
	w.Header().Set("Cache-Control", "no-store")
	exempt := s.cfg.Defects.Has("csrf-exempt-op") && rt.op.Name == csrfExemptOp
	if !exempt && !s.csrfOK(r) {
		s.csrfFailed(w, r)
		return
	}
	uid, ok := s.user(w, r)
	if !ok {
		return
	}
	if uid == 0 {
		if s.cfg.Defects.Has("anonymous-export-401") && strings.HasPrefix(rt.op.Name, "export.") {
			// The deployed app's PRO check runs before login on the exports.
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"success": false, "error": "Export CSV hanya tersedia untuk pengguna Pro. Silakan login terlebih dahulu.",
				"code": "AUTH_REQUIRED", "subscription_status": nil, "upgrade_url": "/subscriptions/pricing/"})
			return
		}
		s.redirectLogin(w, r)
		return
	}
	bypass := s.overrideMethod(r, rt.op)
	if r.Method != rt.op.Method && !s.otherMethodServed(rt.op, r.Method) {
		w.Header().Set("Allow", rt.op.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if !bypass && !s.limitOperation(w, r, rt, uid) {
		if s.appliesWhenLimited(w, rt.op) {
			s.d.API(&discard{}, r, rt.op, rt.version, Params{UserID: uid, ProjectID: rt.project, PekerjaanID: rt.id})
		}
		return
	}
	// The whole body is read here, after counting, so a too-large chunked
	// body answers 413 whatever the handler would do with a read error.
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.tooLarge(w, r)
				return
			}
			s.log.Warn("read request body", "err", err.Error())
			writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "errors": []map[string]string{{"path": "", "message": "Gagal membaca body permintaan"}}})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	if s.cfg.Defects.Has("leaky-errors") && s.leakyError(w, r, rt) {
		return
	}
	if s.cfg.Defects.Has("leaky-body-errors") && s.leakyBodyError(w, r, rt) {
		return
	}
	p := Params{UserID: uid, ProjectID: rt.project, PekerjaanID: rt.id}
	if !s.deployedCacheUse(w, r, rt.op, &p) {
		return
	}
	s.d.API(w, r, rt.op, rt.version, p)
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, rt route) {
	if !s.csrfOK(r) {
		s.csrfFailed(w, r)
		return
	}
	uid, ok := s.user(w, r)
	if !ok {
		return
	}
	if uid == 0 {
		s.redirectLogin(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	owner, found, err := s.d.Store.ProjectOwner(r.Context(), rt.project)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("look up project owner: %w", err), nil)
		return
	}
	if !found || owner != uid {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.d.Page(w, r, rt.page, PageParams{UserID: uid, ProjectID: rt.project, CSRFToken: s.ensureCSRF(w, r)})
}

// serveRoot is the landing page: 200 for anonymous visitors, 302 to the
// dashboard when logged in (as the deployed app).
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	uid, ok := s.user(w, r)
	if !ok {
		return
	}
	if uid != 0 {
		http.Redirect(w, r, api.DashboardPath, http.StatusFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	s.d.Page(w, r, "landing", PageParams{CSRFToken: s.ensureCSRF(w, r)})
}

// serveDashboard lists the user's way into their projects (login required).
func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request) {
	uid, ok := s.user(w, r)
	if !ok {
		return
	}
	if uid == 0 {
		s.redirectLogin(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	pid, _, err := s.d.Store.FirstProject(r.Context(), uid)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("find a project of the user: %w", err), nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.d.Page(w, r, "dashboard", PageParams{UserID: uid, ProjectID: pid, CSRFToken: s.ensureCSRF(w, r)})
}

// wantsJSON is the real app's rule for JSON error bodies.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") ||
		strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"success":false,"message":"encode response"}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeHTML(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body><h1>%s</h1>\n<p>%s</p>\n</body></html>\n", title, title, body)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeHTML(w, http.StatusNotFound, "Not Found", "The requested resource was not found on this server.")
}

func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) || strings.Contains(r.Header.Get("Content-Type"), "json") {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
			"success": false,
			"message": fmt.Sprintf("Ukuran permintaan melebihi batas %d byte.", s.cfg.BodyLimit),
			"code":    "PAYLOAD_TOO_LARGE",
		})
		return
	}
	writeHTML(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large", "The request body is too large.")
}

// serverError logs err (with stack when given) under a fresh error id and
// answers a 500 that carries only the id.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error, stack []byte) {
	if stack == nil && r.Context().Err() != nil {
		// The client hung up and the store call failed because of it: not
		// a server error, and nobody is left to read an answer (as the API
		// handlers do).
		s.log.Info("request canceled", "err", err.Error(), "method", r.Method, "path", r.URL.Path)
		w.WriteHeader(handlers.StatusClientClosedRequest)
		return
	}
	id := randomHex(8)
	attrs := []any{"error_id", id, "err", err.Error(), "method", r.Method, "path", r.URL.Path}
	if stack != nil {
		attrs = append(attrs, "stack", string(stack))
	}
	s.log.Error("server error", attrs...)
	if rec, ok := w.(*recorder); ok && rec.status != 0 {
		return // headers already sent; nothing safe to add
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"success": false,
			"error": map[string]any{
				"code":        "SERVER_ERROR",
				"message":     "Terjadi kesalahan pada server. Silakan coba lagi.",
				"error_id":    id,
				"recoverable": true,
				"actions":     []string{"reload", "report"},
			},
		})
		return
	}
	writeHTML(w, http.StatusInternalServerError, "Server Error (500)", "Terjadi kesalahan pada server. Kode kesalahan: "+id)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// otherMethodServed: a method other than the operation's that it answers
// (limited as the operation). HEAD on a GET; with the read-method-quirks
// defect (REAL-APP.md 3.9, 3.11, 6) harga-items list and rekap take any
// method and the other GETs refuse HEAD.
func (s *Server) otherMethodServed(op api.Operation, m string) bool {
	if s.cfg.Defects.Has("read-method-quirks") {
		return op.Name == "harga-items.list" || op.Name == "rekap"
	}
	return op.Method == http.MethodGet && m == http.MethodHead
}
