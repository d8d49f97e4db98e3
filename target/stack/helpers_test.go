package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// requireDocker skips loudly without a Docker engine, and fails under CI=true
// where the engine is part of the contract.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := pingDocker(context.Background()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Docker engine at %s: %v", DockerHost(), err)
		}
		t.Skipf("SKIPPED: no Docker engine at %s (%v); docker-mode tests need one (CI runs them)", DockerHost(), err)
	}
	ensureTestcontainersEnv(progress{})
}

// requireRedisServer skips without a redis-server binary (fails under CI).
func requireRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but redis-server is not in PATH")
		}
		t.Skipf("SKIPPED: redis-server not in PATH")
	}
}

// eventually polls cond every 50 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	start := time.Now()
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			t.Logf("%s: after %s", what, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, d, err)
}

// goBuildFile builds one Go source file statically (for fake targets).
func goBuildFile(ctx context.Context, src, out string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", src, err, b)
	}
	return nil
}
