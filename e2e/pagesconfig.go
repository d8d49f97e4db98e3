package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Pages is the per-deployment description of the browser pages: where they
// are and which selectors the checks use (harness.yaml e2e.pages). Every
// field is optional; what is missing comes from DefaultPages, which is the
// deployed app as REAL-APP.md section 5 describes it. Page names are the keys
// of Routes; a route is a path with {pid} for the project id.
type Pages struct {
	// Routes maps a page name to its path, e.g. "/detail_project/{pid}/rekap-rab/".
	Routes map[string]string `yaml:"routes" json:"routes,omitempty"`
	// Roots maps a page name to the selector of its app root ("" = none checked).
	Roots map[string]string `yaml:"roots" json:"roots,omitempty"`
	// Login is the login form's path; Dashboard where a login without next lands.
	Login     string `yaml:"login" json:"login,omitempty"`
	Dashboard string `yaml:"dashboard" json:"dashboard,omitempty"`
	// ToastArea is the toast container toast.js creates on the first toast.
	ToastArea string `yaml:"toast_area" json:"toast_area,omitempty"`
	// Scripts are the paths of the components under test: toast, toast_wrapper, loading.
	Scripts map[string]string `yaml:"scripts" json:"scripts,omitempty"`
	// Selectors are the elements the flows drive (keys: see DefaultPages).
	Selectors map[string]string `yaml:"selectors" json:"selectors,omitempty"`
	// ComponentPage is the page the component checks (toast, loading) start on.
	ComponentPage string `yaml:"component_page" json:"component_page,omitempty"`
}

// Page names the flows and the stored-text check use.
const (
	pageList     = "list-pekerjaan"
	pageVolume   = "volume-pekerjaan"
	pageTemplate = "template-ahsp"
	pageHarga    = "harga-items"
	pageRekap    = "rekap-rab"
)

// DefaultPages is the deployed app's pages (REAL-APP.md section 5) with the
// reference target's flow selectors (docs/frontend.md).
func DefaultPages() Pages {
	routes := map[string]string{}
	for _, p := range []string{pageList, pageVolume, pageTemplate, pageHarga, pageRekap, "rincian-ahsp", "rincian-rab"} {
		routes[p] = "/detail_project/{pid}/" + p + "/"
	}
	return Pages{
		Routes: routes,
		Roots: map[string]string{
			pageList:     `#lp-app[data-project-id]`,
			pageVolume:   `#vp-app`,
			pageTemplate: `#ta-app`,
			pageHarga:    `#hi-app[data-endpoint-list][data-endpoint-save]`,
			pageRekap:    `#rekap-app`,
		},
		Login:     "/accounts/login/",
		Dashboard: "/dashboard/",
		ToastArea: "#dp-toast-area",
		Scripts: map[string]string{
			"toast":         "/static/detail_project/js/core/toast.js",
			"toast_wrapper": "/static/detail_project/js/core/toast-wrapper.js",
			"loading":       "/static/detail_project/js/core/loading.js",
		},
		Selectors: map[string]string{
			"volume_inputs":   `#volume-rows input[data-pekerjaan-id]`,
			"volume_save":     `#btn-save-volume`,
			"tree_node":       `#tree [data-node="pekerjaan"]`,
			"tree_save":       `#btn-save-tree`,
			"klasifikasi":     `#klasifikasi-name`,
			"add_klasifikasi": `#btn-add-klasifikasi`,
			"detail_rows":     `#detail-rows tr`,
			"detail_save":     `#btn-save-detail`,
			"detail_add_row":  `#btn-add-row`,
			"retry_button":    `#dp-loading-overlay button[data-action-index]`,
		},
		ComponentPage: pageList,
	}
}

// Merged fills what p leaves out from DefaultPages and rejects unknown keys,
// so a typo in harness.yaml is an error, not a silently ignored setting.
func (p Pages) Merged() (Pages, error) {
	d := DefaultPages()
	out := Pages{Routes: maps.Clone(d.Routes), Roots: maps.Clone(d.Roots), Login: d.Login, Dashboard: d.Dashboard,
		ToastArea: d.ToastArea, Scripts: maps.Clone(d.Scripts), Selectors: maps.Clone(d.Selectors), ComponentPage: d.ComponentPage}
	maps.Copy(out.Routes, p.Routes)
	maps.Copy(out.Roots, p.Roots)
	for name, keys := range map[string]map[string]string{"scripts": p.Scripts, "selectors": p.Selectors} {
		allowed := d.Scripts
		if name == "selectors" {
			allowed = d.Selectors
		}
		for k := range keys {
			if _, ok := allowed[k]; !ok {
				return out, fmt.Errorf("e2e.pages.%s: unknown key %q; allowed keys: %s", name, k, strings.Join(slices.Sorted(maps.Keys(allowed)), ", "))
			}
		}
	}
	maps.Copy(out.Scripts, p.Scripts)
	maps.Copy(out.Selectors, p.Selectors)
	for k, v := range map[*string]string{&out.Login: p.Login, &out.Dashboard: p.Dashboard, &out.ToastArea: p.ToastArea, &out.ComponentPage: p.ComponentPage} {
		if v != "" {
			*k = v
		}
	}
	for name, r := range out.Routes {
		if r == "" {
			delete(out.Routes, name) // "" switches a default page off
			continue
		}
		if !strings.HasPrefix(r, "/") || !strings.Contains(r, "{pid}") {
			return out, fmt.Errorf("e2e.pages.routes.%s: %q: want a path starting with / that contains {pid}", name, r)
		}
	}
	if _, ok := out.Routes[out.ComponentPage]; !ok {
		return out, fmt.Errorf("e2e.pages.component_page %q has no route in e2e.pages.routes (have %s)", out.ComponentPage, strings.Join(out.PageNames(), ", "))
	}
	return out, nil
}

// PageNames lists the configured pages, sorted.
func (p Pages) PageNames() []string { return slices.Sorted(maps.Keys(p.Routes)) }

// Path is page's path for project pid, or "" when the page is not configured.
func (p Pages) Path(page string, pid int) string {
	r, ok := p.Routes[page]
	if !ok {
		return ""
	}
	return strings.ReplaceAll(r, "{pid}", strconv.Itoa(pid))
}

// Sel returns a flow selector.
func (p Pages) Sel(key string) string { return p.Selectors[key] }
