package defects

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{"none", nil, []string{}, ""},
		{"repeated flags", []string{"v2-drift", "trust-xff"}, []string{"trust-xff", "v2-drift"}, ""},
		{"comma list", []string{"naive-limiter, no-retry-after"}, []string{"naive-limiter", "no-retry-after"}, ""},
		{"unknown", []string{"typo"}, nil, `unknown defect "typo"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, s.List())
		})
	}
}
