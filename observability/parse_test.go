package observability

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMetrics(t *testing.T) {
	s := scrape{samples: parseMetrics(strings.NewReader(`# HELP x y
# TYPE ahsp_rate_limit_hits_total counter
ahsp_rate_limit_hits_total{operation="rekap",category="read"} 3
ahsp_rate_limit_hits_total{operation="list-pekerjaan.save",category="write"} 2
ahsp_cache_errors_total{source="limiter"} 4
ahsp_cache_errors_total{source="health"} 1
weird{a="q\"uote"} 1e3
`))}
	require.Equal(t, 5.0, s.sum(hitsMetric, nil))
	require.Equal(t, 3.0, s.sum(hitsMetric, map[string]string{"operation": "rekap"}))
	require.Equal(t, 0.0, s.sum(hitsMetric, map[string]string{"operation": "rekap", "category": "write"}))
	require.Equal(t, 1000.0, s.sum("weird", map[string]string{"a": `q"uote`}))
	require.True(t, s.has(cacheErrorMetric))
	require.False(t, s.has("absent"))
}

func TestLogLineMissing(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"complete json", `{"msg":"rate limit exceeded","user":"7","operation":"rekap","ip":"127.0.0.1","user_agent":"ua"}`, nil},
		{"no user", `{"msg":"rate limit exceeded","user":"","operation":"rekap","ip":"127.0.0.1"}`, []string{"user"}},
		{"anonymous", `{"msg":"rate limit exceeded","user":"AnonymousUser","path":"/x/","client_ip":"::1"}`, []string{"user"}},
		{"no ip", `{"msg":"rate limit exceeded","user":"7","operation":"rekap"}`, []string{"client IP"}},
		{"text complete", `WARNING rate limit hit user=user7 path=/detail_project/api/project/3/rekap/ ip=10.0.0.5 ua=x`, nil},
		{"text bare", `WARNING rate limit hit`, []string{"user", "operation", "client IP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := parseLogLines(tc.line)[0]
			require.Equal(t, tc.want, l.missing("user7", "rekap", "/detail_project/api/project/3/rekap/"))
		})
	}
}
