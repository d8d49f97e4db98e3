// Package client talks to an AHSP deployment the way a browser does: Django
// form login with CSRF scraping, then the session cookie and X-CSRFToken on
// every request. It works against the reference target and the real app.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Credential is one user the harness may log in as, with the projects it owns.
type Credential struct {
	User     string `json:"user" yaml:"user"`
	Password string `json:"-" yaml:"password"`
	Projects []int  `json:"projects,omitempty" yaml:"projects,omitempty"`
	// Scratch lists the projects declared disposable: checks may write to
	// them (and restore them); every other project is only read.
	Scratch []int `json:"scratch,omitempty" yaml:"scratch,omitempty"`
}

// IsScratch reports whether project pid was declared disposable.
func (c Credential) IsScratch(pid int) bool {
	for _, p := range c.Scratch {
		if p == pid {
			return true
		}
	}
	return false
}

// Client is one browser-like session against a deployment. It is safe for
// concurrent use once logged in.
type Client struct {
	base *url.URL
	http *http.Client
	jar  http.CookieJar
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the underlying HTTP client (its Jar and
// CheckRedirect are overwritten).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for baseURL (scheme, host and an optional path prefix).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("base URL %q: want scheme://host[:port][/prefix]", baseURL)
	}
	jar, _ := cookiejar.New(nil)
	c := &Client{base: u, jar: jar, http: &http.Client{Timeout: 30 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	c.http.Jar = jar
	// Redirects are part of the dialect (302 to login, 302 after login): never follow them.
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// BaseURL is the deployment's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// URL joins path (which starts with /) to the base URL.
func (c *Client) URL(path string) string { return c.base.String() + path }

// HTTP is the underlying client, with this session's cookie jar.
func (c *Client) HTTP() *http.Client { return c.http }

var csrfInput = regexp.MustCompile(`name=["']csrfmiddlewaretoken["'][^>]*value=["']([^"']+)["']|value=["']([^"']+)["'][^>]*name=["']csrfmiddlewaretoken["']`)

// FormCSRFToken returns the csrfmiddlewaretoken of a Django form page (the
// hidden input, attributes in either order, the HTML attribute value
// unescaped as a browser would), and false when the page has none. Every
// caller that posts a Django form by hand parses the token with this.
func FormCSRFToken(page []byte) (string, bool) {
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(string(m[1]) + string(m[2])), true
}

// ErrLoginFailed means the deployment answered but did not accept the credentials.
var ErrLoginFailed = errors.New("login failed")

// Login performs the Django form login. On success the session cookie is in
// the jar and CSRFToken/SessionID return its values. Under a context with a
// Sessions store (WithSessions) a user the store already logged in gets
// that session's cookies instead of a new login (FreshSession asks for a
// new one), and login throttling is waited out within the store's bound.
func (c *Client) Login(ctx context.Context, user, password string) error {
	if s := SessionsFrom(ctx); s != nil {
		return s.login(ctx, c, user, password)
	}
	return c.login(ctx, user, password)
}

func (c *Client) login(ctx context.Context, user, password string) error {
	loginURL := c.URL(api.LoginPath)
	resp, err := c.send(ctx, http.MethodGet, loginURL, nil, nil)
	if err != nil {
		return fmt.Errorf("get login form: %w", err)
	}
	if resp.Status != http.StatusOK {
		return StatusErrorf(resp.Status, "get login form %s: status %d, want 200", loginURL, resp.Status)
	}
	token, ok := FormCSRFToken(resp.Body)
	if !ok {
		return fmt.Errorf("login form at %s has no csrfmiddlewaretoken field: is this an AHSP deployment?", loginURL)
	}
	form := url.Values{"login": {user}, "password": {password}, "csrfmiddlewaretoken": {token}}
	h := http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"Referer":      {loginURL},
	}
	resp, err = c.send(ctx, http.MethodPost, loginURL, h, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("post login: %w", err)
	}
	if resp.Status == http.StatusTooManyRequests {
		ra, _ := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		return &StatusError{Status: resp.Status, Err: ErrLoginThrottled, RetryAfter: time.Duration(max(ra, 0)) * time.Second,
			Msg: fmt.Sprintf("%v for user %q: status 429 (Retry-After %q)", ErrLoginThrottled, user, resp.Header.Get("Retry-After"))}
	}
	if resp.Status == http.StatusOK {
		// A lockout page: counted as a 429 so every login retry waits it out.
		if msg, ok := LoginThrottled(resp.Body); ok {
			return &StatusError{Status: http.StatusTooManyRequests, Err: ErrLoginThrottled,
				Msg: fmt.Sprintf("%v for user %q: status 200, the login form again with %q (a lockout, not the wrong-credentials message)", ErrLoginThrottled, user, msg)}
		}
	}
	if resp.Status != http.StatusFound && resp.Status != http.StatusSeeOther || c.SessionID() == "" {
		return &StatusError{Status: resp.Status, Err: ErrLoginFailed,
			Msg: fmt.Sprintf("%v for user %q: status %d (want 302 and a sessionid cookie)", ErrLoginFailed, user, resp.Status)}
	}
	return nil
}

func (c *Client) cookie(name string) string {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// SessionID is the sessionid cookie, empty before login.
func (c *Client) SessionID() string { return c.cookie("sessionid") }

// CSRFToken is the csrftoken cookie, sent back as X-CSRFToken on unsafe methods.
func (c *Client) CSRFToken() string { return c.cookie("csrftoken") }

// Headers returns what an authenticated API request carries: cookies, CSRF
// header and the jfetch headers. Load generators copy these into their targets.
func (c *Client) Headers() http.Header {
	h := http.Header{
		"Accept":           {"application/json"},
		"X-Requested-With": {"XMLHttpRequest"},
	}
	var parts []string
	for _, ck := range c.jar.Cookies(c.base) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) > 0 {
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	if t := c.CSRFToken(); t != "" {
		h.Set("X-CSRFToken", t)
		h.Set("Referer", c.base.String()+"/")
	}
	return h
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Elapsed is the time from sending to the end of the body.
	Elapsed time.Duration
}

// Worker is the X-Worker-Id header, empty on deployments without it.
func (r *Response) Worker() string { return r.Header.Get(api.WorkerHeader) }

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d response (%s): %w", r.Status, r.Header.Get("Content-Type"), err)
	}
	return nil
}

// Do sends an API request. body is nil, []byte, string or a value encoded as
// JSON. The jfetch headers and X-CSRFToken are added.
func (c *Client) Do(ctx context.Context, method, path string, body any) (*Response, error) {
	h := c.Headers()
	h.Del("Cookie") // the jar adds them
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			r = bytes.NewReader(b)
		case string:
			r = strings.NewReader(b)
		default:
			buf, err := json.Marshal(body)
			if err != nil {
				return nil, fmt.Errorf("encode request body: %w", err)
			}
			r = bytes.NewReader(buf)
		}
		h.Set("Content-Type", "application/json")
	}
	return c.send(ctx, method, c.URL(path), h, r)
}

// DoRaw sends a request with exactly the given headers (plus the jar's cookies).
func (c *Client) DoRaw(ctx context.Context, method, path string, h http.Header, body io.Reader) (*Response, error) {
	return c.send(ctx, method, c.URL(path), h, body)
}

func (c *Client) send(ctx context.Context, method, u string, h http.Header, body io.Reader) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", method, u, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Elapsed: time.Since(start)}, nil
}
