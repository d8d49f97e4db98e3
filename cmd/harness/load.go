package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/bench/shard"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/stack"
)

type loadOptions struct {
	list    bool
	jsonOut string
	raw     string
	users   int
	shard   string
}

func newLoadCmd(app *App) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load [SCENARIO|FILE.yaml ...]",
		Short: "Run load scenarios (vegeta) with logged-in virtual users and print their metrics",
		Long: `load brings the target up (or uses --stack external), logs each scenario's
virtual users in (Django form login with CSRF, once per user), discovers their
projects' ids and drives the scenario's weighted mix of operations: burst,
constant (open model), step (rising rates) or concurrency (closed model).
Workers and connections are always capped; when the generator cannot keep
the requested rate the result says so. Metrics per operation, status and
worker (X-Worker-Id) with p50..p99 latencies. A scenario whose mix writes goes
only to projects its users declare scratch (every project of a stack the
harness seeds; --users-file: name:password ids scratch); without one it is
skipped, sends nothing, and the command exits 1.

A scenario is a built-in name (` + strings.Join(scenarios.Builtins(), ", ") + `)
or a YAML file; see docs/scenarios.md for the format.`,
		Example: `  harness load --list
  harness load read-mix --stack local
  harness load ./my-scenario.yaml --stack external --target-url http://127.0.0.1:8000 --user user1:ahsp-pass
  harness load burst-write step-read --json load.json --raw results.gob
  harness load read-mix --shard 0/2 --json shard0/load.json --raw shard0/results.gob`,
		RunE: func(cmd *cobra.Command, args []string) error { return app.load(cmd.Context(), o, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.list, "list", false, "list the built-in scenarios and exit")
	f.StringVar(&o.jsonOut, "json", "", "also write the results (a list of scenarios.Result) as JSON to this file")
	f.StringVar(&o.raw, "raw", "", "write every request's result in vegeta's encoding to this file (vegeta report < FILE)")
	f.IntVar(&o.users, "vus", 0, "override every scenario's virtual users")
	f.StringVar(&o.shard, "shard", "", "run shard i/N (0 <= i < N) of the load: 1/N of the rate and users, every N-th credential; combine with 'harness merge'")
	return cmd
}

func (a *App) load(ctx context.Context, o loadOptions, args []string) error {
	if o.list {
		for _, n := range scenarios.Builtins() {
			sc, err := scenarios.Builtin(n)
			if err != nil {
				return err
			}
			a.Printf("%-18s %s\n%-18s %s\n", n, sc.Description, "", sc.String())
		}
		return nil
	}
	if len(args) == 0 {
		return exitcode.Errorf(exitcode.Usage, "name at least one scenario (built-ins: %s) or a YAML file", strings.Join(scenarios.Builtins(), ", "))
	}
	sh := shard.Shard{Count: 1}
	if o.shard != "" {
		var err error
		if sh, err = shard.Parse(o.shard); err != nil {
			return exitcode.Errorf(exitcode.Usage, "--shard: %v", err)
		}
	}
	var scs []*scenarios.Scenario
	for _, arg := range args {
		var sc *scenarios.Scenario
		var err error
		if strings.ContainsRune(arg, '/') || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") {
			sc, err = scenarios.LoadFile(a.abs(arg))
		} else {
			sc, err = scenarios.Builtin(arg)
		}
		if err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
		if o.users > 0 {
			sc.Users = o.users
		}
		if err := sh.Apply(sc); err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
		scs = append(scs, sc)
	}
	var rawFile *os.File
	if o.raw != "" {
		f, err := os.Create(a.abs(o.raw))
		if err != nil {
			return exitcode.Errorf(exitcode.Usage, "--raw: %v", err)
		}
		defer f.Close()
		rawFile = f
	}
	var results []*scenarios.Result
	err := a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
		for _, sc := range scs {
			fmt.Fprintf(a.progress(), "harness: load %s against %s\n", sc.String(), s.BaseURL())
			creds, err := sh.Credentials(s.Credentials())
			if err != nil {
				return exitcode.New(exitcode.Usage, err)
			}
			opts := scenarios.Options{BaseURL: s.BaseURL(), Credentials: creds, Progress: a.progress(), TTY: a.stderrTTY()}
			if rawFile != nil {
				opts.Raw = rawFile
			}
			res, err := scenarios.Run(ctx, sc, opts)
			if err != nil {
				return err
			}
			results = append(results, res)
			res.WriteText(a.Stdout)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	if werr := writeJSON(a.abs(o.jsonOut), results); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		// A verdict means it ran: a scenario that sent nothing is no pass.
		for _, r := range results {
			if r.Skipped != "" {
				return exitcode.Errorf(exitcode.GateFailed, "scenario %s did not run: %s", r.Scenario, r.Skipped)
			}
		}
	}
	return err
}

// stderrTTY reports whether progress can be a live line (a terminal, no CI).
func (a *App) stderrTTY() bool {
	f, ok := a.Stderr.(*os.File)
	return ok && a.Getenv("CI") == "" && scenarios.IsTerminal(f)
}
