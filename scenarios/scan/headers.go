package scan

import (
	"fmt"
	"net/http"
	"time"
)

// judge429Headers judges a 429's headers against what the policy declares:
// Retry-After is required (the app's own UI waits for a retry time, and
// RFC 6585 says a 429 may include it; without it a client cannot know when
// to retry); the IETF RateLimit fields (RateLimit, RateLimit-Policy, or the
// older X-RateLimit-*) are advisory unless requireRL says the deployment's
// policy promises them. problems are findings, advisory are notes.
func judge429Headers(h http.Header, at time.Time, requireRL bool) (problems, advisory []string) {
	ra := h.Get("Retry-After")
	switch _, err := parseRetryAfter(ra, at); {
	case ra == "":
		problems = append(problems, "the 429 has no Retry-After header: clients cannot know when to retry")
	case err != nil:
		problems = append(problems, fmt.Sprintf("Retry-After %q is neither seconds nor an HTTP date", ra))
	}
	if h.Get("RateLimit") == "" && h.Get("RateLimit-Policy") == "" && h.Get("X-RateLimit-Limit") == "" {
		msg := "the 429 has no RateLimit / RateLimit-Policy (IETF draft) or X-RateLimit-* headers"
		if requireRL {
			problems = append(problems, msg+" (required by scan.require_ratelimit_headers)")
		} else {
			advisory = append(advisory, msg)
		}
	}
	return problems, advisory
}
