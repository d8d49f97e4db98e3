package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/internal/testenv"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata golden files")

func TestE2ETableGolden(t *testing.T) {
	rep := e2e.Report{
		Status: check.Fail, BaseURL: "http://127.0.0.1:8000", Browser: "Chrome/156.0.0.0", DurationMS: 21350,
		Results: []e2e.Result{
			{Name: "toast.types", Status: check.Pass, DurationMS: 812, Evidence: []string{`info: class "dp-toast dp-toast-info" role "alert"`},
				Screenshots: []e2e.Screenshot{{Name: "success-error-warning", Path: "shots/toast.types-success-error-warning.png"}}},
			{Name: "loading.race", Status: check.Fail, DurationMS: 905,
				Reason:      "the error overlay shown during the loader's fade was removed 198 ms later by the loader's hide timer: the user never sees the error",
				Screenshots: []e2e.Screenshot{{Name: "error-overlay-gone", Path: "shots/loading.race-error-overlay-gone.png"}, {Name: "failure", Path: "shots/loading.race-failure.png"}}},
		},
	}
	var buf bytes.Buffer
	writeE2ETable(&buf, rep)
	golden := filepath.Join("testdata", "e2e-table.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), buf.String())
}

func TestE2EWithoutChromium(t *testing.T) {
	for _, tc := range []struct {
		name string
		ci   string
		code int
		want string
	}{{"local skips loudly", "", exitcode.OK, "!!! e2e SKIPPED"}, {"CI fails", "true", exitcode.GateFailed, "CI=true"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.env = append(c.env, "HARNESS_CHROMIUM=/nonexistent/chromium", "CI="+tc.ci)
			code, _, stderr := c.run(context.Background(), "e2e", "--stack", "local")
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, "/nonexistent/chromium")
		})
	}
}

func TestE2EBadFlags(t *testing.T) {
	c := newCLI(t)
	code, _, stderr := c.run(context.Background(), "e2e", "--concurrency", "0")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, stderr, "--concurrency 0")
}

// TestE2ECommand runs `harness e2e` in-process against local stacks: a check
// passes on the correct target and fails (exit 1) on the defective one.
func TestE2ECommand(t *testing.T) {
	_, err := e2e.ChromiumPath("")
	testenv.Need(t, "chromium", err)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		status check.Status
	}{
		{"pass", nil, exitcode.OK, check.Pass},
		{"defect", []string{"--defect", "toast-legacy-ignored"}, exitcode.GateFailed, check.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.env = append(c.env, "CI="+os.Getenv("CI"))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := append([]string{"e2e", "--stack", "local", "--workers", "1", "--cache", "locmem", "--seed-users", "2",
				"--only", `^toast\.legacy$`, "--screenshots", "shots", "--json", "e2e.json"}, tc.args...)
			code, stdout, stderr := c.run(ctx, args...)
			needStack(t, code, stderr)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout, "toast.legacy")
			require.Contains(t, stdout, strings.ToUpper(string(tc.status)))
			b, err := os.ReadFile(filepath.Join(c.dir, "e2e.json"))
			require.NoError(t, err)
			var rep e2e.Report
			require.NoError(t, json.Unmarshal(b, &rep))
			require.Len(t, rep.Results, 1)
			require.Equal(t, tc.status, rep.Results[0].Status)
			require.NotEmpty(t, rep.Results[0].Screenshots)
			require.FileExists(t, rep.Results[0].Screenshots[0].Path)
		})
	}
}
