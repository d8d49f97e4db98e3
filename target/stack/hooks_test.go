package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
)

func TestParseHook(t *testing.T) {
	for _, tc := range []struct {
		in, name, cmd, err string
	}{
		{in: "cache-stop=docker stop redis", name: "cache-stop", cmd: "docker stop redis"},
		{in: " cpu = cat /x | awk '{print $1}' ", name: "cpu", cmd: "cat /x | awk '{print $1}'"},
		{in: "logs=a=b", name: "logs", cmd: "a=b"},
		{in: "cache-stop", err: "want NAME=COMMAND"},
		{in: "=x", err: "want NAME=COMMAND"},
		{in: "redis-stop=x", err: `hook "redis-stop": unknown name; allowed: cache-stop, cache-start, cache-slow, cache-fast, worker-kill, logs, cpu`},
		{in: "logs=  ", err: "hook logs: empty command"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, c, err := ParseHook(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.name, n)
			require.Equal(t, tc.cmd, c)
		})
	}
}

func TestHooksSpecValidation(t *testing.T) {
	_, err := normalize(Spec{Mode: ModeLocal, Hooks: map[string]string{HookLogs: "true"}})
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.ErrorContains(t, err, "hooks control an external deployment")
	_, err = normalize(Spec{TargetURL: "http://127.0.0.1:1", Hooks: map[string]string{"nope": "true"}})
	require.ErrorContains(t, err, `hook "nope": unknown name`)
	spec, err := normalize(Spec{TargetURL: "http://127.0.0.1:1", Hooks: map[string]string{HookLogs: "true"}})
	require.NoError(t, err)
	require.Equal(t, DefaultHookTimeout, spec.HookTimeout)
}

// upHooked brings an external stack up against a deployment stand-in that
// answers /health/ready/, with the given hooks.
func upHooked(t *testing.T, timeout time.Duration, h map[string]string) *Stack {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Up(ctx, Spec{TargetURL: srv.URL, Hooks: h, HookTimeout: timeout})
	require.NoError(t, err)
	return s
}

// startProc starts a process the test owns and kills it at cleanup.
func startProc(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return cmd
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && !strings.HasPrefix(strings.TrimSpace(string(b)[i+1:]), "Z")
}

// TestHookControlRedis stops and starts a real redis-server through the
// cache hooks and checks that Control does exactly what is configured.
func TestHookControlRedis(t *testing.T) {
	requireRedisServer(t)
	testenv.NeedBinary(t, "redis-cli", "apt-get install -y redis-tools")
	port, err := freePort()
	require.NoError(t, err)
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "redis.pid")
	start := fmt.Sprintf("redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile %s --dir %s", port, pidfile, dir)
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	up := func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}
	s := upHooked(t, 10*time.Second, map[string]string{
		HookCacheStop:  fmt.Sprintf("redis-cli -p %d shutdown nosave", port),
		HookCacheStart: start + " && for i in $(seq 50); do redis-cli -p " + strconv.Itoa(port) + " ping >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1",
	})
	require.Equal(t, []string{HookCacheStart, HookCacheStop}, s.Info().Hooks)
	ctx := context.Background()
	ctl, err := s.Control()
	require.NoError(t, err)
	require.NoError(t, ControlMissing(ctl, HookCacheStop, HookCacheStart))
	err = ControlMissing(ctl, HookWorkerKill)
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "no worker-kill hook configured")

	require.NoError(t, ctl.StartCache(ctx))
	require.NoError(t, up(), "cache-start must leave redis answering")
	require.NoError(t, ctl.StopCache(ctx))
	eventually(t, 5*time.Second, "redis down after cache-stop", func() error {
		if up() == nil {
			return errors.New("still accepting connections")
		}
		return nil
	})
	require.NoError(t, ctl.StartCache(ctx))
	require.NoError(t, up())

	// Operations without a hook are unsupported, naming the hook.
	require.ErrorIs(t, ctl.KillWorker(ctx, 1), ErrUnsupported)
	_, err = ctl.AddCacheLatency(ctx, time.Second)
	require.ErrorContains(t, err, "no cache-slow hook configured")
	require.ErrorIs(t, ctl.PauseCache(ctx), ErrUnsupported)
	_, err = ctl.Workers(ctx)
	require.ErrorIs(t, err, ErrUnsupported)
	runs := s.HookRuns()
	require.Len(t, runs, 3)
	require.Equal(t, HookCacheStop, runs[1].Name)
}

// TestHookCPUAndLogs reads a process's CPU seconds from /proc through the
// cpu hook, and log lines through the logs hook.
func TestHookCPUAndLogs(t *testing.T) {
	// A process that burns some CPU, then idles.
	p := startProc(t, "sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 60")
	logf := filepath.Join(t.TempDir(), "app.log")
	require.NoError(t, os.WriteFile(logf, []byte("line 1\nline 2\nERROR boom\n"), 0o644))
	cpu := fmt.Sprintf(`awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\)$/) break; print ($(i+12) + $(i+13)) / 100 }' /proc/%d/stat`, p.Process.Pid)
	s := upHooked(t, 10*time.Second, map[string]string{HookCPU: cpu, HookLogs: "tail -n 2 " + logf})
	ctx := context.Background()
	var c1 CPUTime
	eventually(t, 20*time.Second, "the process burned CPU", func() error {
		var err error
		c1, err = s.ReadCPU(ctx)
		if err != nil {
			return err
		}
		if c1.Target <= 0 {
			return fmt.Errorf("cpu %v", c1.Target)
		}
		return nil
	})
	require.Equal(t, -1.0, c1.Cache)
	want := procCPU([]int{p.Process.Pid})
	require.InDelta(t, want, s.CPUTime(ctx).Target, 0.05, "the hook's reading matches /proc")
	out, err := s.ReadLogs(ctx)
	require.NoError(t, err)
	require.Equal(t, "line 2\nERROR boom\n", out)
	require.Equal(t, out, s.Logs(ctx))

	// No cpu number: a clear error and Unmeasured.
	s2 := upHooked(t, 10*time.Second, map[string]string{HookCPU: "echo 'cpu: lots'"})
	_, err = s2.ReadCPU(ctx)
	require.ErrorContains(t, err, `printed "cpu: lots": want the deployment's cumulative CPU seconds`)
	require.Equal(t, Unmeasured, s2.CPUTime(ctx))
	// No hooks at all: everything unsupported, with the reason.
	s3 := upHooked(t, 10*time.Second, nil)
	_, err = s3.ReadLogs(ctx)
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "no logs hook configured")
	_, err = s3.ReadCPU(ctx)
	require.ErrorContains(t, err, "no cpu hook configured")
	_, err = s3.Control()
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "no control hook configured")
}

// TestHookWorkerKillAndLatency runs worker-kill against a process the test
// started, and the latency pair with its environment variable.
func TestHookWorkerKillAndLatency(t *testing.T) {
	victim := startProc(t, "sleep", "60")
	dir := t.TempDir()
	mark := filepath.Join(dir, "delay")
	s := upHooked(t, 10*time.Second, map[string]string{
		HookWorkerKill: fmt.Sprintf(`echo "index $HARNESS_WORKER_INDEX of $HARNESS_TARGET_URL"; kill -9 %d`, victim.Process.Pid),
		HookCacheSlow:  "echo $HARNESS_CACHE_DELAY_MS > " + mark,
		HookCacheFast:  "rm " + mark,
	})
	ctx := context.Background()
	ctl, err := s.Control()
	require.NoError(t, err)
	require.NoError(t, ctl.KillWorker(ctx, 3))
	eventually(t, 5*time.Second, "victim killed", func() error {
		if alive(victim.Process.Pid) {
			return errors.New("alive")
		}
		return nil
	})
	runs := s.HookRuns()
	require.Contains(t, runs[0].Output, "index 3 of "+s.BaseURL())

	remove, err := ctl.AddCacheLatency(ctx, 750*time.Millisecond)
	require.NoError(t, err)
	b, err := os.ReadFile(mark)
	require.NoError(t, err)
	require.Equal(t, "750\n", string(b))
	require.NoError(t, remove(ctx))
	require.NoFileExists(t, mark)
	// cache-stop without cache-start is refused before anything is stopped.
	err = ctl.StopCache(ctx)
	require.ErrorContains(t, err, "no cache-stop hook configured")
}

// TestHookFailures: a non-zero exit and a timeout are errors that name the
// hook and show its output; a timeout kills what the hook started.
func TestHookFailures(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	s := upHooked(t, 500*time.Millisecond, map[string]string{
		HookLogs: "echo boom >&2; exit 3",
		HookCPU:  "sleep 30 & echo $! > " + pidfile + "; wait",
	})
	ctx := context.Background()
	_, err := s.ReadLogs(ctx)
	var he *HookError
	require.ErrorAs(t, err, &he)
	require.Equal(t, HookLogs, he.Name)
	require.ErrorContains(t, err, "exit status 3")
	require.ErrorContains(t, err, "output: boom")
	require.Equal(t, "", s.Logs(ctx))

	start := time.Now()
	_, err = s.ReadCPU(ctx)
	require.ErrorContains(t, err, "timed out after 500ms")
	require.Less(t, time.Since(start), 10*time.Second)
	b, rerr := os.ReadFile(pidfile)
	require.NoError(t, rerr)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	eventually(t, 5*time.Second, "the hook's child killed with it", func() error {
		if alive(pid) {
			return errors.New("alive")
		}
		return nil
	})
	require.Equal(t, 3, s.HookRuns()[0].ExitCode)
}
