package security

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// env is what every check shares: the deployment, its users, the config.
type env struct {
	base     string
	creds    []client.Credential
	cfg      Config
	requests int
	mu       sync.Mutex
	// sessions are logged in once per user: login is rate limited per IP.
	sessions map[int]*session
	// bounces counts requests retried after a bounce to the login page.
	bounces int
}

// userAgent marks every request of these checks.
const userAgent = "ahsp-harness-security/1"

// session is one logged-in user with a recording transport.
type session struct {
	e    *env
	cred client.Credential
	c    *client.Client
	rec  *recorder
}

// project is the user's first listed project, 0 when none is listed.
func (s *session) project() int {
	if len(s.cred.Projects) == 0 {
		return 0
	}
	return s.cred.Projects[0]
}

// recorder keeps the Set-Cookie headers of every response (the cookie jar
// drops their flags) and counts requests.
type recorder struct {
	e          *env
	next       http.RoundTripper
	mu         sync.Mutex
	setCookies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	r.e.mu.Lock()
	r.e.requests++
	r.e.mu.Unlock()
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.setCookies = append(r.setCookies, resp.Header.Values("Set-Cookie")...)
		r.mu.Unlock()
	}
	return resp, err
}

// anon returns a session that has not logged in.
func (e *env) anon() (*session, error) {
	rec := &recorder{e: e, next: http.DefaultTransport}
	c, err := client.New(e.base, client.WithHTTPClient(&http.Client{Timeout: 20 * time.Second, Transport: rec}))
	if err != nil {
		return nil, err
	}
	return &session{e: e, c: c, rec: rec}, nil
}

// login returns user i (of the configured credentials) logged in, logging
// in once per user.
func (e *env) login(ctx context.Context, i int) (*session, error) {
	if s, ok := e.sessions[i]; ok {
		return s, nil
	}
	if i >= len(e.creds) {
		return nil, fmt.Errorf("needs %d users, the deployment has %d", i+1, len(e.creds))
	}
	s, err := e.anon()
	if err != nil {
		return nil, err
	}
	s.cred = e.creds[i]
	if err := s.c.Login(ctx, s.cred.User, s.cred.Password); err != nil {
		return nil, fmt.Errorf("log in as %s: %w", s.cred.User, err)
	}
	if e.sessions == nil {
		e.sessions = map[int]*session{}
	}
	e.sessions[i] = s
	return s, nil
}

// writable is the project s may write to: its first project on the
// harness's own stack, its first declared scratch project elsewhere.
func (s *session) writable() (int, bool) {
	if s.e.cfg.Writes {
		p := s.project()
		return p, p != 0
	}
	if len(s.cred.Scratch) > 0 {
		return s.cred.Scratch[0], true
	}
	return 0, false
}

// userIndex picks the user for a role: the preferred index when the
// deployment has that many users, else the last one.
func (e *env) userIndex(preferred int) int {
	return min(preferred, max(len(e.creds)-1, 0))
}

// req is one request of a check.
type req struct {
	method, path string
	header       http.Header
	body         []byte
	// noCSRF leaves X-CSRFToken out; csrf overrides its value.
	noCSRF bool
	csrf   string
}

// maxBounces bounds the tries of one request bounced to the login page.
const maxBounces = 24

// bounced: a 302 to the login page, or the exports' 401 for anonymous
// users: the session is unknown where the request landed.
func bounced(r *client.Response) bool {
	return r.Status == http.StatusUnauthorized ||
		r.Status == http.StatusFound && strings.Contains(r.Header.Get("Location"), api.LoginPath)
}

// maxWait is the longest 429 the checks wait out; a longer window (the
// app's bulk limit is 5 per 300 s) is budgeted instead (see limitFor).
const maxWait = 10 * time.Second

// do sends r as s. A 429 is waited out (Retry-After, else the declared
// window of the operation's category, at most maxWait) and retried twice;
// the 429 is returned when it persists, so the caller can call the item
// unmeasured.
func (s *session) do(ctx context.Context, r req) (*client.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := s.send(ctx, r)
		// A deployment that keeps sessions per worker process bounces a
		// logged-in request to the login page on the other workers: send it
		// again (a new connection may reach the session's worker), and every
		// few tries log in again where the requests land.
		for try := 1; err == nil && s.cred.User != "" && bounced(resp) && try < maxBounces; try++ {
			s.e.mu.Lock()
			s.e.bounces++
			s.e.mu.Unlock()
			if try%6 == 0 {
				if lerr := s.c.Login(client.FreshSession(ctx), s.cred.User, s.cred.Password); lerr != nil {
					return nil, fmt.Errorf("log in again after bounces to the login page: %w", lerr)
				}
			}
			if err := sleep(ctx, 5*time.Millisecond); err != nil {
				return nil, err
			}
			resp, err = s.send(ctx, r)
		}
		if err != nil {
			return nil, err
		}
		if resp.Status != http.StatusTooManyRequests || attempt == 2 {
			return resp, nil
		}
		wait := s.e.retryAfter(resp, r.path)
		if wait > maxWait {
			return resp, nil // the caller calls the item unmeasured
		}
		if err := sleep(ctx, wait); err != nil {
			return resp, nil
		}
	}
}

// send sends r once with the session's current cookies and token.
func (s *session) send(ctx context.Context, r req) (*client.Response, error) {
	h := s.c.Headers()
	h.Del("Cookie") // the jar adds them
	h.Set("User-Agent", userAgent)
	if r.noCSRF {
		h.Del("X-CSRFToken")
	} else if r.csrf != "" {
		h.Set("X-CSRFToken", r.csrf)
	}
	if r.body != nil {
		h.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		h[k] = v
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	return s.c.DoRaw(ctx, r.method, r.path, h, body)
}

func (e *env) retryAfter(resp *client.Response, path string) time.Duration {
	if v, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && v >= 0 {
		return min(time.Duration(v)*time.Second+100*time.Millisecond, 65*time.Second)
	}
	cat := api.Write
	if op, _, ok := api.Match("", path); ok {
		cat = op.Category
	}
	return time.Duration(e.limitFor(cat).WindowSeconds)*time.Second + 100*time.Millisecond
}

// limitFor is category's declared limit (the app's default when not given).
func (e *env) limitFor(cat api.Category) api.Limit {
	if l, ok := e.cfg.Limits[cat]; ok {
		return l
	}
	return api.DefaultLimits[cat]
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errNoProject says a user lists no project to work on.
var errNoProject = errors.New("no project listed for the user (give one with projects: in the users file)")

// opPath is op's legacy path in project pid with pekerjaan pek.
func opPath(op api.Operation, pid, pek int) string { return op.URLPath(api.Legacy, pid, pek) }

// bodyOps are the operations that take a JSON body (the unsafe ones).
func bodyOps() []api.Operation {
	var out []api.Operation
	for _, op := range api.Operations {
		if op.Body {
			out = append(out, op)
		}
	}
	return out
}

func join(items []string) string { return strings.Join(items, "; ") }

// short trims a body for evidence.
func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
