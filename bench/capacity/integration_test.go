package capacity

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// TestSweepLocal searches one configuration against the real reference
// target (local mode) with short steps; bounded to about 15 s.
func TestSweepLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a real target stack (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	stacktest.Need(t, "a buildable reference target (the capacity sweep did not run)", err)

	var progress bytes.Buffer
	rep, err := Sweep(ctx, Options{
		Configs:      []Config{{Workers: 1, Cache: "locmem", Mix: "read-mix"}},
		Search:       Search{Start: 50, Grow: 4, Max: 3200, Resolution: 50, MaxBisect: 2, SLO: DefaultSLO()},
		StepDuration: time.Second,
		MaxWorkers:   64,
		Base:         stack.Spec{Mode: stack.ModeLocal, TargetBin: bin, Seed: stack.Seed{Users: 20, Projects: 1}},
		Progress:     &progress,
	})
	t.Log(progress.String())
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	res := rep.Results[0]
	require.Empty(t, res.Error)
	require.NotNil(t, res.Stack)
	require.Equal(t, stack.ModeLocal, res.Stack.Mode)
	require.Contains(t, res.Stack.Limits, "read=100000000/1", "the high-limit profile must reach the target")
	o := res.Outcome
	require.NotNil(t, o)
	require.LessOrEqual(t, len(o.Steps), 4+2)
	require.GreaterOrEqual(t, o.MaxRate, 50, "a single worker serves 50 reads/s on any machine: %s", o.Reason)
	require.NotNil(t, o.AtMax)
	require.Zero(t, o.AtMax.ErrorRate, "no 429 or other error at the sustainable rate")
	require.InDelta(t, float64(o.MaxRate), o.AtMax.Achieved, 0.05*float64(o.MaxRate))
	require.GreaterOrEqual(t, o.AtMax.TargetCPU, 0.0, "local mode reads the workers' CPU from /proc")
	require.Greater(t, o.AtMax.GeneratorCPU, 0.0)
	require.LessOrEqual(t, o.Knee, o.MaxRate)

	var text bytes.Buffer
	rep.WriteText(&text)
	require.Contains(t, text.String(), "read-mix")
	require.Contains(t, text.String(), "share this machine's")
}
