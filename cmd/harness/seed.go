package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/stack"
)

func newSeedCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "seed",
		Short: "Create or refresh the seed data of the running stack",
		Long: "seed runs 'ahsp-target seed' on the database of the stack 'harness up' runs,\n" +
			"with --seed-users and --seed-projects, and prints the resulting credentials.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := app.readState()
			if err != nil {
				return exitcode.New(exitcode.Usage, err)
			}
			if st == nil {
				return exitcode.Errorf(exitcode.Unreachable, "%w (no state in %s): start one with 'harness up'", errNoStack, app.stateDir())
			}
			seed := stack.Seed{Users: app.g.seedUsers, Projects: app.g.seedProjects}
			rep, err := ask(cmd.Context(), st.Socket, controlRequest{Cmd: "seed", Seed: seed}, 5*time.Minute)
			if err != nil {
				if rep == nil {
					return exitcode.Errorf(exitcode.Unreachable, "stack %s: its harness does not answer (%v)", st.Info.RunID, err)
				}
				return err
			}
			fmt.Fprintf(app.Stdout, "seeded %d users x %d projects on %s\n", seed.Users, seed.Projects, rep.Info.BaseURL)
			printStack(app.Stdout, rep.Info, rep.Credentials, st.SeedPassword)
			return nil
		},
	}
}
