// Package exitcode defines the harness CLI's process exit codes, so that the
// commands, the gate and scripts agree on one table.
package exitcode

import (
	"errors"
	"fmt"
)

// The exit codes. They are documented in `harness --help` and docs/stack.md.
const (
	OK          = 0 // everything ran and the gate passed
	GateFailed  = 1 // the run finished but the gate failed
	Usage       = 2 // bad flags, arguments or config file
	StackFailed = 3 // the stack (docker or local) failed to start
	Unreachable = 4 // the target (external URL or a stack that is up) did not answer
	Internal    = 5 // anything else: a bug or an environment failure
	// Interrupted: SIGINT or SIGTERM stopped the command (128 + SIGINT, as
	// shells report it); what ran is in the reports.
	Interrupted = 130
)

// Table lists every code with its meaning, in order, for help texts.
var Table = []struct {
	Code    int
	Meaning string
}{
	{OK, "pass"},
	{GateFailed, "gate failed"},
	{Usage, "usage or config error"},
	{StackFailed, "stack failed to start"},
	{Unreachable, "target unreachable"},
	{Internal, "internal error"},
	{Interrupted, "interrupted (SIGINT/SIGTERM)"},
}

// Help renders Table as lines for a help text.
func Help() string {
	s := ""
	for _, r := range Table {
		s += fmt.Sprintf("  %3d  %s\n", r.Code, r.Meaning)
	}
	return s
}

// Error carries an exit code with the error that caused it.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New wraps err with code; a nil err stays nil.
func New(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Errorf formats an error carrying code.
func Errorf(code int, format string, a ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, a...)}
}

// Of returns the code an error carries: OK for nil, the outermost Error's
// code, else Internal.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
