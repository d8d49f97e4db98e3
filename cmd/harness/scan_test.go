package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
)

func TestLoadAndScanUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"list built-ins", []string{"load", "--list"}, "", exitcode.OK, "concurrency-mixed", ""},
		{"no scenario", []string{"load", "--stack", "local"}, "", exitcode.Usage, "", "name at least one scenario"},
		{"unknown built-in", []string{"load", "soak"}, "", exitcode.Usage, "", `no built-in scenario "soak"`},
		{"invalid file names its line", []string{"load", "bad.yaml"}, "name: x\nkind: burst\nrequests: 3\nmix:\n  - op: rekapp\n", exitcode.Usage, "", "bad.yaml:5:9: mix[0].op: unknown operation"},
		{"unknown probe", []string{"scan", "--probe", "nope"}, "", exitcode.Usage, "", `--probe "nope": allowed values are multi-worker`},
		{"repro needs its own stacks", []string{"repro", "bypass", "--stack", "external", "--target-url", "http://127.0.0.1:1"}, "", exitcode.Usage, "", "repro bypass starts its own stacks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			if tc.file != "" {
				c.write("bad.yaml", tc.file)
			}
			code, out, errs := c.run(context.Background(), tc.args...)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errs)
			require.Contains(t, out, tc.stdout)
			require.Contains(t, errs, tc.stderr)
		})
	}
}

// Against an external deployment the probes that need stack control are
// skipped with a reason, and the scan still runs the rest.
func TestScanExternalSkipsControlProbes(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := newCLI(t)
	code, out, errs := c.run(context.Background(), "scan", "--stack", "external", "--target-url", srv.URL, "--user", "u:p",
		"--probe", "cache-down", "--probe", "cache-slow", "--probe", "worker-kill", "-q")
	// Nothing was measured, so the scan does not pass.
	require.Equal(t, exitcode.GateFailed, code, "stdout: %s\nstderr: %s", out, errs)
	require.Contains(t, errs, "scan checked nothing")
	require.Regexp(t, `cache-down\s+SKIP .*unsupported in external mode`, out)
	require.Regexp(t, `worker-kill\s+SKIP .*unsupported in external mode`, out)
}
