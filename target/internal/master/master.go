// Package master runs the reference target like gunicorn: one master process
// opens the listening socket once and keeps N worker processes (re-executions
// of the same binary) accepting on it, restarts a worker that dies and drains
// all of them on SIGTERM. Workers find the inherited socket and their index in
// the environment (see Worker).
package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Environment variables a worker process reads. The listener is always file
// descriptor 3 (the first of exec.Cmd.ExtraFiles).
const (
	EnvWorkerIndex = "AHSP_WORKER_INDEX"
	EnvListenFD    = "AHSP_LISTEN_FD"
	listenFD       = 3
)

// Options configures Run.
type Options struct {
	// Addr is the TCP listen address; ":0" picks a free port (logged).
	Addr string
	// Workers is the number of worker processes (at least 1).
	Workers int
	// RunDir receives worker-<i>.pid files; it is created when missing.
	RunDir string
	// Executable and Args start one worker: the binary (default: this one)
	// and its arguments after argv[0].
	Executable string
	Args       []string
	// Env is added to every worker's environment (after os.Environ()).
	Env []string
	// Prepare runs once after the socket is bound and before any worker is
	// started (the seeding step: workers never race on an empty database).
	Prepare func(ctx context.Context, addr string) error
	// DrainTimeout bounds how long workers may finish in-flight requests
	// after SIGTERM before they are killed.
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Listening, when set, receives the bound address once (tests).
	Listening func(addr string)
}

// Run binds the socket, starts the workers and supervises them until ctx is
// done, then drains: workers get SIGTERM, finish in-flight requests and exit;
// Run returns nil when all have exited within the drain timeout.
func Run(ctx context.Context, o Options) error {
	if o.Workers < 1 {
		return fmt.Errorf("workers %d: want at least 1", o.Workers)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable: %w", err)
		}
		o.Executable = exe
	}
	if err := os.MkdirAll(o.RunDir, 0o755); err != nil {
		return fmt.Errorf("create run dir: %w", err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return fmt.Errorf("listen on %s: not a TCP listener", o.Addr)
	}
	// File returns a dup in blocking mode; the workers make their own copy
	// non-blocking again through net.FileListener.
	lf, err := tl.File()
	ln.Close()
	if err != nil {
		return fmt.Errorf("get listener file: %w", err)
	}
	defer lf.Close()
	addr := ln.Addr().String()
	o.Logger.Info("listening", "addr", addr)
	if o.Listening != nil {
		o.Listening(addr)
	}
	if o.Prepare != nil {
		if err := o.Prepare(ctx, addr); err != nil {
			return err
		}
	}
	m := &supervisor{o: o, lf: lf, procs: make([]*exec.Cmd, o.Workers+1)}
	return m.run(ctx)
}

type supervisor struct {
	o  Options
	lf *os.File

	mu       sync.Mutex
	draining bool
	procs    []*exec.Cmd // by worker index (1-based)
}

func (m *supervisor) run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 1; i <= m.o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.keep(ctx, i)
		}()
	}
	<-ctx.Done()
	m.mu.Lock()
	m.draining = true
	procs := append([]*exec.Cmd(nil), m.procs...)
	m.mu.Unlock()
	m.o.Logger.Info("draining", "workers", m.o.Workers, "timeout", m.o.DrainTimeout.String())
	// No worker starts any more: drop the master's copy of the socket so it
	// closes as soon as the workers have closed theirs.
	_ = m.lf.Close()
	for _, c := range procs {
		if c != nil && c.Process != nil {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		m.o.Logger.Info("stopped")
		return nil
	case <-time.After(m.o.DrainTimeout + 2*time.Second):
		for _, c := range procs {
			if c != nil && c.Process != nil {
				_ = c.Process.Kill()
			}
		}
		<-done
		return errors.New("drain: workers did not exit within the drain timeout and were killed")
	}
}

// keep runs worker i until draining, restarting it whenever it exits. A
// worker that keeps dying right after start is restarted with a growing pause
// (at most one second) so a broken configuration does not spin the CPU.
func (m *supervisor) keep(ctx context.Context, i int) {
	backoff := time.Duration(0)
	for {
		m.mu.Lock()
		if m.draining {
			m.mu.Unlock()
			return
		}
		cmd, err := m.start(i)
		if err == nil {
			m.procs[i] = cmd
		}
		m.mu.Unlock()
		if err != nil {
			m.o.Logger.Error("start worker", "worker", i, "err", err.Error())
		} else {
			started := time.Now()
			pid := cmd.Process.Pid
			m.o.Logger.Info("worker started", "worker", i, "pid", pid)
			werr := cmd.Wait()
			m.mu.Lock()
			draining := m.draining
			m.mu.Unlock()
			state := "exit 0"
			if werr != nil {
				state = werr.Error()
			}
			if draining {
				m.o.Logger.Info("worker stopped", "worker", i, "pid", pid, "status", state)
				return
			}
			m.o.Logger.Warn("worker exited", "worker", i, "pid", pid, "status", state)
			if time.Since(started) > 2*time.Second {
				backoff = 0
			}
		}
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
		backoff = min(max(2*backoff, 50*time.Millisecond), time.Second)
	}
}

func (m *supervisor) start(i int) (*exec.Cmd, error) {
	cmd := exec.Command(m.o.Executable, m.o.Args...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{m.lf}
	cmd.Env = append(os.Environ(), m.o.Env...)
	cmd.Env = append(cmd.Env,
		EnvWorkerIndex+"="+strconv.Itoa(i),
		EnvListenFD+"="+strconv.Itoa(listenFD),
	)
	// A worker must not outlive a master killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %d: %w", i, err)
	}
	if err := WritePID(m.o.RunDir, i, cmd.Process.Pid); err != nil {
		m.o.Logger.Error("write pid file", "worker", i, "err", err.Error())
	}
	return cmd, nil
}

// PIDFile is the path of worker i's pid file in runDir.
func PIDFile(runDir string, i int) string {
	return filepath.Join(runDir, fmt.Sprintf("worker-%d.pid", i))
}

// WritePID atomically writes worker i's pid file.
func WritePID(runDir string, i, pid int) error {
	p := PIDFile(runDir, i)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// ReadPID reads worker i's pid from runDir.
func ReadPID(runDir string, i int) (int, error) {
	b, err := os.ReadFile(PIDFile(runDir, i))
	if err != nil {
		return 0, fmt.Errorf("read pid file of worker %d (is --run-dir the serve command's?): %w", i, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is not a pid", PIDFile(runDir, i), strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// Signals names the signals KillWorker accepts.
var Signals = map[string]syscall.Signal{
	"KILL": syscall.SIGKILL,
	"TERM": syscall.SIGTERM,
	"INT":  syscall.SIGINT,
	"QUIT": syscall.SIGQUIT,
	"STOP": syscall.SIGSTOP,
	"CONT": syscall.SIGCONT,
}

// ParseSignal accepts "KILL", "SIGKILL", "kill" or a number.
func ParseSignal(s string) (syscall.Signal, error) {
	u := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG")
	if sig, ok := Signals[u]; ok {
		return sig, nil
	}
	if n, err := strconv.Atoi(u); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("signal %q: allowed values are KILL, TERM, INT, QUIT, STOP, CONT or a number", s)
}

// KillWorker sends sig to worker i of the master using runDir and returns
// the pid it signalled.
func KillWorker(runDir string, i int, sig syscall.Signal) (int, error) {
	pid, err := ReadPID(runDir, i)
	if err != nil {
		return 0, err
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return pid, fmt.Errorf("signal worker %d (pid %d): %w", i, pid, err)
	}
	return pid, nil
}

// Worker is what a worker process learns from its master.
type Worker struct {
	Index    int
	Listener net.Listener
}

// FromEnv returns the inherited listener and index when this process was
// started by Run; ok is false in a process started any other way.
func FromEnv() (w Worker, ok bool, err error) {
	idx := os.Getenv(EnvWorkerIndex)
	if idx == "" {
		return Worker{}, false, nil
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 1 {
		return Worker{}, true, fmt.Errorf("%s=%q: want a positive integer", EnvWorkerIndex, idx)
	}
	fd := listenFD
	if s := os.Getenv(EnvListenFD); s != "" {
		if fd, err = strconv.Atoi(s); err != nil {
			return Worker{}, true, fmt.Errorf("%s=%q: want a file descriptor number", EnvListenFD, s)
		}
	}
	f := os.NewFile(uintptr(fd), "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return Worker{}, true, fmt.Errorf("use inherited listener fd %d: %w", fd, err)
	}
	return Worker{Index: i, Listener: ln}, true, nil
}

// Serve runs srv on the inherited listener until ctx is done, then shuts it
// down gracefully: the listener closes at once and in-flight requests get up
// to drain to finish.
func (w Worker) Serve(ctx context.Context, srv *http.Server, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(w.Listener) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain worker %d: %w", w.Index, err)
	}
	return nil
}
