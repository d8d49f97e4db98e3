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
		{"fail beats error", Error, Fail, Fail},
		{"error beats inconclusive", Inconclusive, Error, Error},
		{"inconclusive beats skip", Skip, Inconclusive, Inconclusive},
		{"skip beats pass", Pass, Skip, Skip},
		{"pass with pass", Pass, Pass, Pass},
		{"unknown word is never a pass", Pass, Status("bogus"), Status("bogus")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Worst(tc.a, tc.b))
		})
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []Status
		want Status
	}{
		{"nothing ran", nil, Skip},
		{"all skipped", []Status{Skip, Skip}, Skip},
		{"pass and skips", []Status{Skip, Pass, Skip}, Pass},
		{"inconclusive among passes", []Status{Pass, Inconclusive}, Inconclusive},
		{"inconclusive only", []Status{Inconclusive, Skip}, Inconclusive},
		{"error beats inconclusive", []Status{Inconclusive, Error, Pass}, Error},
		{"fail beats all", []Status{Error, Fail, Inconclusive, Skip, Pass}, Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Summarize(tc.in...))
		})
	}
}

func TestCounts(t *testing.T) {
	require.Equal(t, "nothing ran", Count().String())
	require.Equal(t, "2 pass, 1 skip, 1 fail", Count(Pass, Fail, Skip, Pass).String())
	require.True(t, Inconclusive.Valid())
	require.False(t, Status("ok").Valid())
	require.True(t, Fail.Ran())
	require.False(t, Inconclusive.Ran())
}
