package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runsDir holds one directory per local run (database, pid files, logs), so
// that DownAll can find leftovers of a crashed harness.
func runsDir() string { return filepath.Join(os.TempDir(), "ahsp-harness-runs") }

// localRecord is stack.json in a local run dir.
type localRecord struct {
	RunID      string `json:"run_id"`
	HarnessPID int    `json:"harness_pid"`
	MasterPID  int    `json:"master_pid"`
	TargetBin  string `json:"target_bin"`
}

func childAttrs() *syscall.SysProcAttr {
	// Own process group so Down can signal master and workers at once;
	// SIGTERM when the harness dies so nothing outlives it.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

func pidPath(dir, name string) string { return filepath.Join(dir, name) }

func writePid(dir, name string, pid int) {
	_ = os.WriteFile(pidPath(dir, name), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

type localStack struct {
	spec    Spec
	bin     string
	runDir  string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	log     *ringLog
	logFile *os.File
	redis   cacheServer
	proxy   *inProcProxy
	once    sync.Once
	downErr error
}

func upLocal(ctx context.Context, spec Spec, info Info) (*Stack, error) {
	p := progressOf(spec.Progress)
	bin, how, err := ResolveTarget(ctx, spec.TargetBin, spec.Progress)
	if err != nil {
		return nil, err
	}
	info.TargetBin = bin
	p.printf("stack: target binary %s (%s)", bin, how)
	if err := os.MkdirAll(runsDir(), 0o755); err != nil {
		return nil, fmt.Errorf("%w: create runs dir: %v", ErrStart, err)
	}
	runDir, err := os.MkdirTemp(runsDir(), "run-"+info.RunID+"-")
	if err != nil {
		return nil, fmt.Errorf("%w: create run dir: %v", ErrStart, err)
	}
	ls := &localStack{spec: spec, bin: bin, runDir: runDir, log: &ringLog{max: 500}}
	s := &Stack{info: info, be: ls, creds: seededCredentials(spec.Seed, spec.SeedPassword)}

	redisAddr := ""
	if spec.Cache == CacheRedis {
		ls.redis, err = startLocalRedis(ctx, spec.LocalRedis, runDir)
		if err != nil {
			return s, err
		}
		s.info.RedisKind, s.info.RedisAddr = ls.redis.kind(), ls.redis.addr()
		if ls.proxy, err = startInProcProxy(ls.redis.addr()); err != nil {
			return s, fmt.Errorf("%w: %v", ErrStart, err)
		}
		redisAddr = ls.proxy.Addr()
		what := s.info.RedisKind
		if rp, ok := ls.redis.(*redisProc); ok {
			what = fmt.Sprintf("%s %s (%s)", what, rp.version, rp.path)
		}
		p.printf("stack: redis: %s at %s (the target reaches it through toxiproxy at %s)", what, s.info.RedisAddr, redisAddr)
	}

	addr := "127.0.0.1:0"
	if spec.Port != 0 {
		if err := checkPortFree(spec.Port); err != nil {
			return s, err
		}
		addr = fmt.Sprintf("127.0.0.1:%d", spec.Port)
	}
	listening := make(chan string, 1)
	ls.log.onLine = func(line string) {
		var m struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "listening" && m.Addr != "" {
			select {
			case listening <- m.Addr:
			default:
			}
		}
	}
	if ls.logFile, err = os.Create(filepath.Join(runDir, "target.log")); err != nil {
		return s, fmt.Errorf("%w: create target log: %v", ErrStart, err)
	}
	args := append([]string{"serve", "--addr", addr}, targetArgs(spec, filepath.Join(runDir, "ahsp.db"), redisAddr, runDir)...)
	cmd := exec.Command(bin, args...)
	out := io.MultiWriter(ls.log, ls.logFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttrs()
	cmd.Dir = runDir
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("%w: start %s: %v", ErrStart, bin, err)
	}
	ls.cmd, ls.done = cmd, make(chan struct{})
	go func() { ls.waitErr = cmd.Wait(); close(ls.done) }()
	rec := localRecord{RunID: info.RunID, HarnessPID: os.Getpid(), MasterPID: cmd.Process.Pid, TargetBin: bin}
	if b, err := json.Marshal(rec); err == nil {
		_ = os.WriteFile(filepath.Join(runDir, "stack.json"), b, 0o644)
	}

	exited := func() error {
		select {
		case <-ls.done:
			if ls.waitErr != nil {
				return ls.waitErr
			}
			return errors.New("exit status 0")
		default:
			return nil
		}
	}
	deadline := time.NewTimer(spec.StartTimeout)
	defer deadline.Stop()
	select {
	case a := <-listening:
		addr = a
	case <-ls.done:
		return s, fmt.Errorf("%w: target exited at start (%v); last log lines:\n%s", ErrStart, exited(), lastLines(ls.log.String(), 20))
	case <-deadline.C:
		return s, fmt.Errorf("%w: target logged no \"listening\" line within %s; last log lines:\n%s", ErrStart, spec.StartTimeout, lastLines(ls.log.String(), 20))
	case <-ctx.Done():
		return s, ctx.Err()
	}
	s.info.BaseURL = "http://" + addr
	if err := waitReady(ctx, s.info.BaseURL, spec.StartTimeout, exited, ls.log.String); err != nil {
		return s, err
	}
	// One worker answering the health check does not mean all are up: wait
	// (bounded) until each has written its pid file, so status, worker-kill
	// and the probes see every worker from the start.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		if ws, _ := ls.Workers(ctx); len(ws) == spec.Workers {
			break
		}
	}
	return s, nil
}

// targetArgs are the serve flags shared by local and docker mode.
func targetArgs(spec Spec, db, redisAddr, runDir string) []string {
	args := []string{
		"--workers", strconv.Itoa(spec.Workers),
		"--db", db,
		"--cache", spec.Cache,
		"--limiter", spec.Limiter,
		"--failure-policy", spec.FailurePolicy,
		"--redis-timeout", spec.RedisTimeout.String(),
		"--session-store", spec.SessionStore,
		"--seed", fmt.Sprintf("users=%d,projects=%d", spec.Seed.Users, spec.Seed.Projects),
		"--seed-password", spec.SeedPassword,
		"--run-dir", runDir,
	}
	if redisAddr != "" {
		args = append(args, "--redis-addr", redisAddr)
	}
	if l := formatLimits(spec.Limits); l != "" {
		args = append(args, "--limits", l)
	}
	for _, d := range spec.Defects {
		args = append(args, "--defect", d)
	}
	return args
}

func (l *localStack) control() (Control, error) { return l, nil }

func (l *localStack) seed(ctx context.Context, seed Seed, password string) error {
	cmd := exec.CommandContext(ctx, l.bin, "seed", "--db", filepath.Join(l.runDir, "ahsp.db"),
		"--seed", fmt.Sprintf("users=%d,projects=%d", seed.Users, seed.Projects), "--seed-password", password)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ahsp-target seed: %v: %s", err, lastLines(string(out), 20))
	}
	return nil
}
func (l *localStack) logs(context.Context) string { return l.log.String() }

func (l *localStack) down(ctx context.Context) error {
	l.once.Do(func() {
		var errs []error
		if l.cmd != nil {
			errs = append(errs, stopGroup(ctx, l.cmd.Process.Pid, l.done))
		}
		if l.proxy != nil {
			l.proxy.stop()
		}
		if l.redis != nil {
			l.redis.close()
		}
		if l.logFile != nil {
			l.logFile.Close()
		}
		if err := os.RemoveAll(l.runDir); err != nil {
			errs = append(errs, fmt.Errorf("remove run dir: %w", err))
		}
		l.downErr = errors.Join(errs...)
	})
	return l.downErr
}

// stopGroup sends SIGTERM to process group pgid (master and workers), waits
// for the master (done) and the group to go, then SIGKILLs what is left.
func stopGroup(ctx context.Context, pgid int, done <-chan struct{}) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	if done != nil {
		select {
		case <-done:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	for i := 0; i < 100 && groupAlive(pgid); i++ {
		if i == 50 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if groupAlive(pgid) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(100 * time.Millisecond)
		if groupAlive(pgid) {
			return fmt.Errorf("process group %d still alive after SIGKILL", pgid)
		}
	}
	return nil
}

// groupAlive reports whether any non-zombie process is in group pgid.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err != nil {
		return false
	}
	// Zombies still count for kill(2); look at /proc for live members.
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, state, ok := procGroup(pid); ok && g == pgid && state != "Z" {
			return true
		}
	}
	return false
}

// procGroup reads a process's group id and state from /proc/<pid>/stat.
func procGroup(pid int) (pgid int, state string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, "", false
	}
	g, err := strconv.Atoi(f[2])
	return g, f[0], err == nil
}

func (l *localStack) Workers(context.Context) ([]Worker, error) {
	var out []Worker
	for i := 1; i <= l.spec.Workers; i++ {
		pid, err := readPid(filepath.Join(l.runDir, fmt.Sprintf("worker-%d.pid", i)))
		if err != nil {
			continue // restarting
		}
		if syscall.Kill(pid, 0) != nil {
			continue
		}
		out = append(out, Worker{Index: i, PID: pid, ID: fmt.Sprintf("%d-%d", i, pid)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no live worker pid files in %s", l.runDir)
	}
	return out, nil
}

func (l *localStack) KillWorker(_ context.Context, index int) error {
	if index < 1 || index > l.spec.Workers {
		return fmt.Errorf("kill worker %d: want an index in 1..%d", index, l.spec.Workers)
	}
	pid, err := readPid(filepath.Join(l.runDir, fmt.Sprintf("worker-%d.pid", index)))
	if err != nil {
		return fmt.Errorf("kill worker %d: %w", index, err)
	}
	if g, _, ok := procGroup(pid); !ok || g != l.cmd.Process.Pid {
		return fmt.Errorf("kill worker %d: pid %d is not a process of this stack", index, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill worker %d (pid %d): %w", index, pid, err)
	}
	return nil
}

func (l *localStack) cache() (cacheServer, error) {
	if l.redis == nil {
		return nil, ErrNoCache
	}
	return l.redis, nil
}

func (l *localStack) StopCache(ctx context.Context) error {
	c, err := l.cache()
	if err != nil {
		return err
	}
	return c.stop(ctx)
}

func (l *localStack) StartCache(ctx context.Context) error {
	c, err := l.cache()
	if err != nil {
		return err
	}
	return c.start(ctx)
}

func (l *localStack) PauseCache(ctx context.Context) error {
	c, err := l.cache()
	if err != nil {
		return err
	}
	return c.pause(ctx)
}

func (l *localStack) ResumeCache(ctx context.Context) error {
	c, err := l.cache()
	if err != nil {
		return err
	}
	return c.resume(ctx)
}

func (l *localStack) AddCacheLatency(ctx context.Context, d time.Duration) (func(context.Context) error, error) {
	if l.proxy == nil {
		return nil, ErrNoCache
	}
	return l.proxy.addLatency(ctx, d)
}

// downLocalLeftovers stops local runs (all, or the one with runID) whose
// harness process is gone and removes their run dirs. It returns what it removed.
func downLocalLeftovers(ctx context.Context, runID string) ([]string, error) {
	ents, err := os.ReadDir(runsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		if runID != "" && !strings.HasPrefix(e.Name(), "run-"+runID+"-") {
			continue
		}
		dir := filepath.Join(runsDir(), e.Name())
		var rec localRecord
		b, err := os.ReadFile(filepath.Join(dir, "stack.json"))
		if err == nil && json.Unmarshal(b, &rec) == nil {
			if rec.HarnessPID != os.Getpid() && processAlive(rec.HarnessPID) {
				continue // another harness still owns it; `harness down` asks that one
			}
			if g, _, ok := procGroup(rec.MasterPID); ok && g == rec.MasterPID {
				if err := stopGroup(ctx, rec.MasterPID, nil); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if pid, err := readPid(pidPath(dir, "redis.pid")); err == nil && strings.Contains(procCmdline(pid), "redis") {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "local run "+e.Name())
	}
	return removed, errors.Join(errs...)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	_, state, ok := procGroup(pid)
	return ok && state != "Z"
}

func procCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}
