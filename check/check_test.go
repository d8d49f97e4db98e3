package check

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWorst(t *testing.T) {
	tests := []struct {
		name string
		a, b Status
		want Status
	}{
		{"fail beats pass", Pass, Fail, Fail},
		{"fail beats skip", Fail, Skip, Fail},
		{"pass beats skip", Skip, Pass, Pass},
		{"skip with skip", Skip, Skip, Skip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Worst(tc.a, tc.b))
		})
	}
}
