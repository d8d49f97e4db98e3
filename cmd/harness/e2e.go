package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/target/stack"
)

type e2eOptions struct {
	chromium     string
	screenshots  string
	jsonOut      string
	only         string
	project      int
	concurrency  int
	step         time.Duration
	checkTimeout time.Duration
	tolerance    time.Duration
}

func newE2ECmd(app *App) *cobra.Command {
	var o e2eOptions
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Run the headless-Chromium checks of toasts, error overlays and page flows",
		Long: `e2e brings the target up (or uses --stack external), starts one headless
Chromium and runs every browser check in a fresh browser context: toast.js,
toast-wrapper.js, LoadingManager, the save flows of the project pages with
injected 500s, 429s and a lost connection, the pages' routes and scripts, and
stored text shown escaped on every page (only on a project declared scratch).
Routes and selectors come from harness.yaml e2e.pages (defaults: the deployed
app). A session the deployment keeps in one worker is re-established through
the login form (bounded); what still cannot run is inconclusive. It prints one line per check,
writes the screenshots to --screenshots and exits 1 when a check fails.

Without Chromium the suite is skipped with a loud message; with CI=true in the
environment that is a failure. Checks: ` + strings.Join(e2e.Names(e2e.All()), ", "),
		Example: `  harness e2e --stack local
  harness e2e --stack local --defect loader-race --only '^loading\.'
  harness e2e --stack external --target-url http://127.0.0.1:8000 --user user1:ahsp-pass`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.e2e(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.chromium, "chromium", "", "Chromium binary (default: $HARNESS_CHROMIUM, else "+e2e.DefaultChromium+")")
	f.StringVar(&o.screenshots, "screenshots", "e2e-screenshots", "folder for the PNG screenshots (key moments, and every failure)")
	f.StringVar(&o.jsonOut, "json", "", "also write the result data (e2e.Report) as JSON to this file")
	f.StringVar(&o.only, "only", "", "run only the checks whose names match this regular expression")
	f.IntVar(&o.project, "project", 0, "project id the user owns (default: the user's first)")
	f.IntVar(&o.concurrency, "concurrency", 3, "checks run at once, each in its own browser context")
	f.DurationVar(&o.step, "step-timeout", 10*time.Second, "deadline of each browser action and wait")
	f.DurationVar(&o.checkTimeout, "check-timeout", 45*time.Second, "deadline of one check")
	f.DurationVar(&o.tolerance, "tolerance", 300*time.Millisecond, "allowed error of measured toast and overlay durations")
	return cmd
}

func (a *App) e2e(ctx context.Context, o e2eOptions) error {
	if o.concurrency < 1 || o.concurrency > 16 {
		return exitcode.Errorf(exitcode.Usage, "--concurrency %d: want 1..16", o.concurrency)
	}
	chromium := o.chromium
	if chromium == "" {
		chromium = a.Getenv("HARNESS_CHROMIUM")
	}
	// No browser: say so before bringing a stack up for nothing.
	if _, err := e2e.ChromiumPath(chromium); err != nil {
		if a.Getenv("CI") == "true" {
			return exitcode.Errorf(exitcode.GateFailed, "e2e: CI=true and %v", err)
		}
		fmt.Fprintf(a.Stderr, "!!! e2e SKIPPED: %v\n!!! (set CI=true to make this a failure)\n", err)
		return nil
	}
	shots := o.screenshots
	if shots != "" && !filepath.IsAbs(shots) {
		shots = filepath.Join(a.Dir, shots)
	}
	var rep e2e.Report
	err := a.withStack(ctx, func(ctx context.Context, s *stack.Stack) error {
		creds := s.Credentials()
		if len(creds) == 0 {
			return exitcode.Errorf(exitcode.Usage, "the stack has no user to log in as: give --user name:password with --stack external")
		}
		cfg := e2e.Config{
			BaseURL: s.BaseURL(), User: creds[0], Project: o.project, Chromium: chromium,
			CI: a.Getenv("CI") == "true", Step: o.step, CheckTimeout: o.checkTimeout,
			Tolerance: o.tolerance, Concurrency: o.concurrency, Only: o.only, ScreenshotDir: shots,
			Pages: a.cfg.e2ePages(),
		}
		fmt.Fprintf(a.progress(), "harness: e2e against %s as %s (defects: %s)\n", s.BaseURL(), creds[0].User, orNone(s.Info().Defects))
		var err error
		rep, err = e2e.Run(ctx, cfg, e2e.All())
		if err != nil {
			return exitcode.New(exitcode.Usage, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeE2ETable(a.Stdout, rep)
	if o.jsonOut != "" {
		p := o.jsonOut
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.Dir, p)
		}
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write e2e json: %w", err)
		}
	}
	switch rep.Status {
	case check.Fail:
		return exitcode.Errorf(exitcode.GateFailed, "e2e: %d of %d checks failed", len(rep.Failed()), len(rep.Results))
	case check.Skip:
		fmt.Fprintf(a.Stderr, "\n!!! e2e SKIPPED: %s\n!!! (set CI=true to make this a failure)\n", rep.Reason)
	}
	return nil
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}

// writeE2ETable prints one line per check and the reasons of failures.
func writeE2ETable(w io.Writer, rep e2e.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tTIME\tSCREENSHOTS\tDETAIL")
	for _, r := range rep.Results {
		detail := r.Reason
		if detail == "" && len(r.Evidence) > 0 {
			detail = r.Evidence[len(r.Evidence)-1]
		}
		if len(detail) > 110 {
			detail = detail[:107] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1fs\t%d\t%s\n", r.Name, strings.ToUpper(string(r.Status)), r.DurationMS/1000, len(r.Screenshots), detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ne2e %s: %d checks in %.1fs", strings.ToUpper(string(rep.Status)), len(rep.Results), rep.DurationMS/1000)
	if rep.Browser != "" {
		fmt.Fprintf(w, " (%s)", rep.Browser)
	}
	fmt.Fprintln(w)
	if rep.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", rep.Reason)
	}
	for _, r := range rep.Failed() {
		fmt.Fprintf(w, "\nFAIL %s: %s\n", r.Name, r.Reason)
		for _, s := range r.Screenshots {
			if s.Path != "" {
				fmt.Fprintf(w, "  screenshot: %s\n", s.Path)
			}
		}
	}
}
