package e2e

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// LoadingChecks are the LoadingManager (loading.js) checks.
func LoadingChecks() []Check {
	return []Check{
		{Name: "loading.show-hide", Group: "loading", Start: "component:loading", Run: loadingShowHide,
			Title: "show() puts up #dp-loading-overlay with its message; hide() removes it after the fade"},
		{Name: "loading.error-actions", Group: "loading", Start: "component:loading", Run: loadingErrorActions,
			Title: "showError: title, message, primary styling, onClick called, closeAfter:false keeps it open, onClose called once"},
		{Name: "loading.error-default", Group: "loading", Start: "component:loading", Run: loadingErrorDefault,
			Title: "showError without actions offers one \"Tutup\" button that closes it"},
		{Name: "loading.xss", Group: "loading", Start: "component:loading", Run: loadingXSS, Catches: "unescaped-ui",
			Title: "HTML payloads in title, message and action labels render as text and never run"},
		{Name: "loading.race", Group: "loading", Start: "component:loading", Run: loadingRace, Catches: "loader-race",
			Title: "showError while a loader is visible or fading leaves exactly one overlay, the error"},
	}
}

// useLoader imports loading.js into window.__lm and records onClick/onClose
// calls in window.__calls.
func (c *C) useLoader() error {
	loadingJS := c.Cfg.Pages.Scripts["loading"]
	ok, err := Eval[bool](c.Page, fmt.Sprintf(`import(%s).then(function (m) {
  window.__lm = m.LoadingManager || m.default || (window.DP && DP.core && DP.core.loading);
  window.__calls = [];
  return !!(window.__lm && window.__lm.show && window.__lm.showError);
})`, js(loadingJS)))
	if err != nil {
		return fmt.Errorf("import %s: %w", loadingJS, err)
	}
	if !ok {
		return fmt.Errorf("%s exports no LoadingManager with show and showError", loadingJS)
	}
	return nil
}

// overlayCall runs js and waits for an overlay to be added.
func (c *C) overlayCall(call string) (Event, error) {
	cur := c.Cursor()
	if err := c.Exec(call); err != nil {
		return Event{}, err
	}
	ev, err := c.Wait(cur, appearWait, "an overlay", func(e Event) bool { return e.Kind == "overlay-added" })
	if err != nil {
		return Event{}, fmt.Errorf("%s showed no overlay: %w", short(call), err)
	}
	return ev, nil
}

func (c *C) overlayCount() (int, error) {
	return Eval[int](c.Page, `document.querySelectorAll('#dp-loading-overlay').length`)
}

func (c *C) calls() ([]string, error) {
	return Eval[[]string](c.Page, `window.__calls || []`)
}

// fadeWait is how long a loader's fade may take before the check calls it
// stuck: the module's FADE_MS when exported, plus the tolerance.
func (c *C) fadeWait() time.Duration {
	ms, err := Eval[int](c.Page, `(window.__lm && window.__lm.FADE_MS) || 300`)
	if err != nil || ms <= 0 {
		ms = 300
	}
	return time.Duration(ms)*time.Millisecond + c.Tol()
}

func loadingShowHide(c *C) error {
	if err := c.useLoader(); err != nil {
		return err
	}
	ev, err := c.overlayCall(`__lm.show('e2e memuat')`)
	if err != nil {
		return err
	}
	if ev.Text != "e2e memuat" {
		return fmt.Errorf("loader message %q, want %q", ev.Text, "e2e memuat")
	}
	c.Shot("loader")
	cur := c.Cursor()
	if err := c.Mark("hide"); err != nil {
		return err
	}
	if err := c.Exec(`__lm.hide()`); err != nil {
		return err
	}
	mark, _ := c.Wait(cur, appearWait, "hide mark", func(e Event) bool { return e.Kind == "mark" })
	fade := c.fadeWait()
	removed, err := c.Wait(cur, fade+time.Second, "loader removed", func(e Event) bool { return e.Kind == "overlay-removed" && e.ID == ev.ID })
	if err != nil {
		return fmt.Errorf("hide() left the loader up: %w", err)
	}
	n, err := c.overlayCount()
	if err != nil {
		return err
	}
	c.Evidence("loader %q role %q; removed %d ms after hide(); overlays left %d", ev.Text, ev.Role, since(mark, removed).Milliseconds(), n)
	if n != 0 {
		return fmt.Errorf("%d overlay(s) left after hide()", n)
	}
	return nil
}

const errorActionsJS = `__lm.showError({
  title: 'e2e Gagal Menyimpan',
  message: 'e2e server error',
  actions: [
    {label: 'Coba Lagi', primary: true, onClick: function () { __calls.push('retry'); }},
    {label: 'Detail', closeAfter: false, onClick: function () { __calls.push('detail'); }}
  ],
  onClose: function () { __calls.push('close'); }
})`

func loadingErrorActions(c *C) error {
	if err := c.useLoader(); err != nil {
		return err
	}
	ev, err := c.overlayCall(errorActionsJS)
	if err != nil {
		return err
	}
	c.Shot("error-overlay")
	type btn struct {
		Index string `json:"index"`
		Label string `json:"label"`
		Class string `json:"class"`
	}
	btns, err := Eval[[]btn](c.Page, `Array.from(document.querySelectorAll('#dp-loading-overlay button[data-action-index]')).map(function (b) {
  return {index: b.getAttribute('data-action-index'), label: b.textContent.trim(), class: b.className};
})`)
	if err != nil {
		return err
	}
	c.Evidence("overlay title %q message %q buttons %+v", ev.Title, ev.Text, btns)
	var problems []string
	if ev.Title != "e2e Gagal Menyimpan" {
		problems = append(problems, fmt.Sprintf("title %q", ev.Title))
	}
	if ev.Text != "e2e server error" {
		problems = append(problems, fmt.Sprintf("message %q", ev.Text))
	}
	if len(btns) != 2 || btns[0].Label != "Coba Lagi" || btns[1].Label != "Detail" {
		problems = append(problems, fmt.Sprintf("buttons %+v, want Coba Lagi and Detail with data-action-index", btns))
	} else {
		if !strings.Contains(" "+btns[0].Class+" ", " btn-primary ") {
			problems = append(problems, fmt.Sprintf("primary action has class %q, want btn-primary", btns[0].Class))
		}
		if !strings.Contains(" "+btns[1].Class+" ", " btn-outline-secondary ") {
			problems = append(problems, fmt.Sprintf("secondary action has class %q, want btn-outline-secondary", btns[1].Class))
		}
	}
	if len(problems) > 0 {
		return errors.New("error overlay: " + strings.Join(problems, "; "))
	}

	// closeAfter:false: onClick runs, the overlay stays, onClose does not run.
	cur := c.Cursor()
	if err := c.Click(`#dp-loading-overlay button[data-action-index="1"]`); err != nil {
		return err
	}
	if e, gone := c.Quiet(cur, c.fadeWait(), func(e Event) bool { return e.Kind == "overlay-removed" && e.ID == ev.ID }); gone {
		return fmt.Errorf("the closeAfter:false action closed the overlay (at %.0f)", e.At)
	}
	calls, err := c.calls()
	if err != nil {
		return err
	}
	if strings.Join(calls, ",") != "detail" {
		return fmt.Errorf("after the closeAfter:false action the callbacks were %q, want [detail]", calls)
	}
	// The primary action: onClick, close, onClose once.
	if err := c.Click(`#dp-loading-overlay button[data-action-index="0"]`); err != nil {
		return err
	}
	if _, err := c.Wait(cur, c.fadeWait()+time.Second, "overlay closed", func(e Event) bool { return e.Kind == "overlay-removed" && e.ID == ev.ID }); err != nil {
		return fmt.Errorf("the primary action did not close the overlay: %w", err)
	}
	calls, err = c.calls()
	if err != nil {
		return err
	}
	c.Evidence("callbacks in order: %q", calls)
	if strings.Join(calls, ",") != "detail,retry,close" {
		return fmt.Errorf("callbacks %q, want [detail retry close] (onClick, then onClose once)", calls)
	}
	return nil
}

func loadingErrorDefault(c *C) error {
	if err := c.useLoader(); err != nil {
		return err
	}
	ev, err := c.overlayCall(`__lm.showError({title: 'e2e judul', message: 'e2e pesan', onClose: function () { __calls.push('close'); }})`)
	if err != nil {
		return err
	}
	c.Shot("default-button")
	labels, err := Eval[[]string](c.Page, `Array.from(document.querySelectorAll('#dp-loading-overlay button')).map(function (b) { return b.textContent.trim() + (b.getAttribute('data-action') ? '[' + b.getAttribute('data-action') + ']' : ''); })`)
	if err != nil {
		return err
	}
	c.Evidence("title %q message %q buttons %q", ev.Title, ev.Text, labels)
	if len(labels) != 1 || labels[0] != "Tutup[close]" {
		return fmt.Errorf("buttons %q, want one button[data-action=close] labelled Tutup", labels)
	}
	cur := c.Cursor()
	if err := c.Click(`#dp-loading-overlay button[data-action="close"]`); err != nil {
		return err
	}
	if _, err := c.Wait(cur, c.fadeWait()+time.Second, "overlay closed", func(e Event) bool { return e.Kind == "overlay-removed" && e.ID == ev.ID }); err != nil {
		return fmt.Errorf("Tutup did not close the overlay: %w", err)
	}
	calls, err := c.calls()
	if err != nil {
		return err
	}
	if strings.Join(calls, ",") != "close" {
		return fmt.Errorf("callbacks after Tutup %q, want onClose once", calls)
	}
	return nil
}

func loadingXSS(c *C) error {
	if err := c.useLoader(); err != nil {
		return err
	}
	c.Expect(`Content Security Policy|Refused to execute inline event handler`)
	call := fmt.Sprintf(`window.__pwned = undefined; __lm.showError({title: %[1]s, message: %[1]s, actions: [{label: %[1]s, primary: true}, {label: %[1]s}]})`, js(XSSPayload))
	ev, err := c.overlayCall(call)
	if err != nil {
		return err
	}
	if _, err := Eval[bool](c.Page, imgSettledJS("#dp-loading-overlay")); err != nil {
		return err
	}
	type seen struct {
		Imgs    int      `json:"imgs"`
		Pwned   bool     `json:"pwned"`
		Title   string   `json:"title"`
		Message string   `json:"message"`
		Labels  []string `json:"labels"`
	}
	s, err := Eval[seen](c.Page, `(function () {
  var o = document.getElementById('dp-loading-overlay');
  var t = o && o.querySelector('h5'), m = o && o.querySelector('.dp-loading-message');
  return {imgs: o ? o.querySelectorAll('img').length : 0, pwned: window.__pwned === 1,
    title: t ? t.textContent : '', message: m ? m.textContent : '',
    labels: o ? Array.from(o.querySelectorAll('button')).map(function (b) { return b.textContent; }) : []};
})()`)
	if err != nil {
		return err
	}
	c.Shot("payload-overlay")
	c.Evidence("title %q message %q labels %q img elements %d window.__pwned set %v", s.Title, s.Message, s.Labels, s.Imgs, s.Pwned)
	var problems []string
	if s.Imgs > 0 {
		problems = append(problems, fmt.Sprintf("the payload was parsed as HTML: %d <img> element(s) in the overlay (html %q)", s.Imgs, short(ev.HTML)))
	}
	if s.Pwned {
		problems = append(problems, "the payload's onerror handler ran (window.__pwned = 1)")
	}
	if s.Title != XSSPayload || s.Message != XSSPayload {
		problems = append(problems, fmt.Sprintf("title %q / message %q not the payload as text", s.Title, s.Message))
	}
	if len(s.Labels) != 2 || s.Labels[0] != XSSPayload || s.Labels[1] != XSSPayload {
		problems = append(problems, fmt.Sprintf("action labels %q not the payload as text", s.Labels))
	}
	if len(problems) > 0 {
		return errors.New("XSS: " + strings.Join(problems, "; "))
	}
	return nil
}

func loadingRace(c *C) error {
	if err := c.useLoader(); err != nil {
		return err
	}
	// 1. showError while the loader is visible.
	if _, err := c.overlayCall(`__lm.show('e2e memuat')`); err != nil {
		return err
	}
	errEv, err := c.overlayCall(`__lm.showError({title: 'e2e race visible', message: 'x'})`)
	if err != nil {
		return err
	}
	n, err := c.overlayCount()
	if err != nil {
		return err
	}
	c.Evidence("showError over a visible loader: %d overlay(s), title %q", n, errEv.Title)
	if n != 1 || errEv.Title != "e2e race visible" {
		return fmt.Errorf("showError over a visible loader left %d overlays (want exactly one, the error)", n)
	}
	if err := c.Exec(`document.querySelector('#dp-loading-overlay button').click()`); err != nil {
		return err
	}

	// 2. showError while the loader fades out: the fade must not take the error with it.
	if _, err := c.overlayCall(`__lm.show('e2e memuat lagi')`); err != nil {
		return err
	}
	errEv, err = c.overlayCall(`__lm.hide(); __lm.showError({title: 'e2e race fading', message: 'y'})`)
	if err != nil {
		return err
	}
	cur := c.Cursor()
	fade := c.fadeWait()
	if e, gone := c.Quiet(cur, 2*fade, func(e Event) bool { return e.Kind == "overlay-removed" && e.ID == errEv.ID }); gone {
		c.Shot("error-overlay-gone")
		return fmt.Errorf("the error overlay shown during the loader's fade was removed %d ms later by the loader's hide timer: the user never sees the error", since(errEv, e).Milliseconds())
	}
	c.Shot("error-after-fade")
	n, err = c.overlayCount()
	if err != nil {
		return err
	}
	title, err := Eval[string](c.Page, `(function () { var h = document.querySelector('#dp-loading-overlay h5'); return h ? h.textContent : ''; })()`)
	if err != nil {
		return err
	}
	c.Evidence("showError during the fade: after %d ms %d overlay(s), title %q", (2 * fade).Milliseconds(), n, title)
	if n != 1 || title != "e2e race fading" {
		return fmt.Errorf("showError during the loader's fade left %d overlay(s) titled %q, want exactly the error", n, title)
	}
	return nil
}
