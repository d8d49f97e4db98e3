package contracts

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CheckHeaders checks the headers a version's contract requires.
//
// v1 (and the legacy paths) must announce their deprecation: Deprecation in
// the RFC 9745 form "@<unix seconds>", Sunset as an HTTP-date (RFC 8594) not
// before the deprecation, and a Link with rel="deprecation". v2 must carry
// none of them. 429 and 503 need Retry-After (delta-seconds or HTTP-date).
func CheckHeaders(version string, status int, h http.Header) []Violation {
	var out []Violation
	bad := func(name, format string, args ...any) {
		out = append(out, Violation{Where: "header", InstancePath: name, Message: fmt.Sprintf(format, args...)})
	}
	switch version {
	case "v1", "legacy":
		dep, depOK := time.Time{}, false
		switch v := h.Get("Deprecation"); {
		case v == "":
			bad("Deprecation", "missing: a v1 response must carry Deprecation: @<unix seconds> (RFC 9745)")
		default:
			t, err := parseDeprecation(v)
			if err != nil {
				bad("Deprecation", "%q: %v", v, err)
			} else {
				dep, depOK = t, true
			}
		}
		switch v := h.Get("Sunset"); {
		case v == "":
			bad("Sunset", "missing: a v1 response must carry Sunset: <HTTP-date> (RFC 8594)")
		default:
			t, err := http.ParseTime(v)
			if err != nil {
				bad("Sunset", "%q is not an HTTP-date (like \"Sat, 01 Aug 2026 00:00:00 GMT\")", v)
			} else if depOK && t.Before(dep) {
				bad("Sunset", "%q is before the Deprecation date %s", v, dep.UTC().Format(http.TimeFormat))
			}
		}
		if !hasDeprecationLink(h) {
			bad("Link", "no Link with rel=\"deprecation\" (got %q)", strings.Join(h.Values("Link"), ", "))
		}
	case "v2":
		for _, name := range []string{"Deprecation", "Sunset"} {
			if v := h.Get(name); v != "" {
				bad(name, "v2 must not carry %s (got %q)", name, v)
			}
		}
		if hasDeprecationLink(h) {
			bad("Link", "v2 must not carry a Link with rel=\"deprecation\" (got %q)", strings.Join(h.Values("Link"), ", "))
		}
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		switch v := h.Get("Retry-After"); {
		case v == "":
			bad("Retry-After", "missing: a %d response must tell the client when to retry", status)
		default:
			if n, err := strconv.Atoi(v); err == nil {
				if n < 0 {
					bad("Retry-After", "%q is negative", v)
				}
			} else if _, err := http.ParseTime(v); err != nil {
				bad("Retry-After", "%q is neither delta-seconds nor an HTTP-date", v)
			}
		}
	}
	return out
}

// parseDeprecation reads an RFC 9745 Deprecation value: a structured-field
// Date "@<integer seconds>".
func parseDeprecation(v string) (time.Time, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(v), "@")
	if !ok {
		return time.Time{}, fmt.Errorf("want the RFC 9745 form @<unix seconds>, not %q", v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("want the RFC 9745 form @<unix seconds>: %q is not an integer", s)
	}
	return time.Unix(n, 0), nil
}

func hasDeprecationLink(h http.Header) bool {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			for _, param := range strings.Split(part, ";")[1:] {
				k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") {
					for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
						if strings.EqualFold(r, "deprecation") {
							return true
						}
					}
				}
			}
		}
	}
	return false
}
