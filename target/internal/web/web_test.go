package web

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/ahsp-harness/harness/target/internal/defects"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// assetVersion is the content hash in static URLs; goldens pin the markup,
// not the bytes of every script.
var assetVersion = regexp.MustCompile(`\?v=[0-9a-f]{8}"`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = assetVersion.ReplaceAll(got, []byte(`?v=HASH"`))
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "read golden file; run go test -update to create it")
	require.Equal(t, string(want), string(got), "rendered output differs from %s; run go test -update if the change is intended", p)
}

func TestStaticHandlerServesEveryFile(t *testing.T) {
	w := New(nil)
	h := w.StaticHandler()
	files := w.StaticFiles()
	for _, want := range []string{"js/core/toast.js", "js/core/toast-wrapper.js", "js/core/loading.js", "js/core/http.js", "css/app.css", "docs/api-v2-migration.html"} {
		require.Contains(t, files, want)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, StaticPrefix+f+"?v=x", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8"}[filepath.Ext(f)]
			require.Equal(t, want, rec.Header().Get("Content-Type"))
			require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			etag := rec.Header().Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{16}"$`, etag)
			require.NotZero(t, rec.Body.Len())

			req := httptest.NewRequest(http.MethodGet, StaticPrefix+f, nil)
			req.Header.Set("If-None-Match", etag)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusNotModified, rec.Code)
		})
	}
}

func TestStaticHandlerRejects(t *testing.T) {
	h := New(nil).StaticHandler()
	tests := []struct {
		name, method, path string
		code               int
	}{
		{"unknown file", http.MethodGet, StaticPrefix + "js/core/nope.js", http.StatusNotFound},
		{"template source", http.MethodGet, StaticPrefix + "../templates/base.html", http.StatusNotFound},
		{"go source", http.MethodGet, StaticPrefix + "web.go", http.StatusNotFound},
		{"directory", http.MethodGet, StaticPrefix + "js/core/", http.StatusNotFound},
		{"outside prefix", http.MethodGet, "/static/other/js/core/toast.js", http.StatusNotFound},
		{"post", http.MethodPost, StaticPrefix + "js/core/toast.js", http.StatusMethodNotAllowed},
		{"head", http.MethodHead, StaticPrefix + "js/core/toast.js", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.code, rec.Code)
		})
	}
}

func serve(t *testing.T, w *Web, rel string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	w.StaticHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, StaticPrefix+rel, nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

func TestDefectsSwitchServedJS(t *testing.T) {
	tests := []struct {
		name    string
		defects []string
		marker  string
	}{
		{"correct", nil, `/*@dp-defects*/{};`},
		{"non-ui defects ignored", []string{"naive-limiter", "v2-drift"}, `/*@dp-defects*/{};`},
		{"unescaped-ui", []string{"unescaped-ui"}, `/*@dp-defects*/{"unescaped-ui":true};`},
		{"loader-race", []string{"loader-race"}, `/*@dp-defects*/{"loader-race":true};`},
		{"toast-legacy-ignored", []string{"toast-legacy-ignored"}, `/*@dp-defects*/{"toast-legacy-ignored":true};`},
		{"all ui", []string{"unescaped-ui", "loader-race", "toast-legacy-ignored"}, `/*@dp-defects*/{"loader-race":true,"toast-legacy-ignored":true,"unescaped-ui":true};`},
		{"unused-ui-scripts", []string{"unused-ui-scripts"}, `/*@dp-defects*/{"unused-ui-scripts":true};`},
	}
	base := New(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := defects.Parse(tc.defects)
			require.NoError(t, err)
			w := New(set)
			for _, f := range []string{"js/core/toast.js", "js/pages/overlay.js", "js/pages/ui.js"} {
				body := serve(t, w, f)
				require.Equal(t, 1, strings.Count(body, "/*@dp-defects*/"), "%s: one defects constant", f)
				require.Contains(t, body, tc.marker, f)
				if len(w.Defects()) > 0 {
					require.NotEqual(t, base.static[f].etag, w.static[f].etag, "%s: ETag must change with the content", f)
				}
			}
		})
	}
}

// Every UI defect must be read by the script that implements it, or the
// switch would serve a constant nobody looks at.
func TestUIDefectsAreImplemented(t *testing.T) {
	where := map[string]string{
		"unescaped-ui":         "js/core/toast.js js/pages/overlay.js",
		"loader-race":          "js/pages/overlay.js",
		"toast-legacy-ignored": "js/core/toast.js",
		"toast-legacy-raw":     "js/core/toast.js",
		"unused-ui-scripts":    "js/pages/ui.js",
		"unescaped-stored":     "js/volume_pekerjaan.js",
	}
	w := New(nil)
	for _, d := range UIDefects {
		_, known := defects.Known[d]
		require.True(t, known, "%s is not a known defect", d)
		require.NotEmpty(t, where[d], "say where %s is implemented", d)
		for _, f := range strings.Fields(where[d]) {
			require.Contains(t, serve(t, w, f), "DEFECTS['"+d+"']", "%s must read defect %s", f, d)
		}
	}
}

func pageData() PageData {
	return PageData{ProjectID: 7, ProjectName: `Gedung "A" <Kantor>`, UserName: "user1", CSRFToken: "tok&en"}
}

// The deployed app's app roots and per-page scripts (REAL-APP.md section 5).
var pageRoots = map[string]string{
	"list-pekerjaan": "lp-app", "volume-pekerjaan": "vp-app", "template-ahsp": "ta-app", "detail-ahsp": "ta-app",
	"harga-items": "hi-app", "rekap-rab": "rekap-app", "rincian-ahsp": "ra-app", "rincian-rab": "rr-app",
}

var pageScripts = map[string][]string{
	"list-pekerjaan":   {"core/http.js", "core/format.js", "core/toast.js", "core/keys.js", "list_pekerjaan.js"},
	"volume-pekerjaan": {"volume_pekerjaan.js"},
	"template-ahsp":    {"template_ahsp.js"},
	"detail-ahsp":      {"template_ahsp.js"},
	"harga-items":      {"harga_items.js"},
	"rekap-rab":        {"rekap_rab.js"},
	"rincian-ahsp":     {"rincian_ahsp.js"},
	"rincian-rab":      {"rincian_rab.js"},
}

func TestRenderPages(t *testing.T) {
	w := New(nil)
	for _, p := range Pages {
		t.Run(p, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, w.RenderPage(&buf, p, pageData()))
			out := buf.Bytes()
			golden(t, p+".html", out)
			doc := parse(t, out)
			body := find(doc, func(n *html.Node) bool { return n.Data == "body" })
			require.NotNil(t, body)
			require.Equal(t, "7", attr(body, "data-project-id"))
			require.Equal(t, "/detail_project/api/project/7/", attr(body, "data-api-base"))
			require.Equal(t, p, attr(body, "data-page"))
			require.Equal(t, "tok&en", attr(body, "data-csrf-token"))
			require.Nil(t, find(doc, func(n *html.Node) bool { return attr(n, "id") == "dp-toast-area" }), "toast.js creates #dp-toast-area on the first toast")
			require.NotNil(t, find(doc, func(n *html.Node) bool { return attr(n, "id") == pageRoots[p] }), "app root #%s", pageRoots[p])
			scripts := all(doc, func(n *html.Node) bool { return n.Data == "script" })
			var srcs []string
			for _, s := range scripts {
				srcs = append(srcs, strings.TrimPrefix(strings.Split(attr(s, "src"), "?")[0], StaticPrefix+"js/"))
			}
			common := []string{"export/ExportManager.js", "sidebar_global.js", "theme.js", "messages_modal.js", "core/toast.js", "core/modal.js",
				"src/utils/error-handler.js", "numeric.umd.js", "source_change_state.js", "sync_indicator.js", "sync_led.js", "core/messages.js"}
			require.Equal(t, append(common, pageScripts[p]...), srcs, "the deployed app's script order")
			requireStaticRefsExist(t, w, doc)
		})
	}
}

func TestRenderPageOverridesAndErrors(t *testing.T) {
	w := New(nil)
	var buf bytes.Buffer
	d := pageData()
	d.APIBase = "/detail_project/api/v2/project/7/"
	require.NoError(t, w.RenderPage(&buf, "rekap-rab", d))
	require.Contains(t, buf.String(), `data-api-base="/detail_project/api/v2/project/7/"`)
	require.Contains(t, buf.String(), `href="/detail_project/api/v2/project/7/export/rekap-rab/csv/"`)

	buf.Reset()
	require.NoError(t, w.RenderPage(&buf, "volume-pekerjaan", PageData{ProjectID: 9}))
	require.Contains(t, buf.String(), `<div class="dp-project" data-testid="project-name">Proyek #9</div>`, "a project without a name is shown by id")

	buf.Reset()
	err := w.RenderPage(&buf, "nope", d)
	require.ErrorContains(t, err, `unknown page, want one of list-pekerjaan, volume-pekerjaan, template-ahsp, detail-ahsp, harga-items, rekap-rab, rincian-ahsp, rincian-rab`)
	require.Zero(t, buf.Len())
	for _, old := range []string{"volume", "rekap"} {
		require.Error(t, w.RenderPage(&buf, old, d), "%s is not a page of the deployed app", old)
	}
}

func TestRenderLogin(t *testing.T) {
	tests := []struct {
		name string
		data LoginData
	}{
		{"plain", LoginData{CSRFToken: "abc123"}},
		{"error and next", LoginData{CSRFToken: "abc123", Next: "/detail_project/7/volume-pekerjaan/", Error: "Nama pengguna atau kata sandi salah.", Login: "user1"}},
	}
	w := New(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, w.RenderLogin(&buf, tc.data))
			golden(t, "login-"+strings.ReplaceAll(tc.name, " ", "-")+".html", buf.Bytes())
			doc := parse(t, buf.Bytes())
			form := find(doc, func(n *html.Node) bool { return n.Data == "form" })
			require.Equal(t, "post", attr(form, "method"))
			require.Equal(t, "/accounts/login/", attr(form, "action"))
			inputs := map[string]string{}
			for _, in := range all(form, func(n *html.Node) bool { return n.Data == "input" }) {
				inputs[attr(in, "name")] = attr(in, "value")
			}
			require.Equal(t, tc.data.CSRFToken, inputs["csrfmiddlewaretoken"])
			require.Equal(t, tc.data.Login, inputs["login"])
			require.Contains(t, inputs, "password")
			if tc.data.Next != "" {
				require.Equal(t, tc.data.Next, inputs["next"])
			}
			require.Empty(t, all(doc, func(n *html.Node) bool { return n.Data == "script" }), "login page loads no script")
			requireStaticRefsExist(t, w, doc)
		})
	}
}

// Hostile values must come out as text, never as markup or script.
func TestTemplatesEscape(t *testing.T) {
	const xss = `"><script>window.__pwned=1</script><img src=x onerror=alert(1)>`
	w := New(nil)
	var page, login bytes.Buffer
	require.NoError(t, w.RenderPage(&page, "volume-pekerjaan", PageData{ProjectID: 1, ProjectName: xss, UserName: xss, CSRFToken: xss}))
	require.NoError(t, w.RenderLogin(&login, LoginData{CSRFToken: xss, Next: xss, Error: xss, Login: xss}))
	for name, out := range map[string][]byte{"page": page.Bytes(), "login": login.Bytes()} {
		t.Run(name, func(t *testing.T) {
			require.NotContains(t, string(out), "<script>window.__pwned")
			require.NotContains(t, string(out), "<img")
			doc := parse(t, out)
			for _, s := range all(doc, func(n *html.Node) bool { return n.Data == "script" }) {
				require.NotEmpty(t, attr(s, "src"), "inline script found")
			}
			require.Empty(t, all(doc, func(n *html.Node) bool { return n.Data == "img" }))
			require.True(t, strings.Contains(textOf(doc), xss) || strings.Contains(string(out), "&lt;script&gt;"), "the payload is shown as text")
		})
	}
}

// No page may need 'unsafe-inline': no inline scripts, no on* handlers, no
// style attributes or <style> blocks.
func TestNoInlineScriptOrStyle(t *testing.T) {
	w := New(nil)
	outs := map[string][]byte{}
	for _, p := range Pages {
		var buf bytes.Buffer
		require.NoError(t, w.RenderPage(&buf, p, pageData()))
		outs[p] = buf.Bytes()
	}
	var buf bytes.Buffer
	require.NoError(t, w.RenderLogin(&buf, LoginData{CSRFToken: "x", Error: "e"}))
	outs["login"] = buf.Bytes()
	for name, out := range outs {
		t.Run(name, func(t *testing.T) {
			doc := parse(t, out)
			for _, n := range all(doc, func(*html.Node) bool { return true }) {
				if n.Type != html.ElementNode {
					continue
				}
				if n.Data == "script" {
					require.NotEmpty(t, attr(n, "src"), "inline <script>")
					require.Nil(t, n.FirstChild, "script with a body")
				}
				require.NotEqual(t, "style", n.Data, "<style> block")
				for _, a := range n.Attr {
					require.False(t, strings.HasPrefix(a.Key, "on"), "inline handler %s on <%s>", a.Key, n.Data)
					require.NotEqual(t, "style", a.Key, "style attribute on <%s>", n.Data)
					require.False(t, strings.HasPrefix(strings.TrimSpace(a.Val), "javascript:"), "javascript: URL")
				}
			}
		})
	}
}

func requireStaticRefsExist(t *testing.T, w *Web, doc *html.Node) {
	t.Helper()
	h := w.StaticHandler()
	for _, n := range all(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" }) {
		u := attr(n, "src") + attr(n, "href")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		require.Equal(t, http.StatusOK, rec.Code, "page references %s", u)
	}
}

func parse(t *testing.T, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	require.NoError(t, err)
	return doc
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func all(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if r := all(n, match); len(r) > 0 {
		return r[0]
	}
	return nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func TestRenderLandingAndDashboard(t *testing.T) {
	w := New(nil)
	var buf bytes.Buffer
	require.NoError(t, w.RenderLanding(&buf))
	doc := parse(t, buf.Bytes())
	require.Equal(t, "/accounts/login/", attr(find(doc, func(n *html.Node) bool { return attr(n, "id") == "link-login" }), "href"))
	requireStaticRefsExist(t, w, doc)

	for _, tc := range []struct {
		pid  int64
		link string
	}{{3, "/detail_project/3/list-pekerjaan/"}, {0, ""}} {
		buf.Reset()
		require.NoError(t, w.RenderDashboard(&buf, DashboardData{UserName: "<u>", ProjectID: tc.pid}))
		doc := parse(t, buf.Bytes())
		a := find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "data-project-id") != "" })
		if tc.link == "" {
			require.Nil(t, a)
			require.Contains(t, buf.String(), "Belum ada proyek")
		} else {
			require.Equal(t, tc.link, attr(a, "href"))
		}
		require.Contains(t, buf.String(), "&lt;u&gt;")
	}
}
