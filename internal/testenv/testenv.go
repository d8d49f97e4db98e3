// Package testenv is the project's one rule for tests whose prerequisite
// (a Docker engine, Chromium, redis-server, a buildable target) is missing:
// a loud skip on a developer's machine, a failure under CI=true, where
// every integration test must run. It imports nothing of the project.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI=true.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need stops the test when err says a prerequisite is missing: a loud
// skip locally, a failure under CI. what names the prerequisite ("a Docker
// engine at unix:///var/run/docker.sock").
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if InCI() {
		t.Fatalf("CI=true and %s is not available: %v", what, err)
	}
	t.Skipf("SKIPPED LOUDLY: %s is not available: %v (CI=true makes this a failure)", what, err)
}

// Have is Need for an optional part of a test (one case of several): false
// with a loud log line when err says the prerequisite is missing, a failure
// under CI.
func Have(t testing.TB, what string, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	if InCI() {
		t.Fatalf("CI=true and %s is not available: %v", what, err)
	}
	t.Logf("SKIPPED LOUDLY (this part): %s is not available: %v (CI=true makes this a failure)", what, err)
	return false
}

// NeedBinary returns the path of a program from PATH, or stops the test as
// Need does; hint says how to install it ("apt-get install -y redis-server").
func NeedBinary(t testing.TB, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil && hint != "" {
		err = &hinted{err, hint}
	}
	Need(t, name, err)
	return path
}

type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + "; " + h.hint }
func (h *hinted) Unwrap() error { return h.err }
