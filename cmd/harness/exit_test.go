package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/target/stack"
)

// TestExitCodeEveryOutcome drives the in-process CLI to each exit code by
// the cheapest real path: 0 pass, 1 gate failed, 2 usage, 3 stack failed,
// 4 unreachable, 5 internal, 130 interrupted. The run cases also check that
// the report was written and says why.
func TestExitCodeEveryOutcome(t *testing.T) {
	// An external "deployment" that is up but is no AHSP app: the scan
	// cannot log in, so it could not run and the gate fails.
	notAHSP := notAHSPServer(t)
	broken := filepath.Join(t.TempDir(), "broken-target")
	require.NoError(t, os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n"), 0o755))

	for _, tc := range []struct {
		name     string
		setup    func(c *cli) // files the case needs
		args     []string
		cancel   bool // as if Ctrl-C came first
		code     int
		want     string // in stdout+stderr
		reportOK func(t *testing.T, r *reports.Run)
	}{
		{name: "0 pass: report of a passing run",
			setup: func(c *cli) { saveRun(c.t, filepath.Join(c.dir, "pass"), sampleRun(120, 40, check.Pass)) },
			args:  []string{"report", "pass/summary.json", "--out", "again"}, code: exitcode.OK, want: "verdict: PASS"},
		{name: "1 gate failed: a phase could not run",
			args: []string{"run", "--stack", "external", "--target-url", notAHSP.URL, "--user", "u:p",
				"--no-load", "--no-contracts", "--no-e2e", "--out", "out", "--timeout", "2m"},
			code: exitcode.GateFailed, want: "gate failed",
			reportOK: func(t *testing.T, r *reports.Run) {
				require.False(t, r.Gate.Passed())
				require.NotNil(t, r.Stack)
			}},
		{name: "1 gate failed: report of a failing run",
			setup: func(c *cli) { saveRun(c.t, filepath.Join(c.dir, "fail"), sampleRun(120, 40, check.Fail)) },
			args:  []string{"report", "fail/summary.json", "--out", "again"}, code: exitcode.GateFailed, want: "gate failed"},
		{name: "2 usage: a stack flag on a command that starts none",
			args: []string{"compare", "old.json", "new.json", "--workers", "9"}, code: exitcode.Usage, want: "unknown flag: --workers"},
		{name: "2 usage: a bad scenario, before any stack",
			args: []string{"run", "--stack", "local", "--scenario", "no-such-scenario", "--out", "out"}, code: exitcode.Usage, want: "--scenario no-such-scenario"},
		{name: "3 stack failed: the target dies at start, the report is still written",
			args: []string{"run", "--stack", "local", "--local-redis", "miniredis", "--cache", "locmem", "--target-bin", broken,
				"--no-e2e", "--start-timeout", "10s", "--out", "out"},
			code: exitcode.StackFailed, want: "cannot start",
			reportOK: func(t *testing.T, r *reports.Run) {
				require.False(t, r.Gate.Passed())
				require.Contains(t, r.Errors[0], "stack:")
			}},
		{name: "4 unreachable: the external target does not answer",
			args: []string{"run", "--stack", "external", "--target-url", "http://127.0.0.1:1", "--user", "u:p", "--out", "out"},
			code: exitcode.Unreachable, want: "target unreachable",
			reportOK: func(t *testing.T, r *reports.Run) {
				require.False(t, r.Gate.Passed())
				require.Contains(t, r.Errors[0], "stack:")
			}},
		{name: "5 internal: the outputs cannot be written",
			setup: func(c *cli) {
				saveRun(c.t, filepath.Join(c.dir, "pass"), sampleRun(120, 40, check.Pass))
				c.write("a-file", "not a folder")
			},
			args: []string{"report", "pass/summary.json", "--out", "a-file/sub"}, code: exitcode.Internal, want: "a-file"},
		{name: "130 interrupted: Ctrl-C before the run, the report says so",
			args:   []string{"run", "--stack", "external", "--target-url", notAHSP.URL, "--user", "u:p", "--out", "out"},
			cancel: true, code: exitcode.Interrupted, want: "interrupted",
			reportOK: func(t *testing.T, r *reports.Run) { require.False(t, r.Gate.Passed()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			if tc.setup != nil {
				tc.setup(c)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if tc.cancel {
				cctx, cancelNow := context.WithCancel(ctx)
				cancelNow()
				ctx = cctx
			}
			code, stdout, stderr := c.run(ctx, tc.args...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.want)
			if tc.reportOK != nil {
				r, err := reports.Load(filepath.Join(c.dir, "out", "summary.json"))
				require.NoError(t, err, "the run's report is written whatever the outcome")
				tc.reportOK(t, r)
			}
		})
	}
}

// TestReproBypassExitCode runs `harness repro bypass` in-process against
// local stacks: the plain target shows the bypass on locmem only (exit 0);
// with naive-limiter the redis half fails its expectation too (exit 1).
func TestReproBypassExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts four local stacks of 4 workers")
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"both halves as expected", nil, exitcode.OK, "verdict: PASS"},
		{"redis half bypassed too", []string{"--defect", "naive-limiter"}, exitcode.GateFailed, "redis: race fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			args := append([]string{"repro", "bypass", "--stack", "local", "--local-redis", "miniredis", "--json", "bypass.json"}, tc.args...)
			code, stdout, stderr := c.run(ctx, args...)
			needStack(t, code, stderr)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.want)
			require.FileExists(t, filepath.Join(c.dir, "bypass.json"))
		})
	}
}

// notAHSPServer is an external "deployment" that answers its readiness
// path and nothing else: it is up, but no check can log in to it.
func notAHSPServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == stack.ReadyPath {
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestVerdictExit: a command that runs one section alone exits 0 only when
// something ran and nothing failed, errored or could not measure.
func TestVerdictExit(t *testing.T) {
	for _, tc := range []struct {
		st   check.Status
		code int
		want string
	}{
		{check.Pass, exitcode.OK, ""},
		{check.Fail, exitcode.GateFailed, "scan fail: fail: race"},
		{check.Error, exitcode.GateFailed, "scan error: fail: race"},
		{check.Inconclusive, exitcode.GateFailed, "scan inconclusive: fail: race"},
		{check.Skip, exitcode.GateFailed, "scan checked nothing"},
	} {
		t.Run(string(tc.st), func(t *testing.T) {
			err := verdictExit("scan", tc.st, "fail: race")
			require.Equal(t, tc.code, exitcode.Of(err))
			if tc.want != "" {
				require.ErrorContains(t, err, tc.want)
			}
		})
	}
}
