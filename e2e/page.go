package e2e

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed observer.js
var observerJS string

const bindingName = "__e2eEmit"

// Page is one tab in its own browser context, with the observer installed.
type Page struct {
	ctx    context.Context // the tab's lifetime; steps derive deadlines from it
	cancel context.CancelFunc
	step   time.Duration

	mu       sync.Mutex
	events   []Event
	console  []ConsoleEntry
	changed  chan struct{}
	expected []*regexp.Regexp
	notes    []string
	// The page's own API traffic (fetch/XHR), for settling and for naming
	// failed requests in a check's reason.
	inflight map[network.RequestID]string
	requests map[network.RequestID]string
	failures []string
	// loginPath marks redirects to the login page (bounces); scripts are
	// the script URLs the page requested (modules and dynamic imports too).
	loginPath string
	bounces   []string
	scripts   []string
}

// NewPage opens a tab in a fresh browser context (no cookies, no storage from
// other checks) and installs the observer before any document loads. step
// bounds every later action that has no deadline of its own.
func (b *Browser) NewPage(step time.Duration) (*Page, error) {
	pctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &Page{ctx: pctx, cancel: cancel, step: step, changed: make(chan struct{}),
		inflight: map[network.RequestID]string{}, requests: map[network.RequestID]string{}}
	// The first Run creates the tab and binds it to pctx, so it gets no
	// deadline; a watchdog bounds it instead.
	err := bounded(step, cancel, func() error {
		if err := chromedp.Listen(pctx, p.onEvent); err != nil {
			return err
		}
		return chromedp.Do(pctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, runtime.Enable, cdp.Empty{}); err != nil {
				return fmt.Errorf("enable runtime: %w", err)
			}
			if _, err := cdp.Call(ctx, t, log.Enable, cdp.Empty{}); err != nil {
				return fmt.Errorf("enable log: %w", err)
			}
			if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
				return fmt.Errorf("enable network: %w", err)
			}
			if _, err := cdp.Call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: bindingName}); err != nil {
				return fmt.Errorf("add binding: %w", err)
			}
			if _, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: observerJS}); err != nil {
				return fmt.Errorf("inject observer: %w", err)
			}
			return nil
		}))
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open tab: %w", err)
	}
	return p, nil
}

// bounded runs fn and gives up after d, calling stop so fn's work ends too.
func bounded(d time.Duration, stop func(), fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		stop()
		return fmt.Errorf("no answer within %s", d)
	}
}

// Close closes the tab and disposes its browser context.
func (p *Page) Close() { p.cancel() }

// onEvent runs on chromedp's reader goroutine: record and return, never block.
func (p *Page) onEvent(ev any) {
	switch e := ev.(type) {
	case *runtime.EventBindingCalled:
		if e.Name != bindingName {
			return
		}
		var rec Event
		if err := json.Unmarshal([]byte(e.Payload), &rec); err != nil {
			p.note("observer sent a bad record: %v", err)
			return
		}
		p.mu.Lock()
		p.events = append(p.events, rec)
		p.broadcast()
		p.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		p.addConsole(ConsoleEntry{Kind: "console", Level: string(e.Type), Text: argsText(e.Args), URL: stackURL(e.StackTrace)})
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.addConsole(ConsoleEntry{Kind: "exception", Level: "error", Text: text, URL: d.URL})
	case *network.EventRequestWillBeSent:
		if e.RedirectResponse != nil && p.loginPath != "" && e.Request != nil {
			if u, err := url.Parse(e.Request.URL); err == nil && strings.HasPrefix(u.Path, p.loginPath) {
				p.mu.Lock()
				p.bounces = append(p.bounces, fmt.Sprintf("%s %s", e.Type, e.RedirectResponse.URL))
				if what, ok := p.inflight[e.RequestID]; ok {
					// The page has its answer (the bounce); a script that does
					// not read the login page's body must not keep it in flight.
					delete(p.inflight, e.RequestID)
					p.failures = append(p.failures, fmt.Sprintf("%s was redirected to the login page", what))
					p.broadcast()
				}
				p.mu.Unlock()
				return
			}
		}
		if e.Type == network.ResourceTypeScript && e.Request != nil {
			p.mu.Lock()
			p.scripts = append(p.scripts, e.Request.URL)
			p.mu.Unlock()
		}
		if e.Type == network.ResourceTypeFetch || e.Type == network.ResourceTypeXHR {
			p.mu.Lock()
			what := e.Request.Method + " " + e.Request.URL
			p.inflight[e.RequestID] = what
			p.requests[e.RequestID] = what
			p.broadcast()
			p.mu.Unlock()
		}
	case *network.EventResponseReceived:
		if e.Response != nil && e.Response.Status >= 400 {
			p.mu.Lock()
			if what, ok := p.requests[e.RequestID]; ok {
				p.failures = append(p.failures, fmt.Sprintf("%s answered %d", what, e.Response.Status))
			}
			p.mu.Unlock()
		}
	case *network.EventLoadingFinished:
		p.settle(e.RequestID, "")
	case *network.EventLoadingFailed:
		p.settle(e.RequestID, e.ErrorText)
	case *log.EventEntryAdded:
		if e.Entry != nil {
			p.addConsole(ConsoleEntry{Kind: "browser", Level: string(e.Entry.Level), Text: e.Entry.Text, URL: e.Entry.URL})
		}
	}
}

// broadcast wakes every waiter; p.mu must be held.
func (p *Page) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Page) settle(id network.RequestID, errText string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	what, ok := p.inflight[id]
	if !ok {
		return
	}
	delete(p.inflight, id)
	if errText != "" {
		p.failures = append(p.failures, fmt.Sprintf("%s failed: %s", what, errText))
	}
	p.broadcast()
}

// Bounces lists the requests redirected to the login page.
func (p *Page) Bounces() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bounces...)
}

// Scripts lists the script URLs the page requested so far.
func (p *Page) Scripts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.scripts...)
}

// Failures lists the page's fetch/XHR requests that answered >= 400 or failed.
func (p *Page) Failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.failures...)
}

func (p *Page) resetFailures() {
	p.mu.Lock()
	p.failures = nil
	p.bounces = nil
	p.mu.Unlock()
}

// WaitIdle waits until the page has had no fetch/XHR in flight for quiet,
// giving up after d: a page's initial data loads are then done.
func (p *Page) WaitIdle(quiet, d time.Duration) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		n, ch := len(p.inflight), p.changed
		var pending []string
		for _, w := range p.inflight {
			pending = append(pending, w)
		}
		p.mu.Unlock()
		var settled <-chan time.Time
		var quietTimer *time.Timer
		if n == 0 {
			quietTimer = time.NewTimer(quiet)
			settled = quietTimer.C
		}
		var err error
		done := false
		select {
		case <-settled:
			done = true
		case <-ch:
		case <-deadline.C:
			done, err = true, fmt.Errorf("the page's requests did not finish within %s: %s", d, strings.Join(pending, ", "))
		case <-p.ctx.Done():
			done, err = true, p.ctx.Err()
		}
		if quietTimer != nil {
			quietTimer.Stop()
		}
		if done {
			return err
		}
	}
}

func (p *Page) addConsole(c ConsoleEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, re := range p.expected {
		if re.MatchString(c.Text) {
			c.Expected = true
		}
	}
	p.console = append(p.console, c)
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else {
				parts = append(parts, string(a.Value))
			}
		case a.UnserializableValue != "":
			parts = append(parts, string(a.UnserializableValue))
		default:
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

func stackURL(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf("%s:%d", f.URL, f.LineNumber+1)
}

func (p *Page) note(format string, args ...any) {
	p.mu.Lock()
	p.notes = append(p.notes, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// Expect marks console errors and exceptions whose text matches pattern as
// expected, including ones already recorded.
func (p *Page) Expect(pattern string) {
	re := regexp.MustCompile(pattern)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = append(p.expected, re)
	for i := range p.console {
		if re.MatchString(p.console[i].Text) {
			p.console[i].Expected = true
		}
	}
}

// Console returns every console entry so far.
func (p *Page) Console() []ConsoleEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ConsoleEntry(nil), p.console...)
}

// Unexpected returns the exceptions and console errors no check expected.
func (p *Page) Unexpected() []ConsoleEntry {
	var out []ConsoleEntry
	for _, c := range p.Console() {
		if c.Fails() && !c.Expected {
			out = append(out, c)
		}
	}
	return out
}

// Events returns every observer record so far.
func (p *Page) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Cursor is a position in the event log; Wait looks only at later events.
func (p *Page) Cursor() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// ErrTimeout is returned by waits that ran out of time.
var ErrTimeout = errors.New("timed out")

// Wait blocks until an event at or after cursor matches, or d passes. It is
// woken by each record the observer pushes; it never polls the page.
func (p *Page) Wait(cursor int, d time.Duration, what string, match func(Event) bool) (Event, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for ; cursor < len(p.events); cursor++ {
			if match(p.events[cursor]) {
				ev := p.events[cursor]
				p.mu.Unlock()
				return ev, nil
			}
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return Event{}, fmt.Errorf("wait for %s: %w after %s", what, ErrTimeout, d)
		case <-p.ctx.Done():
			return Event{}, fmt.Errorf("wait for %s: %w", what, p.ctx.Err())
		}
	}
}

// Quiet waits d and returns the first event matching match in that time, if
// any: for asserting that something does not happen (an overlay stays).
func (p *Page) Quiet(cursor int, d time.Duration, match func(Event) bool) (Event, bool) {
	ev, err := p.Wait(cursor, d, "", match)
	return ev, err == nil
}

func (p *Page) stepCtx(d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = p.step
	}
	return context.WithTimeout(p.ctx, d)
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(url string) error {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("navigate to %s: %w", url, err)
	}
	return nil
}

// Location is the tab's current URL.
func (p *Page) Location() (string, error) {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Location())
}

// Do runs chromedp actions with the step deadline.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Eval evaluates a JavaScript expression in the page (awaiting a returned
// promise) and decodes the result into T, within the page's step deadline.
func Eval[T any](p *Page, expr string) (T, error) {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		var zero T
		return zero, fmt.Errorf("evaluate %s: %w", short(expr), err)
	}
	return v, nil
}

// Exec evaluates expr for its side effects.
func (p *Page) Exec(expr string) error {
	_, err := Eval[chromedp.Void](p, expr)
	return err
}

// Mark records a named point on the page clock, between DOM events.
func (p *Page) Mark(name string) error {
	return p.Exec(fmt.Sprintf("window.__e2e && window.__e2e.mark(%q)", name))
}

// Screenshot captures the viewport as PNG.
func (p *Page) Screenshot() ([]byte, error) {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// Click clicks the first element matching the CSS selector once it is visible.
func (p *Page) Click(sel string) error {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	return nil
}

// SetCookies puts cookies (name -> value) for baseURL into this tab's
// browser context, e.g. a session obtained by target/client.
func (p *Page) SetCookies(baseURL string, cookies map[string]string) error {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	for name, value := range cookies {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: baseURL + "/"}); err != nil {
			return fmt.Errorf("set cookie %s: %w", name, err)
		}
	}
	return nil
}

// SetOffline switches the tab's network emulation off or on line. Chromium
// 15x takes it as a rule (emulateNetworkConditionsByRule with offline in the
// conditions); older ones, Debian's 148 among them, reject that shape and
// take the deprecated emulateNetworkConditions.
func (p *Page) SetOffline(offline bool) error {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	params := network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
	}}}
	_, errRule := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, params)
	if errRule == nil {
		return nil
	}
	legacy := legacyConditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}
	if _, err := chromedp.Call(ctx, emulateNetworkConditions, legacy); err != nil {
		return fmt.Errorf("set offline=%v: by rule: %v; legacy: %w", offline, errRule, err)
	}
	return nil
}

// legacyConditions are Network.emulateNetworkConditions' parameters, which
// this cdproto no longer generates.
type legacyConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

var emulateNetworkConditions = cdp.Command[legacyConditions, struct{}]{Method: "Network.emulateNetworkConditions"}

// Fulfillment is a response the interceptor sends instead of the server's.
type Fulfillment struct {
	Status  int
	Headers map[string]string
	Body    string
}

// Interceptor answers matching requests through CDP Fetch, so faults can be
// injected in front of any deployment.
type Interceptor struct {
	mu   sync.Mutex
	seen []Intercepted
	stop context.CancelFunc
	done chan struct{}
}

// Intercept pauses requests whose URL matches urlPattern (CDP wildcards) and
// calls decide for each: a nil Fulfillment lets the request through.
func (p *Page) Intercept(urlPattern string, decide func(req *network.Request) *Fulfillment) (*Interceptor, error) {
	ictx, stop := context.WithCancel(p.ctx)
	in := &Interceptor{stop: stop, done: make(chan struct{})}
	events := chromedp.Events(ictx, fetch.RequestPaused)
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: urlPattern}}}); err != nil {
		stop()
		return nil, fmt.Errorf("enable request interception for %s: %w", urlPattern, err)
	}
	go func() {
		defer close(in.done)
		for ev, err := range events {
			if err != nil {
				return
			}
			f := decide(ev.Request)
			cctx, ccancel := p.stepCtx(0)
			rec := Intercepted{Method: ev.Request.Method, URL: ev.Request.URL}
			if f == nil {
				_, err = chromedp.Call(cctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			} else {
				rec.Status = f.Status
				var hs []*fetch.HeaderEntry
				for k, v := range f.Headers {
					hs = append(hs, &fetch.HeaderEntry{Name: k, Value: v})
				}
				_, err = chromedp.Call(cctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID: ev.RequestID, ResponseCode: int64(f.Status), ResponseHeaders: hs, Body: []byte(f.Body),
				})
			}
			ccancel()
			if err != nil {
				p.note("answer intercepted %s %s: %v", rec.Method, rec.URL, err)
			}
			in.mu.Lock()
			in.seen = append(in.seen, rec)
			in.mu.Unlock()
		}
	}()
	return in, nil
}

// Seen lists the requests intercepted so far.
func (in *Interceptor) Seen() []Intercepted {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Intercepted(nil), in.seen...)
}

// Stop disables interception on the page.
func (p *Page) StopIntercept(in *Interceptor) {
	ctx, cancel := p.stepCtx(0)
	defer cancel()
	_, _ = chromedp.Call(ctx, fetch.Disable, cdp.Empty{})
	in.stop()
	<-in.done
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
