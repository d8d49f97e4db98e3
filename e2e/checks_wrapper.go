package e2e

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// WrapperDurations are toast-wrapper.js's documented convenience durations.
var WrapperDurations = map[string]time.Duration{
	"success": 1600 * time.Millisecond,
	"error":   3000 * time.Millisecond,
	"warning": 2000 * time.Millisecond,
	"info":    1600 * time.Millisecond,
}

// WrapperChecks are the toast-wrapper.js (ES module) checks.
func WrapperChecks() []Check {
	return []Check{
		{Name: "toast-wrapper.methods", Group: "toast-wrapper", Start: "component:toast_wrapper", Run: wrapperMethods,
			Title: "imported as an ES module: success/error/warning/info show styled toasts for 1600/3000/2000/1600 ms"},
		{Name: "toast-wrapper.ready", Group: "toast-wrapper", Start: "login", Run: wrapperReady,
			Title: "ready() stays pending without toast.js and resolves with toast.js once it loads"},
		{Name: "toast-wrapper.fallback", Group: "toast-wrapper", Start: "login", Run: wrapperFallback,
			Title: "on a page without toast.js every method logs to the console and nothing throws"},
	}
}

// useWrapper imports toast-wrapper.js the way page modules do, into window.__tw.
func (c *C) useWrapper() error {
	wrapperJS := c.Cfg.Pages.Scripts["toast_wrapper"]
	ok, err := Eval[bool](c.Page, fmt.Sprintf(`import(%s).then(function (m) {
  window.__tw = m.default || m.toast;
  return !!(window.__tw && typeof window.__tw.success === 'function' && typeof window.__tw.ready === 'function');
})`, js(wrapperJS)))
	if err != nil {
		return fmt.Errorf("import %s: %w", wrapperJS, err)
	}
	if !ok {
		return fmt.Errorf("%s has no default export with success() and ready()", wrapperJS)
	}
	return nil
}

func wrapperMethods(c *C) error {
	if err := c.useWrapper(); err != nil {
		return err
	}
	real, err := Eval[bool](c.Page, `__tw.ready().then(function (b) { return b === window.DP.core.toast && !b.fallback; })`)
	if err != nil {
		return err
	}
	if !real {
		return errors.New("ready() on a page with toast.js did not resolve with window.DP.core.toast")
	}
	if err := c.clearToasts(); err != nil {
		return err
	}
	var all []timed
	call := func(typ string) error {
		msg := "e2e wrapper " + typ
		t, err := c.timedToastCall("toast."+typ+"()", fmt.Sprintf(`__tw.%s(%s)`, typ, js(msg)), WrapperDurations[typ])
		if err != nil {
			return err
		}
		if err := checkToast(t.added, typ, "", msg); err != nil {
			return fmt.Errorf("toast.%s(): %w", typ, err)
		}
		all = append(all, t)
		return nil
	}
	cur := c.Cursor()
	for _, typ := range []string{"error", "warning", "success"} {
		if err := call(typ); err != nil {
			return err
		}
	}
	c.Shot("wrapper-toasts")
	limit := WrapperDurations["error"] + HideDuration + c.Tol() + 2*time.Second
	if _, err := c.Wait(cur, limit, "success toast removed", func(e Event) bool { return e.Kind == "toast-removed" && e.ID == all[2].added.ID }); err != nil {
		return err
	}
	if err := call("info"); err != nil {
		return err
	}
	var problems []string
	for _, t := range all {
		if _, problem := c.dismissal(cur, t, limit); problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func wrapperReady(c *C) error {
	has, err := Eval[bool](c.Page, `!!(window.DP && window.DP.core && window.DP.core.toast)`)
	if err != nil {
		return err
	}
	if has {
		return fmt.Errorf("the start page %s already has toast.js; the check needs a page without it", c.Cfg.Pages.Login)
	}
	if err := c.useWrapper(); err != nil {
		return err
	}
	// ready() must not settle before toast.js exists: start it, then load toast.js.
	if err := c.Exec(`window.__ready = {settled: false}; __tw.ready(20000).then(function (b) {
  window.__ready = {settled: true, real: b === (window.DP && DP.core && DP.core.toast) && !b.fallback, at: performance.now()};
}); void 0`); err != nil {
		return err
	}
	type state struct {
		Settled bool    `json:"settled"`
		Real    bool    `json:"real"`
		At      float64 `json:"at"`
		Loaded  float64 `json:"loaded"`
	}
	before, err := Eval[state](c.Page, `window.__ready`)
	if err != nil {
		return err
	}
	if before.Settled {
		return errors.New("ready() resolved before toast.js was loaded")
	}
	after, err := Eval[state](c.Page, fmt.Sprintf(`new Promise(function (resolve, reject) {
  var s = document.createElement('script');
  s.src = %s;
  s.onload = function () {
    var loaded = performance.now();
    __tw.ready(20000).then(function () {
      setTimeout(function () { resolve(Object.assign({loaded: loaded}, window.__ready)); }, 0);
    });
  };
  s.onerror = function () { reject(new Error('toast.js failed to load')); };
  document.head.appendChild(s);
})`, js(c.Cfg.Pages.Scripts["toast"])))
	if err != nil {
		return err
	}
	c.Evidence("ready() pending before toast.js; then settled=%v with the toast.js backend=%v (%.0f ms from toast.js's load event)", after.Settled, after.Real, after.At-after.Loaded)
	if !after.Settled || !after.Real {
		return fmt.Errorf("after toast.js loaded, ready() settled=%v with the toast.js backend=%v", after.Settled, after.Real)
	}
	ev, err := c.toastCall(`__tw.success('e2e ready')`)
	if err != nil {
		return err
	}
	c.Shot("after-ready")
	return checkToast(ev, "success", "", "e2e ready")
}

func wrapperFallback(c *C) error {
	if err := c.useWrapper(); err != nil {
		return err
	}
	// The fallback logs error-type toasts with console.error: expected here.
	c.Expect(`^\[toast:(error|danger)\]`)
	cur := c.Cursor()
	type out struct {
		Fallback bool   `json:"fallback"`
		Threw    string `json:"threw"`
	}
	r, err := Eval[out](c.Page, `__tw.ready(200).then(function (b) {
  try {
    __tw.success('e2e fb success'); __tw.error('e2e fb error'); __tw.warning('e2e fb warning'); __tw.info('e2e fb info');
    __tw.show('e2e fb show', 'info'); __tw.show({message: 'e2e fb legacy', variant: 'danger', delay: 10});
    __tw.clear(); __tw.setMax(2);
    return {fallback: !!b.fallback, threw: ''};
  } catch (e) { return {fallback: !!b.fallback, threw: String(e)}; }
})`)
	if err != nil {
		return err
	}
	c.Shot("console-fallback")
	if r.Threw != "" {
		return fmt.Errorf("the wrapper threw without toast.js: %s", r.Threw)
	}
	if !r.Fallback {
		return errors.New("ready() without toast.js did not resolve with the console fallback")
	}
	if ev, ok := c.Quiet(cur, 0, func(e Event) bool { return e.Kind == "toast-added" }); ok {
		return fmt.Errorf("a toast element appeared without toast.js: %q", ev.Text)
	}
	want := map[string]string{"e2e fb success": "info", "e2e fb error": "error", "e2e fb warning": "warning", "e2e fb info": "info", "e2e fb show": "info"}
	got := map[string]string{}
	for _, m := range c.Console() {
		for msg := range want {
			if m.Kind == "console" && strings.Contains(m.Text, msg) {
				got[msg] = m.Level
			}
		}
	}
	var problems []string
	for msg, level := range want {
		if got[msg] == "" {
			problems = append(problems, fmt.Sprintf("%q never reached the console", msg))
		} else if got[msg] != level {
			problems = append(problems, fmt.Sprintf("%q logged as console.%s, want console.%s", msg, got[msg], level))
		}
	}
	c.Evidence("console fallback levels: %v", got)
	if len(problems) > 0 {
		return errors.New("console fallback: " + strings.Join(problems, "; "))
	}
	return nil
}
