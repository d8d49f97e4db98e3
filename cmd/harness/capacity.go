package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/run"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
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
	label      string
	usage      string
	policyFile string
	noDiscover bool
	discoverTO time.Duration

	sweepChanged bool
}

// resolveUsage reads --usage: category=N pairs, a scenario, or (empty) the
// scenario of mix.
func resolveUsage(s, mix string) (capacity.Usage, error) {
	if s == "" {
		s = mix
	}
	if strings.Contains(s, "=") {
		return capacity.ParseUsage(s)
	}
	sc, err := scenarios.Resolve(s)
	if err != nil {
		return capacity.Usage{}, err
	}
	return capacity.UsageFromScenario(sc)
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

Against --stack external there is one configuration, the deployment as it
is: the same step, bisect, knee and SLO logic per mix, with the load spread
over every account given (--user, --users-file). Per-user limits say how many
users a rate needs; the harness says when the users given are too few. The
limits come, per operation, from a saved policy map (--policy: a scan's
--json or a run's summary.json), else from --limits, else from a bounded
policy discovery before the ramp (the scan's; --no-discover skips it), and
429 bodies seen during the ramp add what they state; the report's table says
which source each limit came from. 429s are counted apart from errors: a step with more
than 1% of them measured the limits, not capacity. Target CPU comes from the
cpu hook (--hook cpu='...'). A mix that writes (write-mix) drives only the
projects its users declare scratch (--users-file: name:password ids scratch),
and fails with that reason when none does. --label names the run; 'harness compare' lays
several capacity runs side by side (worker counts or cache backends swept by
redeploying between runs).

Every run also writes the rate-limit tuning (for the --usage profile) and
Prometheus alert rules (alerts.yml) derived from the measured capacity.

Generator and target share this machine's cores: the rates are lower bounds.`,
		Example: `  harness capacity --stack local                  # 1,2,4 workers × locmem,redis × read-mix,write-mix (~5 min)
  harness capacity --stack local --sweep-workers 2 --sweep-caches redis --mixes read-mix
  harness capacity --stack docker --mixes read-mix --step 3s
  harness capacity --stack external --target-url http://127.0.0.1:8000 --users-file users.txt \
      --limits write=20/60 --hook cpu='cat /sys/fs/cgroup/app/cpu.stat | ...' --label "4 workers, redis"
  harness capacity --stack external --target-url http://127.0.0.1:8000 --users-file users.txt --policy scan.json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.sweepChanged = cmd.Flags().Changed("sweep-workers") || cmd.Flags().Changed("sweep-caches")
			return app.capacity(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&o.workers, "sweep-workers", []int{1, 2, 4}, "target worker counts to sweep")
	f.StringSliceVar(&o.caches, "sweep-caches", []string{"locmem", "redis"}, "cache backends to sweep: locmem, redis")
	f.StringSliceVar(&o.mixes, "mixes", []string{"read-mix", "write-mix"}, "scenarios (built-in names or YAML files) whose mix and users are driven")
	f.DurationVar(&o.step, "step", 2*time.Second, "how long each rate is held")
	f.DurationVar(&o.p99, "p99", 250*time.Millisecond, "SLO: the p99 latency limit")
	f.Float64Var(&o.maxErrors, "max-errors", 1, "SLO: the largest tolerated error rate, percent")
	f.IntVar(&o.start, "start-rate", 25, "first rate, requests per second (doubled per step)")
	f.IntVar(&o.maxRate, "max-rate", 25600, "highest rate tried")
	f.IntVar(&o.bisect, "bisect", 4, "most bisection steps between the last good and first bad rate")
	f.IntVar(&o.maxWorkers, "max-workers", 128, "cap on the generator's in-flight requests and connections")
	f.StringVar(&o.out, "out", "", "report folder (default: a fresh reports/out/<timestamp>/, linked as reports/out/latest)")
	f.StringVar(&o.jsonOut, "json", "", "also write the capacity report as JSON to this file")
	f.StringVar(&o.label, "label", "", "name of this run (shown by harness compare), e.g. \"4 workers, redis\"")
	f.StringVar(&o.policyFile, "policy", "", "external: a saved scan report (harness scan --json) or run summary.json whose policy map gives per-operation limits")
	f.BoolVar(&o.noDiscover, "no-discover", false, "external: without --limits or --policy, do not discover the policy before the ramp (users are then not checked)")
	f.DurationVar(&o.discoverTO, "discover-timeout", 3*time.Minute, "external: bound on the policy discovery before the ramp")
	f.StringVar(&o.usage, "usage", "", "usage profile for the rate-limit tuning: category=requests per user per minute (e.g. read=30,write=6), or a scenario (default: the first mix's scenario)")
	return cmd
}

func (a *App) capacity(ctx context.Context, o capacityOptions) error {
	usage := func(format string, args ...any) error { return exitcode.Errorf(exitcode.Usage, format, args...) }
	for i, m := range o.mixes {
		if strings.ContainsRune(m, '/') || strings.HasSuffix(m, ".yaml") || strings.HasSuffix(m, ".yml") {
			o.mixes[i] = a.abs(m)
		}
		if _, err := scenarios.Resolve(o.mixes[i]); err != nil {
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
	if len(o.mixes) == 0 {
		return usage("--mixes: give at least one (built-ins: %s)", strings.Join(scenarios.Builtins(), ", "))
	}
	alertMetrics, err := a.cfg.alertMetrics()
	if err != nil {
		return err
	}
	usageProfile, err := resolveUsage(o.usage, o.mixes[0])
	if err != nil {
		return usage("--usage: %v", err)
	}
	var configs []capacity.Config
	var policy capacity.Policy
	discover := false
	up := run.CapacityStacks(spec)
	if spec.Mode == stack.ModeExternal {
		up = run.CapacityExternal(spec)
		if o.sweepChanged {
			return usage("--sweep-workers and --sweep-caches need stacks the harness starts; an external deployment is measured as it is: run once per configuration with --label and lay the runs side by side with harness compare")
		}
		for _, m := range o.mixes {
			configs = append(configs, capacity.Config{Cache: capacity.AsDeployed, Mix: m})
		}
		policy = capacity.Policy{Source: "unknown"}
		var declared map[api.Category]api.Limit
		if a.g.limits != "" {
			declared = spec.Limits
			policy = capacity.DeclaredPolicy("declared (--limits "+a.g.limits+")", spec.Limits)
		}
		if o.policyFile != "" {
			m, err := capacity.LoadPolicyMap(a.abs(o.policyFile))
			if err != nil {
				return usage("--policy: %v", err)
			}
			if policy, err = capacity.PolicyFromMap("policy map of "+o.policyFile, m, declared, policy.Source); err != nil {
				return usage("--policy: %v (run harness scan --json FILE against the deployment first)", err)
			}
		}
		discover = a.g.limits == "" && o.policyFile == "" && !o.noDiscover
	} else {
		if o.policyFile != "" || o.noDiscover {
			return usage("--policy and --no-discover apply to --stack external: a stack the harness starts runs with a high-limit profile")
		}
		for _, c := range o.caches {
			for _, w := range o.workers {
				for _, m := range o.mixes {
					configs = append(configs, capacity.Config{Workers: w, Cache: c, Mix: m})
				}
			}
		}
	}
	search := capacity.DefaultSearch()
	search.Start, search.Max, search.MaxBisect = o.start, o.maxRate, o.bisect
	search.SLO = capacity.SLO{P99: o.p99, P99Ms: float64(o.p99) / float64(time.Millisecond), MaxErrorRate: o.maxErrors, MaxRateLimited: o.maxErrors}
	spec.Progress = nil // one line per step is enough
	fmt.Fprintf(a.progress(), "capacity: %d configuration(s) × 6–12 steps of %s: about %s\n",
		len(configs), o.step, (time.Duration(len(configs)*9) * (o.step + 300*time.Millisecond)).Round(time.Minute/4))
	meta := a.meta("capacity")
	rep, runErr := capacity.Sweep(ctx, capacity.Options{
		Configs: configs, Search: search, StepDuration: o.step, MaxWorkers: o.maxWorkers,
		Up: up, Progress: a.progress(), Policy: policy, Label: o.label,
		External: spec.Mode == stack.ModeExternal, TargetURL: spec.TargetURL,
		Discover: discover, DiscoverTimeout: o.discoverTO,
	})
	if rep == nil {
		return runErr
	}
	if t, err := capacity.Tune(rep, usageProfile); err == nil {
		rep.Tuning = t
	} else {
		fmt.Fprintf(a.progress(), "capacity: no rate-limit tuning: %v\n", err)
	}
	rules, rulesErr := capacity.AlertRules(rep, alertMetrics)
	if rulesErr == nil {
		if tab, err := capacity.NewAlertTable(rep, rules, alertMetrics); err == nil {
			rep.Alerts = tab
		} else {
			fmt.Fprintf(a.progress(), "capacity: no alert table: %v\n", err)
		}
	}
	rep.WriteText(a.Stdout)
	dir, err := a.outDir(o.out)
	if err != nil {
		return err
	}
	r := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: meta, Capacity: rep}
	r.Meta.Finished = time.Now().UTC()
	r.Meta.DurationS = r.Meta.Finished.Sub(r.Meta.Started).Seconds()
	// Capacity measures: its gate says only whether every configuration was
	// measured; the exit code below comes from the configurations.
	r.EvaluateGate(reports.GateConfig{Require: []string{"capacity"}})
	if _, err := reports.WriteAll(dir, r); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "capacity.json"), rep); err != nil {
		return err
	}
	if err := rulesErr; err == nil {
		if err := writeAlertRulesFile(filepath.Join(dir, "alerts.yml"), rep, rules, alertMetrics); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.progress(), "capacity: no alert rules: %v\n", err)
	}
	files := "report.html, summary.json, capacity.json"
	if _, err := os.Stat(filepath.Join(dir, "alerts.yml")); err == nil {
		files += ", alerts.yml"
	}
	fmt.Fprintf(a.progress(), "harness: capacity report in %s (%s)\n", dir, files)
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
