package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/stack"
)

// TestSignalTearsDown runs the real harness binary: `up` in the foreground,
// then SIGINT (local) or SIGTERM (docker) must remove every process,
// container and network it started.
func TestSignalTearsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	bin := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for pkg, out := range map[string]string{".": "harness", "../../target/cmd/ahsp-target": "ahsp-target"} {
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(bin, out), pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build %s: %s", pkg, b)
	}
	cases := []struct {
		mode string
		sig  syscall.Signal
	}{{stack.ModeLocal, syscall.SIGINT}}
	if testenv.Have(t, "a Docker engine (the docker case)", exec.Command("docker", "info").Run()) {
		cases = append(cases, struct {
			mode string
			sig  syscall.Signal
		}{stack.ModeDocker, syscall.SIGTERM})
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "harness"), "up", "--stack", tc.mode, "--workers", "2", "--cache", "redis")
			cmd.Env = append(os.Environ(), EnvStateDir+"="+t.TempDir(),
				"TESTCONTAINERS_RYUK_DISABLED=true", "TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			runID := ""
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run id:"); ok {
					runID = strings.TrimSpace(id)
				}
				if strings.HasPrefix(line, "Stop with") {
					break
				}
			}
			require.NotEmpty(t, runID, "no run id printed; stderr:\n%s", stderr.String())
			require.NoError(t, cmd.Process.Signal(tc.sig))
			go func() { _, _ = bufio.NewReader(stdout).WriteTo(discard{}) }()
			require.NoError(t, cmd.Wait(), "stderr:\n%s", stderr.String())
			require.Contains(t, stderr.String(), "interrupted; taking the stack down")

			if tc.mode == stack.ModeDocker {
				left, err := stack.Leftovers(ctx, stack.LabelRun+"="+runID)
				require.NoError(t, err)
				require.Empty(t, left)
			}
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				b, _ := os.ReadFile(p)
				require.NotContains(t, string(b), runID, "process %s of the run survived", p)
			}
			dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "ahsp-harness-runs", "run-"+runID+"-*"))
			require.Empty(t, dirs)
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
