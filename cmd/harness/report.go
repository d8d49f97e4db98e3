package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
)

func newReportCmd(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report SUMMARY.json",
		Short: "Re-render report.html, summary.json, junit.xml and summary.md from a saved summary.json",
		Long: `report reads a summary.json written by 'harness run' and renders every
output from it again (after a harness upgrade, or to get the files in another
folder). The gate verdict stored in the file is kept as it was; no stack is
started. The exit code is the stored verdict's: 0 pass, 1 gate failed.`,
		Example: `  harness report reports/out/latest/summary.json
  harness report old/summary.json --out /tmp/rerendered`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return app.report(args[0], out) },
	}
	cmd.Flags().StringVar(&out, "out", "", "folder for the outputs (default: the folder of SUMMARY.json)")
	return cmd
}

func (a *App) report(path, out string) error {
	run, err := reports.Load(a.abs(path))
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	dir := a.abs(out)
	if out == "" {
		dir = filepath.Dir(a.abs(path))
	}
	outs, err := reports.WriteAll(dir, run)
	if err != nil {
		return err
	}
	a.printVerdict(run, outs)
	if !run.Gate.Passed() {
		return exitcode.Errorf(exitcode.GateFailed, "gate failed: %s", failedRows(run.Gate))
	}
	return nil
}
