package main

import (
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/run"
)

// onlyPhases keeps the standard phases named in names, in run order.
func onlyPhases(names []string) []run.Phase {
	var out []run.Phase
	for _, ph := range run.Phases() {
		if slices.Contains(names, ph.Name) {
			out = append(out, ph)
		}
	}
	return out
}

func newSecurityCmd(app *App) *cobra.Command {
	o := runOptions{noScan: true, noLoad: true, noContracts: true, noE2E: true}
	var noSec, noObs bool
	cmd := &cobra.Command{
		Use:   "security",
		Short: "The security and observability sections alone: stack up, checks, all reports, exit code from their gate",
		Long: `security runs the two audit sections of 'harness run' on their own:

security       over HTTP, in every stack mode: headers on pages and API answers,
               session and CSRF cookie flags, CSRF on every unsafe operation
               (no token, a wrong token, another session's token: 403 and
               nothing changed), another user's project on every operation and
               method (404/403, nothing changed), CORS with a foreign Origin,
               hostile input (never a 5xx, never a leaking error page).
observability  the 429s it causes counted exactly in /metrics per operation
               and category, cache errors counted during a cache outage, each
               limit hit logged once with user, operation, client IP and user
               agent (logs of a docker/local stack, or the 'logs' hook).

Writing checks change only the first project of their own users, and only on
the harness's own stack: against --stack external they send inert bodies or
skip, with the reason. A deployment without /metrics or readable logs is a
skip with the reason. Reports and the gate are those of 'harness run'.

Exit codes:
` + exitcode.Help(),
		Example: `  harness security --stack local
  harness security --profile as-deployed
  harness security --stack external --target-url http://127.0.0.1:8000 --user user1:pw --user user2:pw --hook logs='docker logs --tail 500 web'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range []struct {
				name string
				off  bool
			}{{"security", noSec}, {"observability", noObs}} {
				if !s.off {
					o.sections = append(o.sections, s.name)
				}
			}
			if len(o.sections) == 0 {
				return exitcode.Errorf(exitcode.Usage, "--no-security and --no-observability together leave nothing to run")
			}
			return app.runAll(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noSec, "no-security", false, "skip the security section")
	f.BoolVar(&noObs, "no-observability", false, "skip the observability section")
	f.StringVar(&o.out, "out", "", "report folder (default "+reports.DefaultBase+"/<UTC timestamp>/)")
	f.BoolVar(&o.fast, "fast", true, "without --limits, start the target with the scan's short-window limits (shorter 429 waits)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole command")
	f.StringArrayVar(&o.allowSkip, "allow-skip", nil, "section (security, observability) that may be skipped, errored or inconclusive without failing the gate")
	return cmd
}
