package scan

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJudge429Headers(t *testing.T) {
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		h         http.Header
		require   bool
		problems  int
		advisory  int
		wantIssue string
	}{
		{"Retry-After alone passes", http.Header{"Retry-After": {"30"}}, false, 0, 1, ""},
		{"Retry-After alone, RateLimit required", http.Header{"Retry-After": {"30"}}, true, 1, 0, "required by scan.require_ratelimit_headers"},
		{"Retry-After as an HTTP date", http.Header{"Retry-After": {at.Add(time.Minute).Format(http.TimeFormat)}, "Ratelimit": {"limit=20, remaining=0, reset=60"}}, true, 0, 0, ""},
		{"no Retry-After (the real app)", http.Header{}, false, 1, 1, "no Retry-After header"},
		{"garbage Retry-After", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Limit": {"20"}}, false, 1, 0, "neither seconds nor an HTTP date"},
		{"IETF fields present", http.Header{"Retry-After": {"5"}, "Ratelimit-Policy": {"20;w=60"}}, true, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a := judge429Headers(tc.h, at, tc.require)
			require.Len(t, p, tc.problems, "%v", p)
			require.Len(t, a, tc.advisory, "%v", a)
			if tc.wantIssue != "" {
				require.Contains(t, p[0], tc.wantIssue)
			}
		})
	}
}
