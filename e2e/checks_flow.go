package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// retryLabel is the error overlay's retry action.
const retryLabel = "Coba Lagi"

// sel is the flow selector key of e2e.pages.selectors (docs/e2e.md).
func (c *C) sel(key string) string { return c.Cfg.Pages.Sel(key) }

// FlowChecks drive the real pages: login, list pekerjaan, volume, detail AHSP,
// with faults injected through the DevTools protocol.
func FlowChecks() []Check {
	return []Check{
		{Name: "flow.login", Group: "flow", Run: flowLogin,
			Title: "the login form signs the user in and lands on the requested project page"},
		{Name: "flow.list-pekerjaan-save", Group: "flow", Start: "session", Run: flowListSave,
			Title: "list pekerjaan: adding a klasifikasi and saving shows a success toast and the server has it"},
		{Name: "flow.volume-save", Group: "flow", Start: "session", Run: flowVolumeSave,
			Title: "volume: saving shows a success toast and the server has the quantity"},
		{Name: "flow.detail-ahsp-save", Group: "flow", Start: "session", Run: flowDetailSave,
			Title: "detail AHSP: saving a koefisien shows a success toast and the server has it"},
		{Name: "flow.server-error-retry", Group: "flow", Start: "session", Run: flowServerErrorRetry,
			Title: "an injected 500 shows showError; \"Coba Lagi\" retries, succeeds and the data is on the server"},
		{Name: "flow.rate-limited", Group: "flow", Start: "session", Run: flowRateLimited,
			Title: "an injected 429 with Retry-After shows a warning toast naming the seconds"},
		{Name: "flow.offline-retry", Group: "flow", Start: "session", Run: flowOffline,
			Title: "offline (network emulation) shows the connection error; back online, \"Coba Lagi\" saves"},
	}
}

// All is every check of the suite, in report order.
func All() []Check {
	var out []Check
	out = append(out, ToastChecks()...)
	out = append(out, WrapperChecks()...)
	out = append(out, LoadingChecks()...)
	out = append(out, FlowChecks()...)
	out = append(out, PageChecks()...)
	return out
}

// project returns the project a flow works on: 0 is the configured project;
// 1 is another project of the user when there is one, so the tree rewrite of
// the list flow keeps out of the volume and detail flows' way.
func (c *C) project(i int) int {
	if i > 0 {
		for _, p := range c.Cfg.User.Projects {
			if p != c.Cfg.Project {
				return p
			}
		}
	}
	return c.Cfg.Project
}

// writable is project i (see project) when the flow may store data there:
// a project declared scratch (every project of a stack the harness seeded).
func (c *C) writable(i int) (int, error) {
	p := c.project(i)
	if c.Cfg.User.IsScratch(p) {
		return p, nil
	}
	return 0, &skipError{fmt.Sprintf("this flow saves to project %d of %s, which is not declared scratch (users file line: name:password 12,13 scratch; the harness's own stack seeds scratch projects)", p, c.Cfg.User.User)}
}

// needDOM waits (each bounded by the step deadline) until the page's app
// root (e2e.pages.roots) and the flow selectors keys (e2e.pages.selectors)
// are in the DOM. One that never appears, on a page that reported no
// trouble, means this deployment's DOM differs from the defaults: the check
// is inconclusive and names the setting, instead of failing.
func (c *C) needDOM(pageName string, keys ...string) error {
	type want struct{ sel, setting string }
	var ws []want
	if root := c.Cfg.Pages.Roots[pageName]; root != "" {
		ws = append(ws, want{root, "e2e.pages.roots." + pageName})
	}
	for _, k := range keys {
		ws = append(ws, want{c.sel(k), "e2e.pages.selectors." + k})
	}
	cur := c.Cursor()
	for _, w := range ws {
		if err := c.Do(chromedp.WaitReady(chromedp.CSS(w.sel))); err != nil {
			if t := c.trouble(cur); t != "" {
				return fmt.Errorf("wait for %s on page %s: %w (the page showed: %s)", w.sel, pageName, err, t)
			}
			return fmt.Errorf("%w: selector %s not found on page %s (%s); set %s for this deployment", errCannotMeasure, w.sel, pageName, c.Cfg.Pages.Routes[pageName], w.setting)
		}
	}
	return nil
}

// saveToast clicks a save button and returns the first toast that follows,
// failing if it is not a success toast.
func (c *C) clickForToast(sel string) (Event, error) {
	cur, before := c.Cursor(), len(c.Bounces())
	if err := c.Click(sel); err != nil {
		return Event{}, err
	}
	ev, err := c.Wait(cur, c.Cfg.Step, "a toast after "+sel, func(e Event) bool { return e.Kind == "toast-added" })
	// The page's own request went to a worker without the session: what
	// the page then shows says nothing about its error handling.
	if b := c.Bounces(); len(b) > before && (err != nil || !ev.HasClass("dp-toast-success")) {
		return Event{}, fmt.Errorf("%w: after clicking %s the page's request was redirected to login (%s)", errSessionBounced, sel, strings.Join(b[before:], "; "))
	}
	if err != nil {
		return Event{}, c.withTrouble(cur, fmt.Errorf("clicking %s showed no toast: %w", sel, err))
	}
	return ev, nil
}

func requireSuccess(ev Event, what string) error {
	if !ev.HasClass("dp-toast-success") {
		return fmt.Errorf("%s: expected a success toast, got class %q title %q text %q", what, ev.Class, ev.Title, ev.Text)
	}
	return nil
}

// serverJSON GETs an API path with the suite's session and decodes it. A
// 502/503/504 (a fail-closed limiter on a busy machine) is retried twice:
// this read checks the UI's work and is not itself under test.
func (c *C) serverJSON(path string, v any) error {
	var resp *client.Response
	err := client.Retry(c.ctx, client.Backoff{Tries: 3, Wait: 500 * time.Millisecond,
		Retry: client.OnStatus(http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		OnRetry: func(attempt int, err error) {
			c.Evidence("verify GET %s: %v (attempt %d of 3)", path, err, attempt)
		}},
		func(ctx context.Context) error {
			var err error
			if resp, err = c.Session.do(ctx, http.MethodGet, path, nil); err != nil {
				return err
			}
			if resp.Status != http.StatusOK {
				return client.StatusErrorf(resp.Status, "status %d %s", resp.Status, short(string(resp.Body)))
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("verify on the server: GET %s: %w", path, err)
	}
	return resp.JSON(v)
}

type volumeList struct {
	Items []struct {
		PekerjaanID int64 `json:"pekerjaan_id"`
		Quantity    any   `json:"quantity"`
	} `json:"items"`
}

// serverQuantity reads pekerjaan id's volume from the server.
func (c *C) serverQuantity(pid int, id int64) (string, error) {
	var vl volumeList
	op, _ := api.Lookup("volume-pekerjaan.list")
	if err := c.serverJSON(op.URLPath(api.Legacy, pid, 0), &vl); err != nil {
		return "", err
	}
	for _, it := range vl.Items {
		if it.PekerjaanID == id {
			return fmt.Sprint(it.Quantity), nil
		}
	}
	return "", fmt.Errorf("verify on the server: pekerjaan %d missing from the volume list", id)
}

func sameNumber(a, b string) bool {
	x, err1 := strconv.ParseFloat(strings.ReplaceAll(a, ",", "."), 64)
	y, err2 := strconv.ParseFloat(strings.ReplaceAll(b, ",", "."), 64)
	return err1 == nil && err2 == nil && x-y < 1e-9 && y-x < 1e-9
}

// uniqueQuantity is a volume no earlier run is likely to have left behind.
func uniqueQuantity() (typed, want string) {
	n := rand.IntN(900000) + 100000
	return fmt.Sprintf("%d,%03d", n/1000, n%1000), fmt.Sprintf("%d.%03d", n/1000, n%1000)
}

// prepareVolume opens the volume page and leaves only row's input filled
// (with a fresh value), so a save sends just that row and parallel checks
// never overwrite each other's rows.
func (c *C) prepareVolume(pid, row int) (id int64, want string, err error) {
	if err := c.openProjectPage(pageVolume, pid, ""); err != nil {
		return 0, "", err
	}
	if err := c.needDOM(pageVolume, "volume_inputs", "volume_save"); err != nil {
		return 0, "", err
	}
	ids, err := Eval[[]int64](c.Page, fmt.Sprintf(`Array.from(document.querySelectorAll(%s)).map(function (i) { return Number(i.dataset.pekerjaanId); })`, js(c.sel("volume_inputs"))))
	if err != nil {
		return 0, "", err
	}
	if len(ids) <= row {
		return 0, "", fmt.Errorf("volume page lists %d pekerjaan, the check needs row %d", len(ids), row+1)
	}
	id = ids[row]
	typed, want := uniqueQuantity()
	sel := fmt.Sprintf(`%s[data-pekerjaan-id="%d"]`, c.sel("volume_inputs"), id)
	if err := c.Exec(fmt.Sprintf(`document.querySelectorAll(%s).forEach(function (i) { i.value = ''; })`, js(c.sel("volume_inputs")))); err != nil {
		return 0, "", err
	}
	if err := c.Do(chromedp.SendKeys(chromedp.CSS(sel), typed)); err != nil {
		return 0, "", fmt.Errorf("type the volume: %w", err)
	}
	c.Evidence("volume of pekerjaan %d typed as %q", id, typed)
	return id, want, nil
}

func (c *C) verifyQuantity(pid int, id int64, want string) error {
	got, err := c.serverQuantity(pid, id)
	if err != nil {
		return err
	}
	c.Evidence("server volume of pekerjaan %d: %s (want %s)", id, got, want)
	if !sameNumber(got, want) {
		return fmt.Errorf("the server has volume %s for pekerjaan %d, want %s: the save was lost", got, id, want)
	}
	return nil
}

func flowLogin(c *C) error {
	pid := c.project(0)
	target := c.Cfg.Pages.Path(pageList, pid)
	if err := c.Navigate(c.URL(c.Cfg.Pages.Login + "?next=" + target)); err != nil {
		return err
	}
	if err := c.Do(
		chromedp.SendKeys(chromedp.CSS(`form input[name="login"]`), c.Cfg.User.User),
		chromedp.SendKeys(chromedp.CSS(`form input[name="password"]`), c.Cfg.User.Password),
	); err != nil {
		return fmt.Errorf("fill the login form: %w", err)
	}
	c.Shot("login-form")
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
	c.Evidence("after login the browser is at %s", loc)
	if loc != c.URL(target) {
		if c.Session.isLogin(loc) {
			msg, _ := Eval[string](c.Page, loginErrorJS)
			if msg == "" {
				// Logged in, but the redirect reached a worker without the
				// session: the form worked, the deployment lost the session.
				return fmt.Errorf("%w: the login form was accepted (no error shown) but the redirect to %s ended at %s", errSessionBounced, target, loc)
			}
			return fmt.Errorf("after login the browser is at %s, want %s: the form says %q", loc, c.URL(target), msg)
		}
		return fmt.Errorf("after login the browser is at %s, want %s (login refused?)", loc, c.URL(target))
	}
	if _, err := Eval[bool](c.Page, readyJS); err != nil {
		return fmt.Errorf("project page after login: toast.js never became ready: %w", err)
	}
	c.Shot("project-page")
	return nil
}

func flowListSave(c *C) error {
	pid, err := c.writable(1)
	if err != nil {
		return err
	}
	if err := c.openProjectPage(pageList, pid, ""); err != nil {
		return err
	}
	if err := c.needDOM(pageList, "tree_node", "klasifikasi", "add_klasifikasi", "tree_save"); err != nil {
		return err
	}
	name := fmt.Sprintf("e2e klasifikasi %06d", rand.IntN(1000000))
	if err := c.Do(chromedp.SendKeys(chromedp.CSS(c.sel("klasifikasi")), name), chromedp.Click(chromedp.CSS(c.sel("add_klasifikasi")))); err != nil {
		return fmt.Errorf("add a klasifikasi: %w", err)
	}
	ev, err := c.clickForToast(c.sel("tree_save"))
	if err != nil {
		return err
	}
	c.Shot("saved")
	c.Evidence("toast %q %q after saving the tree of project %d", ev.Class, ev.Text, pid)
	if err := requireSuccess(ev, "save tree"); err != nil {
		return err
	}
	// A klasifikasi without pekerjaan is listed only by the unsearched tree,
	// which the deployed app serves from a cache per worker that such a save
	// does not invalidate (REAL-APP.md 3.3): any of a few reads (landing on
	// different workers) that lists it proves the save; none cannot tell a
	// lost save from a stale cache.
	op, _ := api.Lookup("list-pekerjaan.tree")
	for i := 1; i <= treeReads; i++ {
		var tree struct {
			Klasifikasi []struct {
				Name string `json:"name"`
			} `json:"klasifikasi"`
		}
		if err := c.serverJSON(op.URLPath(api.Legacy, pid, 0), &tree); err != nil {
			return err
		}
		for _, k := range tree.Klasifikasi {
			if k.Name == name {
				c.Evidence("server tree has klasifikasi %q (read %d)", name, i)
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %d reads of the server tree of project %d lack the saved klasifikasi %q; the unsearched tree, the only read that lists a klasifikasi without pekerjaan, may be served from a cache up to 300 s (tree served from a cache; read-back could not be confirmed)",
		errCannotMeasure, treeReads, pid, name)
}

// treeReads bounds the reads that look for a saved klasifikasi.
const treeReads = 8

func flowVolumeSave(c *C) error {
	pid, err := c.writable(0)
	if err != nil {
		return err
	}
	id, want, err := c.prepareVolume(pid, 0)
	if err != nil {
		return err
	}
	ev, err := c.clickForToast(c.sel("volume_save"))
	if err != nil {
		return err
	}
	c.Shot("saved")
	c.Evidence("toast %q %q", ev.Class, ev.Text)
	if err := requireSuccess(ev, "save volume"); err != nil {
		return err
	}
	return c.verifyQuantity(pid, id, want)
}

type detailItem struct {
	Koefisien any `json:"koefisien"`
}

func flowDetailSave(c *C) error {
	pid, err := c.writable(0)
	if err != nil {
		return err
	}
	var tree struct {
		Klasifikasi []struct {
			Sub []struct {
				Pekerjaan []struct {
					ID         int64  `json:"id"`
					SourceType string `json:"source_type"`
				} `json:"pekerjaan"`
			} `json:"sub"`
		} `json:"klasifikasi"`
	}
	op, _ := api.Lookup("list-pekerjaan.tree")
	if err := c.serverJSON(op.URLPath(api.Legacy, pid, 0), &tree); err != nil {
		return err
	}
	var id int64
	for _, k := range tree.Klasifikasi {
		for _, s := range k.Sub {
			for _, p := range s.Pekerjaan {
				if p.SourceType == "custom" && id == 0 {
					id = p.ID
				}
			}
		}
	}
	if id == 0 {
		return fmt.Errorf("project %d has no custom pekerjaan to edit", pid)
	}
	if err := c.openProjectPage(pageTemplate, pid, fmt.Sprintf("?pekerjaan=%d", id)); err != nil {
		return err
	}
	if err := c.needDOM(pageTemplate, "detail_save"); err != nil {
		return err
	}
	if err := c.Do(chromedp.WaitEnabled(chromedp.CSS(c.sel("detail_save")))); err != nil {
		return c.withTrouble(0, fmt.Errorf("wait for the rincian of pekerjaan %d: %w", id, err))
	}
	rows, err := Eval[int](c.Page, fmt.Sprintf(`document.querySelectorAll(%s).length`, js(c.sel("detail_rows"))))
	if err != nil {
		return err
	}
	if rows == 0 {
		if err := c.Click(c.sel("detail_add_row")); err != nil {
			return err
		}
		if err := c.Do(
			chromedp.SendKeys(chromedp.CSS(`#detail-rows tr [data-field="kode"]`), "E2E.1"),
			chromedp.SendKeys(chromedp.CSS(`#detail-rows tr [data-field="uraian"]`), "e2e pekerja"),
			chromedp.SendKeys(chromedp.CSS(`#detail-rows tr [data-field="satuan"]`), "OH"),
		); err != nil {
			return err
		}
	}
	k := fmt.Sprintf("0.%06d", rand.IntN(900000)+100000)
	sel := `#detail-rows tr:first-child [data-field="koefisien"]`
	if err := c.Do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), k)); err != nil {
		return fmt.Errorf("type the koefisien: %w", err)
	}
	ev, err := c.clickForToast(c.sel("detail_save"))
	if err != nil {
		return err
	}
	c.Shot("saved")
	c.Evidence("koefisien %s on pekerjaan %d; toast %q %q", k, id, ev.Class, ev.Text)
	if err := requireSuccess(ev, "save rincian"); err != nil {
		return err
	}
	var detail struct {
		Items []detailItem `json:"items"`
	}
	op, _ = api.Lookup("detail-ahsp.get")
	if err := c.serverJSON(op.URLPath(api.Legacy, pid, int(id)), &detail); err != nil {
		return err
	}
	var got []string
	for _, it := range detail.Items {
		got = append(got, fmt.Sprint(it.Koefisien))
		if sameNumber(fmt.Sprint(it.Koefisien), k) {
			c.Evidence("server rincian has koefisien %v", it.Koefisien)
			return nil
		}
	}
	return fmt.Errorf("the server rincian of pekerjaan %d has koefisien %q, want one %s", id, got, k)
}

// waitRetryOverlay waits for the error overlay that offers "Coba Lagi".
func (c *C) waitRetryOverlay(cur int) (Event, error) {
	ev, err := c.Wait(cur, c.Cfg.Step, "an error overlay with "+retryLabel, func(e Event) bool {
		if e.Kind != "overlay-added" {
			return false
		}
		for _, b := range e.Buttons {
			if b == retryLabel {
				return true
			}
		}
		return false
	})
	if err != nil {
		var toasts []string
		for _, e := range c.Events()[cur:] {
			if e.Kind == "toast-added" {
				toasts = append(toasts, fmt.Sprintf("%s %q", e.Class, e.Text))
			}
		}
		return Event{}, fmt.Errorf("no showError overlay with %q (toasts instead: %v): %w", retryLabel, toasts, err)
	}
	return ev, nil
}

// clickRetry presses "Coba Lagi" and returns the toast that follows.
func (c *C) clickRetry() (Event, error) {
	idx, err := Eval[string](c.Page, fmt.Sprintf(`(function () {
  var b = Array.from(document.querySelectorAll(%s)).find(function (b) { return b.textContent.trim() === %s; });
  return b ? b.getAttribute('data-action-index') : '';
})()`, js(c.sel("retry_button")), js(retryLabel)))
	if err != nil {
		return Event{}, err
	}
	if idx == "" {
		return Event{}, fmt.Errorf("the error overlay has no %q button", retryLabel)
	}
	return c.clickForToast(fmt.Sprintf(`%s[data-action-index="%s"]`, c.sel("retry_button"), idx))
}

func flowServerErrorRetry(c *C) error {
	pid, err := c.writable(0)
	if err != nil {
		return err
	}
	id, want, err := c.prepareVolume(pid, 1)
	if err != nil {
		return err
	}
	failures := 1
	in, err := c.Intercept("*/volume-pekerjaan/save/*", func(r *network.Request) *Fulfillment {
		if r.Method != http.MethodPost || failures == 0 {
			return nil
		}
		failures--
		return &Fulfillment{Status: 500, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"success": false, "error": {"code": "SERVER_ERROR", "message": "Terjadi kesalahan pada server (e2e).", "error_id": "e2e-500", "recoverable": true, "actions": ["reload", "report"]}}`}
	})
	if err != nil {
		return err
	}
	cur := c.Cursor()
	if err := c.Click(c.sel("volume_save")); err != nil {
		return err
	}
	ov, err := c.waitRetryOverlay(cur)
	if err != nil {
		return err
	}
	c.Shot("server-error")
	c.Evidence("500 -> overlay role %q title %q message %q buttons %q", ov.Role, ov.Title, ov.Text, ov.Buttons)
	ev, err := c.clickRetry()
	if err != nil {
		return err
	}
	c.Shot("after-retry")
	c.Evidence("after Coba Lagi: toast %q %q; requests %+v", ev.Class, ev.Text, in.Seen())
	if err := requireSuccess(ev, "retry after 500"); err != nil {
		return err
	}
	if n := len(in.Seen()); n != 2 {
		return fmt.Errorf("saw %d save requests, want 2 (the failed one and the retry)", n)
	}
	return c.verifyQuantity(pid, id, want)
}

func flowRateLimited(c *C) error {
	pid := c.project(0)
	if _, _, err := c.prepareVolume(pid, 2); err != nil {
		return err
	}
	const secs = 17
	body := (`{"success": false, "message": "Terlalu banyak permintaan. Silakan coba lagi dalam 60 detik.", "code": "RATE_LIMIT_EXCEEDED", "details": {"max_requests": 20, "window_seconds": 60, "current_count": 20, "category": "write"}, "retry_after": 60}`)
	in, err := c.Intercept("*/volume-pekerjaan/save/*", func(r *network.Request) *Fulfillment {
		if r.Method != http.MethodPost {
			return nil
		}
		return &Fulfillment{Status: 429, Headers: map[string]string{"Content-Type": "application/json", "Retry-After": strconv.Itoa(secs)}, Body: body}
	})
	if err != nil {
		return err
	}
	cur := c.Cursor()
	ev, err := c.clickForToast(c.sel("volume_save"))
	if err != nil {
		return err
	}
	c.Shot("rate-limited")
	c.Evidence("429 (Retry-After: %d) -> toast %q %q; requests %+v", secs, ev.Class, ev.Text, in.Seen())
	if !ev.HasClass("dp-toast-warning") {
		return fmt.Errorf("a 429 showed a %q toast %q, want a warning", ev.Class, ev.Text)
	}
	if !strings.Contains(ev.Text, strconv.Itoa(secs)) {
		return fmt.Errorf("the 429 warning %q does not name the %d seconds of Retry-After", ev.Text, secs)
	}
	if e, ok := c.Quiet(cur, 0, func(e Event) bool { return e.Kind == "overlay-added" && len(e.Buttons) > 0 }); ok {
		return fmt.Errorf("a 429 also showed an error overlay %q", e.Title)
	}
	return nil
}

func flowOffline(c *C) error {
	pid, err := c.writable(0)
	if err != nil {
		return err
	}
	id, want, err := c.prepareVolume(pid, 3)
	if err != nil {
		return err
	}
	// The browser logs the failed request; that is the point of the check.
	c.Expect(`ERR_INTERNET_DISCONNECTED`)
	if err := c.SetOffline(true); err != nil {
		return err
	}
	cur := c.Cursor()
	if err := c.Click(c.sel("volume_save")); err != nil {
		return err
	}
	ov, err := c.waitRetryOverlay(cur)
	if err != nil {
		return err
	}
	c.Shot("offline")
	c.Evidence("offline -> overlay title %q message %q buttons %q", ov.Title, ov.Text, ov.Buttons)
	if !strings.Contains(strings.ToLower(ov.Title+" "+ov.Text), "koneksi") {
		return fmt.Errorf("the offline overlay %q / %q does not mention the connection (koneksi)", ov.Title, ov.Text)
	}
	if err := c.SetOffline(false); err != nil {
		return err
	}
	ev, err := c.clickRetry()
	if err != nil {
		return err
	}
	c.Shot("after-retry")
	c.Evidence("back online, after Coba Lagi: toast %q %q", ev.Class, ev.Text)
	if err := requireSuccess(ev, "retry after offline"); err != nil {
		return err
	}
	return c.verifyQuantity(pid, id, want)
}
