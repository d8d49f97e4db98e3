// Package defects names the known bugs the reference target can switch on, one
// at a time, so that every detector in the harness can be proven to catch one.
package defects

import (
	"fmt"
	"maps"
	"slices"
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
	// Scan diagnosis (bypass classes and durability), appended to the rate-limiting block.
	"session-key":           "the rate-limit key is the session, not the user: logging in again gives a fresh quota",
	"identity-header-key":   "the rate-limit key trusts client/user identity headers (X-Forwarded-For, X-Real-IP, X-User-Id, ...) on every limited operation",
	"limited-write-applies": "a write refused with 429 is still applied (the client sees 429, the data changes)",
	"method-bypass":         "PUT, PATCH and X-HTTP-Method-Override reach an operation as its own method without being counted",
	"lost-writes":           "volume saves are acknowledged (200) but never stored",
	// End of rate-limiting block.

	// Deployment traits (no check fails on them alone; the harness must cope).
	"connection-close":     "every response carries Connection: close and workers take new connections in turn, as gunicorn's sync workers do",
	"no-api-versions":      "/detail_project/api/v1/... and /detail_project/api/v2/... answer 404 and no answer carries deprecation headers (only the legacy family, as deployed)",
	"no-login-limit":       "login attempts are not rate limited per client IP (the app itself has no login limit)",
	"no-worker-header":     "responses carry no X-Worker-Id header, so a client cannot tell the workers apart",
	"login-lockout":        "after 5 failed logins for a username within 300 s its login answers 200 with \"Terlalu banyak percobaan masuk yang gagal. Coba lagi nanti.\" (per worker with locmem, shared with Redis; as the real app does)",
	"no-ratelimit-headers": "answers carry no RateLimit, RateLimit-Policy or X-RateLimit-* headers (the limit is only in the 429 body, as deployed)",
	// End of deployment-traits block.

	// The deployed app with its Redis cache down (REAL-APP.md section 6, "Redis down").
	"cache-errors-raise":         "cache errors are not handled: while the cache is unreachable the limiter, the cached tree and rekap and the login POST raise (500, Django's error page) instead of applying a failure policy, and /health/ and /health/ready/ answer 503 with redis-py's error text (\"Error 111 connecting to <host>:<port>. Connection refused.\") (as the real app does)",
	"rekap-csv-blank-cache-down": "while the cache is unreachable the rekap CSV export answers 200 with every amount blank (as the real app does)",
	// End of cache-outage block.

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
	"rincian-csv-lf":          "the rincian CSV export has no byte-order mark, LF line ends and no trailing newline (as the real app does)",
	"search-total-returned":   "search-ahsp's total counts the results returned, not every match (as the real app does)",
	"save-keeps-empty-groups": "list-pekerjaan save answers 207 and commits its klasifikasi and sub rows although every pekerjaan it sent failed (as the real app does)",
	// The deployed detail and harga save locks (REAL-APP.md 3.7, section 8 items 17-18).
	"detail-lock-project-stamp": "detail-ahsp save's lock compares client_updated_at with the project's updated_at (bumped by every detail and harga save) while detail-ahsp get and save hand out the pekerjaan's, which never changes: resending it after any save answers 409 (as the real app does)",
	"naive-timestamp-500":       "a client_updated_at without a time zone makes detail-ahsp and harga-items save answer 500 (as the real app does)",
	"harga-string-id-refused":   "harga-items save refuses an item id sent as a string (\"7\") with \"Item ini tidak digunakan di Detail AHSP proyek\", and its 400 (nothing saved) says \"Data tersimpan sebagian\" (as the real app does)",
	"read-method-quirks":        "harga-items list and rekap answer any method (POST, PUT, ...) as a GET, and HEAD on the other GET operations answers 405 (as the real app does)",
	"lax-number-parser":         "volume-pekerjaan save reads the quantity \"1,000\" as 1.0 (a lone comma is always decimal) and accepts \"1e3\" as 1000 (as the real app does)",

	// Quirks 14, 15 and 26 (quirksb).
	"upsert-ordering-takeover":        "a new upsert pekerjaan whose ordering_index an existing one has takes that one over and deletes its volume; when that one is in the body too the new row vanishes, 200 (as the real app does)",
	"upsert-failed-row-temp-ordering": "an existing pekerjaan whose upsert row fails (207) is left at the temporary ordering_index 1000000+n (as the real app does)",
	"health-session-simple":           "/health/ with a logged-in session and without ?mode=deep answers the simple form {checks: {mode: simple}} and checks neither database nor cache (as the real app does)",
	// Quirk 16 (stale).
	"tree-cache-stale": "an unsearched list-pekerjaan tree is cached 300 s (per worker; in Redis, shared, with --cache redis) keyed by the project's max(pekerjaan.updated_at), and the upsert does not touch updated_at: after an upsert the tree can be stale up to 300 s (as the real app does)",
	// The deployed number parser on the other fields (issue 14 detail).
	"lax-number-parser-detail": "detail-ahsp save reads the koefisien \"1,000\" as 1.0 (a lone comma is always decimal) and accepts \"1e3\" as 1000 (as the real app does)",
	"lax-number-parser-harga":  "harga-items save reads harga_satuan and markup_percent \"1,000\" as 1.0 (a lone comma is always decimal) and accepts \"1e3\" as 1000 (as the real app does)",
	// End of contracts block.

	// Browser (e2e).
	"unescaped-ui":         "toast and showError insert message text as HTML",
	"loader-race":          "LoadingManager's hide timer removes a newer overlay shown while the loader fades",
	"toast-legacy-ignored": "toast.show(msg, 'danger', ms) and show({message, variant, delay}) are ignored",
	"toast-legacy-raw":     "toast.show(msg, 'danger') shows class dp-toast-danger and show({message, variant, delay}) ignores variant and delay (as in the real app)",
	"unused-ui-scripts":    "no page loads core/toast-wrapper.js or core/loading.js, although both are served (as in the real app)",
	"unescaped-stored":     "the volume page inserts stored pekerjaan uraian as HTML",
	// End of browser block.

	// Security and observability.
	"no-csp":                    "responses carry no Content-Security-Policy (as in the real app)",
	"session-cookie-js":         "the session cookie is readable by scripts (no HttpOnly) and has no SameSite",
	"csrf-exempt-op":            "harga-items.save accepts unsafe requests without a valid CSRF token",
	"idor-op":                   "volume-pekerjaan.save writes into any project, not only the user's own",
	"cors-reflect":              "any Origin is reflected in Access-Control-Allow-Origin with credentials allowed",
	"leaky-errors":              "a quote in search-ahsp's q answers 500 with a debug page: traceback, SQL and settings",
	"metrics-miss-bulk":         "/metrics does not count 429s of the bulk category",
	"metrics-miss-cache-errors": "/metrics does not count the limiter's cache errors",
	"hit-log-no-user":           "rate-limit hits are logged without the user",
	"no-metrics":                "no /metrics endpoint: 404 (as in the real app)",
	"idor-read-op":              "rekap answers another user's project (its costs) instead of 404",
	"leaky-body-errors":         "volume-pekerjaan.save answers a non-object row or a non-numeric pekerjaan_id with a 500 naming the exception (the real app answers these 500, REAL-APP.md 3.4)",
	"csrf-exempt-login":         "the login form is accepted without a valid CSRF token",
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

// Profile is a named configuration of the reference target: the settings
// and defects that make it behave like one kind of deployment. Explicit
// flags override its settings; explicit defects are added to its own.
type Profile struct {
	Summary      string
	Workers      int
	Cache        string // locmem|redis
	SessionStore string // db|cache
	Defects      []string
}

// deployed is the app as deployed whatever its cache: the traits, frontend
// and quirks both profiles share (REAL-APP.md sections 2, 5, 6 and 8).
var deployed = []string{
	"legacy-scope", "no-retry-after", "naive-limiter",
	"no-worker-header", "connection-close", "no-api-versions", "no-login-limit", "no-ratelimit-headers",
	"toast-legacy-raw", "unused-ui-scripts", // the deployed frontend (REAL-APP.md section 5)
	"no-csp", "no-metrics",
	// The deployed app's quirks a contract sees (contracts block).
	"rekap-csv-bom-per-line", "foreign-export-500", "anonymous-export-401", "blank-name-accepted",
	"upsert-unknown-id-wipes", "upsert-empty-wipes", "retry-after-full-window",
	"rincian-csv-lf",
	"search-total-returned",
	"save-keeps-empty-groups",
	"login-lockout", // the app's failed-login lockout (REAL-APP.md section 6)
	"detail-lock-project-stamp", "naive-timestamp-500",
	"harga-string-id-refused",
	"read-method-quirks",
	"lax-number-parser",
	// Quirks 14, 15 and 26 (contracts block).
	"upsert-ordering-takeover", "upsert-failed-row-temp-ordering", "health-session-simple",
	"tree-cache-stale", // quirk 16 (contracts block)
	// Redis down (cache-outage block; no effect with locmem, which never fails).
	"cache-errors-raise", "rekap-csv-blank-cache-down",
	// The number parser on detail and harga saves (issue 14 detail).
	"lax-number-parser-detail", "lax-number-parser-harga",
	// End of as-deployed defects.
}

// Profiles are the --profile values (ahsp-target serve, harness stack flags).
// Append a deployed quirk's defect to deployed (both profiles get it).
var Profiles = map[string]Profile{
	// The app as it runs today (../shared/REAL-APP.md sections 2, 6 and 8):
	// gunicorn sync workers with the default per-process cache, so sessions
	// live in each worker too.
	"as-deployed": {
		Summary: "the AHSP app as deployed: 4 gunicorn-style workers, per-process cache and sessions, one limited operation, no Retry-After",
		Workers: 4, Cache: "locmem", SessionStore: "db",
		Defects: append([]string{"local-sessions"}, deployed...),
	},
	// The same app configured with django-redis and database sessions.
	"as-deployed-redis": {
		Summary: "as-deployed with the Redis cache and database sessions (no per-process state)",
		Workers: 4, Cache: "redis", SessionStore: "db",
		Defects: slices.Clone(deployed),
	},
}

// ProfileNames returns every profile name, sorted.
func ProfileNames() []string { return slices.Sorted(maps.Keys(Profiles)) }

// LookupProfile returns the named profile, or an error listing the allowed
// names.
func LookupProfile(name string) (Profile, error) {
	p, ok := Profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q: allowed values are %s", name, strings.Join(ProfileNames(), ", "))
	}
	return p, nil
}

// WithDefects returns the profile's defects plus extra, sorted and without
// duplicates.
func (p Profile) WithDefects(extra []string) []string {
	out := slices.Concat(p.Defects, extra)
	sort.Strings(out)
	return slices.Compact(out)
}
