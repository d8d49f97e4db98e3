package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/run"
	"github.com/ahsp-harness/harness/target/stack"
)

// App is all the process state the commands may use, so the whole CLI runs
// in-process in tests: never read os.Args, os.Getenv, os.Stdout or the
// working directory directly in a command.
type App struct {
	Args   []string
	Env    []string // KEY=value, like os.Environ
	Dir    string   // working directory; relative paths are resolved here
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	g      globalOptions
	cfg    *loadedConfig
	parsed bool // flags parsed: later errors are not usage errors by default
}

// Getenv returns the value of key in App.Env.
func (a *App) Getenv(key string) string {
	for i := len(a.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(a.Env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Printf writes to stdout.
func (a *App) Printf(format string, args ...any) { fmt.Fprintf(a.Stdout, format, args...) }

// execute runs the CLI and returns the exit code; errors are printed once.
func execute(ctx context.Context, app *App) int {
	root := newRootCmd(app)
	root.SetArgs(app.Args)
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitcode.OK
	}
	code := codeOf(err, app.parsed)
	if ctx.Err() != nil && code != exitcode.Usage {
		// Whatever failed after Ctrl-C failed because of it.
		fmt.Fprintf(app.Stderr, "harness: interrupted: %v\n", err)
		return exitcode.Interrupted
	}
	fmt.Fprintf(app.Stderr, "harness: %v\n", err)
	if code == exitcode.Usage && !app.parsed {
		fmt.Fprintf(app.Stderr, "Run 'harness --help' for usage.\n")
	}
	return code
}

// codeOf maps an error to its exit code: explicit codes first, then the
// stack's error kinds; anything before the flags were parsed is usage.
func codeOf(err error, parsed bool) int {
	var e *exitcode.Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, stack.ErrInvalidSpec):
		return exitcode.Usage
	case errors.Is(err, stack.ErrStart):
		return exitcode.StackFailed
	case errors.Is(err, stack.ErrUnreachable):
		return exitcode.Unreachable
	case !parsed:
		return exitcode.Usage
	}
	return exitcode.Internal
}

// withStack brings the stack up as the global flags and config say, runs fn,
// and takes the stack down again, also when ctx is cancelled by Ctrl-C.
// Subcommands that need a target use this.
func (a *App) withStack(ctx context.Context, fn func(ctx context.Context, s *stack.Stack) error) error {
	spec, err := a.stackSpec()
	if err != nil {
		return err
	}
	return run.WithStack(ctx, spec, a.Stderr, fn)
}

// addCommands registers every subcommand. A new subcommand is one file with
// a newXxxCmd(app) constructor plus one line here (wrapped in stackFlags
// when it starts a stack).
func addCommands(root *cobra.Command, app *App) {
	// stackFlags: only commands that start (or reach) a stack take them.
	root.AddCommand(
		stackFlags(newUpCmd(app), &app.g),
		newDownCmd(app),
		newStatusCmd(app),
		seedFlags(newSeedCmd(app), &app.g),
		newVersionCmd(app),
		stackFlags(newE2ECmd(app), &app.g),
		stackFlags(newContractsCmd(app), &app.g),
		stackFlags(newScanCmd(app), &app.g), stackFlags(newLoadCmd(app), &app.g), newReproCmd(app),
		stackFlags(newRunCmd(app), &app.g), stackFlags(newSecurityCmd(app), &app.g), newReportCmd(app), newCompareCmd(app),
		stackFlags(newCapacityCmd(app), &app.g), newTuneCmd(app), newMergeCmd(app),
	)
}
