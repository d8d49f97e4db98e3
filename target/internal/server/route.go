package server

import (
	"strconv"
	"strings"

	"github.com/ahsp-harness/harness/target/api"
)

// Route kinds.
const (
	kindNotFound = iota
	kindAPI
	kindPage
	kindHealth
	kindMetrics
	kindStatic
	kindLogin
	kindLogout
	kindRoot
	kindDashboard
)

// Pages are the project pages served under /detail_project/{pid}/{page}/.
var Pages = api.Pages

type route struct {
	kind    int
	op      api.Operation
	version api.Version
	page    string
	health  string // "", "simple", "ready", "live"
	project int64
	id      int64
}

// name is the route label used in metrics.
func (rt route) name() string {
	switch rt.kind {
	case kindAPI:
		return rt.op.Name
	case kindPage:
		return "page." + rt.page
	case kindHealth:
		if rt.health == "" {
			return "health"
		}
		return "health." + rt.health
	case kindMetrics:
		return "metrics"
	case kindStatic:
		return "static"
	case kindLogin:
		return "login"
	case kindLogout:
		return "logout"
	case kindRoot:
		return "root"
	case kindDashboard:
		return "dashboard"
	}
	return "not_found"
}

// template is one API path in one version, split into lower-case segments.
type template struct {
	segs    []string
	op      api.Operation
	version api.Version
}

var apiTemplates = func() []template {
	var out []template
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			p := strings.ReplaceAll(api.ProjectPrefix(v, 0), "/0/", "/{pid}/") + op.Path
			out = append(out, template{segs: segments(p), op: op, version: v})
		}
	}
	return out
}()

// segments normalises a decoded URL path the way the router compares paths:
// lower case, empty segments (doubled or trailing slashes) dropped. Every
// spelling of one operation's path therefore reaches the same operation, which
// is what makes the rate-limit key (the operation name) robust against them.
func segments(p string) []string {
	var out []string
	for _, s := range strings.Split(strings.ToLower(p), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// resolve maps a decoded URL path to a route.
func resolve(path string) route {
	if strings.HasPrefix(path, "/static/") {
		return route{kind: kindStatic}
	}
	segs := segments(path)
	switch len(segs) {
	case 0:
		return route{kind: kindRoot}
	case 1:
		switch segs[0] {
		case "health":
			return route{kind: kindHealth}
		case "metrics":
			return route{kind: kindMetrics}
		case "dashboard":
			return route{kind: kindDashboard}
		}
	case 2:
		switch {
		case segs[0] == "health" && (segs[1] == "simple" || segs[1] == "ready" || segs[1] == "live"):
			return route{kind: kindHealth, health: segs[1]}
		case segs[0] == "accounts" && segs[1] == "login":
			return route{kind: kindLogin}
		case segs[0] == "accounts" && segs[1] == "logout":
			return route{kind: kindLogout}
		}
	case 3:
		if segs[0] == "detail_project" {
			if pid, ok := parseID(segs[1]); ok {
				for _, p := range Pages {
					if segs[2] == p {
						return route{kind: kindPage, page: p, project: pid}
					}
				}
			}
		}
	}
	if len(segs) < 4 || segs[0] != "detail_project" || segs[1] != "api" {
		return route{}
	}
	for _, t := range apiTemplates {
		if rt, ok := t.match(segs); ok {
			return rt
		}
	}
	return route{}
}

func (t template) match(segs []string) (route, bool) {
	if len(segs) != len(t.segs) {
		return route{}, false
	}
	rt := route{kind: kindAPI, op: t.op, version: t.version}
	for i, want := range t.segs {
		switch want {
		case "{pid}", "{id}":
			n, ok := parseID(segs[i])
			if !ok {
				return route{}, false
			}
			if want == "{pid}" {
				rt.project = n
			} else {
				rt.id = n
			}
		default:
			if segs[i] != want {
				return route{}, false
			}
		}
	}
	return rt, true
}

func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
