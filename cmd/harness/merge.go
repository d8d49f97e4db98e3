package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/bench/shard"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
)

// Files each shard folder holds ('harness load --shard i/N --json DIR/load.json --raw DIR/results.gob').
const (
	shardResults = "load.json"
	shardRaw     = "results.gob"
)

func newMergeCmd(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge SHARD_DIR... -o DIR",
		Short: "Combine sharded load runs into one result, judge the gate on it and write the reports",
		Long: `merge reads each shard folder's ` + shardResults + ` and ` + shardRaw + ` (written by
'harness load --shard i/N --json DIR/` + shardResults + ` --raw DIR/` + shardRaw + `'),
rebuilds every scenario's metrics from all shards' raw results (exact
percentiles, not averages of per-shard numbers), evaluates the gate's
thresholds on the merged data and writes the usual reports into -o.`,
		Example: `  harness merge shard*/ -o run/
  harness merge shard0 shard1 -o reports/out/merged`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return app.merge(cmd.Context(), args, out) },
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "report folder for the merged run (required)")
	return cmd
}

func (a *App) merge(_ context.Context, dirs []string, out string) error {
	if out == "" {
		return exitcode.Errorf(exitcode.Usage, "merge: give the report folder with -o DIR")
	}
	meta := a.meta("merge")
	var parts []shard.Part
	for _, d := range dirs {
		dir := a.abs(d)
		b, err := os.ReadFile(filepath.Join(dir, shardResults))
		if err != nil {
			return exitcode.Errorf(exitcode.Usage, "merge: shard %s: %v (run the shard with --json %s/%s)", d, err, d, shardResults)
		}
		var results []*scenarios.Result
		if err := json.Unmarshal(b, &results); err != nil {
			return exitcode.Errorf(exitcode.Usage, "merge: shard %s: decode %s: %v", d, shardResults, err)
		}
		f, err := os.Open(filepath.Join(dir, shardRaw))
		if err != nil {
			return exitcode.Errorf(exitcode.Usage, "merge: shard %s: %v (run the shard with --raw %s/%s)", d, err, d, shardRaw)
		}
		defer f.Close()
		parts = append(parts, shard.Part{Name: d, Results: results, Raw: f})
	}
	merged, err := shard.Merge(parts)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	gate, err := a.cfg.gateConfig()
	if err != nil {
		return err
	}
	// A load-only run: require load, the other sections are absent by design.
	gate.Require = []string{"load"}
	for _, sec := range reports.Sections {
		if sec != "load" {
			gate.AllowSkip = append(gate.AllowSkip, sec)
		}
	}
	run := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: meta, Scenarios: merged}
	for _, r := range merged {
		r.WriteText(a.Stdout)
	}
	run.Meta.Finished = time.Now().UTC()
	run.Meta.DurationS = run.Meta.Finished.Sub(run.Meta.Started).Seconds()
	run.EvaluateGate(gate)
	dir, err := a.outDir(out)
	if err != nil {
		return err
	}
	if _, err := reports.WriteAll(dir, run); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	fmt.Fprintf(a.progress(), "harness: merged %d shard(s) into %s; gate %s\n", len(parts), dir, run.Gate.Status)
	if !run.Gate.Passed() {
		return exitcode.Errorf(exitcode.GateFailed, "gate failed: %s", failedRows(run.Gate))
	}
	return nil
}
