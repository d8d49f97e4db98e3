package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/stack"
)

func newStatusCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the stack 'harness up' runs: URL, health, workers",
		Long: "status prints the running stack's URL, Redis, workers and credentials and checks\n" +
			"its /health/ready/. Exit code 4 when no stack is up or it does not answer.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.status(cmd.Context()) },
	}
}

func (a *App) status(ctx context.Context) error {
	st, err := a.readState()
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if st == nil {
		return exitcode.Errorf(exitcode.Unreachable, "%w (no state in %s): start one with 'harness up'", errNoStack, a.stateDir())
	}
	rep, err := ask(ctx, st.Socket, controlRequest{Cmd: "status"}, 10*time.Second)
	if rep == nil {
		return exitcode.Errorf(exitcode.Unreachable, "stack %s: its harness (pid %d) does not answer (%v): run 'harness down' to clean up", st.Info.RunID, st.PID, err)
	}
	printStack(a.Stdout, rep.Info, rep.Credentials, st.SeedPassword)
	if len(rep.Workers) > 0 {
		ids := make([]string, len(rep.Workers))
		for i, w := range rep.Workers {
			ids[i] = w.ID
		}
		fmt.Fprintf(a.Stdout, "  worker ids:  %s\n", strings.Join(ids, " "))
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, herr := hc.Get(rep.Info.BaseURL + stack.ReadyPath)
	if herr != nil {
		return exitcode.Errorf(exitcode.Unreachable, "health: GET %s%s: %v", rep.Info.BaseURL, stack.ReadyPath, herr)
	}
	resp.Body.Close()
	fmt.Fprintf(a.Stdout, "  health:      %s -> %d in %s\n", stack.ReadyPath, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	if resp.StatusCode != http.StatusOK {
		return exitcode.Errorf(exitcode.Unreachable, "health: %s%s answered %d", rep.Info.BaseURL, stack.ReadyPath, resp.StatusCode)
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}
