package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/run"
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
	// requireRL: --require-ratelimit-headers (nil: harness.yaml decides)
	requireRL *bool
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
		Long: `scan brings the target up (or uses --stack external), discovers its policy and
runs the bypass probes, at the same time where they spend disjoint rate-limit
buckets (the window-bound ones first). Each probe sends a planned burst or sequence and an
oracle that knows the declared policy (--limits, --limiter, --failure-policy)
computes the most a correct limiter may accept, so a fixed window's edge effect
is not called a bug and real overshoot is. Each probe prints PASS, FAIL or SKIP
with its evidence; the command exits 1 when a probe fails.

With a stack the harness starts (docker or local) and no --limits, the target
runs with the short-window profile ` + scan.FastLimits + `
so the scan takes seconds; --fast=false keeps the real app's 60 s windows.
Against --stack external give the deployment's real policy with --limits; the
probes that need control (cache-down, cache-slow, worker-kill) are skipped
unless --hook gives them a command, and limited-write, which stores rows, runs
only on a project declared scratch (--users-file: name:password ids scratch).

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
	f.IntVar(&o.retries, "retries", 1, "re-run a failed probe this many times on fresh users; every attempt is reported, and a failure in any attempt stays a finding (intermittent \"k of n\")")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole scan")
	requireRL := f.Bool("require-ratelimit-headers", false, "a 429 without RateLimit/X-RateLimit headers is a finding (default: advisory; config scan.require_ratelimit_headers)")
	cmd.PreRun = func(cmd *cobra.Command, _ []string) {
		if cmd.Flags().Changed("require-ratelimit-headers") {
			o.requireRL = requireRL
		}
	}
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
			Limits: declared, Algorithm: a.g.limiter, FailurePolicy: a.g.failurePolicy,
			RequireRateLimitHeaders: a.requireRateLimitHeaders(o.requireRL)}
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
	return verdictExit("scan", rep.Status, probeNames(rep))
}

// verdictExit is the exit of a command that runs one section alone: it passes
// only when something ran and nothing failed, errored or could not measure,
// the rule the gate applies to a required section.
func verdictExit(section string, st check.Status, detail string) error {
	switch st {
	case check.Pass:
		return nil
	case check.Skip:
		return exitcode.Errorf(exitcode.GateFailed, "%s checked nothing: every check was skipped (reasons above)", section)
	}
	if detail != "" {
		detail = ": " + detail
	}
	return exitcode.Errorf(exitcode.GateFailed, "%s %s%s", section, st, detail)
}

// probeNames lists the probes that keep the scan from passing, by outcome.
func probeNames(rep *scan.Report) string {
	var out []string
	for _, st := range []check.Status{check.Fail, check.Error, check.Inconclusive} {
		var names []string
		for _, p := range rep.Probes {
			if p.Status == st {
				names = append(names, p.Probe)
			}
		}
		if len(names) > 0 {
			out = append(out, string(st)+": "+strings.Join(names, ", "))
		}
	}
	return strings.Join(out, "; ")
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
with the exact commands to rerun each half. Exits 1 when either half
disagrees with its expectation: the locmem half must reproduce the bypass
(multi-worker fails), the Redis half must not (multi-worker and race pass).`,
		Example: `  harness repro bypass
  harness repro bypass --stack docker`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.reproBypass(cmd.Context(), jsonOut) },
	}
	bypass.Flags().StringVar(&jsonOut, "json", "", "also write both scan reports as JSON to this file")
	cmd.AddCommand(stackFlags(bypass, &app.g))
	return cmd
}

func (a *App) reproBypass(ctx context.Context, jsonOut string) error {
	if a.g.mode == stack.ModeExternal || a.g.targetURL != "" {
		return exitcode.Errorf(exitcode.Usage, "repro bypass starts its own stacks: use --stack auto, docker or local")
	}
	spec, err := a.stackSpec()
	if err != nil {
		return err
	}
	b, err := run.ReproBypass(ctx, spec, a.progress())
	if err != nil {
		return err
	}
	b.WriteText(a.Stdout)
	if err := writeJSON(a.abs(jsonOut), b); err != nil {
		return err
	}
	if b.Status != check.Pass {
		return exitcode.Errorf(exitcode.GateFailed, "repro bypass: %s", strings.Join(b.Disagreements, "; "))
	}
	return nil
}

// requireRateLimitHeaders is the flag when given, else harness.yaml's
// scan.require_ratelimit_headers, else false (advisory).
func (a *App) requireRateLimitHeaders(flag *bool) bool {
	if flag != nil {
		return *flag
	}
	if a.cfg != nil && a.cfg.Scan != nil && a.cfg.Scan.RequireRateLimitHeaders != nil {
		return *a.cfg.Scan.RequireRateLimitHeaders
	}
	return false
}
