package check

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reason   string
		findings []string
		want     string
	}{
		{"pass", "", nil, "security: csrf     pass in 1.2s\n"},
		{"reason and findings", "advisory: x", []string{"a", "b"}, "security: csrf     fail in 1.2s (advisory: x)\n  - a\n  - b\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Pass
			if len(tc.findings) > 0 {
				st = Fail
			}
			var b strings.Builder
			Progress(&b, "security", 8, "csrf", st, 1234*time.Millisecond, tc.reason, tc.findings)
			require.Equal(t, tc.want, b.String())
		})
	}
	Progress(nil, "security", 8, "csrf", Pass, 0, "", nil) // nil writer: nothing, no panic
}

func TestSummarizeBy(t *testing.T) {
	type res struct{ st Status }
	by := func(r res) Status { return r.st }
	require.Equal(t, Skip, SummarizeBy(nil, by))
	require.Equal(t, Pass, SummarizeBy([]res{{Pass}, {Skip}}, by))
	require.Equal(t, Fail, SummarizeBy([]res{{Pass}, {Inconclusive}, {Fail}}, by))
}
