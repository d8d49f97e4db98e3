package capacity_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/run"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// TestSweep searches one configuration against the real reference target
// in local mode (locmem) and docker mode (Redis behind Toxiproxy) with short
// steps and a low ceiling; about 10 s each.
func TestSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a real target stack (skipped with -short)")
	}
	for _, tc := range []struct {
		mode, cache string
	}{
		{stack.ModeLocal, "locmem"},
		{stack.ModeDocker, "redis"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			bin, _, err := stack.ResolveTarget(ctx, "", nil)
			stacktest.Need(t, "a buildable reference target (the capacity sweep did not run)", err)
			if tc.mode == stack.ModeDocker {
				stacktest.Need(t, "a Docker engine at "+stack.DockerHost(), stack.PingDocker(ctx))
				t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
				t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
			}

			var progress bytes.Buffer
			rep, err := capacity.Sweep(ctx, capacity.Options{
				Configs:      []capacity.Config{{Workers: 2, Cache: tc.cache, Mix: "read-mix"}},
				Search:       capacity.Search{Start: 50, Grow: 4, Max: 800, Resolution: 50, MaxBisect: 2, SLO: capacity.DefaultSLO()},
				StepDuration: time.Second,
				MaxWorkers:   64,
				Up:           run.CapacityStacks(stack.Spec{Mode: tc.mode, TargetBin: bin, Seed: stack.Seed{Users: 20, Projects: 1}}),
				Progress:     &progress,
			})
			t.Log(progress.String())
			require.NoError(t, err)
			require.Len(t, rep.Results, 1)
			res := rep.Results[0]
			require.Empty(t, res.Error)
			require.NotNil(t, res.Stack)
			require.Equal(t, tc.mode, res.Stack.Mode)
			require.Contains(t, res.Stack.Limits, "read=100000000/1", "the high-limit profile must reach the target")
			o := res.Outcome
			require.NotNil(t, o)
			require.LessOrEqual(t, len(o.Steps), 3+2)
			require.GreaterOrEqual(t, o.MaxRate, 50, "two workers serve 50 reads/s on any machine: %s", o.Reason)
			require.NotNil(t, o.AtMax)
			require.Zero(t, o.AtMax.ErrorRate, "no 429 or other error at the sustainable rate")
			require.InDelta(t, float64(o.MaxRate), o.AtMax.Achieved, 0.05*float64(o.MaxRate))
			require.Greater(t, o.AtMax.GeneratorCPU, 0.0)
			require.Greater(t, o.AtMax.TargetCPU, 0.0, "the target's CPU is read in every mode the harness starts")
			require.Greater(t, o.AtMax.MachineCPU, 0.0)
			if tc.cache == "redis" {
				require.GreaterOrEqual(t, o.AtMax.CacheCPU, 0.0, "the Redis container's CPU")
			} else {
				require.Equal(t, -1.0, o.AtMax.CacheCPU, "locmem has no Redis")
			}
			require.LessOrEqual(t, o.Knee, o.MaxRate)

			var text bytes.Buffer
			rep.WriteText(&text)
			require.Contains(t, text.String(), "read-mix")
			require.Contains(t, text.String(), "share this machine's")
		})
	}
}
