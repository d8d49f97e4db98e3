package e2e

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// readyJS resolves once toast.js has installed window.DP.toast and the
// document has loaded: it waits on the page's own events, not a timer loop.
const readyJS = `new Promise(function (resolve) {
  function done() { return window.DP && window.DP.toast && document.readyState === 'complete'; }
  if (done()) return resolve(true);
  function check() { if (done()) resolve(true); }
  document.addEventListener('dp:toast-ready', check);
  window.addEventListener('load', check);
  document.addEventListener('readystatechange', check);
})`

// OpenPage loads a configured project page (e2e.pages.routes) of the
// configured project and waits until it is ready and settled.
func (c *C) OpenPage(page string) error {
	return c.openProjectPage(page, c.Cfg.Project, "")
}

// errPageLoad marks a page whose own data load failed.
var errPageLoad = errors.New("the page's own data load failed, so the check cannot run")

// openProjectPage loads a project page, waits for toast.js and for the
// page's own requests. The initial load is not what a check tests, so a load
// that failed on the server side is reloaded once (noted in the evidence).
func (c *C) openProjectPage(pageName string, pid int, query string) error {
	err := c.loadProjectPage(pageName, pid, query)
	if errors.Is(err, errPageLoad) {
		c.Evidence("first load of the %s page failed, reloading once: %v", pageName, err)
		c.resetFailures()
		err = c.loadProjectPage(pageName, pid, query)
	}
	return err
}

func (c *C) loadProjectPage(pageName string, pid int, query string) error {
	path := c.Cfg.Pages.Path(pageName, pid)
	if path == "" {
		return &skipError{fmt.Sprintf("page %q has no route in e2e.pages.routes (have %s)", pageName, strings.Join(c.Cfg.Pages.PageNames(), ", "))}
	}
	u := c.URL(path) + query
	cur := c.Cursor()
	if err := c.navigateLoggedIn(u); err != nil {
		return err
	}
	if loc, err := c.Location(); err != nil {
		return err
	} else if !strings.HasPrefix(loc, c.URL(path)) {
		return fmt.Errorf("open %s: the browser ended at %s", u, loc)
	}
	if _, err := Eval[bool](c.Page, readyJS); err != nil {
		return fmt.Errorf("open %s: toast.js never became ready (window.DP.toast missing): %w", u, err)
	}
	return c.settlePage(cur)
}

// navigateLoggedIn opens u with the suite's session. A bounce to the login
// page (the session lives in another worker) is answered by logging in
// through that login form, in this browser, so the new session lives where
// the browser's connection goes; bounded, then the check is inconclusive.
func (c *C) navigateLoggedIn(u string) error {
	if err := c.Navigate(u); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		loc, err := c.Location()
		if err != nil {
			return err
		}
		if !c.Session.isLogin(loc) {
			if attempt > 1 {
				c.Evidence("%s: bounced to the login page, logged in again through the form %d time(s)", u, attempt-1)
			}
			return nil
		}
		if attempt > bounceRetries {
			return fmt.Errorf("%w: opening %s ended at %s %d times", errSessionBounced, u, loc, attempt)
		}
		// The same session first: the next connections go to the other
		// workers in turn, one of which holds it.
		if ok, err := c.renavigate(u); err != nil {
			return err
		} else if ok {
			c.Evidence("%s: bounced to the login page, reached with the same session on a later try", u)
			return nil
		}
		if err := c.Session.browserLogin(); err != nil {
			return err
		}
		if err := c.submitLogin(); err != nil {
			c.Session.browserLoginFailed(err.Error())
			return fmt.Errorf("%w; logging in again through the form failed: %v", errSessionBounced, err)
		}
		// Back on the login page without an error: the login worked and the
		// redirect reached a worker without the session; the loop retries.
	}
}

// renavigate opens u again with the browser's session, up to
// sameSessionTries times; it reports whether a try did not end on the login
// page.
func (c *C) renavigate(u string) (bool, error) {
	for try := 0; try < sameSessionTries; try++ {
		if err := c.Navigate(u); err != nil {
			return false, err
		}
		loc, err := c.Location()
		if err != nil {
			return false, err
		}
		if !c.Session.isLogin(loc) {
			return true, nil
		}
	}
	return false, nil
}

// loginErrorJS reads the error a login form shows (allauth's .alert-danger,
// Django's errorlist, the reference target's #login-error).
const loginErrorJS = `(function () { var e = document.querySelector('.alert-danger, .errorlist, #login-error, form [role="alert"]'); return e ? e.textContent.trim() : ''; })()`

// submitLogin fills and submits the login form the browser is on and waits
// for the next page.
func (c *C) submitLogin() error {
	if err := c.Do(
		chromedp.SendKeys(chromedp.CSS(`form input[name="login"]`), c.Cfg.User.User),
		chromedp.SendKeys(chromedp.CSS(`form input[name="password"]`), c.Cfg.User.Password),
	); err != nil {
		return fmt.Errorf("fill the login form: %w", err)
	}
	ctx, cancel := c.stepCtx(0)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`form button[type="submit"], form input[type="submit"]`)))); err != nil {
		return fmt.Errorf("submit the login form: %w", err)
	}
	loc, err := c.Location()
	if err != nil {
		return err
	}
	if c.Session.isLogin(loc) {
		if msg, _ := Eval[string](c.Page, loginErrorJS); msg != "" {
			return fmt.Errorf("the login form refused the login: %q", msg)
		}
	}
	return nil
}

// settlePage waits for the page's own data loads and fails when the page
// reported a problem while loading, so that a check never blames a component
// for an unhealthy deployment (and page toasts never mix with the check's).
func (c *C) settlePage(cur int) error {
	if err := c.WaitIdle(250*time.Millisecond, c.Cfg.Step); err != nil {
		return fmt.Errorf("page load: %w", err)
	}
	if t := c.trouble(cur); t != "" {
		if b := c.Bounces(); len(b) > 0 {
			return fmt.Errorf("%w (%w: %d request(s) redirected to the login page, e.g. %s): %s", errPageLoad, errSessionBounced, len(b), b[0], t)
		}
		return fmt.Errorf("%w: %s", errPageLoad, t)
	}
	return nil
}

// trouble summarises the error toasts and overlays the page showed since
// cursor and the page's failed requests, for failure reasons.
func (c *C) trouble(cur int) string {
	var parts []string
	evs := c.Events()
	if cur > len(evs) {
		cur = len(evs)
	}
	for _, e := range evs[cur:] {
		switch {
		case e.Kind == "toast-added" && (e.HasClass("dp-toast-error") || e.HasClass("dp-toast-warning")):
			parts = append(parts, fmt.Sprintf("toast %q %q", e.Title, e.Text))
		case e.Kind == "overlay-added" && len(e.Buttons) > 0:
			parts = append(parts, fmt.Sprintf("error overlay %q %q", e.Title, e.Text))
		}
	}
	if f := c.Failures(); len(f) > 0 {
		parts = append(parts, "failed requests: "+strings.Join(f, "; "))
	}
	return strings.Join(parts, "; ")
}

// withTrouble adds what the page showed since cursor to err.
func (c *C) withTrouble(cur int, err error) error {
	if t := c.trouble(cur); t != "" {
		return fmt.Errorf("%w (the page showed: %s)", err, t)
	}
	return err
}

// since is the time between two page-clock events.
func since(from, to Event) time.Duration {
	return time.Duration((to.At - from.At) * float64(time.Millisecond))
}
