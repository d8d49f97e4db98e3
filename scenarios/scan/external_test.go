package scan_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// outside is a deployment the harness did not start: a redis-server and the
// reference target as plain processes, reached only by URL and hooks.
type outside struct {
	url, runDir string
	redisPort   int
	creds       []client.Credential
}

func startOutside(t *testing.T, bin string, extra ...string) *outside {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		stacktest.Need(t, "redis-server", err)
	}
	dir := t.TempDir()
	o := &outside{runDir: filepath.Join(dir, "run"), redisPort: freePort(t)}
	require.NoError(t, os.MkdirAll(o.runDir, 0o755))
	redisPid := filepath.Join(dir, "redis.pid")
	start := exec.Command("sh", "-c", o.redisStart(dir, redisPid))
	out, err := start.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		if b, err := os.ReadFile(redisPid); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	port := freePort(t)
	args := append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--workers", "2", "--cache", "redis",
		"--redis-addr", fmt.Sprintf("127.0.0.1:%d", o.redisPort), "--limits", scan.FastLimits,
		"--db", filepath.Join(dir, "ahsp.db"), "--run-dir", o.runDir, "--seed", "users=8,projects=1"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "target.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	o.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(o.url + stack.ReadyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "target.log"))
			t.Fatalf("the outside target did not get ready: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 1; i <= 8; i++ {
		o.creds = append(o.creds, client.Credential{User: fmt.Sprintf("user%d", i), Password: stack.DefaultSeedPassword, Projects: []int{i}})
	}
	return o
}

func (o *outside) redisStart(dir, pidfile string) string {
	return fmt.Sprintf("redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile %s --dir %s"+
		" && for i in $(seq 50); do redis-cli -p %d ping >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1",
		o.redisPort, pidfile, dir, o.redisPort)
}

// hooks are the commands a user of this deployment would give.
func (o *outside) hooks(dir string) map[string]string {
	cli := fmt.Sprintf("redis-cli -p %d", o.redisPort)
	return map[string]string{
		stack.HookCacheStop:  cli + " shutdown nosave",
		stack.HookCacheStart: o.redisStart(dir, filepath.Join(dir, "redis2.pid")),
		// Writes (the limiter's counters) wait until cache-fast.
		stack.HookCacheSlow:  cli + " client pause 60000 WRITE",
		stack.HookCacheFast:  cli + " client unpause",
		stack.HookWorkerKill: "kill -9 $(cat " + o.runDir + "/worker-$HARNESS_WORKER_INDEX.pid)",
	}
}

func (o *outside) stack(t *testing.T, hooks map[string]string) *stack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := stack.Up(ctx, stack.Spec{TargetURL: o.url, Credentials: o.creds, Hooks: hooks, HookTimeout: 20 * time.Second})
	require.NoError(t, err)
	return s
}

// TestFaultHooksOnAnOutsideDeployment runs cache-down, cache-slow and
// worker-kill against a deployment the harness did not start, through
// hooks that stop/start its redis-server and kill its worker: they pass when
// the declared policy matches the deployment, report what it answered when
// it does not, and are skipped (naming the hook) without hooks.
func TestFaultHooksOnAnOutsideDeployment(t *testing.T) {
	bin := needTarget(t)
	o := startOutside(t, bin)
	dir := t.TempDir()
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "redis2.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	probes := []string{scan.CacheDown, scan.CacheSlow, scan.WorkerKill}
	run := func(s *stack.Stack, policy string, only ...string) map[string]scan.Result {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var log strings.Builder
		if only == nil {
			only = probes
		}
		rep, err := scan.Run(ctx, s, scan.Config{Probes: only, Progress: &log, FailurePolicy: policy})
		require.NoError(t, err)
		var out strings.Builder
		rep.WriteText(&out)
		t.Logf("%s\n%s", log.String(), out.String())
		return byName(rep)
	}

	t.Run("without hooks: skipped with the reason", func(t *testing.T) {
		for name, p := range run(o.stack(t, nil), "") {
			require.Equal(t, check.Skip, p.Status, "%s: %s", name, p.Reason)
			require.Contains(t, p.Reason, "no control hook configured")
		}
	})
	t.Run("hooks but no scratch project: worker-kill writes nothing", func(t *testing.T) {
		p := run(o.stack(t, o.hooks(dir)), "fail-closed", scan.WorkerKill)[scan.WorkerKill]
		require.Equal(t, check.Skip, p.Status, p.Reason)
		require.Contains(t, p.Reason, "not declared scratch")
		require.Zero(t, p.Evidence.Sent)
	})
	// The deployment's users declare their projects disposable.
	for i := range o.creds {
		o.creds[i].Scratch = o.creds[i].Projects
	}
	s := o.stack(t, o.hooks(dir))
	t.Run("declared fail-closed, as deployed: pass", func(t *testing.T) {
		for name, p := range run(s, "fail-closed") {
			require.Equal(t, check.Pass, p.Status, "%s: %s", name, p.Reason)
		}
	})
	t.Run("declared fail-open: the deployment's 503s are reported", func(t *testing.T) {
		res := run(s, "fail-open")
		for _, name := range []string{scan.CacheDown, scan.CacheSlow} {
			require.Equal(t, check.Fail, res[name].Status, "%s: %s", name, res[name].Reason)
			require.Contains(t, res[name].Reason, "fail-open: want the request served, got 503")
		}
	})
	runs := s.HookRuns()
	require.NotEmpty(t, runs)
	for _, r := range runs {
		require.Empty(t, r.Error, "hook %s: %s", r.Name, r.Output)
	}
}

// TestCacheDownOnTheDeployedApp: the deployed app's configuration
// (as-deployed-redis) started outside the harness, its redis-server stopped
// through the hooks, answers as REAL-APP.md section 6 verified, and the
// cache probes say so: the limiter's 500s refuse (fail-closed holds, the
// 500s in the notes), /health/ names redis-py's "Error 111", and the rekap
// CSV served with blank amounts is cache-down's one finding.
func TestCacheDownOnTheDeployedApp(t *testing.T) {
	bin := needTarget(t)
	o := startOutside(t, bin, "--profile", "as-deployed-redis")
	dir := t.TempDir()
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "redis2.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	s := o.stack(t, o.hooks(dir))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := scan.Run(ctx, s, scan.Config{Probes: []string{scan.CacheDown, scan.CacheSlow}, Progress: &log, FailurePolicy: "fail-closed"})
	require.NoError(t, err)
	var out strings.Builder
	rep.WriteText(&out)
	t.Logf("%s\n%s", log.String(), out.String())
	res := byName(rep)

	down := res[scan.CacheDown]
	require.Equal(t, check.Fail, down.Status, down.Reason)
	require.Len(t, down.Findings, 1, down.Reason)
	require.Equal(t, scan.FindingBlankRekapCSV, down.Findings[0].ID)
	require.NotContains(t, down.Reason, "fail-closed: want", "the 500s refuse: the policy holds")
	notes := strings.Join(down.Evidence.Notes, "\n")
	require.Contains(t, notes, "list-pekerjaan.save answered 500=5")
	// What REAL-APP.md section 6 verified, read by the probe.
	for _, want := range []string{"list-pekerjaan.tree 500", "volume-pekerjaan.list 200", "detail-ahsp.get 200", "search-ahsp 200",
		"harga-items.list 200", "rekap 500", "export.rincian-rab-csv 200"} {
		require.Contains(t, notes, want)
	}
	var health string
	for _, sm := range down.Evidence.Samples {
		if sm.What == "health while down" {
			health = sm.Body
		}
	}
	require.Contains(t, health, fmt.Sprintf(`"message":"Error 111 connecting to 127.0.0.1:%d. Connection refused."`, o.redisPort))

	slow := res[scan.CacheSlow]
	require.Equal(t, check.Pass, slow.Status, slow.Reason)
	for _, r := range s.HookRuns() {
		require.Empty(t, r.Error, "hook %s: %s", r.Name, r.Output)
	}
}
