package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// cacheServer is the local mode's Redis: a redis-server process or miniredis.
type cacheServer interface {
	kind() string
	addr() string
	stop(ctx context.Context) error
	start(ctx context.Context) error
	pause(ctx context.Context) error
	resume(ctx context.Context) error
	close()
}

// startLocalRedis starts the Redis kind asked for (auto: redis-server from
// PATH when there is one, else miniredis).
func startLocalRedis(ctx context.Context, kind, runDir string) (cacheServer, error) {
	path, lookErr := exec.LookPath("redis-server")
	switch {
	case kind == LocalRedisMiniredis, kind == LocalRedisAuto && lookErr != nil:
		return startMiniredis()
	case lookErr != nil:
		return nil, fmt.Errorf("%w: redis-server not found in PATH (install redis-server, or use --local-redis miniredis)", ErrStart)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &redisProc{path: path, port: port, runDir: runDir, version: redisVersion(ctx, path)}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func redisVersion(ctx context.Context, path string) string {
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "unknown"
	}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return "unknown"
}

// redisProc is redis-server from PATH on a loopback port, no persistence.
type redisProc struct {
	path, runDir, version string
	port                  int
	mu                    sync.Mutex
	cmd                   *exec.Cmd
	done                  chan struct{}
	log                   ringLog
}

func (r *redisProc) kind() string { return "redis-server from PATH" }
func (r *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *redisProc) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	r.log.max = 50
	cmd := exec.Command(r.path, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.runDir, "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = &r.log, &r.log
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: start redis-server: %v", ErrStart, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	writePid(r.runDir, "redis.pid", cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pingRedis(r.addr()); err == nil {
			return nil
		}
		select {
		case <-done:
			r.cmd = nil
			return fmt.Errorf("%w: redis-server on %s exited at start:\n%s", ErrStart, r.addr(), lastLines(r.log.String(), 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: redis-server on %s did not answer PING within 10s:\n%s", ErrStart, r.addr(), lastLines(r.log.String(), 20))
		}
	}
}

func (r *redisProc) stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	// A paused process cannot act on SIGTERM: wake it first.
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	case <-ctx.Done():
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
	_ = os.Remove(pidPath(r.runDir, "redis.pid"))
	return nil
}

func (r *redisProc) signal(sig syscall.Signal, what string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return fmt.Errorf("%s redis: it is stopped (StartCache first)", what)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s redis: %w", what, err)
	}
	return nil
}

func (r *redisProc) pause(context.Context) error  { return r.signal(syscall.SIGSTOP, "pause") }
func (r *redisProc) resume(context.Context) error { return r.signal(syscall.SIGCONT, "resume") }
func (r *redisProc) close()                       { _ = r.stop(context.Background()) }

// miniRedis is the embedded Redis-compatible server used when there is no
// redis-server binary.
type miniRedis struct {
	mu        sync.Mutex
	m         *miniredis.Miniredis
	up        bool
	stopClock func()
}

// miniredisClockStep is how often the embedded miniredis's TTLs catch up with
// real time, so keys expire at most this late.
const miniredisClockStep = 50 * time.Millisecond

func startMiniredis() (*miniRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("%w: start embedded miniredis: %v", ErrStart, err)
	}
	return &miniRedis{m: m, up: true, stopClock: followRealTime(m, miniredisClockStep)}, nil
}

// followRealTime advances m's TTLs by the real time elapsed, every step, until
// stop is called. miniredis keeps TTLs as durations that only FastForward
// decreases: without this no key would ever expire, and rate-limit windows
// and sessions would never end.
func followRealTime(m *miniredis.Miniredis, step time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(step)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				now := time.Now()
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

func (r *miniRedis) kind() string { return "embedded miniredis" }
func (r *miniRedis) addr() string { return r.m.Addr() }
func (r *miniRedis) stop(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.up {
		r.m.Close()
		r.up = false
	}
	return nil
}

func (r *miniRedis) start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.up {
		return nil
	}
	if err := r.m.Restart(); err != nil {
		return fmt.Errorf("restart miniredis on %s: %w", r.m.Addr(), err)
	}
	r.up = true
	return nil
}

var errMiniredisPause = errors.New("pause cache: unsupported with the embedded miniredis (install redis-server, or use docker mode)")

func (r *miniRedis) pause(context.Context) error  { return errMiniredisPause }
func (r *miniRedis) resume(context.Context) error { return errMiniredisPause }
func (r *miniRedis) close() {
	_ = r.stop(context.Background())
	r.stopClock()
}

// pingRedis sends one inline PING and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis at %s answered %q to PING", addr, strings.TrimSpace(line))
	}
	return nil
}
