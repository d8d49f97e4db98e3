package web

// Browser tests: the served JavaScript run in headless Chromium against a
// small test site (this package's handlers plus fixture API answers in
// testdata/api). They prove the scripts' behaviour and that each UI defect
// really changes it. The harness's e2e suite runs the same kinds of checks
// against a real target.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/internal/defects"
)

const pagesCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// site is a test server: static files, pages for project 7, fixture API
// answers, and /t/ helpers for the core-script tests.
type site struct {
	*httptest.Server
	mu       sync.Mutex
	posts    map[string][]json.RawMessage
	hits     map[string]int
	faults   map[string][]int // path -> statuses to answer before the real one
	conflict bool
	tree     []byte // replaces testdata/api/tree.json when set
}

func newSite(t *testing.T, names ...string) *site {
	t.Helper()
	set, err := defects.Parse(names)
	require.NoError(t, err)
	w := New(set)
	s := &site{posts: map[string][]json.RawMessage{}, hits: map[string]int{}, faults: map[string][]int{}}
	mux := http.NewServeMux()
	mux.Handle(StaticPrefix, w.StaticHandler())
	mux.HandleFunc("/detail_project/7/{page}/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", pagesCSP)
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := w.RenderPage(rw, r.PathValue("page"), PageData{ProjectID: 7, ProjectName: "Gedung Kantor Dinas", UserName: "user1", CSRFToken: "tok"}); err != nil {
			http.Error(rw, err.Error(), http.StatusNotFound)
		}
	})
	mux.HandleFunc("/detail_project/api/project/7/", s.api)
	mux.HandleFunc("/accounts/login/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", pagesCSP)
		if err := w.RenderLogin(rw, LoginData{CSRFToken: "tok", Next: "/detail_project/7/rekap-rab/", Error: "Nama pengguna atau kata sandi salah.", Login: "user1"}); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/t/plain/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", pagesCSP)
		fmt.Fprintf(rw, `<!DOCTYPE html><html><head><script src="%[1]sjs/core/toast.js"></script><script src="%[1]sjs/core/http.js"></script></head><body data-csrf-token="bodytoken"><main>uji</main></body></html>`, StaticPrefix)
	})
	mux.HandleFunc("/t/bare/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Security-Policy", pagesCSP)
		fmt.Fprint(rw, `<!DOCTYPE html><html><body><main>tanpa toast.js</main></body></html>`)
	})
	mux.HandleFunc("/t/echo", func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		writeJSON(rw, http.StatusOK, map[string]any{
			"method": r.Method, "body": string(body), "content_type": r.Header.Get("Content-Type"),
			"xrw": r.Header.Get("X-Requested-With"), "accept": r.Header.Get("Accept"), "csrf": r.Header.Get("X-CSRFToken"),
		})
	})
	mux.HandleFunc("/t/status", func(rw http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code, _ := strconv.Atoi(q.Get("code"))
		if v := q.Get("retry"); v != "" {
			rw.Header().Set("Retry-After", v)
		}
		body := map[string]any{"success": false, "message": "gagal"}
		if v := q.Get("body_retry"); v != "" {
			n, _ := strconv.Atoi(v)
			body["retry_after"] = n
		}
		writeJSON(rw, code, body)
	})
	// hangup drops the connection: the browser sees a network failure.
	mux.HandleFunc("/t/hangup", func(rw http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(rw).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/t/flaky", func(rw http.ResponseWriter, r *http.Request) {
		if s.hit("/t/flaky") == 1 {
			writeJSON(rw, http.StatusInternalServerError, map[string]any{"success": false, "error": map[string]any{"code": "SERVER_ERROR", "message": "Terjadi kesalahan pada server.", "error_id": "e1", "recoverable": true}})
			return
		}
		writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "attempt": 2})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(v)
}

func (s *site) hit(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[path]++
	return s.hits[path]
}

func (s *site) fail(path string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], statuses...)
}

func (s *site) posted(path string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.posts[path]...)
}

func (s *site) api(rw http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, "/detail_project/api/project/7/")
	s.hit(rel)
	s.mu.Lock()
	var fault int
	if f := s.faults[rel]; len(f) > 0 {
		fault, s.faults[rel] = f[0], f[1:]
	}
	s.mu.Unlock()
	if fault != 0 {
		writeJSON(rw, fault, map[string]any{"success": false, "error": map[string]any{"code": "SERVER_ERROR", "message": "Terjadi kesalahan pada server.", "error_id": "f1", "recoverable": true}})
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-CSRFToken") == "" || !json.Valid(body) {
			http.Error(rw, "CSRF verification failed", http.StatusForbidden)
			return
		}
		s.mu.Lock()
		s.posts[rel] = append(s.posts[rel], body)
		conflict := s.conflict
		s.mu.Unlock()
		switch rel {
		case "list-pekerjaan/upsert/":
			writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "errors": []any{}, "summary": map[string]int{}, "change_flags": map[string]any{"reload_job_ids": []int{}, "volume_reset_job_ids": []int{}}})
		case "harga-items/save/":
			writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "user_message": "ok", "updated": 1, "pricing_saved": true, "markup_percent": "12.00", "project_updated_at": "2026-11-23T10:00:00+00:00", "errors": []any{}})
		case "volume-pekerjaan/save/":
			writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "saved": 1, "errors": []any{}, "decimal_places": 3})
		case "detail-ahsp/102/save/":
			if conflict {
				writeJSON(rw, http.StatusConflict, map[string]any{"ok": false, "conflict": true, "user_message": "Data sudah diubah pengguna lain.", "server_updated_at": "2026-11-23T10:00:00Z", "errors": []any{}})
				return
			}
			writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "success": true, "user_message": "Tersimpan", "saved_rows": 2, "errors": []any{}, "pekerjaan": map[string]any{"id": 102, "updated_at": "2026-11-23T09:30:00Z"}})
		default:
			http.NotFound(rw, r)
		}
		return
	}
	files := map[string]string{
		"list-pekerjaan/tree/":   "tree.json",
		"volume-pekerjaan/list/": "volume-list.json",
		"detail-ahsp/102/":       "detail-102.json",
		"rekap/":                 "rekap.json",
	}
	if rel == "harga-items/list/" {
		writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "items": []map[string]any{{"id": 4, "kode_item": "B.01", "kategori": "BHN", "uraian": "Semen portland", "satuan": "kg", "harga_satuan": "1500.00"}}, "meta": map[string]any{"markup_percent": "15.00", "project_updated_at": "2026-11-23T09:00:00+00:00"}})
		return
	}
	s.mu.Lock()
	tree := s.tree
	s.mu.Unlock()
	if rel == "list-pekerjaan/tree/" && tree != nil {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(tree)
		return
	}
	if rel == "search-ahsp/" {
		writeJSON(rw, http.StatusOK, map[string]any{"ok": true, "total": 1, "results": []map[string]any{{"id": 5, "text": "A.2.2.1.1 — Pembersihan lapangan", "kode_ahsp": "A.2.2.1.1", "nama_ahsp": "Pembersihan lapangan", "satuan": "m2", "sumber": "SNI 2016"}}})
		return
	}
	f, ok := files[rel]
	if !ok {
		http.NotFound(rw, r)
		return
	}
	b, err := os.ReadFile(filepath.Join("testdata", "api", f))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write(b)
}

// browser starts one headless Chromium for a test; it skips loudly when
// Chromium is missing and fails under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	_, err := exec.LookPath(path)
	testenv.Need(t, "chromium at "+path+" (set CHROMIUM or apt-get install chromium)", err)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// No timeout on the first run: it owns the browser process.
	require.NoError(t, chromedp.Do(bctx), "start chromium")
	return bctx
}

// tab opens a fresh tab and records its console; messages() returns what
// was logged so far.
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func newTab(t *testing.T, bctx context.Context, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	require.NoError(t, chromedp.Do(ctx), "open tab")
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.msgs = append(tb.msgs, m)
			tb.mu.Unlock()
		}
	}()
	tb.do(t, chromedp.Navigate(url))
	return tb
}

func (tb *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...), "console: %q", tb.console())
}

// waitFor polls in the page for a selector. chromedp.WaitVisible missed a
// toast appended next to an earlier one (its DOM cache had not seen the
// insertion), so dynamic nodes are awaited in JavaScript.
func (tb *tab) waitFor(t *testing.T, sel string) {
	t.Helper()
	q, err := json.Marshal(sel)
	require.NoError(t, err)
	eval[bool](t, tb, "(async () => {"+jsHelpers+"await waitFor(() => document.querySelector("+string(q)+"), 15000); return true; })()")
}

func eval[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "evaluate %s\nconsole: %q", js, tb.console())
	return v
}

// problems lists exceptions and console errors; network log entries (a
// failed resource) are expected where a test injects faults.
func (tb *tab) problems(allowNetwork bool) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, m := range tb.msgs {
		if m.IsException() || m.Type == "error" {
			if allowNetwork && m.Source == "network" {
				continue
			}
			out = append(out, m.String())
		}
	}
	return out
}

func (tb *tab) console() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, m := range tb.msgs {
		out = append(out, string(m.Type)+" "+m.Text)
	}
	return out
}

func (tb *tab) screenshot(t *testing.T, name string) {
	dir := os.Getenv("WEB_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

const jsHelpers = `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (fn, ms = 5000) => { const end = Date.now() + ms; for (;;) { const v = fn(); if (v) return v; if (Date.now() > end) throw new Error('timeout waiting'); await sleep(20); } };
const overlays = () => document.querySelectorAll('#dp-loading-overlay').length;
const payload = '<img src=x onerror="window.__pwned=1">';
`

func TestBrowser(t *testing.T) {
	bctx := browser(t)
	t.Run("toast", func(t *testing.T) { testToast(t, bctx) })
	t.Run("loading", func(t *testing.T) { testLoading(t, bctx) })
	t.Run("toast-wrapper", func(t *testing.T) { testWrapper(t, bctx) })
	t.Run("jfetch", func(t *testing.T) { testJfetch(t, bctx) })
	t.Run("pages", func(t *testing.T) { testPages(t, bctx) })
}

func testToast(t *testing.T, bctx context.Context) {
	type result struct {
		Same             bool     `json:"same"`
		SharedShow       bool     `json:"sharedShow"`
		CoreKeys         []string `json:"coreKeys"`
		ShowToast        bool     `json:"showToast"`
		AreaBefore       bool     `json:"areaBefore"`
		AreaClass        string   `json:"areaClass"`
		AreaLabel        string   `json:"areaLabel"`
		AreaZ            string   `json:"areaZ"`
		Structure        string   `json:"structure"`
		LoadingClose     bool     `json:"loadingClose"`
		NodesAfterFive   int      `json:"nodesAfterFive"`
		XSSText          string   `json:"xssText"`
		XSSImg           int      `json:"xssImg"`
		Role             string   `json:"role"`
		Shown            bool     `json:"shown"`
		AreaRole         string   `json:"areaRole"`
		AreaLive         string   `json:"areaLive"`
		LegacyPositional string   `json:"legacyPositional"`
		LegacyObject     string   `json:"legacyObject"`
		LegacyObjectGone bool     `json:"legacyObjectGone"`
		MaxCount         int      `json:"maxCount"`
		MaxTexts         []string `json:"maxTexts"`
		CloseHide        bool     `json:"closeHide"`
		CloseGone        bool     `json:"closeGone"`
		AutoHide         bool     `json:"autoHide"`
		AutoGone         bool     `json:"autoGone"`
	}
	const js = jsHelpers + `(async () => {
  const T = window.DP.toast, C = window.DP.core.toast;
  const out = {same: T === C, sharedShow: T.show === C.show, coreKeys: Object.keys(C).sort(), showToast: window.showToast === T.show,
    areaBefore: !!document.getElementById('dp-toast-area')};
  T.clear();
  T.show({message: payload, title: payload, type: 'error'});
  await sleep(150);
  const x = document.querySelector('#dp-toast-area .dp-toast-error');
  out.xssText = x.querySelector('.dp-toast-message').textContent;
  out.xssImg = document.querySelectorAll('#dp-toast-area img').length;
  out.role = x.getAttribute('role');
  out.shown = x.classList.contains('dp-toast-show');
  const area = document.getElementById('dp-toast-area');
  out.areaRole = area.getAttribute('role'); out.areaLive = area.getAttribute('aria-live');
  out.areaClass = area.className; out.areaLabel = area.getAttribute('aria-label'); out.areaZ = getComputedStyle(area).zIndex;
  out.structure = [...x.children].map((c) => c.className + (c.firstElementChild ? '>' + c.firstElementChild.tagName.toLowerCase() + '.' + c.firstElementChild.className.split(' ')[0] : '')).join(' | ');
  T.clear();
  T.loading('memuat');
  out.loadingClose = !!document.querySelector('.dp-toast-loading .dp-toast-close');
  T.clear();
  T.show('Gagal lama', 'danger', 3000);
  out.legacyPositional = document.querySelector('#dp-toast-area .dp-toast')?.className ?? '';
  T.clear();
  T.show({message: 'Peringatan lama', variant: 'warning', delay: 200});
  const lo = document.querySelector('#dp-toast-area .dp-toast');
  out.legacyObject = lo?.className ?? '';
  await sleep(200 + 300 + 200);
  out.legacyObjectGone = !lo || !lo.isConnected;
  T.clear();
  for (let i = 0; i < 5; i++) T.info('n' + i);
  out.nodesAfterFive = document.querySelectorAll('#dp-toast-area .dp-toast').length;
  out.maxCount = document.querySelectorAll('#dp-toast-area .dp-toast:not(.dp-toast-hide)').length;
  out.maxTexts = [...document.querySelectorAll('#dp-toast-area .dp-toast:not(.dp-toast-hide) .dp-toast-message')].map((e) => e.textContent);
  T.clear();
  T.success('tutup saya', 0);
  const c = document.querySelector('.dp-toast-success');
  c.querySelector('.dp-toast-close').click();
  out.closeHide = c.classList.contains('dp-toast-hide');
  await sleep(450);
  out.closeGone = !c.isConnected;
  const a = T.show({message: 'cepat', type: 'info', duration: 150}).element;
  await sleep(250); out.autoHide = a.classList.contains('dp-toast-hide');
  await sleep(300); out.autoGone = !a.isConnected;
  return out;
})()`
	correct := func(t *testing.T, r result) {
		require.Equal(t, `<img src=x onerror="window.__pwned=1">`, r.XSSText)
		require.Zero(t, r.XSSImg)
	}
	legacyWorks := func(t *testing.T, r result) {
		require.Contains(t, r.LegacyPositional, "dp-toast-error", "show(msg,'danger',3000) is an error toast")
		require.Contains(t, r.LegacyObject, "dp-toast-warning", "show({message,variant,delay}) honours variant")
		require.True(t, r.LegacyObjectGone, "delay honoured")
	}
	tests := []struct {
		defects []string
		check   func(t *testing.T, r result)
	}{
		{nil, func(t *testing.T, r result) { correct(t, r); legacyWorks(t, r) }},
		{[]string{"unescaped-ui"}, func(t *testing.T, r result) {
			require.Equal(t, 2, r.XSSImg, "title and message inserted as HTML")
			require.Empty(t, r.XSSText)
			legacyWorks(t, r)
		}},
		{[]string{"toast-legacy-ignored"}, func(t *testing.T, r result) {
			correct(t, r)
			require.Empty(t, r.LegacyPositional)
			require.Empty(t, r.LegacyObject)
		}},
		{[]string{"toast-legacy-raw"}, func(t *testing.T, r result) {
			correct(t, r)
			require.Contains(t, r.LegacyPositional, "dp-toast-danger", "as deployed: 'danger' is used as the class")
			require.Contains(t, r.LegacyObject, "dp-toast-info", "as deployed: variant ignored")
			require.False(t, r.LegacyObjectGone, "as deployed: delay ignored (3000 ms)")
		}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(append([]string{"defects"}, tc.defects...), "-"), func(t *testing.T) {
			s := newSite(t, tc.defects...)
			tb := newTab(t, bctx, s.URL+"/t/plain/")
			r := eval[result](t, tb, js)
			require.False(t, r.Same, "DP.toast and DP.core.toast are separate objects")
			require.True(t, r.SharedShow, "sharing show")
			require.Equal(t, []string{"clear", "setMax", "show"}, r.CoreKeys)
			require.True(t, r.ShowToast, "window.showToast")
			require.False(t, r.AreaBefore, "no #dp-toast-area before the first toast")
			require.Equal(t, "dp-toast-area dp-toast-top-right", r.AreaClass)
			require.Equal(t, "Notifications", r.AreaLabel)
			require.Equal(t, "13100", r.AreaZ)
			require.Equal(t, "dp-toast-icon>i.bi | dp-toast-content>div.dp-toast-title | dp-toast-close", r.Structure)
			require.False(t, r.LoadingClose, "loading toasts have no close button")
			require.Equal(t, 5, r.NodesAfterFive, "the cap closes the oldest with a fade, so the nodes stay until it ends")
			require.Equal(t, "alert", r.Role)
			require.True(t, r.Shown, ".dp-toast-show added")
			require.Equal(t, "region", r.AreaRole)
			require.Equal(t, "polite", r.AreaLive)
			require.Equal(t, 3, r.MaxCount)
			require.Equal(t, []string{"n2", "n3", "n4"}, r.MaxTexts, "oldest removed first")
			require.True(t, r.CloseHide && r.CloseGone, "close button hides then removes")
			require.True(t, r.AutoHide && r.AutoGone, "auto-dismiss after duration")
			tc.check(t, r)
			if len(tc.defects) == 0 {
				require.Empty(t, tb.problems(true))
			}
		})
	}
}

func testLoading(t *testing.T, bctx context.Context) {
	type button struct {
		Text    string `json:"text"`
		Primary bool   `json:"primary"`
		Outline bool   `json:"outline"`
		Index   string `json:"idx"`
	}
	type state struct {
		Count   int      `json:"count"`
		Clicked []string `json:"clicked"`
		Closed  int      `json:"closed"`
	}
	type result struct {
		Global       bool     `json:"global"`
		LoaderMsg    string   `json:"loaderMsg"`
		HasContent   bool     `json:"hasContent"`
		AfterHide    int      `json:"afterHide"`
		RaceCount    int      `json:"raceCount"`
		VisibleCount int      `json:"visibleCount"`
		Buttons      []button `json:"buttons"`
		AfterStay    state    `json:"afterStay"`
		AfterRetry   state    `json:"afterRetry"`
		DefaultLabel string   `json:"defaultLabel"`
		AfterDefault int      `json:"afterDefault"`
		XSSTitle     string   `json:"xssTitle"`
		XSSImg       int      `json:"xssImg"`
		WrapResult   int      `json:"wrapResult"`
		AfterWrap    int      `json:"afterWrap"`
	}
	const js = jsHelpers + `(async () => {
  const {default: LM} = await import('/static/detail_project/js/core/loading.js');
  const out = {global: window.DP.core.loading === LM};
  const closeAll = () => document.querySelector('#dp-loading-overlay button')?.click();
  LM.show('Memuat data');
  out.loaderMsg = document.querySelector('#dp-loading-overlay .dp-loading-message').textContent;
  out.hasContent = !!document.querySelector('#dp-loading-overlay .dp-loading-content');
  LM.hide();
  await sleep(400);
  out.afterHide = overlays();
  LM.show('a'); LM.hide(); await sleep(50);
  LM.showError({title: 'Gagal', message: 'Pesan'});
  await sleep(400);
  out.raceCount = overlays();
  closeAll();
  LM.show('b'); LM.showError({message: 'x'}); await sleep(50);
  out.visibleCount = overlays();
  closeAll();
  const clicked = []; let closed = 0;
  LM.showError({title: 'Judul', message: 'Isi', onClose: () => closed++, actions: [
    {label: 'Coba Lagi', primary: true, onClick: () => clicked.push('retry')},
    {label: 'Tetap', closeAfter: false, onClick: () => clicked.push('stay')}]});
  const btns = [...document.querySelectorAll('#dp-loading-overlay button[data-action-index]')];
  out.buttons = btns.map((b) => ({text: b.textContent, primary: b.classList.contains('btn-primary'), outline: b.classList.contains('btn-outline-secondary'), idx: b.dataset.actionIndex}));
  btns[1].click(); out.afterStay = {count: overlays(), clicked: [...clicked], closed};
  btns[0].click(); out.afterRetry = {count: overlays(), clicked: [...clicked], closed};
  LM.showError({message: 'Tanpa aksi'});
  const d = document.querySelector('#dp-loading-overlay button[data-action="close"]');
  out.defaultLabel = d?.textContent ?? ''; d?.click(); out.afterDefault = overlays();
  LM.showError({title: payload, message: payload, actions: [{label: payload}]});
  await sleep(150);
  const o = document.querySelector('#dp-loading-overlay');
  out.xssTitle = o.querySelector('h5').textContent; out.xssImg = o.querySelectorAll('img').length;
  o.querySelector('button').click();
  out.wrapResult = await LM.wrap(() => new Promise((r) => setTimeout(() => r(5), 50)), 'Menunggu');
  await sleep(400); out.afterWrap = overlays();
  return out;
})()`
	tests := []struct {
		defects []string
		check   func(t *testing.T, r result)
	}{
		{nil, func(t *testing.T, r result) {
			require.Equal(t, 1, r.RaceCount, "showError during the fade leaves exactly one overlay")
			require.Equal(t, `<img src=x onerror="window.__pwned=1">`, r.XSSTitle)
			require.Zero(t, r.XSSImg)
		}},
		{[]string{"loader-race"}, func(t *testing.T, r result) {
			require.Equal(t, 0, r.RaceCount, "the fade timer removes the newer error overlay")
		}},
		{[]string{"unescaped-ui"}, func(t *testing.T, r result) {
			require.Equal(t, 1, r.RaceCount)
			require.Equal(t, 3, r.XSSImg, "title, message and label inserted as HTML")
		}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(append([]string{"defects"}, tc.defects...), "-"), func(t *testing.T) {
			s := newSite(t, tc.defects...)
			tb := newTab(t, bctx, s.URL+"/t/bare/")
			r := eval[result](t, tb, js)
			require.True(t, r.Global, "window.DP.core.loading is the module's LoadingManager")
			require.Equal(t, "Memuat data", r.LoaderMsg)
			require.True(t, r.HasContent)
			require.Zero(t, r.AfterHide)
			require.Equal(t, 1, r.VisibleCount, "showError over a visible loader leaves one overlay")
			require.Equal(t, []button{{"Coba Lagi", true, false, "0"}, {"Tetap", false, true, "1"}}, r.Buttons)
			require.Equal(t, state{1, []string{"stay"}, 0}, r.AfterStay, "closeAfter:false keeps the overlay")
			require.Equal(t, state{0, []string{"stay", "retry"}, 1}, r.AfterRetry, "onClick then close then onClose")
			require.Equal(t, "Tutup", r.DefaultLabel)
			require.Zero(t, r.AfterDefault)
			require.Equal(t, 5, r.WrapResult)
			require.Zero(t, r.AfterWrap)
			tc.check(t, r)
			if len(tc.defects) == 0 {
				require.Empty(t, tb.problems(true))
			}
		})
	}
}

func testWrapper(t *testing.T, bctx context.Context) {
	s := newSite(t)
	t.Run("with toast.js", func(t *testing.T) {
		tb := newTab(t, bctx, s.URL+"/t/plain/")
		r := eval[map[string]any](t, tb, jsHelpers+`(async () => {
  const {default: t} = await import('/static/detail_project/js/core/toast-wrapper.js');
  const b = await t.ready(2000);
  const out = {ready: b === window.DP.core.toast, fallback: t.isFallback()};
  t.clear();
  t.success('Tersimpan');
  const el = document.querySelector('.dp-toast-success');
  out.success = !!el;
  await sleep(1200); out.presentAt1200 = el.isConnected && !el.classList.contains('dp-toast-hide');
  await sleep(1100); out.goneAt2300 = !el.isConnected;
  t.error('e'); t.warning('w'); t.info('i');
  out.types = [...document.querySelectorAll('#dp-toast-area .dp-toast')].map((e) => e.dataset.toastType);
  t.setMax(1);
  out.afterSetMax = document.querySelectorAll('#dp-toast-area .dp-toast:not(.dp-toast-hide)').length;
  t.show('lama', 'danger', 1000);
  out.legacy = document.querySelector('#dp-toast-area .dp-toast')?.dataset.toastType ?? '';
  return out;
})()`)
		require.Equal(t, map[string]any{
			"ready": true, "fallback": false, "success": true, "presentAt1200": true, "goneAt2300": true,
			"types": []any{"error", "warning", "info"}, "afterSetMax": float64(1), "legacy": "error",
		}, r)
		require.Empty(t, tb.problems(true))
	})
	t.Run("console fallback", func(t *testing.T) {
		tb := newTab(t, bctx, s.URL+"/t/bare/")
		r := eval[map[string]any](t, tb, `(async () => {
  const {default: t} = await import('/static/detail_project/js/core/toast-wrapper.js');
  const b = await t.ready(300);
  t.success('a-ok'); t.error('b-err'); t.warning('c-warn'); t.info('d-info'); t.show('e-legacy', 'danger', 100);
  t.clear(); t.setMax(2);
  return {fallback: b.fallback === true, isFallback: t.isFallback(), noArea: !document.getElementById('dp-toast-area')};
})()`)
		require.Equal(t, map[string]any{"fallback": true, "isFallback": true, "noArea": true}, r)
		require.Eventually(t, func() bool { return len(tb.console()) >= 5 }, 5*time.Second, 20*time.Millisecond)
		require.Subset(t, tb.console(), []string{"info [toast:success] a-ok", "error [toast:error] b-err", "warning [toast:warning] c-warn", "info [toast:info] d-info", "error [toast:danger] e-legacy"})
		for _, m := range tb.console() {
			require.NotContains(t, m, "exception")
		}
	})
	t.Run("ready waits for a late toast.js", func(t *testing.T) {
		tb := newTab(t, bctx, s.URL+"/t/bare/")
		r := eval[map[string]any](t, tb, jsHelpers+`(async () => {
  const {default: t} = await import('/static/detail_project/js/core/toast-wrapper.js');
  const p = t.ready(5000);
  await sleep(200);
  const sc = document.createElement('script'); sc.src = '/static/detail_project/js/core/toast.js'; document.head.appendChild(sc);
  const b = await p;
  return {core: b === window.DP.core.toast, fallback: t.isFallback()};
})()`)
		require.Equal(t, map[string]any{"core": true, "fallback": false}, r)
	})
}

func testJfetch(t *testing.T, bctx context.Context) {
	s := newSite(t)
	tb := newTab(t, bctx, s.URL+"/t/plain/")
	r := eval[map[string]any](t, tb, jsHelpers+`(async () => {
  document.cookie = 'csrftoken=cookietoken; path=/';
  const {jfetch} = await import('/static/detail_project/js/pages/api.js');
  const H = window.DP.core.http;
  const out = {global: Object.keys(H).sort().join(',')};
  out.coreGet = await (await H.jfetch('/t/echo')).json();
  out.corePost = await H.jfetchJson('/t/echo', {method: 'POST', body: {b: 2}});
  out.coreCSRF = H.getCSRF();
  out.echo = await jfetch('/t/echo', {method: 'POST', body: {a: 1}});
  const warn = () => document.querySelector('#dp-toast-area .dp-toast-warning .dp-toast-message')?.textContent ?? '';
  try { await jfetch('/t/status?code=429&retry=42'); } catch (e) { out.e429 = {status: e.status, retryAfter: e.retryAfter}; }
  out.toast429 = warn(); window.DP.toast.clear();
  try { await jfetch('/t/status?code=429&body_retry=60'); } catch (e) { out.e429body = e.retryAfter; }
  out.toast429body = warn(); window.DP.toast.clear();
  const p = jfetch('/t/flaky');
  await waitFor(() => document.querySelector('#dp-loading-overlay button[data-action-index]'));
  const o = document.querySelector('#dp-loading-overlay');
  out.overlay500 = {title: o.querySelector('h5').textContent, buttons: [...o.querySelectorAll('button')].map((b) => b.textContent + (b.classList.contains('btn-primary') ? '*' : ''))};
  o.querySelector('button.btn-primary').click();
  out.retried = await p;
  await sleep(400); out.afterRetry = overlays();
  const p2 = jfetch('/t/status?code=503');
  await waitFor(() => document.querySelector('#dp-loading-overlay button[data-action-index="1"]')).then((b) => b.click());
  try { await p2; } catch (e) { out.cancelled = e.cancelled === true; }
  const p3 = jfetch('/t/hangup');
  const t3 = await waitFor(() => document.querySelector('#dp-loading-overlay h5'));
  out.offlineTitle = t3.textContent;
  document.querySelector('#dp-loading-overlay button[data-action-index="1"]').click();
  try { await p3; } catch (e) { out.offlineCancelled = e.cancelled === true; }
  out.afterAll = overlays();
  return out;
})()`)
	require.Equal(t, map[string]any{
		"global": "getCSRF,jfetch,jfetchJson",
		"coreGet": map[string]any{"method": "GET", "body": "", "content_type": "",
			"xrw": "XMLHttpRequest", "accept": "application/json", "csrf": ""},
		"corePost": map[string]any{"method": "POST", "body": `{"b":2}`, "content_type": "application/json",
			"xrw": "XMLHttpRequest", "accept": "application/json", "csrf": "cookietoken"},
		"coreCSRF": "cookietoken",
		"echo": map[string]any{"method": "POST", "body": `{"a":1}`, "content_type": "application/json",
			"xrw": "XMLHttpRequest", "accept": "application/json", "csrf": "cookietoken"},
		"e429":             map[string]any{"status": float64(429), "retryAfter": float64(42)},
		"toast429":         "Terlalu banyak permintaan. Coba lagi dalam 42 detik.",
		"e429body":         float64(60),
		"toast429body":     "Terlalu banyak permintaan. Coba lagi dalam 60 detik.",
		"overlay500":       map[string]any{"title": "Kesalahan Server", "buttons": []any{"Coba Lagi*", "Batal"}},
		"retried":          map[string]any{"ok": true, "attempt": float64(2)},
		"afterRetry":       float64(0),
		"cancelled":        true,
		"offlineTitle":     "Koneksi Terputus",
		"offlineCancelled": true,
		"afterAll":         float64(0),
	}, r)
	require.Empty(t, tb.problems(true))
}

func testPages(t *testing.T, bctx context.Context) {
	base := "/detail_project/7/"
	t.Run("list-pekerjaan", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+base+"list-pekerjaan/")
		tb.do(t, chromedp.WaitVisible(`[data-testid="node-pekerjaan"]`))
		require.Equal(t, 4, eval[int](t, tb, `document.querySelectorAll('[data-testid="node-pekerjaan"]').length`))
		tb.do(t,
			chromedp.SendKeys("#klasifikasi-name", "Pekerjaan Tanah"), chromedp.Click("#btn-add-klasifikasi"),
			chromedp.SendKeys("#sub-name", "Galian"), chromedp.Click("#btn-add-sub"),
			chromedp.SendKeys("#pekerjaan-uraian", "Galian tanah biasa"), chromedp.SendKeys("#pekerjaan-satuan", "m3"),
			chromedp.Click("#btn-add-pekerjaan"))
		tb.screenshot(t, "list-pekerjaan")
		s.fail("list-pekerjaan/upsert/", http.StatusInternalServerError)
		tb.do(t, chromedp.Click("#btn-save-tree"))
		tb.waitFor(t, `#dp-loading-overlay button.btn-primary`)
		tb.screenshot(t, "list-pekerjaan-error")
		tb.do(t, chromedp.Click(`#dp-loading-overlay button.btn-primary`))
		tb.waitFor(t, `.dp-toast-success`)
		require.Equal(t, "Data berhasil disimpan", eval[string](t, tb, `document.querySelector('.dp-toast-success .dp-toast-message').textContent`))
		tb.screenshot(t, "list-pekerjaan-saved")
		bodies := s.posted("list-pekerjaan/upsert/")
		require.Len(t, bodies, 1, "the 500 was answered before the body was recorded; the retry saved once")
		var got struct {
			Klasifikasi []struct {
				ID     int64  `json:"id"`
				TempID string `json:"temp_id"`
				Name   string `json:"name"`
				Sub    []struct {
					ID        int64            `json:"id"`
					TempID    string           `json:"temp_id"`
					Pekerjaan []map[string]any `json:"pekerjaan"`
				} `json:"sub"`
			} `json:"klasifikasi"`
		}
		require.NoError(t, json.Unmarshal(bodies[0], &got))
		require.Len(t, got.Klasifikasi, 2)
		require.Equal(t, int64(1), got.Klasifikasi[0].ID)
		require.Len(t, got.Klasifikasi[0].Sub[0].Pekerjaan, 2, "existing rows kept")
		require.Equal(t, "Pekerjaan Tanah", got.Klasifikasi[1].Name)
		require.NotEmpty(t, got.Klasifikasi[1].TempID)
		require.Equal(t, "Galian tanah biasa", got.Klasifikasi[1].Sub[0].Pekerjaan[0]["snapshot_uraian"])
		require.Equal(t, "custom", got.Klasifikasi[1].Sub[0].Pekerjaan[0]["source_type"])
		require.Empty(t, tb.problems(true))
	})
	t.Run("volume", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+base+"volume-pekerjaan/")
		tb.do(t, chromedp.WaitVisible(`#volume-103`))
		require.Equal(t, "250", eval[string](t, tb, `document.querySelector('#volume-101').value`))
		require.Equal(t, "12,5", eval[string](t, tb, `document.querySelector('#volume-102').value`))
		tb.do(t, chromedp.SendKeys("#volume-103", "7,5"))
		tb.screenshot(t, "volume")
		tb.do(t, chromedp.Click("#btn-save-volume"))
		tb.waitFor(t, `.dp-toast-success`)
		var got struct{ Items []map[string]any }
		bodies := s.posted("volume-pekerjaan/save/")
		require.Len(t, bodies, 1)
		require.NoError(t, json.Unmarshal(bodies[0], &got))
		// The page reads what it shows (id-ID "7,5") into a JSON number.
		require.Contains(t, got.Items, map[string]any{"pekerjaan_id": float64(103), "quantity": 7.5})
		require.Contains(t, got.Items, map[string]any{"pekerjaan_id": float64(102), "quantity": 12.5})
		require.Len(t, got.Items, 3)
		require.Empty(t, tb.problems(false))
	})
	t.Run("detail-ahsp", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+base+"detail-ahsp/?pekerjaan=102")
		tb.do(t, chromedp.WaitVisible(`[data-testid="detail-row"]`), chromedp.WaitEnabled("#btn-save-detail"))
		require.Equal(t, 2, eval[int](t, tb, `document.querySelectorAll('[data-testid="detail-row"]').length`))
		tb.screenshot(t, "detail-ahsp")
		second := `[data-testid="detail-row"]:nth-child(2) [data-field="koefisien"]`
		tb.do(t, chromedp.Clear(second), chromedp.SendKeys(second, "0,25"))
		tb.do(t, chromedp.Click("#btn-save-detail"))
		tb.waitFor(t, `.dp-toast-success`)
		var got struct {
			Rows            []map[string]any `json:"rows"`
			ClientUpdatedAt string           `json:"client_updated_at"`
		}
		require.NoError(t, json.Unmarshal(s.posted("detail-ahsp/102/save/")[0], &got))
		require.Equal(t, "2026-11-23T09:00:00.000000+00:00", got.ClientUpdatedAt)
		// The koefisien shown ("0.750000") and the one typed the id-ID way
		// ("0,25") go as JSON numbers: the server never guesses.
		require.Equal(t, map[string]any{"kategori": "TK", "kode": "L.01", "uraian": "Pekerja", "satuan": "OH", "koefisien": 0.75}, got.Rows[0])
		require.Equal(t, 0.25, got.Rows[1]["koefisien"])
		s.mu.Lock()
		s.conflict = true
		s.mu.Unlock()
		tb.waitFor(t, "body:not([data-busy])")
		tb.do(t, chromedp.Click("#btn-save-detail"))
		tb.waitFor(t, ".dp-toast-warning")
		require.Equal(t, "Data sudah diubah pengguna lain.", eval[string](t, tb, `document.querySelector('.dp-toast-warning .dp-toast-message').textContent`))
		tb.screenshot(t, "detail-ahsp-conflict")
		require.Empty(t, tb.problems(true))
	})
	t.Run("login", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+"/accounts/login/")
		tb.do(t, chromedp.WaitVisible("#id_password"))
		require.Equal(t, "user1", eval[string](t, tb, `document.querySelector('#id_login').value`))
		tb.screenshot(t, "login")
		require.Empty(t, tb.problems(false))
	})
	t.Run("rekap", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+base+"rekap-rab/")
		tb.do(t, chromedp.WaitVisible(`[data-testid="rekap-row"]`))
		require.Equal(t, "3.751.562,50", eval[string](t, tb, `document.querySelector('#rekap-total').textContent`))
		tb.screenshot(t, "rekap")
		require.Empty(t, tb.problems(false))
	})
	t.Run("harga-items", func(t *testing.T) {
		s := newSite(t)
		tb := newTab(t, bctx, s.URL+base+"harga-items/")
		tb.do(t, chromedp.WaitVisible(`[data-testid="harga-row"]`))
		require.Equal(t, "15.00", eval[string](t, tb, `document.querySelector('#harga-markup').value`))
		eval[bool](t, tb, `(() => { document.querySelector('#harga-markup').value = ''; return true; })()`)
		tb.do(t, chromedp.SendKeys(`#harga-markup`, "12,5"), chromedp.Click("#btn-save-harga"))
		tb.waitFor(t, `.dp-toast-success`)
		var got map[string]any
		require.NoError(t, json.Unmarshal(s.posted("harga-items/save/")[0], &got))
		// What the page shows ("1500.00") and what was typed the id-ID way
		// ("12,5") go as JSON numbers.
		require.Equal(t, map[string]any{"items": []any{map[string]any{"id": float64(4), "harga_satuan": 1500.0}}, "markup_percent": 12.5, "client_updated_at": "2026-11-23T09:00:00+00:00"}, got)
		tb.waitFor(t, "body:not([data-busy])")
		price := `input[data-item-id="4"]`
		tb.do(t, chromedp.Clear(price), chromedp.SendKeys(price, "1.750,50"), chromedp.Click("#btn-save-harga"))
		require.Eventually(t, func() bool { return len(s.posted("harga-items/save/")) == 2 }, 10*time.Second, 50*time.Millisecond)
		require.NoError(t, json.Unmarshal(s.posted("harga-items/save/")[1], &got))
		require.Equal(t, []any{map[string]any{"id": float64(4), "harga_satuan": 1750.5}}, got["items"])
		require.Empty(t, tb.problems(false))
	})
	// Which of toast-wrapper.js and loading.js the pages request: all of them
	// on the correct frontend, none with unused-ui-scripts.
	for _, tc := range []struct {
		defects []string
		want    bool
	}{{nil, true}, {[]string{"unused-ui-scripts"}, false}} {
		t.Run(strings.Join(append([]string{"loaded"}, tc.defects...), "-"), func(t *testing.T) {
			s := newSite(t, tc.defects...)
			for _, p := range []string{"list-pekerjaan", "volume-pekerjaan", "template-ahsp", "harga-items", "rekap-rab", "rincian-ahsp", "rincian-rab"} {
				tb := newTab(t, bctx, s.URL+base+p+"/")
				tb.waitFor(t, "body:not([data-busy])")
				// Polled up to 3 s: a busy machine may request the imports late.
				got := eval[[]bool](t, tb, `(async () => {
  const seen = () => { const names = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
    return ['core/toast-wrapper.js', 'core/loading.js'].map((f) => names.includes('/static/detail_project/js/' + f)); };
  for (const end = Date.now() + 3000; Date.now() < end && !seen().every(Boolean);) await new Promise((r) => setTimeout(r, 100));
  return seen(); })()`)
				require.Equal(t, []bool{tc.want, tc.want}, got, "page %s: toast-wrapper.js and loading.js loaded", p)
				require.Empty(t, tb.problems(true), p) // the fixture has no rincian for every pekerjaan
			}
		})
	}
	// Stored text is shown as text; with unescaped-stored the volume page
	// parses a pekerjaan uraian as HTML.
	for _, tc := range []struct {
		defects []string
		imgs    int
	}{{nil, 0}, {[]string{"unescaped-stored"}, 1}} {
		t.Run(strings.Join(append([]string{"stored-text"}, tc.defects...), "-"), func(t *testing.T) {
			s := newSite(t, tc.defects...)
			s.tree = []byte(`{"ok": true, "klasifikasi": [{"id": 1, "name": "K <b data-harness=\"k\">", "ordering_index": 1, "sub": [{"id": 2, "name": "S", "ordering_index": 1, "pekerjaan": [{"id": 101, "source_type": "custom", "ordering_index": 1, "snapshot_kode": null, "snapshot_uraian": "<img src=x data-harness=\"u\">'\"", "snapshot_satuan": "m3", "ref_id": null, "budgeted_cost": 0.0}]}]}]}`)
			tb := newTab(t, bctx, s.URL+base+"volume-pekerjaan/")
			tb.waitFor(t, "#volume-101")
			require.Equal(t, tc.imgs, eval[int](t, tb, `document.querySelectorAll('[data-harness]').length`))
		})
	}
}
