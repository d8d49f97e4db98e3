package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
)

// TestRunNothingRanFails is issue 13's opening example: every phase off
// against any URL that answers used to print four SKIP rows and PASS. Now
// the gate fails (exit 1) and says nothing was checked.
func TestRunNothingRanFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	c := newCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, stdout, stderr := c.run(ctx, "run", "--stack", "external", "--target-url", srv.URL,
		"--no-scan", "--no-load", "--no-contracts", "--no-e2e", "--out", "out")
	require.Equal(t, exitcode.GateFailed, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "verdict: FAIL")
	require.Contains(t, stdout, "SKIP (BLOCKS THE GATE)")
	run, err := reports.Load(filepath.Join(c.dir, "out", "summary.json"))
	require.NoError(t, err)
	require.Equal(t, check.Fail, run.Gate.Status)
	require.Contains(t, failedRows(run.Gate), "something was checked")

	// Allowing every section to skip does not make nothing into a pass.
	code, stdout, stderr = c.run(ctx, "run", "--stack", "external", "--target-url", srv.URL,
		"--no-scan", "--no-load", "--no-contracts", "--no-e2e", "--out", "out2",
		"--allow-skip", "scan", "--allow-skip", "load", "--allow-skip", "contracts", "--allow-skip", "e2e")
	require.Equal(t, exitcode.GateFailed, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "nothing was checked")
}
