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

	"github.com/ahsp-harness/harness/internal/testenv"
)

// requireDocker skips loudly without a Docker engine, and fails under CI=true
// where the engine is part of the contract.
func requireDocker(t *testing.T) {
	t.Helper()
	testenv.Need(t, "a Docker engine at "+DockerHost()+" (docker-mode tests need one)", pingDocker(context.Background()))
	ensureTestcontainersEnv(progress{})
}

// requireRedisServer skips without a redis-server binary (fails under CI).
func requireRedisServer(t *testing.T) {
	t.Helper()
	testenv.NeedBinary(t, "redis-server", "apt-get install -y redis-server")
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
