// Package e2e proves in a real headless Chromium that the AHSP frontend's
// notifications (toast.js, toast-wrapper.js) and error overlays
// (LoadingManager) behave as documented, on the app's own pages, including
// under injected server errors, rate limiting and lost connections.
//
// It reaches the deployment only over HTTP and the DevTools protocol, so the
// same suite runs against the reference target and the real Django app. An
// observer script injected before page load records toast and overlay
// lifecycles with timestamps; checks wait on those records and never poll.
// Each check runs in a fresh browser context and returns plain result data
// (Result, Report) with screenshots for the reports package.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/e2e/e2eresult"
	"github.com/ahsp-harness/harness/target/client"
)

// The suite's result data lives in e2eresult (no browser client), so the
// reports that hold it link no Chrome client; these aliases keep the names.
type (
	Screenshot   = e2eresult.Screenshot
	Result       = e2eresult.Result
	Report       = e2eresult.Report
	Event        = e2eresult.Event
	ConsoleEntry = e2eresult.ConsoleEntry
	Intercepted  = e2eresult.Intercepted
)

// Config selects the deployment, the user and the browser for a suite run.
type Config struct {
	// BaseURL of the deployment (scheme://host[:port]); only loopback or
	// containers this run created.
	BaseURL string
	// User logs in through the browser's login form in the login check and,
	// through target/client, once for every other check's session cookie.
	User client.Credential
	// Project is a project id the user owns; 0 takes User.Projects[0].
	Project int
	// Chromium is the browser binary; empty uses HARNESS_CHROMIUM or /usr/bin/chromium.
	Chromium string
	// CI makes a missing browser a failure instead of a skip.
	CI bool
	// Step bounds each browser action and each wait without its own deadline (default 10s).
	Step time.Duration
	// CheckTimeout bounds one check as a whole (default 45s).
	CheckTimeout time.Duration
	// Tolerance is the allowed error of measured durations (default 300ms).
	Tolerance time.Duration
	// Concurrency is how many checks run at once, each in its own tab (default 3).
	Concurrency int
	// Only runs the checks whose names match this regular expression.
	Only string
	// ScreenshotDir receives one PNG per screenshot when set.
	ScreenshotDir string
}

func (c *Config) defaults() error {
	u, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("e2e base URL %q: want scheme://host[:port]", c.BaseURL)
	}
	c.BaseURL = u.String()
	if c.Project == 0 && len(c.User.Projects) > 0 {
		c.Project = c.User.Projects[0]
	}
	if c.User.User == "" || c.Project == 0 {
		return errors.New("e2e needs a user with a password and a project id it owns (credentials of the stack, or --user/--password/--project)")
	}
	if c.Step <= 0 {
		c.Step = 10 * time.Second
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = 45 * time.Second
	}
	if c.Tolerance <= 0 {
		c.Tolerance = 300 * time.Millisecond
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 3
	}
	return nil
}

// Check is one named browser check.
type Check struct {
	Name  string
	Group string // toast, toast-wrapper, loading, flow
	Title string
	// Catches names the reference target's defect this check must fail on.
	Catches string
	// Start is the check's starting state: "project" (logged in, on the list
	// pekerjaan page), "session" (logged in, about:blank), "login" (anonymous
	// login page, which has no toast.js) or "" (anonymous, about:blank).
	Start string
	Run   func(c *C) error
}

// C is a running check: its page, the suite's environment and what it saw.
type C struct {
	*Page
	Cfg     *Config
	Session *client.Client // logged-in API client, for verifying server state

	mu       sync.Mutex
	evidence []string
	shots    []Screenshot
	icepts   []*Interceptor
}

// Evidence records one line of what the check observed.
func (c *C) Evidence(format string, args ...any) {
	c.mu.Lock()
	c.evidence = append(c.evidence, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// Shot takes a screenshot of the key moment named name.
func (c *C) Shot(name string) {
	png, err := c.Screenshot()
	if err != nil {
		c.Evidence("screenshot %s failed: %v", name, err)
		return
	}
	c.mu.Lock()
	c.shots = append(c.shots, Screenshot{Name: name, PNG: png})
	c.mu.Unlock()
}

// URL joins a path to the base URL.
func (c *C) URL(path string) string { return c.Cfg.BaseURL + path }

// Tol is the tolerance for measured durations.
func (c *C) Tol() time.Duration { return c.Cfg.Tolerance }

// Intercept is Page.Intercept, with the requests seen kept for the result.
func (c *C) Intercept(pattern string, decide func(req *network.Request) *Fulfillment) (*Interceptor, error) {
	in, err := c.Page.Intercept(pattern, decide)
	if err == nil {
		c.mu.Lock()
		c.icepts = append(c.icepts, in)
		c.mu.Unlock()
	}
	return in, err
}

// Run runs the suite's checks against cfg.BaseURL. Its error is for bad
// configuration only; a missing browser gives a skipped (or, under CI, failed)
// report and every check problem is a failed result.
func Run(ctx context.Context, cfg Config, checks []Check) (Report, error) {
	start := time.Now()
	rep := Report{BaseURL: cfg.BaseURL, Started: start}
	if err := cfg.defaults(); err != nil {
		return rep, err
	}
	rep.BaseURL = cfg.BaseURL
	if cfg.Only != "" {
		re, err := regexp.Compile(cfg.Only)
		if err != nil {
			return rep, fmt.Errorf("e2e --only %q: %w", cfg.Only, err)
		}
		var keep []Check
		for _, ch := range checks {
			if re.MatchString(ch.Name) {
				keep = append(keep, ch)
			}
		}
		if len(keep) == 0 {
			return rep, fmt.Errorf("e2e --only %q matches no check (have %s)", cfg.Only, strings.Join(Names(checks), ", "))
		}
		checks = keep
	}
	finish := func() (Report, error) {
		rep.DurationMS = ms(time.Since(start))
		return rep, nil
	}

	// abort gives every check the suite's verdict, so reports list them all.
	abort := func(st check.Status, reason string) (Report, error) {
		rep.Status, rep.Reason = st, reason
		for _, ch := range checks {
			rep.Results = append(rep.Results, Result{Name: ch.Name, Group: ch.Group, Title: ch.Title, Status: st, Reason: reason})
		}
		return finish()
	}

	path, err := ChromiumPath(cfg.Chromium)
	if err != nil {
		if cfg.CI {
			return abort(check.Fail, "CI=true: "+err.Error())
		}
		return abort(check.Skip, err.Error())
	}

	session, err := client.New(cfg.BaseURL)
	if err != nil {
		return rep, err
	}
	// A fail-closed limiter on a busy machine may answer 5xx: retry those
	// (bounded), never a refused password (the login limit counts attempts).
	for attempt := 1; attempt <= 3; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, cfg.Step)
		err = session.Login(lctx, cfg.User.User, cfg.User.Password)
		cancel()
		if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "status 5") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return abort(check.Fail, fmt.Sprintf("log in as %s at %s: %v", cfg.User.User, cfg.BaseURL, err))
	}

	b, err := StartBrowser(ctx, path, 30*time.Second)
	if err != nil {
		return abort(check.Fail, err.Error())
	}
	defer b.Close()
	rep.Browser = b.Version

	rep.Results = make([]Result, len(checks))
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Results[i] = runOne(ctx, b, &cfg, session, ch)
		}()
	}
	wg.Wait()

	sts := make([]check.Status, len(rep.Results))
	for i := range rep.Results {
		sts[i] = rep.Results[i].Status
		if cfg.ScreenshotDir != "" {
			if err := saveShots(cfg.ScreenshotDir, &rep.Results[i]); err != nil {
				return rep, err
			}
		}
	}
	rep.Status = check.Summarize(sts...)
	return finish()
}

func runOne(ctx context.Context, b *Browser, cfg *Config, session *client.Client, ch Check) Result {
	start := time.Now()
	res := Result{Name: ch.Name, Group: ch.Group, Title: ch.Title}
	fail := func(err error) Result {
		res.Status, res.Reason = check.Fail, err.Error()
		res.DurationMS = ms(time.Since(start))
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	p, err := b.NewPage(cfg.Step)
	if err != nil {
		return fail(err)
	}
	defer p.Close()
	c := &C{Page: p, Cfg: cfg, Session: session}

	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		if err := c.open(ch.Start); err != nil {
			done <- err
			return
		}
		done <- ch.Run(c)
	}()
	var runErr error
	timer := time.NewTimer(cfg.CheckTimeout)
	select {
	case runErr = <-done:
	case <-timer.C:
		runErr = fmt.Errorf("check did not finish within %s", cfg.CheckTimeout)
		c.Shot("timeout")
		p.Close() // ends every pending wait and browser call of the check
		<-done
	case <-ctx.Done():
		runErr = ctx.Err()
		p.Close()
		<-done
	}
	timer.Stop()

	unexpected := p.Unexpected()
	switch {
	case runErr != nil:
		res.Status, res.Reason = check.Fail, runErr.Error()
	case len(unexpected) > 0:
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("unexpected %s in the page: %s", unexpected[0].Kind, short(unexpected[0].Text))
		if n := len(unexpected) - 1; n > 0 {
			res.Reason += fmt.Sprintf(" (and %d more)", n)
		}
	default:
		res.Status = check.Pass
	}
	if res.Status == check.Fail && p.ctx.Err() == nil {
		c.Shot("failure")
	}
	c.mu.Lock()
	res.Evidence = c.evidence
	res.Screenshots = c.shots
	for _, in := range c.icepts {
		res.Intercepted = append(res.Intercepted, in.Seen()...)
	}
	c.mu.Unlock()
	p.mu.Lock()
	res.Evidence = append(res.Evidence, p.notes...)
	p.mu.Unlock()
	res.Console = p.Console()
	res.Events = p.Events()
	res.DurationMS = ms(time.Since(start))
	return res
}

// open puts the check's page in its starting state.
func (c *C) open(start string) error {
	switch start {
	case "":
		return nil
	case "login":
		return c.Navigate(c.URL(loginPath))
	case "session":
		return c.UseSession()
	case "project":
		if err := c.UseSession(); err != nil {
			return err
		}
		return c.OpenPage("list-pekerjaan")
	default:
		return fmt.Errorf("check start %q: want project, session, login or empty", start)
	}
}

// UseSession copies the suite's logged-in session cookies into this check's
// browser context, so checks other than the login flow skip the form (and the
// login rate limit).
func (c *C) UseSession() error {
	u, _ := url.Parse(c.Cfg.BaseURL)
	cookies := map[string]string{}
	for _, ck := range c.Session.HTTP().Jar.Cookies(u) {
		cookies[ck.Name] = ck.Value
	}
	if len(cookies) == 0 {
		return errors.New("the suite's session has no cookies: login did not set sessionid")
	}
	return c.SetCookies(c.Cfg.BaseURL, cookies)
}

func saveShots(dir string, r *Result) error {
	if len(r.Screenshots) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create screenshot dir: %w", err)
	}
	for i := range r.Screenshots {
		s := &r.Screenshots[i]
		name := fileSafe(r.Name + "-" + s.Name + ".png")
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, s.PNG, 0o644); err != nil {
			return fmt.Errorf("write screenshot: %w", err)
		}
		s.Path = p
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Names lists check names.
func Names(checks []Check) []string {
	out := make([]string, len(checks))
	for i, c := range checks {
		out[i] = c.Name
	}
	return out
}
