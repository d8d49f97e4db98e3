// Package defects names the known bugs the reference target can switch on, one
// at a time, so that every detector in the harness can be proven to catch one.
package defects

import (
	"fmt"
	"sort"
	"strings"
)

// Known defects and what each does. Names are the --defect flag values.
// Grouped by the check that catches them; keep each block sorted.
var Known = map[string]string{
	// Rate limiting (scan probes).
	"naive-limiter":  "limiter does a non-atomic get+set and refreshes the TTL on every allowed request (as the real app does)",
	"split-versions": "v1/legacy and v2 paths of one operation count against separate limits",
	"raw-path-key":   "limit key built from the raw path, so /save, /save/, //save/ and case variants count apart",
	"trust-xff":      "login limiter takes the client IP from X-Forwarded-For",
	"legacy-scope":   "only list-pekerjaan/save/ is rate limited (as in the real app)",
	"no-retry-after": "429 responses carry no Retry-After header (as in the real app)",
	"local-sessions": "sessions are kept in each worker's memory, so other workers bounce the user to login",
	// End of rate-limiting block.

	// Deployment traits (no check fails on them alone; the harness must cope).
	"no-api-versions": "only the legacy family is served: /api/v1/ and /api/v2/ answer 404 and nothing carries deprecation headers (as the real app)",
	// End of deployment-traits block.

	// Contracts and the deployed app's quirks.
	"v2-drift": "v2 renames a field and drops another compared with v1",
	// The deployed app's quirks (REAL-APP.md section 8) a contract can see.
	"rekap-csv-bom-per-line":  "the rekap CSV export starts every line with a byte-order mark (as the real app does)",
	"foreign-export-500":      "the rekap CSV export of another user's project answers 500 JSON instead of 404 (as the real app does)",
	"anonymous-export-401":    "anonymous CSV exports answer 401 JSON while other anonymous API calls redirect to login (as the real app does)",
	"blank-name-accepted":     "list-pekerjaan save stores a blank klasifikasi name as \"\" with 200 (as the real app does)",
	"upsert-unknown-id-wipes": "an upsert row with a negative id is taken as new and every row the body omits is deleted, 200 (as the real app does)",
	"upsert-empty-wipes":      "an upsert with klasifikasi [] deletes the whole tree with 200 (as the real app does)",
	"retry-after-full-window": "the 429 body's retry_after is always the full window and current_count always max_requests (as the real app does)",
	// End of contracts block.

	// Browser (e2e).
	"unescaped-ui":         "toast and showError insert message text as HTML",
	"loader-race":          "LoadingManager's hide timer removes a newer overlay shown while the loader fades",
	"toast-legacy-ignored": "toast.show(msg, 'danger', ms) and show({message, variant, delay}) are ignored",
	// End of browser block.

	// Security and observability.
	// End of security block.
}

// Set is the switched-on defects. The zero value is the correct target.
type Set map[string]bool

// Parse validates names (comma lists allowed) and returns the set.
func Parse(names []string) (Set, error) {
	s := Set{}
	for _, n := range names {
		for _, part := range strings.Split(n, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if _, ok := Known[part]; !ok {
				return nil, fmt.Errorf("unknown defect %q: allowed values are %s", part, strings.Join(Names(), ", "))
			}
			s[part] = true
		}
	}
	return s, nil
}

// Has reports whether defect name is switched on.
func (s Set) Has(name string) bool { return s[name] }

// List returns the switched-on defects, sorted.
func (s Set) List() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Names returns every known defect name, sorted.
func Names() []string {
	out := make([]string, 0, len(Known))
	for n := range Known {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
