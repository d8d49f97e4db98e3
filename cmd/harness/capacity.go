package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/run"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/stack"
)

type capacityOptions struct {
	workers    []int
	caches     []string
	mixes      []string
	step       time.Duration
	p99        time.Duration
	maxErrors  float64
	start      int
	maxRate    int
	bisect     int
	maxWorkers int
	out        string
	jsonOut    string
}

func newCapacityCmd(app *App) *cobra.Command {
	var o capacityOptions
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Find the maximum sustainable request rate per workers × cache × mix",
		Long: `capacity starts one stack per configuration (workers × cache) with a
high-limit profile, so the rate limiter never answers 429, and for each mix
steps the open-model arrival rate (×2 per step) until the SLO breaks (p99
over --p99 or errors over --max-errors), then bisects between the last good
and the first bad rate. It prints the maximum sustainable rate, p50/p99 at
it, the knee (the last rate whose p99 stayed within twice the lowest rate's)
and the CPU of generator and target, and writes the capacity report.

The global --workers, --cache and --limits are replaced per configuration
(--sweep-workers, --sweep-caches, and the high-limit profile); the other
stack flags (--stack, --target-bin, --limiter, ...) apply to every stack.

Generator and target share this machine's cores: the rates are lower bounds.`,
		Example: `  harness capacity --stack local                  # 1,2,4 workers × locmem,redis × read-mix,write-mix (~5 min)
  harness capacity --stack local --sweep-workers 2 --sweep-caches redis --mixes read-mix
  harness capacity --stack docker --mixes read-mix --step 3s`,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.capacity(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.workers, "sweep-workers", []int{1, 2, 4}, "target worker counts to sweep")
	f.StringSliceVar(&o.caches, "sweep-caches", []string{"locmem", "redis"}, "cache backends to sweep: locmem, redis")
	f.StringSliceVar(&o.mixes, "mixes", []string{"read-mix", "write-mix"}, "built-in scenarios whose mix is driven")
	f.DurationVar(&o.step, "step", 2*time.Second, "how long each rate is held")
	f.DurationVar(&o.p99, "p99", 250*time.Millisecond, "SLO: the p99 latency limit")
	f.Float64Var(&o.maxErrors, "max-errors", 1, "SLO: the largest tolerated error rate, percent")
	f.IntVar(&o.start, "start-rate", 25, "first rate, requests per second (doubled per step)")
	f.IntVar(&o.maxRate, "max-rate", 25600, "highest rate tried")
	f.IntVar(&o.bisect, "bisect", 4, "most bisection steps between the last good and first bad rate")
	f.IntVar(&o.maxWorkers, "max-workers", 128, "cap on the generator's in-flight requests and connections")
	f.StringVar(&o.out, "out", "", "report folder (default: a fresh reports/out/<timestamp>/, linked as reports/out/latest)")
	f.StringVar(&o.jsonOut, "json", "", "also write the capacity report as JSON to this file")
	return cmd
}

func (a *App) capacity(ctx context.Context, o capacityOptions) error {
	usage := func(format string, args ...any) error { return exitcode.Errorf(exitcode.Usage, format, args...) }
	for _, m := range o.mixes {
		if _, err := scenarios.Builtin(m); err != nil {
			return usage("--mixes: %v (built-ins: %s)", err, strings.Join(scenarios.Builtins(), ", "))
		}
	}
	for _, c := range o.caches {
		if c != "locmem" && c != "redis" {
			return usage("--sweep-caches: unknown cache %q; allowed values are locmem, redis", c)
		}
	}
	for _, w := range o.workers {
		if w < 1 {
			return usage("--sweep-workers: %d workers; want at least 1", w)
		}
	}
	if o.step < 500*time.Millisecond || o.step > time.Minute {
		return usage("--step %s: want between 500ms and 1m", o.step)
	}
	spec, err := a.stackSpec()
	if err != nil {
		return err
	}
	if spec.Mode == stack.ModeExternal {
		return usage("capacity starts its own stacks per configuration (with a high-limit profile); use --stack local or docker")
	}
	var configs []capacity.Config
	for _, c := range o.caches {
		for _, w := range o.workers {
			for _, m := range o.mixes {
				configs = append(configs, capacity.Config{Workers: w, Cache: c, Mix: m})
			}
		}
	}
	search := capacity.DefaultSearch()
	search.Start, search.Max, search.MaxBisect = o.start, o.maxRate, o.bisect
	search.SLO = capacity.SLO{P99: o.p99, P99Ms: float64(o.p99) / float64(time.Millisecond), MaxErrorRate: o.maxErrors}
	spec.Progress = nil // one line per step is enough
	fmt.Fprintf(a.progress(), "capacity: %d configuration(s) × 6–12 steps of %s: about %s\n",
		len(configs), o.step, (time.Duration(len(configs)*9) * (o.step + 300*time.Millisecond)).Round(time.Minute/4))
	meta := a.meta("capacity")
	rep, runErr := capacity.Sweep(ctx, capacity.Options{
		Configs: configs, Search: search, StepDuration: o.step, MaxWorkers: o.maxWorkers,
		Up: run.CapacityStacks(spec), Progress: a.progress(),
	})
	if rep == nil {
		return runErr
	}
	rep.WriteText(a.Stdout)
	dir, err := a.outDir(o.out)
	if err != nil {
		return err
	}
	r := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: meta, Capacity: rep}
	r.Meta.Finished = time.Now().UTC()
	r.Meta.DurationS = r.Meta.Finished.Sub(r.Meta.Started).Seconds()
	r.EvaluateGate(reports.GateConfig{}) // capacity measures; it has nothing to gate
	if _, err := reports.WriteAll(dir, r); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "capacity.json"), rep); err != nil {
		return err
	}
	fmt.Fprintf(a.progress(), "harness: capacity report in %s (report.html, summary.json, capacity.json)\n", dir)
	if err := writeJSON(a.abs(o.jsonOut), rep); err != nil {
		return err
	}
	if runErr == nil {
		var failed []string
		for _, r := range rep.Results {
			if r.Error != "" {
				failed = append(failed, r.Config.String())
			}
		}
		if len(failed) > 0 {
			runErr = fmt.Errorf("%d of %d configurations could not run: %s (see above)", len(failed), len(rep.Results), strings.Join(failed, ", "))
		}
	}
	return runErr
}
