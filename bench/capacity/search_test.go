package capacity

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeTarget answers like a server with a fixed capacity: p99 flat up to
// the knee, then climbing, and errors past the capacity.
func fakeTarget(knee, capacity int) MeasureFunc {
	return func(_ context.Context, rate int) (Step, error) {
		p99 := 10.0
		if rate > knee {
			p99 = 10 + float64(rate-knee)*2
		}
		st := Step{Achieved: float64(rate), Requests: int64(rate * 2), P50: p99 / 3, P99: p99}
		if rate > capacity {
			st.ErrorRate = 5
		}
		return st, nil
	}
}

func TestSearch(t *testing.T) {
	slo := SLO{P99: 250 * time.Millisecond, P99Ms: 250, MaxErrorRate: 1}
	tests := []struct {
		name            string
		search          Search
		measure         MeasureFunc
		wantMax         [2]int // inclusive range
		wantKnee        [2]int
		wantFirstBad    int // -1: any > max
		wantMaxSteps    int
		wantReasonMatch string
	}{
		{
			name:   "latency breaks: bisect converges within resolution",
			search: Search{Start: 25, Grow: 2, Max: 6400, Resolution: 10, MaxBisect: 8, SLO: slo},
			// p99 = 10 + 2*(rate-300) crosses 250 at 420; errors start past 1000.
			measure: fakeTarget(300, 1000), wantMax: [2]int{400, 420}, wantKnee: [2]int{200, 304},
			wantFirstBad: -1, wantMaxSteps: 14, wantReasonMatch: "p99",
		},
		{
			name:    "errors break before latency",
			search:  Search{Start: 10, Grow: 2, Max: 6400, Resolution: 5, MaxBisect: 8, SLO: slo},
			measure: fakeTarget(5000, 130), wantMax: [2]int{125, 130}, wantKnee: [2]int{125, 130},
			wantFirstBad: -1, wantMaxSteps: 14, wantReasonMatch: "errors",
		},
		{
			name:    "bisect bounded by MaxBisect",
			search:  Search{Start: 100, Grow: 4, Max: 6400, Resolution: 1, MaxBisect: 2, SLO: slo},
			measure: fakeTarget(300, 1000), wantMax: [2]int{100, 420}, wantKnee: [2]int{100, 420},
			wantFirstBad: -1, wantMaxSteps: 3 + 2, wantReasonMatch: "p99",
		},
		{
			name:    "never breaks: stops at max",
			search:  Search{Start: 50, Grow: 2, Max: 400, Resolution: 10, MaxBisect: 4, SLO: slo},
			measure: fakeTarget(10000, 10000), wantMax: [2]int{400, 400}, wantKnee: [2]int{400, 400},
			wantFirstBad: 0, wantMaxSteps: 4, wantReasonMatch: "raise --max-rate",
		},
		{
			name:    "first step already bad",
			search:  Search{Start: 500, Grow: 2, Max: 6400, Resolution: 10, MaxBisect: 4, SLO: slo},
			measure: fakeTarget(100, 200), wantMax: [2]int{0, 0}, wantKnee: [2]int{0, 0},
			wantFirstBad: 500, wantMaxSteps: 1, wantReasonMatch: "500/s",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.search.Run(context.Background(), tc.measure)
			require.NoError(t, err)
			require.GreaterOrEqual(t, out.MaxRate, tc.wantMax[0])
			require.LessOrEqual(t, out.MaxRate, tc.wantMax[1])
			require.GreaterOrEqual(t, out.Knee, tc.wantKnee[0])
			require.LessOrEqual(t, out.Knee, tc.wantKnee[1])
			require.LessOrEqual(t, len(out.Steps), tc.wantMaxSteps)
			require.Contains(t, out.Reason, tc.wantReasonMatch)
			switch tc.wantFirstBad {
			case -1:
				require.Greater(t, out.FirstBad, out.MaxRate)
			default:
				require.Equal(t, tc.wantFirstBad, out.FirstBad)
			}
			if out.MaxRate > 0 {
				require.NotNil(t, out.AtMax)
				require.Equal(t, out.MaxRate, out.AtMax.Rate)
				require.True(t, out.AtMax.Good)
			}
			for _, st := range out.Steps {
				if st.Rate <= out.MaxRate {
					require.True(t, st.Good || st.Rate != out.MaxRate, "step %d", st.Rate)
				}
			}
		})
	}
}

func TestSearchConvergesToResolution(t *testing.T) {
	out, err := Search{Start: 25, Grow: 2, Max: 6400, Resolution: 10, MaxBisect: 10, SLO: DefaultSLO()}.Run(context.Background(), fakeTarget(300, 1000))
	require.NoError(t, err)
	require.LessOrEqual(t, out.FirstBad-out.MaxRate, max(10, out.MaxRate/20))
}

func TestSearchGeneratorFellBehind(t *testing.T) {
	measure := func(_ context.Context, rate int) (Step, error) {
		st := Step{Requests: int64(rate), Achieved: float64(min(rate, 300)), P99: 5}
		st.FellBehind = st.Achieved < 0.95*float64(rate)
		return st, nil
	}
	out, err := DefaultSearch().Run(context.Background(), measure)
	require.NoError(t, err)
	require.LessOrEqual(t, out.MaxRate, 315)
	require.Contains(t, out.Reason, "achieved")
}

func TestSearchErrors(t *testing.T) {
	_, err := Search{Start: 0, Grow: 2, Max: 10}.Run(context.Background(), fakeTarget(1, 1))
	require.ErrorContains(t, err, "want start > 0")
	boom := errors.New("boom")
	_, err = DefaultSearch().Run(context.Background(), func(context.Context, int) (Step, error) { return Step{}, boom })
	require.ErrorIs(t, err, boom)
}

func TestJudgeNamesErrorKinds(t *testing.T) {
	st := Step{Requests: 100, ErrorRate: 7, P99: 5, ErrorKinds: map[string]int64{"503": 5, "timeout": 2, "500": 0}}
	DefaultSLO().Judge(&st)
	require.False(t, st.Good)
	require.Equal(t, "errors 7.0% > 1.0% (503: 5, timeout: 2, 500: 0)", st.Why)
}

func TestKneeIgnoresMillisecondNoise(t *testing.T) {
	steps := []Step{{Rate: 25, P99: 1, Good: true}, {Rate: 50, P99: 3, Good: true}, {Rate: 100, P99: 20, Good: true}, {Rate: 200, P99: 90, Good: true}, {Rate: 400, P99: 300}}
	require.Equal(t, 100, knee(steps, 25))
	require.Equal(t, 25, knee(steps, 0))
	require.Equal(t, 0, knee(nil, 25))
}

func TestJudgeSaysWhenTheMachineWasSaturated(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   Step
		want string
	}{
		{"saturated", Step{Requests: 100, P99: 900, MachineCPU: 1.97, Saturated: true}, "p99 900ms > 250ms (the machine was saturated: 1.97 cores busy)"},
		{"not saturated", Step{Requests: 100, P99: 900, MachineCPU: 0.6}, "p99 900ms > 250ms"},
		{"good steps say nothing", Step{Requests: 100, P99: 10, MachineCPU: 1.97, Saturated: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			DefaultSLO().Judge(&tc.st)
			require.Equal(t, tc.want, tc.st.Why)
		})
	}
}

func TestMachineBusy(t *testing.T) {
	idle0 := machineIdle()
	require.GreaterOrEqual(t, idle0, 0.0, "/proc/stat should be readable on Linux")
	t0 := time.Now()
	for time.Since(t0) < 300*time.Millisecond { // one core busy
	}
	busy := machineBusy(cores(idle0, machineIdle(), time.Since(t0).Seconds()))
	require.GreaterOrEqual(t, busy, 0.5, "a spinning goroutine keeps about one core busy")
	require.LessOrEqual(t, busy, float64(runtime.NumCPU())+0.2)
	require.Equal(t, -1.0, machineBusy(cores(-1, 5, 1)))
	require.Equal(t, -1.0, machineBusy(cores(5, 4, 1)), "a counter going back is not a reading")
}

// TestSearch429sAreNotErrors: 429s are counted apart; a step over the
// 429 budget is judged "limited", and the outcome says the maximum is a
// lower bound set by the users, not the deployment.
func TestSearch429sAreNotErrors(t *testing.T) {
	slo := DefaultSLO()
	measure := func(_ context.Context, rate int) (Step, error) {
		st := Step{Achieved: float64(rate), Requests: int64(rate * 2), P50: 3, P99: 10}
		if rate > 100 { // the users' per-user limits bind past 100/s
			st.RateLimited = int64(rate)
			st.RateLimitedRate = 100 * float64(st.RateLimited) / float64(st.Requests)
			st.RateLimitedOps = map[string]int64{"list-pekerjaan.save": st.RateLimited}
		}
		return st, nil
	}
	out, err := Search{Start: 25, Grow: 2, Max: 1600, Resolution: 10, MaxBisect: 4, SLO: slo}.Run(context.Background(), measure)
	require.NoError(t, err)
	require.True(t, out.LimitedByUsers)
	require.InDelta(t, 100, out.MaxRate, 12)
	require.Contains(t, out.Reason, "429s 50.0% > 1.0% (list-pekerjaan.save:")
	require.Contains(t, out.Reason, "a lower bound of capacity")
	for _, st := range out.Steps {
		require.Zero(t, st.ErrorRate, "429s are not errors")
		require.Equal(t, st.Rate > 100, st.Limited)
	}
}
