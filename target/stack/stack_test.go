package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/client"
)

// TestLocalStack brings the target up as local processes with each Redis
// kind and exercises login, worker spread, cache control and worker restart;
// Down must leave no process and no run dir behind.
func TestLocalStack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		redis    string
		canPause bool
	}{
		{name: "redis-server", redis: LocalRedisServer, canPause: true},
		{name: "miniredis", redis: LocalRedisMiniredis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.redis == LocalRedisServer {
				requireRedisServer(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			s, err := Up(ctx, Spec{Mode: ModeLocal, Workers: 4, Cache: CacheRedis, LocalRedis: tc.redis, Progress: testWriter{t}})
			ls, _ := s.be.(*localStack)
			t.Cleanup(func() { requireLocalGone(t, s, ls) })
			require.NoError(t, err)
			require.Equal(t, ModeLocal, s.Info().Mode)
			if tc.redis == LocalRedisMiniredis {
				require.Equal(t, "embedded miniredis", s.Info().RedisKind)
			} else {
				require.Equal(t, "redis-server from PATH", s.Info().RedisKind)
			}
			exercise(t, ctx, s, tc.canPause)
		})
	}
}

// TestDockerStack is the same in docker mode: images built offline, Redis
// and Toxiproxy containers, target container with 4 workers.
func TestDockerStack(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Up(ctx, Spec{Mode: ModeDocker, Workers: 4, Cache: CacheRedis, Progress: testWriter{t}})
	t.Cleanup(func() {
		require.NoError(t, s.Down(context.Background()))
		left, err := Leftovers(context.Background(), LabelRun+"="+s.Info().RunID)
		require.NoError(t, err)
		require.Empty(t, left, "containers or networks left after Down")
	})
	require.NoError(t, err)
	require.Equal(t, ModeDocker, s.Info().Mode)
	require.NotEmpty(t, s.Info().RedisKind)
	// On a Linux host with a local engine the harness skips docker-proxy.
	t.Logf("route: %s -> %s", s.Info().Route, s.Info().BaseURL)
	if strings.HasPrefix(s.Info().Route, "the container's address") {
		require.NotContains(t, s.Info().BaseURL, "127.0.0.1")
	} else {
		require.Contains(t, s.Info().BaseURL, "127.0.0.1")
	}
	t.Logf("docker stack up in %.2fs (image builds %.2fs)", s.Info().StartupSeconds, s.Info().ImageBuildSeconds)
	exercise(t, ctx, s, true)
}

// TestDockerRoutePublishedPort: HARNESS_DOCKER_ROUTE=port keeps the target
// on its published loopback port.
func TestDockerRoutePublishedPort(t *testing.T) {
	requireDocker(t)
	t.Setenv(EnvDockerRoute, "port")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Up(ctx, Spec{Mode: ModeDocker, Cache: CacheLocmem})
	t.Cleanup(func() { require.NoError(t, s.Down(context.Background())) })
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(s.Info().BaseURL, "http://127.0.0.1:"), s.Info().BaseURL)
	require.Contains(t, s.Info().Route, "published port")
	require.Equal(t, http.StatusOK, func() int {
		resp, err := http.Get(s.BaseURL() + ReadyPath)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}())
}

func requireLocalGone(t *testing.T, s *Stack, ls *localStack) {
	t.Helper()
	require.NoError(t, s.Down(context.Background()))
	if ls == nil {
		return
	}
	if ls.cmd != nil {
		require.False(t, groupAlive(ls.cmd.Process.Pid), "target processes left after Down")
	}
	if rp, ok := ls.redis.(*redisProc); ok {
		require.Nil(t, rp.cmd, "redis-server left after Down")
	}
	_, err := os.Stat(ls.runDir)
	require.True(t, errors.Is(err, os.ErrNotExist), "run dir %s left after Down", ls.runDir)
}

// exercise runs the checks every mode with Redis must pass.
func exercise(t *testing.T, ctx context.Context, s *Stack, canPause bool) {
	t.Helper()
	base := s.BaseURL()

	// Fresh connections land on every worker.
	seen := map[string]bool{}
	for i := 0; i < 400 && len(seen) < 4; i++ {
		seen[workerOf(t, base)] = true
	}
	require.Len(t, seen, 4, "X-Worker-Id values across connections: %v", seen)

	ctl, err := s.Control()
	require.NoError(t, err)
	ws, err := ctl.Workers(ctx)
	require.NoError(t, err)
	require.Len(t, ws, 4)

	// CPU counters: the app's always; Redis's unless it runs in-process.
	cpu0 := s.CPUTime(ctx)
	hc := &http.Client{Timeout: 5 * time.Second}
	for range 1000 {
		resp, err := hc.Get(base + "/health/")
		require.NoError(t, err)
		resp.Body.Close()
	}
	cpu1 := s.CPUTime(ctx)
	t.Logf("CPU time before and after 1000 health checks: %+v -> %+v", cpu0, cpu1)
	require.GreaterOrEqual(t, cpu0.Target, 0.0)
	require.Greater(t, cpu1.Target, cpu0.Target, "the workers' CPU must grow under requests")
	if s.Info().RedisKind == "embedded miniredis" {
		require.Equal(t, -1.0, cpu1.Cache, "miniredis's CPU is the harness's own: not measurable apart")
	} else {
		require.GreaterOrEqual(t, cpu0.Cache, 0.0)
		require.GreaterOrEqual(t, cpu1.Cache, cpu0.Cache)
	}
	for _, w := range ws {
		require.True(t, seen[w.ID], "worker %s from pid files never answered (saw %v)", w.ID, seen)
	}

	// Cache stopped: the deep health check fails; started again: it recovers.
	require.NoError(t, ctl.StopCache(ctx))
	eventually(t, 15*time.Second, "health 503 with redis stopped", healthIs(base, http.StatusServiceUnavailable))
	require.NoError(t, ctl.StartCache(ctx))
	eventually(t, 15*time.Second, "health 200 with redis started", healthIs(base, http.StatusOK))

	if canPause {
		require.NoError(t, ctl.PauseCache(ctx))
		eventually(t, 15*time.Second, "health 503 with redis paused", healthIs(base, http.StatusServiceUnavailable))
		require.NoError(t, ctl.ResumeCache(ctx))
		eventually(t, 15*time.Second, "health 200 with redis resumed", healthIs(base, http.StatusOK))
	} else {
		require.Error(t, ctl.PauseCache(ctx))
	}

	// Latency above the health check's cache timeout (500 ms) fails it.
	remove, err := ctl.AddCacheLatency(ctx, 900*time.Millisecond)
	require.NoError(t, err)
	eventually(t, 15*time.Second, "health 503 with 900ms cache latency", healthIs(base, http.StatusServiceUnavailable))
	require.NoError(t, remove(ctx))
	eventually(t, 15*time.Second, "health 200 without latency", healthIs(base, http.StatusOK))

	// A killed worker is restarted by the master with a new pid.
	old := ws[1]
	require.NoError(t, ctl.KillWorker(ctx, old.Index))
	eventually(t, 15*time.Second, "worker 2 restarted", func() error {
		ws, err := ctl.Workers(ctx)
		if err != nil {
			return err
		}
		for _, w := range ws {
			if w.Index == old.Index && w.PID != old.PID {
				return nil
			}
		}
		return fmt.Errorf("worker %d still %v", old.Index, ws)
	})
	require.Error(t, ctl.KillWorker(ctx, 5), "index out of range")
	require.NotEmpty(t, s.Logs(ctx))

	// Seeded credentials log in (form login, CSRF, session cookie).
	creds := s.Credentials()
	require.Len(t, creds, DefaultSeedUsers)
	c, err := client.New(base)
	require.NoError(t, err)
	require.NoError(t, c.Login(ctx, creds[0].User, creds[0].Password))
}

func workerOf(t *testing.T, base string) string {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(base + "/health/live/")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Header.Get("X-Worker-Id")
	require.Regexp(t, `^[1-4]-\d+$`, id)
	return id
}

func healthIs(base string, want int) func() error {
	return func() error {
		hc := &http.Client{Timeout: 5 * time.Second}
		resp, err := hc.Get(base + "/health/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
		}
		return nil
	}
}

// TestExternalStack checks external mode against a running local stack:
// credentials pass through, Control is unsupported without hooks, Down
// touches nothing.
func TestExternalStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	local, err := Up(ctx, Spec{Mode: ModeLocal, Workers: 1, Cache: CacheLocmem})
	t.Cleanup(func() { require.NoError(t, local.Down(context.Background())) })
	require.NoError(t, err)

	cred := client.Credential{User: "user2", Password: DefaultSeedPassword, Projects: []int{3, 4}}
	ext, err := Up(ctx, Spec{Mode: ModeExternal, TargetURL: local.BaseURL() + "/", Credentials: []client.Credential{cred}})
	require.NoError(t, err)
	require.Equal(t, local.BaseURL(), ext.BaseURL())
	require.Equal(t, []client.Credential{cred}, ext.Credentials())
	_, err = ext.Control()
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "unsupported in external mode: no control hook configured")
	require.Equal(t, Unmeasured, ext.CPUTime(ctx), "an external deployment's CPU is not ours to read without a cpu hook")
	require.NoError(t, ext.Down(ctx))
	c, err := client.New(ext.BaseURL())
	require.NoError(t, err)
	require.NoError(t, c.Login(ctx, cred.User, cred.Password), "external Down must not stop the target")

	_, err = Up(ctx, Spec{Mode: ModeExternal, TargetURL: "http://127.0.0.1:1"})
	require.ErrorIs(t, err, ErrUnreachable)
}

// TestLocalErrors covers the start failures users meet: port in use, a
// target that dies at start (with its last log lines in the error).
func TestLocalErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	busy, err := Up(ctx, Spec{Mode: ModeLocal, Cache: CacheLocmem})
	t.Cleanup(func() { require.NoError(t, busy.Down(context.Background())) })
	require.NoError(t, err)
	port := busy.BaseURL()[strings.LastIndexByte(busy.BaseURL(), ':')+1:]
	var p int
	fmt.Sscan(port, &p)

	s, err := Up(ctx, Spec{Mode: ModeLocal, Cache: CacheLocmem, Port: p})
	require.ErrorIs(t, err, ErrStart)
	require.ErrorContains(t, err, "port "+port+" on 127.0.0.1 is in use")
	require.NoError(t, s.Down(ctx))

	_, err = Up(ctx, Spec{Mode: ModeLocal, Limiter: "leaky"})
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.ErrorContains(t, err, `limiter "leaky": allowed values are fixed, sliding, gcra`)

	// A target that dies at start: the error carries its last log lines.
	dying := t.TempDir() + "/ahsp-target"
	require.NoError(t, os.WriteFile(dying, []byte("#!/bin/sh\necho 'cannot open database: disk on fire' >&2\nexit 3\n"), 0o755))
	s, err = Up(ctx, Spec{Mode: ModeLocal, Cache: CacheLocmem, TargetBin: dying})
	require.ErrorIs(t, err, ErrStart)
	require.ErrorContains(t, err, "target exited at start")
	require.ErrorContains(t, err, "disk on fire")
	require.NoError(t, s.Down(ctx))
}

// TestDownRun is what `harness down` does when the harness that ran `up`
// crashed: it finds the run's containers, network or processes by run id
// and removes them; the original Down is still safe afterwards.
func TestDownRun(t *testing.T) {
	modes := []string{ModeLocal}
	if testenv.Have(t, "a Docker engine at "+DockerHost()+" (the docker case)", pingDocker(context.Background())) {
		modes = append(modes, ModeDocker)
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if mode == ModeDocker {
				// A removed network's subnet, and so the container's address,
				// is soon reused by other stacks (tests run in parallel); a
				// published port is not.
				t.Setenv(EnvDockerRoute, "port")
			}
			s, err := Up(ctx, Spec{Mode: mode, Workers: 2, Cache: CacheLocmem})
			t.Cleanup(func() { _ = s.Down(context.Background()) })
			require.NoError(t, err)
			removed, err := DownRun(ctx, s.Info().RunID)
			require.NoError(t, err)
			require.NotEmpty(t, removed)
			_, err = http.Get(s.BaseURL() + "/health/live/")
			require.Error(t, err, "target still answers after DownRun")
			if mode == ModeDocker {
				left, err := Leftovers(ctx, LabelRun+"="+s.Info().RunID)
				require.NoError(t, err)
				require.Empty(t, left)
			} else {
				ls := s.be.(*localStack)
				require.False(t, groupAlive(ls.cmd.Process.Pid))
				require.NoDirExists(t, ls.runDir)
			}
			require.NoError(t, s.Down(ctx), "Down after DownRun")
		})
	}
}

// TestNoDockerEngine: auto falls back to local and says why; docker mode
// fails clearly.
func TestNoDockerEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	mode, reason := chooseMode(context.Background())
	require.Equal(t, ModeLocal, mode)
	require.Equal(t, "no Docker engine at unix:///nonexistent/docker.sock; using local mode", reason)
	_, err := Up(context.Background(), Spec{Mode: ModeDocker})
	require.ErrorIs(t, err, ErrStart)
	require.ErrorContains(t, err, "no Docker engine at unix:///nonexistent/docker.sock")
	require.ErrorContains(t, err, "use --stack local")
}

func TestSpecValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"mode", Spec{Mode: "k8s"}, `mode "k8s": allowed values are auto, docker, local, external`},
		{"cache", Spec{Cache: "memcached"}, `cache "memcached": allowed values are locmem, redis`},
		{"workers", Spec{Workers: 65}, "workers 65: want 1..64"},
		{"defect", Spec{Defects: []string{"naive-limiter,nope"}}, `unknown defect "nope"`},
		{"port", Spec{Port: 70000}, "port 70000: want 0..65535"},
		{"redis timeout", Spec{RedisTimeout: 2 * time.Minute}, "redis timeout 2m0s: want between 1ms and 1m"},
		{"external without URL", Spec{Mode: ModeExternal}, "external mode needs a target URL"},
		{"URL outside external", Spec{Mode: ModeLocal, TargetURL: "http://127.0.0.1:1"}, "a target URL is only used in external mode"},
		{"credential without password", Spec{Mode: ModeExternal, TargetURL: "http://127.0.0.1:1", Credentials: []client.Credential{{User: "a"}}}, `external credential "a": want user and password`},
		{"profile", Spec{Profile: "prod"}, `unknown profile "prod": allowed values are as-deployed, as-deployed-redis`},
		{"profile external", Spec{Profile: "as-deployed", TargetURL: "http://127.0.0.1:1"}, `profile "as-deployed" configures the reference target`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Up(context.Background(), tc.spec)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestProfileFillsUnsetFields(t *testing.T) {
	spec, err := normalize(Spec{Profile: "as-deployed", Cache: CacheRedis, Defects: []string{"trust-xff"}})
	require.NoError(t, err)
	require.Equal(t, 4, spec.Workers)
	require.Equal(t, CacheRedis, spec.Cache, "an explicit value wins")
	require.Equal(t, "db", spec.SessionStore)
	require.Contains(t, spec.Defects, "trust-xff")
	require.Contains(t, spec.Defects, "connection-close")
}

// TestRedisTimeoutReachesTarget: --redis-timeout is the target's and is
// recorded in Info (the scan's hang oracle reads it there).
func TestRedisTimeoutReachesTarget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Up(ctx, Spec{Mode: ModeLocal, Cache: CacheLocmem, RedisTimeout: 250 * time.Millisecond})
	t.Cleanup(func() { require.NoError(t, s.Down(context.Background())) })
	require.NoError(t, err)
	require.Equal(t, 250.0, s.Info().RedisTimeoutMS)
	require.Contains(t, s.Logs(ctx), `"redis_timeout":"250ms"`)
}

func TestParseLimitsAndUsers(t *testing.T) {
	l, err := ParseLimits("write=20/60, login=5/30")
	require.NoError(t, err)
	require.Equal(t, "login=5/30,write=20/60", formatLimits(l))
	for _, bad := range []string{"write", "write=20", "write=0/60", "=1/2", "write=a/b"} {
		_, err := ParseLimits(bad)
		require.Error(t, err, bad)
	}
	c, err := ParseUser("bob:pa:ss", "")
	require.NoError(t, err)
	require.Equal(t, client.Credential{User: "bob", Password: "pa:ss"}, c)
	users, err := parseUsers(strings.NewReader("# comment\n\nalice 1,2 3\nbob:x\n"), "users.txt", "envpw")
	require.NoError(t, err)
	require.Equal(t, []client.Credential{{User: "alice", Password: "envpw", Projects: []int{1, 2, 3}}, {User: "bob", Password: "x"}}, users)
	_, err = parseUsers(strings.NewReader("alice:x one\n"), "users.txt", "")
	require.EqualError(t, err, `users.txt:1: project id "one": want a positive integer`)
	// "scratch" declares the line's projects disposable.
	users, err = parseUsers(strings.NewReader("alice:x 7,8 scratch\nbob:y 9\n"), "users.txt", "")
	require.NoError(t, err)
	require.True(t, users[0].IsScratch(7) && users[0].IsScratch(8))
	require.False(t, users[1].IsScratch(9))
	_, err = parseUsers(strings.NewReader("alice:x scratch\n"), "users.txt", "")
	require.ErrorContains(t, err, "users.txt:1: scratch without projects")
	// The harness seeded these projects itself: all scratch.
	require.Equal(t, []client.Credential{
		{User: "user1", Password: "pw", Projects: []int{1, 2, 3}, Scratch: []int{1, 2, 3}},
		{User: "user2", Password: "pw", Projects: []int{4, 5, 6}, Scratch: []int{4, 5, 6}},
	}, seededCredentials(Seed{Users: 2, Projects: 3}, "pw"))
}

// TestDockerStartFailure: a dynamically linked binary is refused before any
// build, and a target container that dies at start fails Up with its log
// lines; Down still removes everything.
func TestDockerStartFailure(t *testing.T) {
	requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := Up(ctx, Spec{Mode: ModeDocker, Cache: CacheLocmem, TargetBin: "/bin/true"})
	require.ErrorIs(t, err, ErrStart)
	require.ErrorContains(t, err, "is dynamically linked; docker mode needs a static binary")

	dir := t.TempDir()
	src := dir + "/main.go"
	require.NoError(t, os.WriteFile(src, []byte("package main\n\nimport (\"fmt\"; \"os\")\n\nfunc main() { fmt.Fprintln(os.Stderr, `{\"level\":\"ERROR\",\"msg\":\"open database: disk on fire\"}`); os.Exit(2) }\n"), 0o644))
	bin := dir + "/ahsp-target"
	require.NoError(t, goBuildFile(ctx, src, bin))
	s, err := Up(ctx, Spec{Mode: ModeDocker, Cache: CacheLocmem, TargetBin: bin, StartTimeout: 20 * time.Second})
	require.ErrorIs(t, err, ErrStart)
	require.ErrorContains(t, err, "target exited before it was ready")
	require.ErrorContains(t, err, "disk on fire")
	require.NoError(t, s.Down(ctx))
	left, err := Leftovers(ctx, LabelRun+"="+s.Info().RunID)
	require.NoError(t, err)
	require.Empty(t, left)
	// The one-off image goes too.
	cli, err := dockerClient(ctx, progress{})
	require.NoError(t, err)
	tag, _, err := ensureTargetImage(ctx, cli, bin, progress{})
	require.NoError(t, err)
	_, err = cli.ImageRemove(ctx, tag, mobyclient.ImageRemoveOptions{})
	require.NoError(t, err)
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// TestDownAllLeftovers plants what a crashed harness leaves (a local run
// whose master still runs, and labelled docker resources whose owner pid is
// gone) and checks DownAll removes them but spares a live harness's stack.
func TestDownAllLeftovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Local: a "master" in its own process group, owned by a dead harness.
	orphan := exec.Command("sleep", "60")
	orphan.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, orphan.Start())
	done := make(chan struct{})
	go func() { _ = orphan.Wait(); close(done) }()
	dir := filepath.Join(runsDir(), "run-test-orphan-"+strconv.Itoa(orphan.Process.Pid))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	rec, _ := json.Marshal(localRecord{RunID: "test-orphan", HarnessPID: deadPID(t), MasterPID: orphan.Process.Pid})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stack.json"), rec, 0o644))

	// A live stack of this process must survive DownAll.
	live, err := Up(ctx, Spec{Mode: ModeLocal, Cache: CacheLocmem})
	t.Cleanup(func() {
		start := time.Now()
		require.NoError(t, live.Down(context.Background()))
		t.Logf("live down in %s", time.Since(start))
	})
	require.NoError(t, err)
	liveDir := live.be.(*localStack).runDir
	// Our own runs count as leftovers only for DownRun; mark it as owned by a live other process.
	rec2, _ := json.Marshal(localRecord{RunID: live.Info().RunID, HarnessPID: os.Getppid(), MasterPID: live.be.(*localStack).cmd.Process.Pid})
	require.NoError(t, os.WriteFile(filepath.Join(liveDir, "stack.json"), rec2, 0o644))

	var dockerRun string
	if pingDocker(ctx) == nil {
		cli, err := dockerClient(ctx, progress{})
		require.NoError(t, err)
		img, _, _, err := ensureRedisImage(ctx, cli, progress{})
		require.NoError(t, err)
		dockerRun = "test-orphan-" + newRunID()
		labels := map[string]string{LabelKey: "1", LabelRun: dockerRun, LabelPID: strconv.Itoa(deadPID(t))}
		nw, err := network.New(ctx, network.WithLabels(labels))
		require.NoError(t, err)
		_, err = testcontainers.Run(ctx, img, network.WithNetwork([]string{"redis"}, nw), testcontainers.WithLabels(labels))
		require.NoError(t, err)
	}

	start := time.Now()
	removed, err := DownAll(ctx)
	require.NoError(t, err)
	t.Logf("removed in %s: %v", time.Since(start), removed)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("orphaned master still running after DownAll")
	}
	require.NoDirExists(t, dir)
	require.DirExists(t, liveDir, "a live harness's run was removed")
	require.Equal(t, http.StatusOK, func() int {
		resp, err := http.Get(live.BaseURL() + ReadyPath)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}())
	if dockerRun != "" {
		left, err := Leftovers(ctx, LabelRun+"="+dockerRun)
		require.NoError(t, err)
		require.Empty(t, left)
	}
}
