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
	// Pages describes the deployment's pages; missing fields take DefaultPages.
	Pages Pages
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
	pages, err := c.Pages.Merged()
	if err != nil {
		return err
	}
	c.Pages = pages
	return nil
}

// Check is one named browser check.
type Check struct {
	Name  string
	Group string // toast, toast-wrapper, loading, flow
	Title string
	// Catches names the reference target's defects this check must fail on (comma list).
	Catches string
	// Start is the check's starting state: "project" (logged in, on the
	// component page, list-pekerjaan by default), "component:<script>" (the
	// component page when a page of the deployment loads that script, else a
	// harness-owned page on the deployment's origin that loads toast.js),
	// "session" (logged in, about:blank), "login" (anonymous login page,
	// which has no toast.js) or "" (anonymous, about:blank).
	Start string
	// Exclusive checks run alone after the others (they change shared data).
	Exclusive bool
	Run       func(c *C) error
}

// C is a running check: its page, the suite's environment and what it saw.
type C struct {
	*Page
	Cfg     *Config
	Session *session // logged-in API client, for verifying server state
	Suite   *suiteState

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

	sess := newSession(cfg.BaseURL, cfg.Pages.Login, cfg.User, cfg.Step)
	if err := sess.login(ctx); err != nil {
		return abort(check.Fail, err.Error())
	}

	b, err := StartBrowser(ctx, path, 30*time.Second)
	if err != nil {
		return abort(check.Fail, err.Error())
	}
	defer b.Close()
	rep.Browser = b.Version

	suite := &suiteState{}
	if needsDiscovery(checks) {
		suite.discover(ctx, b, &cfg, sess)
	}
	rep.Results = make([]Result, len(checks))
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	for i, ch := range checks {
		if ch.Exclusive {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep.Results[i] = runOne(ctx, b, &cfg, sess, suite, ch)
		}()
	}
	wg.Wait()
	for i, ch := range checks {
		if ch.Exclusive {
			rep.Results[i] = runOne(ctx, b, &cfg, sess, suite, ch)
		}
	}
	if logins, bounces := sess.Stats(); bounces > 0 {
		rep.Reason = fmt.Sprintf("the deployment sent the suite's session to the login page %d times (sessions kept per worker?); the suite logged in %d times", bounces, logins)
	}

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

func runOne(ctx context.Context, b *Browser, cfg *Config, sess *session, suite *suiteState, ch Check) Result {
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
		// The browser did not give the check a tab: nothing was measured.
		res.Status, res.Reason = check.Error, err.Error()
		res.DurationMS = ms(time.Since(start))
		return res
	}
	defer p.Close()
	p.loginPath = cfg.Pages.Login
	c := &C{Page: p, Cfg: cfg, Session: sess, Suite: suite}

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
		if b := p.Bounces(); len(b) > 0 {
			// Its time went to pages sent back to login and loaded again.
			runErr = fmt.Errorf("%w %d times during the check (e.g. %s), which did not finish within %s", errSessionBounced, len(b), b[0], cfg.CheckTimeout)
		}
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
	var skip *skipError
	switch {
	case errors.As(runErr, &skip):
		res.Status, res.Reason = check.Skip, skip.reason
	case errors.Is(runErr, errSessionBounced) || errors.Is(runErr, errCannotMeasure):
		res.Status, res.Reason = check.Inconclusive, runErr.Error()
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
		return c.Navigate(c.URL(c.Cfg.Pages.Login))
	case "session":
		return c.UseSession()
	case "project":
		return c.openComponentPage()
	}
	if script, ok := strings.CutPrefix(start, "component:"); ok {
		if c.Suite.unused(script) {
			return c.openHarnessPage(script, "no page of the deployment loads "+c.Cfg.Pages.Scripts[script]+" (see pages.ui-scripts)")
		}
		return c.openComponentPage()
	}
	return fmt.Errorf("check start %q: want project, component:<script>, session, login or empty", start)
}

// openComponentPage opens the configured component page logged in. Its own
// data loads are not what a component check tests: when the deployment
// bounced them to the login page, the page is still usable for the
// components and the bounce is noted.
func (c *C) openComponentPage() error {
	if err := c.UseSession(); err != nil {
		return err
	}
	err := c.OpenPage(c.Cfg.Pages.ComponentPage)
	switch {
	case errors.Is(err, errSessionBounced) && errors.Is(err, errPageLoad):
		c.Evidence("the page's own data loads were bounced to the login page (%v); the components are tested on the page as loaded", err)
		c.resetFailures()
		return c.clearToasts()
	case errors.Is(err, errSessionBounced):
		c.Evidence("the %s page could not be opened logged in (%v)", c.Cfg.Pages.ComponentPage, err)
		return c.openHarnessPage("toast", "the deployment kept sending the session to the login page")
	}
	return err
}

// skipError marks a check deliberately not run.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// errCannotMeasure marks a check that ran but could not measure its claim.
var errCannotMeasure = errors.New("could not measure")

// UseSession copies the suite's logged-in session cookies into this check's
// browser context, so checks other than the login flow skip the form (and the
// login rate limit).
func (c *C) UseSession() error {
	cookies, _ := c.Session.cookies()
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
