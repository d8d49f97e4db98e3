package e2e

import (
	"fmt"
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
// and waits until toast.js is ready.
func (c *C) OpenPage(page string) error {
	u := c.URL(api.PagePath(page, c.Cfg.Project))
	if err := c.Navigate(u); err != nil {
		return err
	}
	loc, err := c.Location()
	if err != nil {
		return err
	}
	if loc != u {
		return fmt.Errorf("open %s: the browser ended at %s (session not accepted?)", u, loc)
	}
	if _, err := Eval[bool](c.Page, readyJS); err != nil {
		return fmt.Errorf("open %s: toast.js never became ready (window.DP.toast missing): %w", u, err)
	}
	return nil
}

// since is the time between two page-clock events.
func since(from, to Event) time.Duration {
	return time.Duration((to.At - from.At) * float64(time.Millisecond))
}
