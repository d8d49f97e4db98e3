// Package api is the public description of the AHSP app's HTTP surface: its
// operations, their paths in each API version and their rate-limit
// categories. The reference target routes from this table and the checks
// build requests from it, so both speak the same dialect as the real app.
package api

import (
	"fmt"
	"strings"
)

// Version selects one of the app's three URL families for project APIs.
type Version string

const (
	// Legacy is the real app's original path: /detail_project/api/project/{pid}/...
	Legacy Version = "legacy"
	// V1 serves the legacy handlers under /detail_project/api/v1/project/{pid}/...
	// with deprecation headers.
	V1 Version = "v1"
	// V2 serves the helper-based envelope under /detail_project/api/v2/project/{pid}/...
	V2 Version = "v2"
)

// Versions lists every URL family, legacy first.
var Versions = []Version{Legacy, V1, V2}

// Category is a rate-limit category as the real app declares it.
type Category string

// Rate-limit categories with the real app's defaults (see DefaultLimits).
const (
	Bulk   Category = "bulk"
	Write  Category = "write"
	Read   Category = "read"
	Export Category = "export"
)

// Limit is a declared policy: at most Requests per Window seconds.
type Limit struct {
	Requests      int `json:"max_requests" yaml:"max_requests"`
	WindowSeconds int `json:"window_seconds" yaml:"window_seconds"`
}

// DefaultLimits are the real app's per-user, per-operation limits.
var DefaultLimits = map[Category]Limit{
	Bulk:   {Requests: 5, WindowSeconds: 300},
	Write:  {Requests: 20, WindowSeconds: 60},
	Read:   {Requests: 100, WindowSeconds: 60},
	Export: {Requests: 10, WindowSeconds: 60},
}

// Operation is one project API endpoint. Name is the route name the real app
// uses as its rate-limit key; it is the same in every version.
type Operation struct {
	Name     string   `json:"name"`
	Method   string   `json:"method"`
	Path     string   `json:"path"` // relative to the project prefix; {id} is a pekerjaan id
	Category Category `json:"category"`
	// Body is true when the operation takes a JSON request body.
	Body bool `json:"body"`
}

// Operations is every project API operation, in a stable order.
var Operations = []Operation{
	{Name: "list-pekerjaan.save", Method: "POST", Path: "list-pekerjaan/save/", Category: Write, Body: true},
	{Name: "list-pekerjaan.upsert", Method: "POST", Path: "list-pekerjaan/upsert/", Category: Bulk, Body: true},
	{Name: "list-pekerjaan.tree", Method: "GET", Path: "list-pekerjaan/tree/", Category: Read},
	{Name: "volume-pekerjaan.save", Method: "POST", Path: "volume-pekerjaan/save/", Category: Write, Body: true},
	{Name: "volume-pekerjaan.list", Method: "GET", Path: "volume-pekerjaan/list/", Category: Read},
	{Name: "detail-ahsp.get", Method: "GET", Path: "detail-ahsp/{id}/", Category: Read},
	{Name: "detail-ahsp.save", Method: "POST", Path: "detail-ahsp/{id}/save/", Category: Write, Body: true},
	{Name: "search-ahsp", Method: "GET", Path: "search-ahsp/", Category: Read},
	{Name: "harga-items.list", Method: "GET", Path: "harga-items/list/", Category: Read},
	{Name: "harga-items.save", Method: "POST", Path: "harga-items/save/", Category: Write, Body: true},
	{Name: "rekap", Method: "GET", Path: "rekap/", Category: Read},
	{Name: "export.rekap-rab-csv", Method: "GET", Path: "export/rekap-rab/csv/", Category: Export},
	{Name: "export.rincian-rab-csv", Method: "GET", Path: "rincian-rab/export.csv", Category: Export},
}

// Lookup returns the operation with the given name.
func Lookup(name string) (Operation, bool) {
	for _, op := range Operations {
		if op.Name == name {
			return op, true
		}
	}
	return Operation{}, false
}

// Names returns every operation name, for error messages listing allowed values.
func Names() []string {
	out := make([]string, len(Operations))
	for i, op := range Operations {
		out[i] = op.Name
	}
	return out
}

// ProjectPrefix is the path prefix of a project's APIs in version v.
func ProjectPrefix(v Version, pid int) string {
	switch v {
	case V1, V2:
		return fmt.Sprintf("/detail_project/api/%s/project/%d/", v, pid)
	default:
		return fmt.Sprintf("/detail_project/api/project/%d/", pid)
	}
}

// URLPath is the path of op for project pid in version v; pekerjaanID fills {id}.
func (op Operation) URLPath(v Version, pid, pekerjaanID int) string {
	p := strings.ReplaceAll(op.Path, "{id}", fmt.Sprint(pekerjaanID))
	return ProjectPrefix(v, pid) + p
}

// Fixed paths outside the project APIs.
const (
	LoginPath        = "/accounts/login/"
	HealthPath       = "/health/"
	HealthSimplePath = "/health/simple/"
	HealthReadyPath  = "/health/ready/"
	HealthLivePath   = "/health/live/"
	MetricsPath      = "/metrics"
	StaticJSPrefix   = "/static/detail_project/js/core/"
)

// Browser page names under /detail_project/<pid>/ as the deployed app routes
// them (REAL-APP.md section 5). "volume" and "rekap" are not pages there (404).
const (
	PageListPekerjaan   = "list-pekerjaan"
	PageVolumePekerjaan = "volume-pekerjaan"
	PageTemplateAHSP    = "template-ahsp"
	PageDetailAHSP      = "detail-ahsp" // the same page as template-ahsp
	PageHargaItems      = "harga-items"
	PageRekapRAB        = "rekap-rab"
	PageRincianAHSP     = "rincian-ahsp"
	PageRincianRAB      = "rincian-rab"
)

// Pages are the project page names, in menu order.
var Pages = []string{PageListPekerjaan, PageVolumePekerjaan, PageTemplateAHSP, PageDetailAHSP, PageHargaItems, PageRekapRAB, PageRincianAHSP, PageRincianRAB}

// Fixed page paths outside a project.
const (
	DashboardPath = "/dashboard/"
	LandingPath   = "/"
)

// PagePath is the browser page of a project: one of Pages, e.g.
// PagePath(PageRekapRAB, 2) = "/detail_project/2/rekap-rab/".
func PagePath(page string, pid int) string {
	return fmt.Sprintf("/detail_project/%d/%s/", pid, page)
}

// Response headers the reference target adds and the checks read.
const (
	// WorkerHeader is "<index>-<pid>", index counted from 1.
	WorkerHeader = "X-Worker-Id"
)

// WorkerIndex returns the index part of an X-Worker-Id value ("3-4121" -> "3"),
// or the whole value when it has no pid part.
func WorkerIndex(v string) string {
	if i := strings.IndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}
