// Package stacktest brings the reference target up for integration tests in
// other packages, with the project's rule for missing prerequisites: skip
// loudly on a laptop, fail under CI=true (CI must run every integration test).
package stacktest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/stack"
)

// InCI reports whether the tests run under CI=true (testenv.InCI).
func InCI() bool { return testenv.InCI() }

// Need stops the test when err says a prerequisite (Docker, Chromium, a
// buildable target) is missing: a loud skip locally, a failure under CI
// (testenv.Need).
func Need(t testing.TB, what string, err error) {
	t.Helper()
	testenv.Need(t, what, err)
}

// targetBin resolves the reference target once per test binary:
// $HARNESS_TARGET_BIN, else built from this module's source into the user
// cache (shared with the other packages' tests).
var targetBin = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	return bin, err
})

// TargetBin is the reference target binary for a proof matrix named what
// (e.g. "the security matrix"): skipped with -short, skipped locally and
// failed under CI when the target cannot be built.
func TargetBin(t testing.TB, what string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: " + what + " starts real target stacks (skipped with -short)")
	}
	bin, err := targetBin()
	Need(t, "a buildable reference target ("+what+" did not run)", err)
	return bin
}

// Up brings a stack up for the test and takes it down when the test ends.
// A stack that cannot start skips the test locally and fails it under CI.
func Up(t testing.TB, spec stack.Spec) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: starts a real target stack (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	if spec.Progress == nil {
		spec.Progress = &progress
	}
	s, err := stack.Up(ctx, spec)
	if s != nil {
		t.Cleanup(func() {
			dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
			defer dcancel()
			if derr := s.Down(dctx); derr != nil {
				t.Errorf("stack down: %v", derr)
			}
		})
	}
	if err != nil {
		logs := ""
		if s != nil {
			logs = s.Logs(ctx)
		}
		Need(t, "the reference target in "+spec.Mode+" mode", errWithContext{err, progress.String() + logs})
	}
	return s
}

type errWithContext struct {
	err     error
	context string
}

func (e errWithContext) Error() string { return e.err.Error() + "\n" + e.context }
func (e errWithContext) Unwrap() error { return e.err }
