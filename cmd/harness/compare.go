package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
)

func newCompareCmd(app *App) *cobra.Command {
	cfg := reports.DefaultCompare()
	var html string
	cmd := &cobra.Command{
		Use:   "compare OLD.json NEW.json",
		Short: "Show what got worse between two runs (latency, throughput, new failures); exit 1 on a regression",
		Long: `compare reads two summary.json files written by 'harness run' and prints a
table of every scenario and endpoint in both: latency percentiles and
throughput old -> new with the change in percent, and the checks that passed
before and fail now. A latency more than --latency-pct higher, a throughput
more than --throughput-pct lower, or a new failure is a regression (exit 1).

Given capacity reports (capacity.json or the summary.json of harness
capacity), two or more, it lays them side by side instead: one row per mix,
one column per run (named by its --label): max rate, p99, knee, target CPU
and 429s. That is how worker counts or cache backends are compared on a
deployment the harness cannot restart. It measures, so it exits 0.`,
		Example: `  harness compare baseline/summary.json reports/out/latest/summary.json
  harness compare old.json new.json --latency-pct 20 --html compare.html
  harness compare w2/capacity.json w4/capacity.json w4-redis/capacity.json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reps, ok := app.capacityRuns(args); ok {
				return app.compareCapacity(reps, html)
			}
			if len(args) != 2 {
				return exitcode.Errorf(exitcode.Usage, "compare: want OLD.json NEW.json (more than two files only for capacity reports)")
			}
			return app.compare(args[0], args[1], cfg, html)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&cfg.LatencyPct, "latency-pct", cfg.LatencyPct, "latency this many percent higher is a regression")
	f.Float64Var(&cfg.ThroughputPct, "throughput-pct", cfg.ThroughputPct, "throughput this many percent lower is a regression")
	f.StringVar(&html, "html", "", "also write the comparison as a self-contained HTML page to this file")
	return cmd
}

func (a *App) compare(oldPath, newPath string, cfg reports.CompareConfig, html string) error {
	if cfg.LatencyPct < 0 || cfg.ThroughputPct < 0 {
		return exitcode.Errorf(exitcode.Usage, "--latency-pct and --throughput-pct must be 0 or more")
	}
	old, err := reports.Load(a.abs(oldPath))
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	cur, err := reports.Load(a.abs(newPath))
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	c := reports.Compare(old, cur, cfg)
	if err := reports.WriteComparisonText(a.Stdout, c); err != nil {
		return fmt.Errorf("print comparison: %w", err)
	}
	if html != "" {
		var b bytes.Buffer
		if err := reports.WriteComparisonHTML(&b, c); err != nil {
			return fmt.Errorf("render comparison: %w", err)
		}
		if err := os.WriteFile(a.abs(html), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write comparison: %w", err)
		}
		fmt.Fprintf(a.Stdout, "comparison: %s\n", a.abs(html))
	}
	if c.Regressed() {
		return exitcode.Errorf(exitcode.GateFailed, "regression from %s to %s", oldPath, newPath)
	}
	return nil
}

// capacityRuns loads every path as a capacity report; false when any is not
// one (then compare is the two-run regression comparison).
func (a *App) capacityRuns(paths []string) ([]reports.CapacityRun, bool) {
	var out []reports.CapacityRun
	for _, p := range paths {
		rep, err := loadCapacity(a.abs(p))
		if err != nil {
			return nil, false
		}
		name := rep.Label
		if name == "" {
			name = p
		}
		out = append(out, reports.CapacityRun{Name: name, Report: rep})
	}
	return out, true
}

func (a *App) compareCapacity(runs []reports.CapacityRun, html string) error {
	side := reports.CompareCapacity(runs)
	if err := side.WriteCapacityText(a.Stdout); err != nil {
		return fmt.Errorf("print capacity comparison: %w", err)
	}
	if html == "" {
		return nil
	}
	var b bytes.Buffer
	if err := side.WriteCapacityHTML(&b); err != nil {
		return fmt.Errorf("render capacity comparison: %w", err)
	}
	if err := os.WriteFile(a.abs(html), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write capacity comparison: %w", err)
	}
	fmt.Fprintf(a.Stdout, "comparison: %s\n", a.abs(html))
	return nil
}
