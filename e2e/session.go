package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/client"
)

// errSessionBounced marks a check that could not run because the deployment
// kept sending its logged-in session to the login page (sessions kept in one
// worker's memory): the check's outcome is inconclusive, not a failure.
var errSessionBounced = errors.New("the deployment sent the logged-in session back to the login page")

// maxLogins bounds the suite's logins (the first one and every re-login after
// a bounce), so a deployment that never keeps a session cannot make the
// suite hammer its login form (which has its own limit).
const maxLogins = 20

// bounceRetries bounds how often one request or page load is retried after
// a bounce to the login page.
const bounceRetries = 3

// sameSessionTries: before logging in again, a bounced request is sent again
// with the same session this many times. Sync workers take connections in
// turn, so a session kept in one worker's memory is reached again within as
// many tries as there are workers (sized for up to 8, as the scan is); a
// bounced request did nothing, so resending it is safe, and it spends none
// of the login form's own limit.
const sameSessionTries = 8

// session is the suite's logged-in API client, shared by the checks. On a
// deployment that keeps sessions per worker, a request that reaches another
// worker is redirected to the login page; the session then logs in again
// (bounded) and the request is repeated.
type session struct {
	base      string
	loginPath string
	user      client.Credential
	step      time.Duration

	mu        sync.Mutex
	c         *client.Client
	logins    int
	bounces   int
	exhausted string // why no more logins are tried (limit reached, login refused)
}

func newSession(base, loginPath string, user client.Credential, step time.Duration) *session {
	return &session{base: base, loginPath: loginPath, user: user, step: step}
}

// login replaces the client with a freshly logged-in one. A fail-closed
// limiter on a busy machine may answer 5xx: retried (bounded), never a
// refused password (the login limit counts attempts).
func (s *session) login(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginLocked(ctx)
}

func (s *session) loginLocked(ctx context.Context) error {
	err := client.Retry(ctx, client.Backoff{Tries: 3, Wait: 500 * time.Millisecond,
		Retry: client.OnStatus(http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout)},
		func(ctx context.Context) error {
			if err := s.allowLocked(); err != nil {
				return err
			}
			s.logins++
			c, err := client.New(s.base)
			if err != nil {
				return err
			}
			step := s.step
			if client.SessionsFrom(ctx) != nil {
				// The run's store waits out login throttling, within its own bound.
				step += client.SessionsFrom(ctx).Wait
			}
			lctx, cancel := context.WithTimeout(ctx, step)
			defer cancel()
			if s.logins > 1 {
				lctx = client.FreshSession(lctx) // renewing a bounced session
			}
			if err := c.Login(lctx, s.user.User, s.user.Password); err != nil {
				return err
			}
			s.c = c
			return nil
		})
	if err == nil {
		return nil
	}
	if errors.Is(err, errSessionBounced) {
		return err // allowLocked refused another login
	}
	err = fmt.Errorf("log in as %s at %s: %w", s.user.User, s.base, err)
	if s.logins > 1 {
		// A re-login after a bounce: stop logging in (the login form has
		// its own limit) and leave the checks inconclusive.
		s.exhausted = err.Error()
		return fmt.Errorf("%w; logging in again failed: %v", errSessionBounced, err)
	}
	return err
}

// allowLocked refuses a login past the bound or after a failed re-login.
func (s *session) allowLocked() error {
	if s.exhausted != "" {
		return fmt.Errorf("%w %d times; no more logins: %s", errSessionBounced, s.bounces, s.exhausted)
	}
	if s.logins >= maxLogins {
		s.exhausted = fmt.Sprintf("stopped after %d logins", maxLogins)
		return fmt.Errorf("%w %d times; stopped after %d logins", errSessionBounced, s.bounces, maxLogins)
	}
	return nil
}

// browserLogin counts a login the browser is about to do through the form,
// under the same bound.
func (s *session) browserLogin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bounces++
	if err := s.allowLocked(); err != nil {
		return err
	}
	s.logins++
	return nil
}

// browserLoginFailed stops further logins after a refused form login.
func (s *session) browserLoginFailed(why string) {
	s.mu.Lock()
	s.exhausted = why
	s.mu.Unlock()
}

// relogin logs in again after a bounce seen with the session of client
// old; when another check already did, its session is used.
func (s *session) relogin(ctx context.Context, old *client.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bounces++
	if s.c != old {
		return nil
	}
	return s.loginLocked(ctx)
}

func (s *session) client() *client.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// Stats reports the logins and bounces so far.
func (s *session) Stats() (logins, bounces int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins, s.bounces
}

// cookies returns the session's cookies for the browser.
func (s *session) cookies() (map[string]string, *client.Client) {
	c := s.client()
	u, _ := url.Parse(s.base)
	out := map[string]string{}
	for _, ck := range c.HTTP().Jar.Cookies(u) {
		out[ck.Name] = ck.Value
	}
	return out, c
}

// bounced reports whether resp sent the session to the login page.
func (s *session) bounced(resp *client.Response) bool {
	return (resp.Status == 301 || resp.Status == 302) && s.isLogin(resp.Header.Get("Location"))
}

// isLogin reports whether a URL or Location points at the login page.
func (s *session) isLogin(loc string) bool {
	u, err := url.Parse(loc)
	return err == nil && strings.HasPrefix(u.Path, s.loginPath)
}

// do sends an API request with the session; a redirect to the login page
// (the request did not run) is followed by a re-login and a retry.
func (s *session) do(ctx context.Context, method, path string, body any) (*client.Response, error) {
	for attempt := 0; ; attempt++ {
		c := s.client()
		var resp *client.Response
		for try := 0; try < sameSessionTries; try++ {
			rctx, cancel := context.WithTimeout(ctx, s.step)
			r, err := c.Do(rctx, method, path, body)
			cancel()
			if err != nil {
				return nil, err
			}
			resp = r
			if !s.bounced(resp) {
				return resp, nil
			}
			s.mu.Lock()
			s.bounces++
			s.mu.Unlock()
		}
		if attempt >= bounceRetries {
			return nil, fmt.Errorf("%w: %s %s was redirected to %s %d times", errSessionBounced, method, path, resp.Header.Get("Location"), attempt+1)
		}
		if err := s.relogin(ctx, c); err != nil {
			return nil, err
		}
	}
}
