package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/stack"
)

func newDownCmd(app *App) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Take down the stack 'harness up' started (--all: every leftover)",
		Long: `down asks the running 'harness up' to remove everything it started and waits
until it has. If that harness died, down removes its containers, network or
processes itself. --all also removes leftovers of any earlier crashed run:
containers and networks labelled ` + stack.LabelKey + ` and local runs whose harness is gone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.down(cmd.Context(), all) },
	}
	cmd.Flags().BoolVar(&all, "all", false, "also remove every leftover container, network and local run of any harness")
	return cmd
}

func (a *App) down(ctx context.Context, all bool) error {
	st, err := a.readState()
	if err != nil && !all {
		return exitcode.New(exitcode.Usage, err)
	}
	if st != nil {
		if rep, err := ask(ctx, st.Socket, controlRequest{Cmd: "down"}, 3*time.Minute); err == nil {
			fmt.Fprintf(a.Stdout, "stack %s (%s mode, %s) is down\n", rep.Info.RunID, rep.Info.Mode, rep.Info.BaseURL)
		} else if rep != nil {
			return fmt.Errorf("stack %s went down with errors: %w", st.Info.RunID, err)
		} else {
			fmt.Fprintf(a.Stdout, "the harness that started stack %s is gone; removing what it left\n", st.Info.RunID)
			removed, err := stack.DownRun(ctx, st.Info.RunID)
			for _, r := range removed {
				fmt.Fprintf(a.Stdout, "  removed %s\n", r)
			}
			if err != nil {
				return fmt.Errorf("remove stack %s: %w", st.Info.RunID, err)
			}
			_ = os.Remove(a.statePath())
		}
	} else if !all {
		fmt.Fprintf(a.Stdout, "no stack is up (no state in %s)\n", a.stateDir())
	}
	if !all {
		return nil
	}
	removed, err := stack.DownAll(ctx)
	for _, r := range removed {
		fmt.Fprintf(a.Stdout, "  removed %s\n", r)
	}
	if err != nil {
		return fmt.Errorf("remove leftovers: %w", err)
	}
	fmt.Fprintf(a.Stdout, "removed %d leftover(s)\n", len(removed))
	return nil
}
