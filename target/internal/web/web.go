// Package web is the reference target's frontend: the page templates and the
// embedded static files (toast.js, toast-wrapper.js, loading.js, http.js, the
// page scripts and CSS) served under /static/detail_project/. Pages carry no
// inline script (CSP script-src 'self'): data reaches the scripts through
// data-* attributes on <body>. The UI defects are switched on by templating a
// small constant into the served JavaScript when the Web is built.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
)

//go:embed static templates
var files embed.FS

// StaticPrefix is the URL prefix StaticHandler serves.
const StaticPrefix = "/static/detail_project/"

// Pages are the project page names RenderPage accepts, in menu order
// (detail-ahsp is the deployed app's second route to template-ahsp).
var Pages = api.Pages

// UIDefects are the defects that change the served JavaScript.
var UIDefects = []string{"unescaped-ui", "loader-race", "toast-legacy-ignored", "toast-legacy-raw", "unused-ui-scripts", "unescaped-stored"}

// script is one <script> of a page; Src is relative to StaticPrefix.
type script struct {
	Src    string
	Module bool
}

// commonScripts are loaded by every project page, in the deployed app's
// order (REAL-APP.md section 5).
var commonScripts = []script{
	{Src: "js/export/ExportManager.js"}, {Src: "js/sidebar_global.js"}, {Src: "js/theme.js"},
	{Src: "js/messages_modal.js"}, {Src: "js/core/toast.js"}, {Src: "js/core/modal.js"},
	{Src: "js/src/utils/error-handler.js"}, {Src: "js/numeric.umd.js"}, {Src: "js/source_change_state.js"},
	{Src: "js/sync_indicator.js"}, {Src: "js/sync_led.js"}, {Src: "js/core/messages.js"},
}

// pageSpec is a page's template and its own scripts after commonScripts.
type pageSpec struct {
	template string
	scripts  []script
}

var pageSpecs = map[string]pageSpec{
	api.PageListPekerjaan:   {"list-pekerjaan", []script{{Src: "js/core/http.js"}, {Src: "js/core/format.js"}, {Src: "js/core/toast.js"}, {Src: "js/core/keys.js"}, {Src: "js/list_pekerjaan.js", Module: true}}},
	api.PageVolumePekerjaan: {"volume-pekerjaan", []script{{Src: "js/volume_pekerjaan.js", Module: true}}},
	api.PageTemplateAHSP:    {"template-ahsp", []script{{Src: "js/template_ahsp.js", Module: true}}},
	api.PageDetailAHSP:      {"template-ahsp", []script{{Src: "js/template_ahsp.js", Module: true}}},
	api.PageHargaItems:      {"harga-items", []script{{Src: "js/harga_items.js", Module: true}}},
	api.PageRekapRAB:        {"rekap-rab", []script{{Src: "js/rekap_rab.js", Module: true}}},
	api.PageRincianAHSP:     {"rincian-ahsp", []script{{Src: "js/rincian_ahsp.js", Module: true}}},
	api.PageRincianRAB:      {"rincian-rab", []script{{Src: "js/rincian_rab.js", Module: true}}},
}

// menuPages are the pages the navigation links (detail-ahsp is an alias).
var menuPages = []string{api.PageListPekerjaan, api.PageVolumePekerjaan, api.PageTemplateAHSP, api.PageHargaItems, api.PageRekapRAB, api.PageRincianAHSP, api.PageRincianRAB}

// defectsMarker is replaced in every served .js file by a JSON object of the
// switched-on UI defects; the default ({}) is the correct frontend.
const defectsMarker = "/*@dp-defects*/{}"

var pageTitles = map[string]string{
	api.PageListPekerjaan:   "Daftar Pekerjaan",
	api.PageVolumePekerjaan: "Volume Pekerjaan",
	api.PageTemplateAHSP:    "Template AHSP",
	api.PageDetailAHSP:      "Template AHSP",
	api.PageHargaItems:      "Harga Items",
	api.PageRekapRAB:        "Rekap RAB",
	api.PageRincianAHSP:     "Rincian AHSP",
	api.PageRincianRAB:      "Rincian RAB",
}

// PageData is what a project page needs. APIBase defaults to the legacy
// project prefix (/detail_project/api/project/{pid}/).
type PageData struct {
	ProjectID   int64
	ProjectName string
	UserName    string
	CSRFToken   string
	APIBase     string
}

// LoginData is what the login page needs. Next is the path to return to
// after login; Error is shown above the form; Login refills the login field.
type LoginData struct {
	CSRFToken string
	Next      string
	Error     string
	Login     string
}

// Web renders pages and serves static files with a fixed defect set.
type Web struct {
	defects   []string
	pages     map[string]*template.Template
	login     *template.Template
	landing   *template.Template
	dashboard *template.Template
	static    map[string]staticFile
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8", // docs linked from API headers, no scripts
}

// New builds the frontend for the given defects; only UIDefects matter here.
// The embedded files are checked by the tests, so a failure here is a build bug.
func New(d defects.Set) *Web {
	w := &Web{pages: map[string]*template.Template{}, static: map[string]staticFile{}}
	on := map[string]bool{}
	for _, name := range UIDefects {
		if d.Has(name) {
			on[name] = true
			w.defects = append(w.defects, name)
		}
	}
	marker, err := json.Marshal(on)
	if err != nil {
		panic(fmt.Sprintf("web: encode defects: %v", err))
	}
	if err := w.loadStatic(string(marker)); err != nil {
		panic(fmt.Sprintf("web: load static files: %v", err))
	}
	funcs := template.FuncMap{"staticURL": func(p string) string { return StaticPrefix + p + "?v=" + w.version(p) }}
	for _, p := range Pages {
		w.pages[p] = template.Must(template.New("base.html").Funcs(funcs).ParseFS(files, "templates/base.html", "templates/"+pageSpecs[p].template+".html"))
	}
	w.login = template.Must(template.New("login.html").Funcs(funcs).ParseFS(files, "templates/login.html"))
	w.landing = template.Must(template.New("landing.html").Funcs(funcs).ParseFS(files, "templates/landing.html"))
	w.dashboard = template.Must(template.New("dashboard.html").Funcs(funcs).ParseFS(files, "templates/dashboard.html"))
	return w
}

func (w *Web) loadStatic(marker string) error {
	return fs.WalkDir(files, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		ext := path.Ext(p)
		ct, ok := contentTypes[ext]
		if !ok {
			return fmt.Errorf("no content type for %s: add %q to contentTypes", p, ext)
		}
		if ext == ".js" {
			body = bytes.ReplaceAll(body, []byte(defectsMarker), []byte("/*@dp-defects*/"+marker))
		}
		sum := sha256.Sum256(body)
		w.static[strings.TrimPrefix(p, "static/")] = staticFile{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
}

// version is a short content hash used as a cache-busting query string.
func (w *Web) version(p string) string {
	f, ok := w.static[p]
	if !ok {
		panic(fmt.Sprintf("web: template references missing static file %q", p))
	}
	return strings.Trim(f.etag, `"`)[:8]
}

// Defects returns the UI defects this frontend serves, sorted.
func (w *Web) Defects() []string {
	out := append([]string(nil), w.defects...)
	sort.Strings(out)
	return out
}

// StaticFiles returns the served paths relative to StaticPrefix, sorted.
func (w *Web) StaticFiles() []string {
	out := make([]string, 0, len(w.static))
	for p := range w.static {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// StaticHandler serves StaticPrefix + path (GET and HEAD) with a content
// type, a content-hash ETag and Cache-Control: no-cache, so browsers
// revalidate and a restarted target with other defects is never stale.
func (w *Web) StaticHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			rw.Header().Set("Allow", "GET, HEAD")
			rw.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		rel, ok := strings.CutPrefix(r.URL.Path, StaticPrefix)
		f, found := w.static[rel]
		if !ok || !found {
			http.NotFound(rw, r)
			return
		}
		h := rw.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(rw, r, rel, time.Time{}, bytes.NewReader(f.body))
	})
}

type pageView struct {
	PageData
	Page    string
	Title   string
	Menu    []menuItem
	Scripts []script
}

type menuItem struct {
	Page, Title, URL string
	Active           bool
}

// RenderPage writes the HTML of a project page, one of Pages.
func (w *Web) RenderPage(out io.Writer, page string, data PageData) error {
	t, ok := w.pages[page]
	if !ok {
		return fmt.Errorf("render page %q: unknown page, want one of %s", page, strings.Join(Pages, ", "))
	}
	if data.APIBase == "" {
		data.APIBase = api.ProjectPrefix(api.Legacy, int(data.ProjectID))
	}
	v := pageView{PageData: data, Page: page, Title: pageTitles[page], Scripts: append(append([]script(nil), commonScripts...), pageSpecs[page].scripts...)}
	for _, p := range menuPages {
		v.Menu = append(v.Menu, menuItem{Page: p, Title: pageTitles[p], URL: api.PagePath(p, int(data.ProjectID)), Active: pageSpecs[p].template == pageSpecs[page].template})
	}
	return render(out, t, v)
}

// RenderLogin writes the login page: a form posting login, password and
// csrfmiddlewaretoken (and next) to the login path.
func (w *Web) RenderLogin(out io.Writer, data LoginData) error {
	return render(out, w.login, struct {
		LoginData
		Action string
	}{data, api.LoginPath})
}

// RenderLanding writes the anonymous landing page at /.
func (w *Web) RenderLanding(out io.Writer) error {
	return render(out, w.landing, struct{ Login string }{api.LoginPath})
}

// DashboardData is what the dashboard needs; ProjectID 0 means no project.
type DashboardData struct {
	UserName  string
	ProjectID int64
}

// RenderDashboard writes /dashboard/: the way into the user's project.
func (w *Web) RenderDashboard(out io.Writer, data DashboardData) error {
	return render(out, w.dashboard, struct {
		DashboardData
		ProjectURL string
	}{data, api.PagePath(api.PageListPekerjaan, int(data.ProjectID))})
}

// render executes into a buffer first so a template error never leaves a
// half-written page.
func render(out io.Writer, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("render %s: %w", t.Name(), err)
	}
	_, err := out.Write(buf.Bytes())
	return err
}
