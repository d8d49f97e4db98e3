package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// The scenario sets run by default: the full profile covers reads, writes and
// a rising load; the quick one two short runs (shortened below).
var (
	defaultScenarios = []string{"read-mix", "write-mix", "step-read"}
	quickScenarios   = []string{"read-mix", "write-mix"}
)

// quickDuration is how long each constant scenario runs under --quick.
const quickDuration = 3 * time.Second

// runSeedUsers is how many users run seeds (unless told otherwise) so every
// phase gets users of its own: the scan wants a fresh user per probe.
const runSeedUsers = 40

type runOptions struct {
	noScan, noLoad, noContracts, noE2E bool
	scenarios                          []string
	quick                              bool
	out                                string
	fast                               bool
	chromium                           string
	timeout                            time.Duration
	allowSkip                          []string
}

func newRunCmd(app *App) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The main job: stack up, scan + load + contracts + e2e, all reports, exit code from the gate",
		Long: `run brings the stack up (auto mode: docker when a Docker engine answers,
else local processes), runs the rate-limit scan, the load scenarios, the API
contracts and the browser checks, in that order, on disjoint seeded users,
takes the stack down and writes every report into one folder:
report.html (self-contained), summary.json, junit.xml and summary.md (also
appended to $GITHUB_STEP_SUMMARY when that is set). It prints the verdict,
the gate table and where the report is.

The gate is the 'gate:' section of harness.yaml (thresholds such as
"p95{endpoint=rekap} < 250ms" and the sections that must pass); without it
every check section must pass and the scan must see no overshoot. A check that
could not run fails the gate. Without Chromium the e2e phase is skipped with a
loud message (with CI=true it fails).

Without --limits (and not against --stack external) the target runs with the
short-window profile ` + scan.FastLimits + ` so
the scan takes seconds; every phase sees the same limits.

--quick is the CI profile (about a minute here): every scan probe with no
retry, ` + strings.Join(quickScenarios, " and ") + ` cut to ` + quickDuration.String() + ` each, contracts and e2e.

Exit codes:
` + exitcode.Help(),
		Example: `  harness run
  harness run --stack local --quick
  harness run --no-e2e --scenario read-mix --scenario ./my.yaml --out /tmp/report
  harness run --stack external --target-url http://127.0.0.1:8000 --user user1:ahsp-pass --user user2:ahsp-pass \
      --limits bulk=5/300,write=20/60,read=100/60,export=10/60,login=10/60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seed-users") && (app.cfg == nil || app.cfg.Stack.SeedUsers == nil) {
				app.g.seedUsers = max(app.g.seedUsers, runSeedUsers)
			}
			return app.runAll(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noScan, "no-scan", false, "skip the rate-limit scan")
	f.BoolVar(&o.noLoad, "no-load", false, "skip the load scenarios")
	f.BoolVar(&o.noContracts, "no-contracts", false, "skip the API contracts")
	f.BoolVar(&o.noE2E, "no-e2e", false, "skip the browser checks")
	f.StringArrayVar(&o.scenarios, "scenario", nil, "load scenario, built-in name or YAML file (repeatable; default "+strings.Join(defaultScenarios, ", ")+"; with --quick "+strings.Join(quickScenarios, ", ")+")")
	f.BoolVar(&o.quick, "quick", false, "CI profile: short scenarios, no scan retries (about a minute)")
	f.StringVar(&o.out, "out", "", "report folder (default "+reports.DefaultBase+"/<UTC timestamp>/, linked as "+reports.DefaultBase+"/latest)")
	f.BoolVar(&o.fast, "fast", true, "without --limits, start the target with the short-window profile "+scan.FastLimits)
	f.StringVar(&o.chromium, "chromium", "", "Chromium binary for e2e (default: $HARNESS_CHROMIUM, else "+e2e.DefaultChromium+")")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	f.StringArrayVar(&o.allowSkip, "allow-skip", nil, "section ("+strings.Join(reports.Sections, ", ")+") that may be skipped, errored or inconclusive without failing the gate (repeatable; a failure still fails)")
	return cmd
}

// runPlan is what a run will do, settled before the stack comes up so bad
// input is a usage error (exit 2) that costs nothing.
type runPlan struct {
	gate      reports.GateConfig
	scenarios []*scenarios.Scenario
	chromium  string // "" when e2e is off or skipped
	e2eSkip   string // why e2e is skipped, "" when it runs
}

func (a *App) planRun(o runOptions) (runPlan, error) {
	var p runPlan
	var err error
	if p.gate, err = a.cfg.gateConfig(); err != nil {
		return p, err
	}
	if err := allowSkip(&p.gate, o.allowSkip); err != nil {
		return p, err
	}
	if !o.noLoad {
		names := o.scenarios
		if len(names) == 0 {
			names = defaultScenarios
			if o.quick {
				names = quickScenarios
			}
		}
		for _, n := range names {
			var sc *scenarios.Scenario
			if strings.ContainsRune(n, '/') || strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
				sc, err = scenarios.LoadFile(a.abs(n))
			} else {
				sc, err = scenarios.Builtin(n)
			}
			if err != nil {
				return p, exitcode.Errorf(exitcode.Usage, "--scenario %s: %w", n, err)
			}
			if o.quick && len(o.scenarios) == 0 {
				shorten(sc)
			}
			p.scenarios = append(p.scenarios, sc)
		}
	}
	if !o.noE2E {
		p.chromium = o.chromium
		if p.chromium == "" {
			p.chromium = a.Getenv("HARNESS_CHROMIUM")
		}
		if _, err := e2e.ChromiumPath(p.chromium); err != nil && a.Getenv("CI") != "true" {
			p.e2eSkip = err.Error()
		}
	}
	return p, nil
}

// shorten cuts a catalog scenario to the quick profile's length.
func shorten(sc *scenarios.Scenario) {
	switch {
	case sc.Duration > quickDuration:
		sc.Duration = quickDuration
	case sc.Requests > 50:
		sc.Requests = 50
	}
	for i := range sc.Steps {
		sc.Steps[i].Duration = min(sc.Steps[i].Duration, time.Second)
	}
}

func (a *App) runAll(ctx context.Context, o runOptions) error {
	plan, err := a.planRun(o)
	if err != nil {
		return err
	}
	external := a.g.mode == stack.ModeExternal || a.g.targetURL != ""
	if o.fast && a.g.limits == "" && !external {
		a.g.limits = scan.FastLimits
	}
	dir, err := a.outDir(o.out)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	profile := "full"
	if o.quick {
		profile = "quick"
	}
	run := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: a.meta(profile)}
	p := a.progress()
	fmt.Fprintf(p, "harness: run (%s profile), report folder %s\n", profile, dir)

	entered := false
	err = a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
		entered = true
		info := s.Info()
		run.Stack = &info
		a.runPhases(ctx, s, o, plan, dir, run)
		return nil
	})
	if err != nil && !entered {
		run.Errors = append(run.Errors, "stack: "+err.Error())
	}
	run.Meta.Finished = time.Now().UTC()
	run.Meta.DurationS = run.Meta.Finished.Sub(run.Meta.Started).Seconds()
	run.EvaluateGate(plan.gate)

	outs, werr := reports.WriteAll(dir, run)
	if werr != nil {
		return fmt.Errorf("write reports: %w", werr)
	}
	if sum := a.Getenv("GITHUB_STEP_SUMMARY"); sum != "" {
		if serr := reports.AppendStepSummary(sum, run); serr != nil {
			fmt.Fprintf(a.Stderr, "harness: %v\n", serr)
		}
	}
	a.printVerdict(run, outs)
	if err != nil {
		return err // the stack's own code: 3 failed to start, 4 unreachable
	}
	if !run.Gate.Passed() {
		return exitcode.Errorf(exitcode.GateFailed, "gate failed: %s", failedRows(run.Gate))
	}
	return nil
}

// outDir creates the report folder: --out as given, else a fresh timestamped
// folder under reports/out with the latest link moved to it.
func (a *App) outDir(out string) (string, error) {
	if out != "" {
		dir := a.abs(out)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", exitcode.Errorf(exitcode.Usage, "--out: %v", err)
		}
		return dir, nil
	}
	base := a.abs(reports.DefaultBase)
	dir, err := reports.NewOutDir(base, time.Now())
	if err != nil {
		return "", err
	}
	if err := reports.LinkLatest(base, dir); err != nil {
		fmt.Fprintf(a.Stderr, "harness: %v\n", err)
	}
	return dir, nil
}

// users splits the stack's credentials so no phase sees another's counters
// or data: contracts rewrite the first project of the first two users, e2e
// takes the third, the scenarios the next ones, the scan (a fresh user per
// probe) the rest. With too few users (external mode) phases share them.
type users struct {
	contracts, e2e, load, scan []client.Credential
	note                       string
}

func splitUsers(creds []client.Credential, loadUsers int) users {
	n := len(creds)
	if n < 5 {
		return users{contracts: creds, e2e: creds, load: creds, scan: creds,
			note: fmt.Sprintf("only %d users: the phases share them, so rate-limit counters and data may overlap", n)}
	}
	u := users{contracts: creds[:2], e2e: creds[2:3]}
	rest := creds[3:]
	k := min(max(loadUsers, 1), len(rest)/2)
	u.load, u.scan = rest[:k], rest[k:]
	return u
}

// view is the stack as one phase sees it: only that phase's users.
type view struct {
	*stack.Stack
	creds []client.Credential
}

func (v view) Credentials() []client.Credential { return v.creds }

// runPhases runs every enabled check in order; a check that could not run
// goes into run.Errors (so the gate fails) and the next one still runs.
func (a *App) runPhases(ctx context.Context, s *stack.Stack, o runOptions, plan runPlan, dir string, run *reports.Run) {
	p := a.progress()
	loadUsers := 0
	for _, sc := range plan.scenarios {
		loadUsers = max(loadUsers, sc.Users)
	}
	u := splitUsers(s.Credentials(), loadUsers)
	if u.note != "" {
		fmt.Fprintf(p, "harness: %s\n", u.note)
	}
	fail := func(phase string, err error) {
		run.Errors = append(run.Errors, fmt.Sprintf("%s: %v", phase, err))
		fmt.Fprintf(a.Stderr, "harness: %s could not run: %v\n", phase, err)
	}
	phase := func(n int, name string, off bool, fn func() error) {
		if off {
			fmt.Fprintf(p, "harness: [%d/4] %s: off\n", n, name)
			return
		}
		if ctx.Err() != nil {
			fail(name, fmt.Errorf("not started: %w", context.Cause(ctx)))
			return
		}
		start := time.Now()
		fmt.Fprintf(p, "harness: [%d/4] %s ...\n", n, name)
		if err := fn(); err != nil {
			fail(name, err)
			return
		}
		fmt.Fprintf(p, "harness: [%d/4] %s done in %.1fs\n", n, name, time.Since(start).Seconds())
	}

	phase(1, "scan", o.noScan, func() error {
		declared, _ := stack.ParseLimits(a.g.limits)
		retries := 1
		if o.quick {
			retries = 0
		}
		rep, err := scan.Run(ctx, view{s, u.scan}, scan.Config{Progress: p, Retries: retries,
			Limits: declared, Algorithm: a.g.limiter, FailurePolicy: a.g.failurePolicy})
		run.Scan = rep
		return err
	})
	phase(2, "load", o.noLoad || len(plan.scenarios) == 0, func() error {
		var errs []error
		for _, sc := range plan.scenarios {
			fmt.Fprintf(p, "harness: load %s\n", sc.String())
			res, err := scenarios.Run(ctx, sc, scenarios.Options{BaseURL: s.BaseURL(), Credentials: u.load, Progress: p, TTY: a.stderrTTY()})
			if err != nil {
				errs = append(errs, fmt.Errorf("scenario %s: %w", sc.Name, err))
				continue
			}
			run.Scenarios = append(run.Scenarios, res)
		}
		return errors.Join(errs...)
	})
	phase(3, "contracts", o.noContracts, func() error {
		opts, err := a.contractsInputs(contractsOptions{search: contracts.DefaultSearchTerm})
		if err != nil {
			return err
		}
		info := s.Info()
		if info.Cache == stack.CacheRedis && info.FailurePolicy == "fail-closed" {
			if ctl, err := s.Control(); err == nil {
				opts.Cache = ctl
			}
		}
		rep, err := contracts.Run(ctx, view{s, u.contracts}, opts)
		run.Contracts = rep
		return err
	})
	if !o.noE2E && plan.e2eSkip == "" && (!o.noScan || !o.noContracts) {
		a.settle(ctx, s)
	}
	phase(4, "e2e", o.noE2E, func() error {
		if plan.e2eSkip != "" {
			fmt.Fprintf(a.Stderr, "!!! e2e SKIPPED: %s\n!!! (set CI=true to make this a failure)\n", plan.e2eSkip)
			run.E2E = &e2e.Report{Status: check.Skip, Reason: plan.e2eSkip, BaseURL: s.BaseURL(), Started: time.Now().UTC()}
			return nil
		}
		if len(u.e2e) == 0 {
			return fmt.Errorf("the stack has no user to log in as")
		}
		rep, err := e2e.Run(ctx, e2e.Config{
			BaseURL: s.BaseURL(), User: u.e2e[0], Chromium: plan.chromium, CI: a.Getenv("CI") == "true",
			ScreenshotDir: filepath.Join(dir, "screenshots"),
		}, e2e.All())
		if err != nil {
			return err
		}
		run.E2E = &rep
		if rep.Status == check.Skip {
			fmt.Fprintf(a.Stderr, "!!! e2e SKIPPED: %s\n!!! (set CI=true to make this a failure)\n", rep.Reason)
		}
		return nil
	})
}

// settle waits until the target answers /health/ 200 on fresh connections
// several times in a row. The scan and the contracts stop and restart the
// limiter cache; the target never retries a Redis call, so each worker's
// pooled connections from before the restart fail once (a 503) before they
// are replaced. The browser checks must not trip over those leftovers.
func (a *App) settle(ctx context.Context, s *stack.Stack) {
	info := s.Info()
	if info.Mode == stack.ModeExternal || info.Cache != stack.CacheRedis {
		return
	}
	want := 8 * max(info.Workers, 1)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, bad := 0, 0
	for ok < want && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.BaseURL(), "/")+api.HealthPath, nil)
		if err != nil {
			return
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			ok++
			continue
		}
		ok, bad = 0, bad+1
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if bad > 0 || ok < want {
		fmt.Fprintf(a.progress(), "harness: target settled after the cache restarts: %d failed health checks, %d of %d in a row healthy\n", bad, ok, want)
	}
}

// meta fills what ran, where and when; git sha from `git rev-parse` in the
// working directory, else the build's VCS stamp.
func (a *App) meta(profile string) reports.Meta {
	host, _ := os.Hostname()
	m := reports.Meta{
		Tool: "harness", Version: versionString(), Command: strings.TrimSpace("harness " + strings.Join(a.Args, " ")),
		Profile: profile, Started: time.Now().UTC(),
		Machine: reports.Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Hostname: host, GoVersion: runtime.Version()},
	}
	m.GitSHA = a.gitSHA()
	return m
}

func (a *App) gitSHA() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = a.Dir
	if out, err := cmd.Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

func failedRows(g reports.Gate) string {
	var out []string
	for _, r := range g.Blocking() {
		out = append(out, r.Name+" ("+string(r.Status)+")")
	}
	return strings.Join(out, "; ")
}

// printVerdict prints the gate table, the verdict and the files written.
func (a *App) printVerdict(run *reports.Run, outs reports.Outputs) {
	w := a.Stdout
	fmt.Fprintln(w)
	writeGateTable(w, run.Gate)
	for _, e := range run.Errors {
		fmt.Fprintf(w, "could not run: %s\n", e)
	}
	fmt.Fprintf(w, "\nverdict: %s (%.1fs)\n", strings.ToUpper(string(run.Gate.Status)), run.Meta.DurationS)
	fmt.Fprintf(w, "report:  %s\n", outs.HTML)
	fmt.Fprintf(w, "also:    %s, %s, %s\n", outs.JSON, outs.JUnit, outs.Markdown)
}

// writeGateTable prints one line per gate row.
func writeGateTable(w io.Writer, g reports.Gate) { _ = reports.WriteGateTable(w, g) }
