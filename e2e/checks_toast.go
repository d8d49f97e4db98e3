package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// XSSPayload must render as text wherever the frontend shows a message.
const XSSPayload = `<img src=x onerror=window.__pwned=1>`

// DocumentedDurations are toast.js's default auto-dismiss times (REAL-APP.md).
var DocumentedDurations = map[string]time.Duration{
	"info":    3000 * time.Millisecond,
	"success": 3000 * time.Millisecond,
	"warning": 4000 * time.Millisecond,
	"error":   5000 * time.Millisecond,
}

// HideDuration is the documented fade between .dp-toast-hide and removal.
const HideDuration = 300 * time.Millisecond

// appearWait bounds the wait for a toast or overlay that a call should show
// at once; a missing one fails the check in this time rather than the step's.
const appearWait = 3 * time.Second

// js encodes v as a JavaScript literal.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ToastChecks are the toast.js checks, run on a logged-in project page.
func ToastChecks() []Check {
	return []Check{
		{Name: "toast.types", Group: "toast", Start: "project", Run: toastTypes,
			Title: "DP.toast and DP.core.toast show success/error/warning/info toasts with their class, role alert and text in the toast area"},
		{Name: "toast.auto-dismiss", Group: "toast", Start: "project", Run: toastAutoDismiss,
			Title: "DP.toast.success/warning/error/info auto-dismiss after their documented durations (3000, 4000, 5000, 3000 ms)"},
		{Name: "toast.max-visible", Group: "toast", Start: "project", Run: toastMaxVisible,
			Title: "at most 3 toasts are visible; the newest stay"},
		{Name: "toast.close-button", Group: "toast", Start: "project", Run: toastCloseButton,
			Title: "the close button dismisses a sticky toast"},
		{Name: "toast.xss", Group: "toast", Start: "project", Run: toastXSS, Catches: "unescaped-ui",
			Title: "an HTML payload in title and message renders as text and never runs"},
		{Name: "toast.legacy", Group: "toast", Start: "project", Run: toastLegacy, Catches: "toast-legacy-ignored,toast-legacy-raw",
			Title: "legacy show(msg,'danger',3000) and show({message,variant,delay}) render styled with their duration"},
	}
}

// toastCall runs a toast call and returns the toast it added.
func (c *C) toastCall(call string) (Event, error) { return c.toastCallAs(call, call) }

// toastCallAs is toastCall naming the call as shown in errors.
func (c *C) toastCallAs(shown, call string) (Event, error) {
	cur := c.Cursor()
	tag, err := Eval[int](c.Page, fmt.Sprintf("window.__e2e.call(function () { %s; })", call))
	if err != nil {
		return Event{}, err
	}
	// A toast library that appends later leaves tag 0: then any new toast is it.
	ev, err := c.Wait(cur, appearWait, "a toast", func(e Event) bool {
		return e.Kind == "toast-added" && (tag == 0 || e.Call == tag)
	})
	if err != nil {
		return Event{}, fmt.Errorf("%s showed no toast: %w", short(shown), err)
	}
	return ev, nil
}

func (c *C) clearToasts() error {
	return c.Exec(`window.DP.toast.clear ? window.DP.toast.clear() : document.querySelectorAll('.dp-toast').forEach(function (e) { e.remove(); })`)
}

func checkToast(ev Event, typ, title, text string) error {
	var problems []string
	if !ev.HasClass("dp-toast-" + typ) {
		problems = append(problems, fmt.Sprintf("class %q lacks dp-toast-%s", ev.Class, typ))
	}
	if ev.Role != "alert" {
		problems = append(problems, fmt.Sprintf("role %q, want alert", ev.Role))
	}
	if ev.Text != text {
		problems = append(problems, fmt.Sprintf("message text %q, want %q", ev.Text, text))
	}
	if title != "" && ev.Title != title {
		problems = append(problems, fmt.Sprintf("title text %q, want %q", ev.Title, title))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s toast: %s", typ, strings.Join(problems, "; "))
	}
	return nil
}

// toastObjects is how the page exposes toast.js: DP.toast and DP.core.toast
// are separate objects on the deployed app (sharing show), one on others.
type toastObjects struct {
	Toast      []string `json:"toast"`
	Core       []string `json:"core"`
	Same       bool     `json:"same"`
	SharedShow bool     `json:"sharedShow"`
}

const toastObjectsJS = `(function () {
  function fns(o) { return o ? Object.keys(o).filter(function (k) { return typeof o[k] === 'function'; }).sort() : []; }
  var t = window.DP && window.DP.toast, c = window.DP && window.DP.core && window.DP.core.toast;
  return {toast: fns(t), core: fns(c), same: !!t && t === c, sharedShow: !!(t && c && t.show === c.show)};
})()`

func toastTypes(c *C) error {
	o, err := Eval[toastObjects](c.Page, toastObjectsJS)
	if err != nil {
		return err
	}
	c.Evidence("DP.toast functions %v; DP.core.toast functions %v; same object %v; sharing show %v", o.Toast, o.Core, o.Same, o.SharedShow)
	var missing []string
	for _, f := range []string{"show", "success", "error", "warning", "info", "clear"} {
		if !slices.Contains(o.Toast, f) {
			missing = append(missing, "DP.toast."+f)
		}
	}
	if !slices.Contains(o.Core, "show") {
		missing = append(missing, "DP.core.toast.show")
	}
	if len(missing) > 0 {
		return fmt.Errorf("toast.js API incomplete: missing %s", strings.Join(missing, ", "))
	}
	if err := c.clearToasts(); err != nil {
		return err
	}
	area := c.Cfg.Pages.ToastArea
	before, err := Eval[bool](c.Page, fmt.Sprintf(`!!document.querySelector(%s)`, js(area)))
	if err != nil {
		return err
	}
	calls := []struct{ typ, call, title string }{
		{"success", `DP.toast.show({message: %s, type: 'success'})`, ""},
		{"error", `DP.core.toast.show(%s, 'error')`, ""},
		{"warning", `DP.toast.show({message: %s, type: 'warning', title: 'Judul e2e'})`, "Judul e2e"},
		{"info", `DP.toast.show(%s, 'info')`, ""},
	}
	for i, x := range calls {
		msg := fmt.Sprintf("e2e %s toast %d", x.typ, i+1)
		cur := c.Cursor()
		ev, err := c.toastCall(fmt.Sprintf(x.call, js(msg)))
		if err != nil {
			return err
		}
		if err := checkToast(ev, x.typ, x.title, msg); err != nil {
			return err
		}
		if _, err := c.Wait(cur, appearWait, x.typ+" toast shown", func(e Event) bool { return e.Kind == "toast-shown" && e.ID == ev.ID }); err != nil {
			return fmt.Errorf("%s toast never got .dp-toast-show: %w", x.typ, err)
		}
		c.Evidence("%s: class %q role %q title %q text %q", x.typ, ev.Class, ev.Role, ev.Title, ev.Text)
		if i == 0 {
			if err := c.checkToastArea(area, before); err != nil {
				return err
			}
		}
		if i == 2 {
			c.Shot("success-error-warning")
		}
	}
	return nil
}

// checkToastArea: after the first toast the container exists (in the server
// HTML, or created by toast.js on that toast) as a polite live region.
func (c *C) checkToastArea(sel string, before bool) error {
	type areaAttrs struct {
		Found bool   `json:"found"`
		Role  string `json:"role"`
		Live  string `json:"live"`
		Class string `json:"class"`
		InIt  bool   `json:"inIt"`
	}
	a, err := Eval[areaAttrs](c.Page, fmt.Sprintf(`(function () { var a = document.querySelector(%s);
  return a ? {found: true, role: a.getAttribute('role') || '', live: a.getAttribute('aria-live') || '', class: a.className, inIt: !!a.querySelector('.dp-toast')} : {found: false}; })()`, js(sel)))
	if err != nil {
		return err
	}
	how := "in the server HTML"
	if !before {
		how = "created by the first toast"
	}
	c.Evidence("toast container %s %s: role %q aria-live %q class %q", sel, how, a.Role, a.Live, a.Class)
	switch {
	case !a.Found:
		return fmt.Errorf("no %s after the first toast (e2e.pages.toast_area)", sel)
	case !a.InIt:
		return fmt.Errorf("the first toast is not inside %s", sel)
	case a.Live != "polite" && a.Live != "assertive":
		return fmt.Errorf("%s has aria-live %q: screen readers are not told about toasts", sel, a.Live)
	}
	return nil
}

// pageToastTries bounds how often a timing check is measured again when the
// page raised toasts of its own meanwhile (a bounced data load on a
// deployment whose sessions live in one worker): those take toast slots and
// evict the check's toasts early, so the timing says nothing.
const pageToastTries = 3

// pageToasts lists the toasts added since cur that no harness call appended.
func (c *C) pageToasts(cur int) []Event {
	var out []Event
	for _, e := range c.Events()[cur:] {
		if e.Kind == "toast-added" && e.Call == 0 {
			out = append(out, e)
		}
	}
	return out
}

// withoutPageToasts runs measure (which returns its problems) until a try
// saw no toast of the page's own, at most pageToastTries times; if every try
// was disturbed, the check could not measure.
func (c *C) withoutPageToasts(measure func() ([]string, error)) error {
	for try := 1; ; try++ {
		if err := c.clearToasts(); err != nil {
			return err
		}
		cur := c.Cursor()
		problems, err := measure()
		if err != nil {
			return err
		}
		foreign := c.pageToasts(cur)
		if len(foreign) == 0 {
			if len(problems) > 0 {
				return errors.New(strings.Join(problems, "; "))
			}
			return nil
		}
		c.Evidence("try %d of %d: the page raised %d toast(s) of its own during the measurement (e.g. %q), which take toast slots; measuring again",
			try, pageToastTries, len(foreign), foreign[0].Text)
		if try == pageToastTries {
			return fmt.Errorf("%w: the page raised toasts of its own during each of %d tries (e.g. %q), so the check's toast timings say nothing (what the disturbed try saw: %s)",
				errCannotMeasure, pageToastTries, foreign[0].Text, orNothing(problems))
		}
	}
}

func orNothing(problems []string) string {
	if len(problems) == 0 {
		return "nothing wrong"
	}
	return strings.Join(problems, "; ")
}

func toastAutoDismiss(c *C) error {
	return c.withoutPageToasts(func() ([]string, error) { return measureAutoDismiss(c) })
}

func measureAutoDismiss(c *C) ([]string, error) {
	var all []timed
	start := func(typ string) error {
		t, err := c.timedToastCall(typ, fmt.Sprintf(`DP.toast.%s(%s)`, typ, js("e2e auto-dismiss "+typ)), DocumentedDurations[typ])
		if err != nil {
			return err
		}
		if !t.added.HasClass("dp-toast-" + typ) {
			return fmt.Errorf("%s toast has class %q", typ, t.added.Class)
		}
		all = append(all, t)
		return nil
	}
	// Three at once (the visible maximum), then info once success is gone.
	cur := c.Cursor()
	for _, typ := range []string{"success", "warning", "error"} {
		if err := start(typ); err != nil {
			return nil, err
		}
	}
	c.Shot("three-shown")
	limit := DocumentedDurations["error"] + HideDuration + c.Tol() + 2*time.Second
	if _, err := c.Wait(cur, limit, "success toast removed", func(e Event) bool { return e.Kind == "toast-removed" && e.ID == all[0].added.ID }); err != nil {
		return nil, err
	}
	if err := start("info"); err != nil {
		return nil, err
	}
	var problems []string
	for _, t := range all {
		end, problem := c.dismissal(cur, t, limit)
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		removed, err := c.Wait(cur, limit, t.name+" toast removed", func(e Event) bool { return e.Kind == "toast-removed" && e.ID == t.added.ID })
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s faded but was never removed", t.name))
			continue
		}
		if end.Kind != "toast-hiding" {
			continue // removed without a fade class: nothing more to time
		}
		// The observer starts a reference timer of the documented fade when
		// .dp-toast-hide appears; the toast must be gone when it fires.
		ref, err := c.Wait(cur, limit, t.name+" fade reference", func(e Event) bool { return e.Kind == "toast-fade-ref" && e.ID == t.added.ID })
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: the fade reference timer never fired", t.name))
			continue
		}
		if fade, off := since(end, removed), since(ref, removed); off > c.Tol() {
			problems = append(problems, fmt.Sprintf("%s stayed %d ms after its fade started (documented %d; the page's timers ran %d ms late)",
				t.name, fade.Milliseconds(), HideDuration.Milliseconds(), max(since(end, ref)-HideDuration, 0).Milliseconds()))
		}
	}
	return problems, nil
}

func toastMaxVisible(c *C) error {
	if err := c.clearToasts(); err != nil {
		return err
	}
	cur := c.Cursor()
	var last Event
	for i := 1; i <= 5; i++ {
		ev, err := c.toastCall(fmt.Sprintf(`DP.toast.show({message: %s, type: 'info', duration: 0})`, js(fmt.Sprintf("e2e max %d", i))))
		if err != nil {
			return err
		}
		last = ev
	}
	if _, err := c.Wait(cur, appearWait, "fifth toast shown", func(e Event) bool { return e.Kind == "toast-shown" && e.ID == last.ID }); err != nil {
		return err
	}
	c.Shot("five-shown")
	peak := 0
	for _, e := range c.Events()[cur:] {
		if e.Kind == "toast-count" && e.Count > peak {
			peak = e.Count
		}
	}
	visible, err := Eval[[]string](c.Page, `Array.from(document.querySelectorAll('.dp-toast:not(.dp-toast-hide) .dp-toast-message')).map(function (e) { return e.textContent; })`)
	if err != nil {
		return err
	}
	c.Evidence("peak visible toasts %d; visible now %q", peak, visible)
	if peak > 3 {
		return fmt.Errorf("%d toasts were visible at once, at most 3 allowed", peak)
	}
	want := []string{"e2e max 3", "e2e max 4", "e2e max 5"}
	if strings.Join(visible, "|") != strings.Join(want, "|") {
		return fmt.Errorf("visible toasts %q, want the newest three %q", visible, want)
	}
	return nil
}

func toastCloseButton(c *C) error {
	if err := c.clearToasts(); err != nil {
		return err
	}
	ev, err := c.toastCall(`DP.toast.show({message: 'e2e close me', type: 'info', duration: 0})`)
	if err != nil {
		return err
	}
	label, err := Eval[string](c.Page, `(function () { var b = document.querySelector('.dp-toast .dp-toast-close'); return b ? (b.getAttribute('aria-label') || b.textContent || '?') : ''; })()`)
	if err != nil {
		return err
	}
	if label == "" {
		return errors.New("toast has no .dp-toast-close button")
	}
	c.Shot("before-close")
	cur := c.Cursor()
	if err := c.Mark("click"); err != nil {
		return err
	}
	if err := c.Click(".dp-toast .dp-toast-close"); err != nil {
		return err
	}
	click, err := c.Wait(cur, appearWait, "click mark", func(e Event) bool { return e.Kind == "mark" })
	if err != nil {
		return err
	}
	removed, err := c.Wait(cur, HideDuration+c.Tol()+time.Second, "toast removed after close", func(e Event) bool { return e.Kind == "toast-removed" && e.ID == ev.ID })
	if err != nil {
		return fmt.Errorf("close button (label %q) did not remove the toast: %w", label, err)
	}
	c.Evidence("close button %q removed the toast %d ms after the click", label, since(click, removed).Milliseconds())
	return nil
}

// imgSettled waits until every img inside sel has fired load or error, so
// an onerror handler would have run; bounded by appearWait.
func imgSettledJS(sel string) string {
	return fmt.Sprintf(`Promise.race([new Promise(function (r) { setTimeout(r, %d); }), Promise.all(Array.from(document.querySelectorAll(%s)).map(function (img) {
  return img.complete ? 0 : new Promise(function (r) { img.addEventListener('load', r); img.addEventListener('error', function () { setTimeout(r, 0); }); });
}))]).then(function () { return true; })`, appearWait.Milliseconds(), js(sel+" img"))
}

func toastXSS(c *C) error {
	if err := c.clearToasts(); err != nil {
		return err
	}
	// A CSP may block the inline handler; the injected element alone is the defect.
	c.Expect(`Content Security Policy|Refused to execute inline event handler`)
	if err := c.Exec(`window.__pwned = undefined`); err != nil {
		return err
	}
	ev, err := c.toastCall(fmt.Sprintf(`DP.toast.show({message: %[1]s, title: %[1]s, type: 'error'})`, js(XSSPayload)))
	if err != nil {
		return err
	}
	ev2, err := c.toastCall(fmt.Sprintf(`DP.toast.show(%s, 'info')`, js(XSSPayload)))
	if err != nil {
		return err
	}
	if _, err := Eval[bool](c.Page, imgSettledJS(c.Cfg.Pages.ToastArea)); err != nil {
		return err
	}
	imgs, err := Eval[int](c.Page, `document.querySelectorAll('.dp-toast img').length`)
	if err != nil {
		return err
	}
	pwned, err := Eval[bool](c.Page, `window.__pwned === 1`)
	if err != nil {
		return err
	}
	c.Shot("payload-toasts")
	c.Evidence("title %q, message %q, second message %q, img elements %d, window.__pwned set %v", ev.Title, ev.Text, ev2.Text, imgs, pwned)
	var problems []string
	if imgs > 0 {
		problems = append(problems, fmt.Sprintf("the payload was parsed as HTML: %d <img> element(s) inside toasts (html %q)", imgs, short(ev.HTML)))
	}
	if pwned {
		problems = append(problems, "the payload's onerror handler ran (window.__pwned = 1)")
	}
	if ev.Title != XSSPayload || ev.Text != XSSPayload || ev2.Text != XSSPayload {
		problems = append(problems, fmt.Sprintf("payload not shown as text: title %q, message %q, %q", ev.Title, ev.Text, ev2.Text))
	}
	if len(problems) > 0 {
		return errors.New("XSS: " + strings.Join(problems, "; "))
	}
	return nil
}

func toastLegacy(c *C) error {
	if err := c.clearToasts(); err != nil {
		return err
	}
	cur := c.Cursor()
	danger, err := c.timedToastCall("show(msg,'danger',3000)", `DP.toast.show('e2e legacy danger', 'danger', 3000)`, 3000*time.Millisecond)
	if err != nil {
		return fmt.Errorf("legacy signature ignored: %w", err)
	}
	if err := checkToast(danger.added, "error", "", "e2e legacy danger"); err != nil {
		return fmt.Errorf("show(msg,'danger',3000): %w", err)
	}
	variant, err := c.timedToastCall("show({variant,delay:1500})", `DP.toast.show({message: 'e2e legacy variant', variant: 'warning', delay: 1500})`, 1500*time.Millisecond)
	if err != nil {
		return fmt.Errorf("legacy signature ignored: %w", err)
	}
	if err := checkToast(variant.added, "warning", "", "e2e legacy variant"); err != nil {
		return fmt.Errorf("show({message,variant,delay}): %w", err)
	}
	c.Shot("legacy-toasts")
	var problems []string
	for _, t := range []timed{danger, variant} {
		if _, problem := c.dismissal(cur, t, t.want+HideDuration+c.Tol()+2*time.Second); problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
