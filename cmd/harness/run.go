package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/run"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
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
	noSample                           bool
	scenarios                          []string
	quick                              bool
	out                                string
	fast                               bool
	chromium                           string
	timeout                            time.Duration
	allowSkip                          []string
	noSecurity, noObservability        bool
	// sections, when set, runs only these phases and gates on them
	// (harness security).
	sections []string
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
	f.BoolVar(&o.noSample, "no-sample", false, "do not check the load phase's responses against the API contracts")
	f.BoolVar(&o.noSecurity, "no-security", false, "skip the security checks (headers, cookies, CSRF, object access, CORS, hostile input)")
	f.BoolVar(&o.noObservability, "no-observability", false, "skip the observability checks (/metrics counts, limit-hit logs)")
	f.StringArrayVar(&o.scenarios, "scenario", nil, "load scenario, built-in name or YAML file (repeatable; default "+strings.Join(defaultScenarios, ", ")+"; with --quick "+strings.Join(quickScenarios, ", ")+")")
	f.BoolVar(&o.quick, "quick", false, "CI profile: short scenarios, no scan retries (about a minute)")
	f.StringVar(&o.out, "out", "", "report folder (default "+reports.DefaultBase+"/<UTC timestamp>/, linked as "+reports.DefaultBase+"/latest)")
	f.BoolVar(&o.fast, "fast", true, "without --limits, start the target with the short-window profile "+scan.FastLimits)
	f.StringVar(&o.chromium, "chromium", "", "Chromium binary for e2e (default: $HARNESS_CHROMIUM, else "+e2e.DefaultChromium+")")
	f.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	f.StringArrayVar(&o.allowSkip, "allow-skip", nil, "section ("+strings.Join(reports.Sections, ", ")+") that may be skipped, errored or inconclusive without failing the gate (repeatable; a failure still fails)")
	return cmd
}

// plan turns the flags and config into run.Options, settled before the
// stack comes up so bad input is a usage error (exit 2) that costs nothing.
func (a *App) plan(o runOptions) (run.Options, error) {
	var p run.Options
	var err error
	if p.Gate, err = a.cfg.gateConfig(); err != nil {
		return p, err
	}
	if err := allowSkip(&p.Gate, o.allowSkip); err != nil {
		return p, err
	}
	p.NoSample = o.noSample
	p.Off = map[string]bool{"scan": o.noScan, "load": o.noLoad, "contracts": o.noContracts, "e2e": o.noE2E,
		"security": o.noSecurity, "observability": o.noObservability}
	if len(o.sections) > 0 {
		// Only these sections ran: the load and scan thresholds have no data.
		p.Phases, p.Gate.Require, p.Gate.Thresholds = onlyPhases(o.sections), o.sections, nil
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
			p.Scenarios = append(p.Scenarios, sc)
		}
		p.Off["load"] = len(p.Scenarios) == 0
	}
	if !o.noContracts {
		if p.Contracts, err = a.contractsInputs(contractsOptions{search: contracts.DefaultSearchTerm}); err != nil {
			return p, err
		}
	}
	p.Scan.Retries = 1
	p.Scan.RequireRateLimitHeaders = a.requireRateLimitHeaders(nil)
	p.Security.JSONOnly = a.cfg.securityJSONOnly()
	if o.quick {
		p.Scan.Retries = 0
	}
	p.E2E.Chromium = o.chromium
	if p.E2E.Chromium == "" {
		p.E2E.Chromium = a.Getenv("HARNESS_CHROMIUM")
	}
	p.E2E.CI = a.Getenv("CI") == "true"
	p.E2E.Pages = a.cfg.e2ePages()
	p.Progress, p.Warn, p.TTY = a.progress(), a.Stderr, a.stderrTTY()
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
	opts, err := a.plan(o)
	if err != nil {
		return err
	}
	external := a.g.mode == stack.ModeExternal || a.g.targetURL != ""
	if o.fast && a.g.limits == "" && !external {
		a.g.limits = scan.FastLimits
	}
	if opts.Stack, err = a.stackSpec(); err != nil {
		return err
	}
	dir, err := a.outDir(o.out)
	if err != nil {
		return err
	}
	opts.E2E.ScreenshotDir = filepath.Join(dir, "screenshots")
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	profile := "full"
	if o.quick {
		profile = "quick"
	}
	opts.Meta = a.meta(profile)
	fmt.Fprintf(a.progress(), "harness: run (%s profile), report folder %s\n", profile, dir)
	r, err := run.Gate(ctx, opts)

	outs, werr := reports.WriteAll(dir, r)
	if werr != nil {
		return fmt.Errorf("write reports: %w", werr)
	}
	if sum := a.Getenv("GITHUB_STEP_SUMMARY"); sum != "" {
		if serr := reports.AppendStepSummary(sum, r); serr != nil {
			fmt.Fprintf(a.Stderr, "harness: %v\n", serr)
		}
	}
	a.printVerdict(r, outs)
	if err != nil {
		return err // the stack's own code: 3 failed to start, 4 unreachable
	}
	if !r.Gate.Passed() {
		return exitcode.Errorf(exitcode.GateFailed, "gate failed: %s", failedRows(r.Gate))
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
