package e2e

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

const loginPath = api.LoginPath

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

// OpenPage loads a project page (list-pekerjaan, volume, detail-ahsp, rekap)
// of the configured project and waits until it is ready and settled.
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
	u := c.URL(api.PagePath(pageName, pid)) + query
	cur := c.Cursor()
	if err := c.Navigate(u); err != nil {
		return err
	}
	if loc, err := c.Location(); err != nil {
		return err
	} else if !strings.HasPrefix(loc, c.URL(api.PagePath(pageName, pid))) {
		return fmt.Errorf("open %s: the browser ended at %s (session not accepted?)", u, loc)
	}
	if _, err := Eval[bool](c.Page, readyJS); err != nil {
		return fmt.Errorf("open %s: toast.js never became ready (window.DP.toast missing): %w", u, err)
	}
	return c.settlePage(cur)
}

// settlePage waits for the page's own data loads and fails when the page
// reported a problem while loading, so that a check never blames a component
// for an unhealthy deployment (and page toasts never mix with the check's).
func (c *C) settlePage(cur int) error {
	if err := c.WaitIdle(250*time.Millisecond, c.Cfg.Step); err != nil {
		return fmt.Errorf("page load: %w", err)
	}
	if t := c.trouble(cur); t != "" {
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
