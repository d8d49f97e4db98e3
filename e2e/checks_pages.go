package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
)

// PageChecks are the checks of the deployment's pages as a whole: routes and
// app roots, which component scripts the pages load, and stored text shown
// escaped on every page.
func PageChecks() []Check {
	return []Check{
		{Name: "pages.routes", Group: "pages", Run: pagesRoutes,
			Title: "every configured page (e2e.pages.routes) opens for the logged-in owner with its app root"},
		{Name: "pages.ui-scripts", Group: "pages", Run: pagesUIScripts, Catches: "unused-ui-scripts",
			Title: "the components under test (toast-wrapper.js, loading.js) are loaded by at least one page"},
		{Name: "pages.stored-text", Group: "pages", Start: "session", Run: pagesStoredText, Exclusive: true, Catches: "unescaped-stored",
			Title: "text stored through the API (names, uraian, satuan, detail rows, harga items) comes back as text on every page"},
	}
}

// componentScripts are the scripts the component checks test, by
// e2e.pages.scripts key.
var componentScripts = []string{"toast", "toast_wrapper", "loading"}

// pageSeen is what discovery saw on one configured page.
type pageSeen struct {
	Name    string
	Path    string
	Problem string // "" when the page opened
	Bounced bool   // the problem is a bounce to the login page
	Root    string // the app-root selector ("" = none configured)
	HasRoot bool
	Scripts []string // paths of the scripts the page requested
}

// suiteState is what the suite discovered before the checks ran: the pages
// and the scripts they load, and whether each component script is served.
type suiteState struct {
	mu     sync.Mutex
	cfg    *Config
	ran    bool
	pages  []pageSeen
	served map[string]string // script key -> "200" or the problem
}

func needsDiscovery(checks []Check) bool {
	for _, ch := range checks {
		if ch.Group == "pages" || strings.HasPrefix(ch.Start, "component:") {
			return true
		}
	}
	return false
}

// discover opens every configured page once, in one tab, and records the
// scripts each requests (modules and dynamic imports included). Bounded by
// the step deadline per page.
func (s *suiteState) discover(ctx context.Context, b *Browser, cfg *Config, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ran, s.cfg = true, cfg
	s.served = map[string]string{}
	for _, key := range componentScripts {
		s.served[key] = fetchStatus(ctx, sess, cfg.Pages.Scripts[key])
	}
	p, err := b.NewPage(cfg.Step)
	if err != nil {
		for _, name := range cfg.Pages.PageNames() {
			s.pages = append(s.pages, pageSeen{Name: name, Problem: err.Error()})
		}
		return
	}
	defer p.Close()
	p.loginPath = cfg.Pages.Login
	c := &C{Page: p, Cfg: cfg, Session: sess, Suite: s}
	if err := c.UseSession(); err != nil {
		s.pages = append(s.pages, pageSeen{Name: "(all)", Problem: err.Error()})
		return
	}
	for _, name := range cfg.Pages.PageNames() {
		seen := pageSeen{Name: name, Path: cfg.Pages.Path(name, cfg.Project), Root: cfg.Pages.Roots[name]}
		from := len(p.Scripts())
		err := c.navigateLoggedIn(c.URL(seen.Path))
		if err == nil {
			err = c.pageLoaded(seen.Path)
		}
		if err != nil {
			seen.Problem, seen.Bounced = err.Error(), errors.Is(err, errSessionBounced)
			s.pages = append(s.pages, seen)
			continue
		}
		if seen.Root != "" {
			seen.HasRoot, _ = Eval[bool](p, fmt.Sprintf(`!!document.querySelector(%s)`, js(seen.Root)))
		}
		for _, u := range p.Scripts()[from:] {
			if pu, err := url.Parse(u); err == nil {
				seen.Scripts = append(seen.Scripts, pu.Path)
			}
		}
		s.pages = append(s.pages, seen)
	}
}

// pageLoaded waits for the load event and the page's first requests, so the
// scripts a module imports at start are requested.
func (c *C) pageLoaded(path string) error {
	loc, err := c.Location()
	if err != nil {
		return err
	}
	if u, err := url.Parse(loc); err != nil || u.Path != path {
		return fmt.Errorf("%s ended at %s", path, loc)
	}
	if _, err := Eval[bool](c.Page, `new Promise(function (r) { if (document.readyState === 'complete') r(true); else window.addEventListener('load', function () { r(true); }); })`); err != nil {
		return fmt.Errorf("%s never finished loading: %w", path, err)
	}
	return c.WaitIdle(250*time.Millisecond, c.Cfg.Step)
}

// fetchStatus GETs a static path without following redirects.
func fetchStatus(ctx context.Context, sess *session, path string) string {
	if path == "" {
		return "not configured"
	}
	rctx, cancel := context.WithTimeout(ctx, sess.step)
	defer cancel()
	resp, err := sess.client().Do(rctx, http.MethodGet, path, nil)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(resp.Status)
}

// loadedBy lists the pages that requested the script with key.
func (s *suiteState) loadedBy(cfg *Config, key string) []string {
	var out []string
	for _, p := range s.pages {
		if slices.Contains(p.Scripts, cfg.Pages.Scripts[key]) {
			out = append(out, p.Name)
		}
	}
	return out
}

// visited counts the pages discovery could open.
func (s *suiteState) visited() int {
	n := 0
	for _, p := range s.pages {
		if p.Problem == "" {
			n++
		}
	}
	return n
}

// unusedKeys are the component scripts served (200) that no opened page
// loads; empty when discovery did not run or opened no page.
func (s *suiteState) unusedKeys(cfg *Config) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ran || s.visited() == 0 {
		return nil
	}
	var out []string
	for _, key := range componentScripts {
		if s.served[key] == "200" && len(s.loadedBy(cfg, key)) == 0 {
			out = append(out, key)
		}
	}
	return out
}

// unused reports whether the script with key is served but loaded by no page.
func (s *suiteState) unused(key string) bool {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	return cfg != nil && slices.Contains(s.unusedKeys(cfg), key)
}

// harnessPagePath is the harness-owned page: the browser asks the
// deployment's origin for it and the harness answers through request
// interception, so the deployment never sees the request and the page's
// scripts load from the deployment, same origin.
const harnessPagePath = "/__harness__/e2e-component/"

// openHarnessPage opens the harness-owned page that loads toast.js, for a
// component no page of the deployment loads (or no page could be opened).
func (c *C) openHarnessPage(key, why string) error {
	html := fmt.Sprintf(`<!DOCTYPE html><html lang="id"><head><meta charset="utf-8"><title>harness component page</title></head>`+
		`<body data-page="harness"><main>harness-owned page for %s</main><script src=%q></script></body></html>`, key, c.Cfg.Pages.Scripts["toast"])
	if _, err := c.Intercept("*"+harnessPagePath+"*", func(*network.Request) *Fulfillment {
		return &Fulfillment{Status: 200, Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: html}
	}); err != nil {
		return err
	}
	if err := c.Navigate(c.URL(harnessPagePath)); err != nil {
		return err
	}
	if _, err := Eval[bool](c.Page, readyJS); err != nil {
		return fmt.Errorf("harness-owned page: toast.js (%s) never became ready: %w", c.Cfg.Pages.Scripts["toast"], err)
	}
	c.Evidence("%s: tested on a harness-owned page on the deployment's origin that loads only %s", why, c.Cfg.Pages.Scripts["toast"])
	return nil
}

func pagesRoutes(c *C) error {
	c.Suite.mu.Lock()
	pages := slices.Clone(c.Suite.pages)
	c.Suite.mu.Unlock()
	var fails, bounced []string
	for _, p := range pages {
		switch {
		case p.Bounced:
			bounced = append(bounced, fmt.Sprintf("%s (%s)", p.Name, p.Problem))
		case p.Problem != "":
			fails = append(fails, fmt.Sprintf("%s %s: %s", p.Name, p.Path, p.Problem))
		case p.Root != "" && !p.HasRoot:
			fails = append(fails, fmt.Sprintf("%s %s has no app root %s", p.Name, p.Path, p.Root))
		default:
			c.Evidence("%s %s opened, app root %q, %d scripts", p.Name, p.Path, p.Root, len(p.Scripts))
		}
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	if len(bounced) > 0 {
		return fmt.Errorf("%w: %s", errSessionBounced, strings.Join(bounced, "; "))
	}
	if len(pages) == 0 {
		return fmt.Errorf("%w: no page configured", errCannotMeasure)
	}
	return nil
}

func pagesUIScripts(c *C) error {
	c.Suite.mu.Lock()
	visited, total := c.Suite.visited(), len(c.Suite.pages)
	var problems []string
	for _, key := range componentScripts[1:] {
		path := c.Cfg.Pages.Scripts[key]
		by := c.Suite.loadedBy(c.Cfg, key)
		served := c.Suite.served[key]
		c.Evidence("%s: served %s, loaded by %v", path, served, by)
		switch {
		case served != "200":
			problems = append(problems, fmt.Sprintf("%s is not served (GET: %s)", path, served))
		case len(by) == 0:
			problems = append(problems, fmt.Sprintf("%s is served (200) but not loaded by any page", path))
		}
	}
	c.Suite.mu.Unlock()
	if visited == 0 {
		return fmt.Errorf("%w: no page could be opened (%d configured)", errCannotMeasure, total)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s (%d of %d pages visited); their checks ran on a harness-owned page", strings.Join(problems, "; "), visited, total)
	}
	return nil
}
