package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

type scanOptions struct {
	op      string
	probes  []string
	jsonOut string
	fast    bool
	retries int
	timeout time.Duration
}

func newScanCmd(app *App) *cobra.Command {
	var o scanOptions
	var list []string
	for _, p := range scan.Probes() {
		list = append(list, fmt.Sprintf("  %-14s %s", p, scan.Describe(p)))
	}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Probe the rate limiter for bypasses (multi-worker, race, window, path variants, ...)",
		Long: `scan brings the target up (or uses --stack external) and runs the bypass
probes one after another. Each probe sends a planned burst or sequence and an
oracle that knows the declared policy (--limits, --limiter, --failure-policy)
computes the most a correct limiter may accept, so a fixed window's edge effect
is not called a bug and real overshoot is. Each probe prints PASS, FAIL or SKIP
with its evidence; the command exits 1 when a probe fails.

With a stack the harness starts (docker or local) and no --limits, the target
runs with the short-window profile ` + scan.FastLimits + `
so the scan takes seconds; --fast=false keeps the real app's 60 s windows.
Against --stack external give the deployment's real policy with --limits; the
probes that need control (cache-down, cache-slow, worker-kill) are skipped.

Probes:
` + strings.Join(list, "\n"),
		Example: `  harness scan --stack local
  harness scan --stack local --cache locmem --probe multi-worker
  harness scan --stack local --defect naive-limiter --probe race --probe window
  harness scan --stack external --target-url http://127.0.0.1:8000 --user user1:ahsp-pass --user user2:ahsp-pass \
      --limits bulk=5/300,write=20/60,read=100/60,export=10/60,login=10/60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.scan(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.op, "op", "", "pin the operation the limit probes use (default: picked from the discovered policy): "+strings.Join(api.Names(), ", "))
	f.StringArrayVar(&o.probes, "probe", nil, "run only this probe (repeatable): "+strings.Join(scan.Probes(), ", "))
	f.StringVar(&o.jsonOut, "json", "", "also write the result data (scan.Report) as JSON to this file")
	f.BoolVar(&o.fast, "fast", true, "without --limits, start the target with the short-window profile "+scan.FastLimits)
	f.IntVar(&o.retries, "retries", 1, "re-run a failed probe this many times on fresh users; it fails only if every attempt fails")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole scan")
	return cmd
}

func (a *App) scan(ctx context.Context, o scanOptions) error {
	if _, ok := api.Lookup(o.op); o.op != "" && !ok {
		return exitcode.Errorf(exitcode.Usage, "--op %q: allowed values are %s", o.op, strings.Join(api.Names(), ", "))
	}
	for _, p := range o.probes {
		if scan.Describe(p) == "" {
			return exitcode.Errorf(exitcode.Usage, "--probe %q: allowed values are %s", p, strings.Join(scan.Probes(), ", "))
		}
	}
	if o.fast && a.g.limits == "" && a.g.mode != stack.ModeExternal && a.g.targetURL == "" {
		a.g.limits = scan.FastLimits
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var rep *scan.Report
	err := a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
		fmt.Fprintf(a.progress(), "harness: scan against %s (defects: %s)\n", s.BaseURL(), orNone(s.Info().Defects))
		var err error
		// The declared policy is what the flags say: the stack was started
		// with it, or (external) the user states the deployment's.
		declared, _ := stack.ParseLimits(a.g.limits)
		cfg := scan.Config{Probes: o.probes, Progress: a.progress(), Retries: o.retries, Op: o.op,
			Limits: declared, Algorithm: a.g.limiter, FailurePolicy: a.g.failurePolicy}
		if s.Info().Mode == stack.ModeExternal && a.g.explicit["workers"] {
			cfg.Workers = a.g.workers // a sizing hint: how many per-process counters to expose
		}
		rep, err = scan.Run(ctx, s, cfg)
		if err != nil && rep == nil {
			return exitcode.New(exitcode.Usage, err)
		}
		return err
	})
	if rep != nil {
		rep.WriteText(a.Stdout)
		if werr := writeJSON(a.abs(o.jsonOut), rep); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return exitcode.Errorf(exitcode.GateFailed, "scan failed: %s", failedNames(rep))
	}
	return nil
}

func failedNames(rep *scan.Report) string {
	var out []string
	for _, p := range rep.Probes {
		if p.Status == check.Fail {
			out = append(out, p.Probe)
		}
	}
	return strings.Join(out, ", ")
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func newReproCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repro",
		Short: "One-command reproductions of known bug classes",
		Args:  cobra.NoArgs,
	}
	var jsonOut string
	bypass := &cobra.Command{
		Use:   "bypass",
		Short: "Reproduce the multi-worker rate-limit bypass: 4 workers with locmem, then with Redis",
		Long: `bypass brings the target up twice with 4 workers, first with the per-process
locmem cache (Django's default) and then with a shared Redis, runs the
multi-worker and race probes on both, and prints them side by side: which
workers let the excess through, and why the shared cache fixes it. It ends
with the exact commands to rerun each half. Exits 1 when the Redis half fails
(the locmem half is expected to fail: that is the bug being shown).`,
		Example: `  harness repro bypass
  harness repro bypass --stack docker`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.reproBypass(cmd.Context(), jsonOut) },
	}
	bypass.Flags().StringVar(&jsonOut, "json", "", "also write both scan reports as JSON to this file")
	cmd.AddCommand(bypass)
	return cmd
}

func (a *App) reproBypass(ctx context.Context, jsonOut string) error {
	if a.g.mode == stack.ModeExternal || a.g.targetURL != "" {
		return exitcode.Errorf(exitcode.Usage, "repro bypass starts its own stacks: use --stack auto, docker or local")
	}
	if a.g.limits == "" {
		a.g.limits = scan.FastLimits
	}
	a.g.workers = 4
	probes := []string{scan.MultiWorker, scan.Race}
	reps := map[string]*scan.Report{}
	for _, cache := range []string{stack.CacheLocmem, stack.CacheRedis} {
		a.g.cache = cache
		fmt.Fprintf(a.progress(), "harness: repro bypass: 4 workers, cache %s\n", cache)
		err := a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
			rep, err := scan.Run(ctx, s, scan.Config{Probes: probes, Progress: a.progress()})
			reps[cache] = rep
			return err
		})
		if err != nil {
			return err
		}
	}
	a.writeBypass(a.Stdout, reps[stack.CacheLocmem], reps[stack.CacheRedis])
	if err := writeJSON(a.abs(jsonOut), reps); err != nil {
		return err
	}
	if reps[stack.CacheRedis].Failed() {
		return exitcode.Errorf(exitcode.GateFailed, "the shared-cache target failed too: %s", failedNames(reps[stack.CacheRedis]))
	}
	return nil
}

func (a *App) writeBypass(w io.Writer, locmem, redis *scan.Report) {
	lr, rr := byProbe(locmem), byProbe(redis)
	fmt.Fprintf(w, "\nRate-limit bypass with several workers (limits %s, limiter %s)\n\n", a.g.limits, locmem.Algorithm)
	fmt.Fprintf(w, "%-14s | %-44s | %-44s\n", "", "4 workers, locmem (per-process cache)", "4 workers, redis (shared cache)")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 108))
	for _, p := range []string{scan.MultiWorker, scan.Race} {
		l, r := lr[p], rr[p]
		cell := func(x scan.Result) []string {
			e := x.Evidence
			return []string{
				strings.ToUpper(string(x.Status)),
				fmt.Sprintf("accepted %d of %d, allowed %d", e.Accepted, e.Sent, e.ExpectedMax),
				"per worker: " + perWorker(e.AcceptedPerWorker),
			}
		}
		lc, rc := cell(l), cell(r)
		for i := range lc {
			name := ""
			if i == 0 {
				name = p
			}
			fmt.Fprintf(w, "%-14s | %-44s | %-44s\n", name, lc[i], rc[i])
		}
		fmt.Fprintf(w, "%s\n", strings.Repeat("-", 108))
	}
	mw, rmw := lr[scan.MultiWorker], rr[scan.MultiWorker]
	fmt.Fprintf(w, "\nWhy:\n")
	switch {
	case mw.Status == check.Fail:
		fmt.Fprintf(w, "  - locmem: every worker process keeps its own counter. One user's burst, spread over\n")
		fmt.Fprintf(w, "    connections, reached %d workers and each let requests through on its own count\n", max(len(mw.Evidence.AcceptedPerWorker), 1))
		fmt.Fprintf(w, "    (%s): %d accepted where %d are allowed.\n", perWorker(mw.Evidence.AcceptedPerWorker), mw.Evidence.Accepted, mw.Evidence.ExpectedMax)
	default:
		fmt.Fprintf(w, "  - locmem: multi-worker %s (%s): %s\n", mw.Status, perWorker(mw.Evidence.AcceptedPerWorker), mw.Reason)
	}
	if rmw.Status == check.Pass {
		fmt.Fprintf(w, "  - redis: all workers count in one shared place with one atomic step, so the burst\n")
		fmt.Fprintf(w, "    gets the limit once, wherever it lands (%s).\n", perWorker(rmw.Evidence.AcceptedPerWorker))
	} else {
		fmt.Fprintf(w, "  - redis: the shared cache did NOT fix it: %d accepted where %d are allowed (%s).\n",
			rmw.Evidence.Accepted, rmw.Evidence.ExpectedMax, perWorker(rmw.Evidence.AcceptedPerWorker))
	}
	if lr[scan.Race].Status == check.Fail || rr[scan.Race].Status == check.Fail {
		fmt.Fprintf(w, "  - race FAILED: requests pinned to ONE worker, released together, got past the limit:\n")
		fmt.Fprintf(w, "    the counter is read and written in separate steps, so concurrent requests all see\n")
		fmt.Fprintf(w, "    the same count. Sharing the cache cannot fix that; an atomic increment (INCR or a\n")
		fmt.Fprintf(w, "    Lua script in Redis) does.\n")
	} else {
		fmt.Fprintf(w, "  - race pins its connections to one worker and passes on both: the counter's\n")
		fmt.Fprintf(w, "    read-modify-write is atomic (compare with --defect naive-limiter).\n")
	}
	fmt.Fprintf(w, "\nRerun:\n")
	extra := ""
	for _, d := range a.g.defects {
		extra += " --defect " + d
	}
	for _, c := range []string{stack.CacheLocmem, stack.CacheRedis} {
		fmt.Fprintf(w, "  harness scan --stack %s --workers 4 --cache %s --limits %s%s --probe multi-worker --probe race\n", a.g.mode, c, a.g.limits, extra)
	}
}

func byProbe(rep *scan.Report) map[string]scan.Result {
	m := map[string]scan.Result{}
	if rep != nil {
		for _, p := range rep.Probes {
			m[p.Probe] = p
		}
	}
	return m
}

func perWorker(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("w%s=%d", api.WorkerIndex(k), m[k])
	}
	return strings.Join(parts, " ")
}
