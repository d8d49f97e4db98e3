package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// TestShardsMergeEqualsOneRun: two shard runs at once against one target,
// merged, match one unsharded run of the same scenario within tolerance;
// the gate is judged on the merged numbers.
func TestShardsMergeEqualsOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a real target stack (skipped with -short)")
	}
	ctx := context.Background()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	stacktest.Need(t, "a buildable reference target (the shard test did not run)", err)
	limits, err := stack.ParseLimits(capacity.HighLimits)
	require.NoError(t, err)
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: "locmem", Limits: limits, TargetBin: bin, Seed: stack.Seed{Users: 8, Projects: 1}})

	c := newCLI(t)
	var users strings.Builder
	for _, cr := range s.Credentials() {
		fmt.Fprintf(&users, "%s:%s %d\n", cr.User, cr.Password, cr.Projects[0])
	}
	c.write("users.txt", users.String())
	c.write("sc.yaml", "name: shard-read\nkind: constant\nusers: 4\nrate: 100\nduration: 2s\nmix:\n  - op: list-pekerjaan.tree\n  - op: detail-ahsp.get\n")
	c.write("harness.yaml", "gate:\n  thresholds:\n    - \"requests{scenario=shard-read} == 200\"\n    - \"p99{scenario=shard-read} < 1s\"\n")
	ext := []string{"--stack", "external", "--target-url", s.BaseURL(), "--users-file", "users.txt", "-q"}
	load := func(dir string, extra ...string) {
		require.NoError(t, os.MkdirAll(filepath.Join(c.dir, dir), 0o755))
		args := append([]string{"load", "sc.yaml", "--json", dir + "/load.json", "--raw", dir + "/results.gob"}, extra...)
		code, out, errs := c.run(ctx, append(args, ext...)...)
		require.Equal(t, exitcode.OK, code, "stdout: %s\nstderr: %s", out, errs)
	}
	load("whole")
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { load(fmt.Sprintf("shard%d", i), "--shard", fmt.Sprintf("%d/2", i)) })
	}
	wg.Wait()

	code, out, errs := c.run(ctx, "merge", "shard0", "shard1", "-o", "merged", "-q")
	require.Equal(t, exitcode.OK, code, "stdout: %s\nstderr: %s", out, errs)
	run, err := reports.Load(filepath.Join(c.dir, "merged", "summary.json"))
	require.NoError(t, err)
	require.Len(t, run.Scenarios, 1)
	m := run.Scenarios[0]

	b, err := os.ReadFile(filepath.Join(c.dir, "whole", "load.json"))
	require.NoError(t, err)
	var whole []*scenarios.Result
	require.NoError(t, json.Unmarshal(b, &whole))
	w := whole[0]

	require.Equal(t, w.Sent, m.Sent, "every scheduled request, split over the shards")
	require.Equal(t, 4, m.Users)
	require.Equal(t, w.RequestedRate, m.RequestedRate)
	require.InEpsilon(t, w.AchievedRate, m.AchievedRate, 0.1)
	require.Zero(t, m.Metrics.Total.Errors)
	for op, st := range w.Metrics.Operations {
		require.Equal(t, st.Requests, m.Metrics.Operations[op].Requests, op)
	}
	require.Less(t, m.Metrics.Total.Latency.P50, 50*w.Metrics.Total.Latency.P50+5, "same order of latency")
	require.Equal(t, "pass", string(run.Gate.Status), "gate judged on merged data: %+v", run.Gate.Rows)
	require.Len(t, run.Gate.Rows, 3, "the load section row and the two thresholds")
	require.Equal(t, "all load checks pass", run.Gate.Rows[0].Name)
}
