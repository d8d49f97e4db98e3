package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

// TestRunGateConfigErrors: a bad gate section is a usage error (exit 2) that
// names file:line, before any stack is started or folder is made.
func TestRunGateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"bad metric", "gate:\n  thresholds:\n    - p95 < 250ms\n    - p42 < 1s\n",
			`harness.yaml:4: gate.thresholds[1]: threshold "p42 < 1s": unknown metric "p42"`},
		{"bad unit", "gate:\n  thresholds:\n    - error_rate < 1\n",
			`harness.yaml:3: gate.thresholds[0]: threshold "error_rate < 1": value "1" is not a percentage`},
		{"bad selector", "\ngate:\n  thresholds: [\"p95{worker=1} < 1s\"]\n",
			`harness.yaml:3: gate.thresholds[0]: threshold "p95{worker=1} < 1s": bad selector "worker=1"`},
		{"bad section", "gate:\n  require: [scan, lod]\n",
			`harness.yaml:2: gate.require[1]: unknown section "lod"; allowed: scan, load, contracts, e2e, security, observability, capacity`},
		{"bad allow_skip section", "gate:\n  allow_skip:\n    - e2e\n    - browser\n",
			`harness.yaml:4: gate.allow_skip[1]: unknown section "browser"; allowed: scan, load, contracts, e2e, security, observability, capacity`},
		{"unknown key", "gate:\n  threshold: []\n",
			`harness.yaml:2: gate: unknown key "threshold"; allowed keys: allow_skip, require, thresholds`},
		{"not a list", "gate:\n  thresholds: p95 < 1s\n",
			`harness.yaml:2: gate.thresholds: want a list, got "p95 < 1s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.write("harness.yaml", tc.yaml)
			code, _, stderr := c.run(context.Background(), "run", "--stack", "local", "--out", "out")
			require.Equal(t, exitcode.Usage, code, stderr)
			require.Contains(t, stderr, filepath.Join(c.dir, tc.want))
			require.NoDirExists(t, filepath.Join(c.dir, "out"))
		})
	}
}

func TestGateConfigDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		thresholds []string
		require    []string
		allowSkip  []string
	}{
		{"no gate section", "stack:\n  workers: 1\n", reports.DefaultThresholds, reports.DefaultGate().Require, nil},
		{"thresholds only", "gate:\n  thresholds: [\"p95 < 250ms\"]\n", []string{"p95 < 250ms"}, reports.DefaultGate().Require, nil},
		{"empty require", "gate:\n  require: []\n", reports.DefaultThresholds, nil, nil},
		{"both", "gate:\n  thresholds: []\n  require: [e2e, e2e, scan]\n", nil, []string{"e2e", "scan"}, nil},
		{"allow_skip", "gate:\n  allow_skip: [e2e, load, e2e]\n", reports.DefaultThresholds, reports.DefaultGate().Require, []string{"e2e", "load"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "harness.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.yaml), 0o644))
			cfg, err := loadConfig(p)
			require.NoError(t, err)
			g, err := cfg.gateConfig()
			require.NoError(t, err)
			var exprs []string
			for _, th := range g.Thresholds {
				exprs = append(exprs, th.Expr)
			}
			require.Equal(t, tc.thresholds, exprs)
			require.ElementsMatch(t, tc.require, g.Require)
			require.ElementsMatch(t, tc.allowSkip, g.AllowSkip)
		})
	}
}

// sampleRun is a finished run with one scenario whose p95 is p95 ms.
func sampleRun(p95, throughput float64, e2eStatus check.Status) *reports.Run {
	st := func() *scenarios.Stats {
		return &scenarios.Stats{Requests: 100, OK: 100, Throughput: throughput, Status: map[string]int64{"200": 100},
			Latency: scenarios.Latency{Min: 1, Mean: p95 / 2, P50: p95 / 2, P90: p95 * 0.9, P95: p95, P99: p95 * 1.2, Max: p95 * 1.5}}
	}
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &reports.Run{
		SchemaVersion: reports.SchemaVersion,
		Meta: reports.Meta{Tool: "harness", Version: "test", Command: "harness run", Profile: "quick", Started: start,
			Finished: start.Add(time.Minute), DurationS: 60, Machine: reports.Machine{OS: "linux", Arch: "amd64", CPUs: 2, GoVersion: "go1.26"}},
		Scan: &scan.Report{Status: check.Pass, Probes: []scan.Result{{Probe: "multi-worker", Status: check.Pass}}},
		Scenarios: []*scenarios.Result{{Scenario: "read-mix", Kind: "constant", Users: 4, Started: start, Scheduled: 100, Sent: 100,
			RequestedRate: 40, AchievedRate: 40,
			Metrics: scenarios.Summary{Total: st(), Operations: map[string]*scenarios.Stats{"rekap": st()}}}},
		E2E: &e2e.Report{Status: e2eStatus, Started: start, Results: []e2e.Result{{Name: "toast.legacy", Status: e2eStatus}}},
	}
	r.EvaluateGate(reports.GateConfig{Require: []string{"scan", "e2e"}})
	return r
}

func saveRun(t *testing.T, dir string, r *reports.Run) string {
	t.Helper()
	_, err := reports.WriteAll(dir, r)
	require.NoError(t, err)
	return filepath.Join(dir, "summary.json")
}

// TestReportRerender: `harness report` renders all four files from a saved
// summary.json, keeps the model as it was and exits with its verdict.
func TestReportRerender(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status check.Status
		code   int
	}{
		{"pass", check.Pass, exitcode.OK},
		{"fail", check.Fail, exitcode.GateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			src := saveRun(t, filepath.Join(c.dir, "orig"), sampleRun(120, 40, tc.status))
			code, stdout, stderr := c.run(context.Background(), "report", "orig/summary.json", "--out", "again")
			require.Equal(t, tc.code, code, stderr)
			for _, f := range []string{"report.html", "summary.json", "junit.xml", "summary.md"} {
				require.FileExists(t, filepath.Join(c.dir, "again", f))
			}
			require.Contains(t, stdout, filepath.Join(c.dir, "again", "report.html"))
			require.Contains(t, stdout, "verdict: "+strings.ToUpper(string(tc.status)))
			want, err := os.ReadFile(src)
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(c.dir, "again", "summary.json"))
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got))
		})
	}
	t.Run("not a summary", func(t *testing.T) {
		c := newCLI(t)
		c.write("x.json", `{"hello": 1}`)
		code, _, stderr := c.run(context.Background(), "report", "x.json")
		require.Equal(t, exitcode.Usage, code)
		require.Contains(t, stderr, "schema_version")
	})
}

// TestCompareExitCode: no change exits 0, a slower or failing new run 1.
func TestCompareExitCode(t *testing.T) {
	c := newCLI(t)
	old := saveRun(t, filepath.Join(c.dir, "old"), sampleRun(100, 40, check.Pass))
	for _, tc := range []struct {
		name string
		new  *reports.Run
		args []string
		code int
	}{
		{"same", sampleRun(100, 40, check.Pass), nil, exitcode.OK},
		{"within threshold", sampleRun(105, 39, check.Pass), nil, exitcode.OK},
		{"slower", sampleRun(150, 40, check.Pass), nil, exitcode.GateFailed},
		{"slower but allowed", sampleRun(150, 40, check.Pass), []string{"--latency-pct", "60"}, exitcode.OK},
		{"less throughput", sampleRun(100, 20, check.Pass), nil, exitcode.GateFailed},
		{"new failure", sampleRun(100, 40, check.Fail), nil, exitcode.GateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newPath := saveRun(t, filepath.Join(c.dir, strings.ReplaceAll(tc.name, " ", "-")), tc.new)
			html := filepath.Join(c.dir, strings.ReplaceAll(tc.name, " ", "-")+".html")
			args := append([]string{"compare", old, newPath, "--html", html}, tc.args...)
			code, stdout, stderr := c.run(context.Background(), args...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.FileExists(t, html)
		})
	}
	code, _, stderr := c.run(context.Background(), "compare", old, filepath.Join(c.dir, "missing.json"))
	require.Equal(t, exitcode.Usage, code, stderr)
}

// tinyScenario is a short load the gate tests measure.
const tinyScenario = `name: tiny
kind: burst
users: 1
requests: 8
connections: 2
mix:
  - op: list-pekerjaan.tree
`

// TestRunGateExitCodes runs `harness run` against a local stack with only a
// tiny load phase and checks that the exit code follows the gate.
func TestRunGateExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a local target stack")
	}
	for _, tc := range []struct {
		name, gate string
		code       int
		failRow    string
	}{
		{"pass", "gate:\n  thresholds:\n    - requests{scenario=tiny} == 8\n    - error_rate < 1%\n    - p95 < 10s\n  require: []\n", exitcode.OK, ""},
		{"threshold fails", "gate:\n  thresholds:\n    - p99 < 1ns\n  require: []\n", exitcode.GateFailed, "p99 < 1ns [tiny]"},
		{"typo selects nothing", "gate:\n  thresholds:\n    - p95{scenario=tiyn} < 1s\n  require: []\n", exitcode.GateFailed, "p95{scenario=tiyn} < 1s"},
		{"required section switched off fails", "gate:\n  thresholds: [error_rate < 1%]\n  require: [contracts]\n", exitcode.GateFailed, "all contracts checks pass (skip)"},
		{"required section switched off and allowed", "gate:\n  thresholds: [error_rate < 1%]\n  require: [contracts]\n  allow_skip: [contracts]\n", exitcode.OK, ""},
		{"no scan: overshoot has no data", "gate:\n  thresholds: [overshoot == 0, error_rate < 1%]\n  require: []\n", exitcode.GateFailed, "overshoot == 0 (inconclusive)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.write("harness.yaml", tc.gate)
			c.write("tiny.yaml", tinyScenario)
			summary := filepath.Join(c.dir, "step-summary.md")
			c.env = append(c.env, "GITHUB_STEP_SUMMARY="+summary)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			code, stdout, stderr := c.run(ctx, "run", "--stack", "local", "--workers", "1", "--cache", "locmem", "--seed-users", "2",
				"--no-scan", "--no-contracts", "--no-e2e", "--scenario", "./tiny.yaml", "--out", "out")
			needStack(t, code, stderr)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			run, err := reports.Load(filepath.Join(c.dir, "out", "summary.json"))
			require.NoError(t, err)
			require.Len(t, run.Scenarios, 1)
			require.Equal(t, int64(8), run.Scenarios[0].Sent)
			md, err := os.ReadFile(summary)
			require.NoError(t, err, "the markdown summary is appended to $GITHUB_STEP_SUMMARY")
			require.Contains(t, string(md), "tiny")
			if tc.failRow != "" {
				require.Equal(t, check.Fail, run.Gate.Status)
				require.Contains(t, failedRows(run.Gate), tc.failRow)
			} else {
				require.Equal(t, check.Pass, run.Gate.Status)
			}
		})
	}
}

// needStack skips (or fails under CI) when the local stack could not start.
func needStack(t *testing.T, code int, stderr string) {
	t.Helper()
	if code == exitcode.StackFailed {
		testenv.Need(t, "the local stack", errors.New(stderr))
	}
}

// TestRunCheckCouldNotRun: a phase that cannot run (contracts need two users
// with a project; the stack has one) fails the gate, never a silent pass.
func TestRunCheckCouldNotRun(t *testing.T) {
	// A deployment that is up but is no AHSP app: the contract suite cannot
	// log in, so it could not run.
	notAHSP := notAHSPServer(t)
	c := newCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, stdout, stderr := c.run(ctx, "run", "--stack", "external", "--target-url", notAHSP.URL, "--user", "u:p 1",
		"--no-scan", "--no-load", "--no-e2e", "--no-security", "--no-observability", "--out", "out")
	require.Equal(t, exitcode.GateFailed, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stderr, "contracts could not run")
	run, err := reports.Load(filepath.Join(c.dir, "out", "summary.json"))
	require.NoError(t, err)
	require.Len(t, run.Errors, 1)
	require.Contains(t, run.Errors[0], "contracts: ")
	require.Contains(t, failedRows(run.Gate), "check could not run")
}

// TestRunStackFailed: a stack that cannot start exits 3 and still leaves a
// report that says why.
func TestRunStackFailed(t *testing.T) {
	c := newCLI(t)
	c.write("broken-target", "#!/bin/sh\necho 'cannot start' >&2\nexit 1\n")
	require.NoError(t, os.Chmod(filepath.Join(c.dir, "broken-target"), 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, stdout, stderr := c.run(ctx, "run", "--stack", "local", "--local-redis", "miniredis", "--target-bin", "broken-target",
		"--no-e2e", "--start-timeout", "10s", "--out", "out")
	require.Equal(t, exitcode.StackFailed, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	run, err := reports.Load(filepath.Join(c.dir, "out", "summary.json"))
	require.NoError(t, err)
	require.Equal(t, check.Fail, run.Gate.Status)
	require.NotEmpty(t, run.Errors)
	require.Contains(t, run.Errors[0], "stack:")
}

// TestRunQuick is the whole main job as CI runs it: every phase against a
// local stack, four files, every section in summary.json.
func TestRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: the quick profile against a local stack (~40 s)")
	}
	c := newCLI(t)
	c.env = append(c.env, "CI="+os.Getenv("CI"))
	args := []string{"run", "--quick", "--stack", "local", "--out", "out"}
	_, chromiumErr := e2e.ChromiumPath("")
	if !testenv.Have(t, "chromium (the e2e phase is off)", chromiumErr) {
		args = append(args, "--no-e2e")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code, stdout, stderr := c.run(ctx, args...)
	needStack(t, code, stderr)
	require.Equal(t, exitcode.OK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	out := filepath.Join(c.dir, "out")
	for _, f := range []string{"report.html", "summary.json", "junit.xml", "summary.md"} {
		require.FileExists(t, filepath.Join(out, f))
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &doc))
	want := []string{"schema_version", "meta", "stack", "scan", "scenarios", "contracts", "security", "observability", "gate"}
	if chromiumErr == nil {
		want = append(want, "e2e")
	}
	for _, k := range want {
		require.Contains(t, doc, k)
	}
	run, err := reports.Load(filepath.Join(out, "summary.json"))
	require.NoError(t, err)
	require.Equal(t, "quick", run.Meta.Profile)
	require.Equal(t, "local", run.Stack.Mode)
	require.Len(t, run.Scenarios, len(quickScenarios))
	require.Empty(t, run.Errors)
	require.Equal(t, check.Pass, run.Gate.Status)
	require.Contains(t, stdout, "verdict: PASS")
	require.Contains(t, stdout, filepath.Join(out, "report.html"))
	for _, p := range []string{"[1/6] scan", "[2/6] load", "[3/6] contracts", "[4/6] security", "[5/6] observability", "[6/6] e2e"} {
		require.Contains(t, stderr, p)
	}
}
