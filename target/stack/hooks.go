package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// Hook names (stackinfo's, so checks can name them without this package).
const (
	HookCacheStop  = stackinfo.HookCacheStop
	HookCacheStart = stackinfo.HookCacheStart
	HookCacheSlow  = stackinfo.HookCacheSlow
	HookCacheFast  = stackinfo.HookCacheFast
	HookWorkerKill = stackinfo.HookWorkerKill
	HookLogs       = stackinfo.HookLogs
	HookCPU        = stackinfo.HookCPU
)

// HookNames lists every hook name, in documentation order.
var HookNames = stackinfo.HookNames

// DefaultHookTimeout bounds one hook run unless Spec.HookTimeout says otherwise.
const DefaultHookTimeout = 60 * time.Second

// hookOutputCap bounds the captured output of one hook run.
const hookOutputCap = 256 << 10

// ParseHook reads the --hook syntax NAME=COMMAND.
func ParseHook(s string) (name, command string, err error) {
	name, command, ok := strings.Cut(s, "=")
	name, command = strings.TrimSpace(name), strings.TrimSpace(command)
	if !ok || name == "" {
		return "", "", fmt.Errorf("hook %q: want NAME=COMMAND, e.g. cache-stop='docker stop redis'", s)
	}
	if err := checkHook(name, command); err != nil {
		return "", "", err
	}
	return name, command, nil
}

func checkHook(name, command string) error {
	if !contains(HookNames, name) {
		return fmt.Errorf("hook %q: unknown name; allowed: %s", name, strings.Join(HookNames, ", "))
	}
	if strings.TrimSpace(command) == "" {
		return fmt.Errorf("hook %s: empty command", name)
	}
	return nil
}

// CheckHooks validates hook names and commands.
func CheckHooks(h map[string]string) error {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checkHook(n, h[n]); err != nil {
			return err
		}
	}
	return nil
}

// HookError is a hook that ran and failed (non-zero exit, timeout, or output
// the harness could not use). Output holds what it printed.
type HookError struct {
	Name    string
	Command string
	Err     error
	Output  string
	Elapsed time.Duration
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("hook %s (sh -c %q) failed after %s: %v", e.Name, e.Command, e.Elapsed.Round(time.Millisecond), e.Err)
	if out := tail(e.Output, 5); out != "" {
		msg += "; output: " + out
	}
	return msg
}

func (e *HookError) Unwrap() error { return e.Err }

// noHook is the error for a feature whose hook is not configured.
func noHook(name string) error {
	return fmt.Errorf("%w: no %s hook configured (--hook %s=COMMAND or harness.yaml stack.hooks)", ErrUnsupported, name, name)
}

// hooks runs the configured commands of an external stack.
type hooks struct {
	cmds     map[string]string
	timeout  time.Duration
	env      []string // HARNESS_TARGET_URL etc., added to every run
	progress progress

	mu  sync.Mutex // serialises runs: the commands change shared state
	log []HookRun
}

// HookRun records one hook run for evidence.
type HookRun struct {
	Name     string  `json:"name"`
	Seconds  float64 `json:"seconds"`
	ExitCode int     `json:"exit_code"`
	Output   string  `json:"output,omitempty"`
	Error    string  `json:"error,omitempty"`
}

func (h *hooks) has(name string) bool { _, ok := h.cmds[name]; return ok }

// names returns the configured hook names, sorted.
func (h *hooks) names() []string {
	out := make([]string, 0, len(h.cmds))
	for n := range h.cmds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// run executes hook name with sh -c, bounded by the timeout, and returns
// its combined output. extra adds environment variables (K=V).
func (h *hooks) run(ctx context.Context, name string, extra ...string) (string, error) {
	command, ok := h.cmds[name]
	if !ok {
		return "", noHook(name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	// Own process group, so a timeout kills what the command started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = append(append(os.Environ(), h.env...), extra...)
	var out capBuffer
	out.max = hookOutputCap
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	rec := HookRun{Name: name, Seconds: elapsed.Seconds(), Output: tail(out.String(), 20)}
	if cmd.ProcessState != nil {
		rec.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s (raise --hook-timeout)", h.timeout)
		}
		herr := &HookError{Name: name, Command: command, Err: err, Output: out.String(), Elapsed: elapsed}
		rec.Error = herr.Error()
		h.log = append(h.log, rec)
		h.progress.printf("stack: hook %s failed after %.2fs: %v", name, elapsed.Seconds(), err)
		return out.String(), herr
	}
	h.log = append(h.log, rec)
	h.progress.printf("stack: hook %s ran in %.2fs", name, elapsed.Seconds())
	return out.String(), nil
}

// runs returns a copy of the hook runs so far.
func (h *hooks) runs() []HookRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]HookRun(nil), h.log...)
}

// cpuSeconds runs the cpu hook and parses its last non-empty line.
func (h *hooks) cpuSeconds(ctx context.Context) (float64, error) {
	out, err := h.run(ctx, HookCPU)
	if err != nil {
		return -1, err
	}
	line := lastLine(out)
	f := strings.Fields(line)
	var v float64
	if len(f) > 0 {
		v, err = strconv.ParseFloat(f[0], 64)
	}
	if len(f) == 0 || err != nil || v < 0 {
		return -1, &HookError{Name: HookCPU, Command: h.cmds[HookCPU], Output: out,
			Err: fmt.Errorf("printed %q: want the deployment's cumulative CPU seconds as a number on the last line, e.g. 12.34", truncateStr(line, 80))}
	}
	return v, nil
}

// hookControl is an external stack's Control: each operation runs its hook,
// and an operation without one is ErrUnsupported naming the missing hook.
type hookControl struct{ h *hooks }

// Missing reports which of the named hooks are not configured, as an error
// wrapping ErrUnsupported (nil when all are).
func (c hookControl) Missing(names ...string) error {
	for _, n := range names {
		if !c.h.has(n) {
			return noHook(n)
		}
	}
	return nil
}

func (c hookControl) Workers(context.Context) ([]Worker, error) {
	return nil, fmt.Errorf("%w: an external deployment's workers cannot be listed", ErrUnsupported)
}

// KillWorker runs the worker-kill hook with $HARNESS_WORKER_INDEX=index.
func (c hookControl) KillWorker(ctx context.Context, index int) error {
	_, err := c.h.run(ctx, HookWorkerKill, "HARNESS_WORKER_INDEX="+strconv.Itoa(index))
	return err
}

func (c hookControl) StopCache(ctx context.Context) error {
	if err := c.Missing(HookCacheStop, HookCacheStart); err != nil {
		return err // never stop what cannot be started again
	}
	_, err := c.h.run(ctx, HookCacheStop)
	return err
}

func (c hookControl) StartCache(ctx context.Context) error {
	_, err := c.h.run(ctx, HookCacheStart)
	return err
}

func (c hookControl) PauseCache(context.Context) error {
	return fmt.Errorf("%w: pausing the cache has no hook (use cache-stop/cache-start or cache-slow/cache-fast)", ErrUnsupported)
}

func (c hookControl) ResumeCache(context.Context) error { return c.PauseCache(context.Background()) }

// AddCacheLatency runs cache-slow with $HARNESS_CACHE_DELAY_MS; remove runs cache-fast.
func (c hookControl) AddCacheLatency(ctx context.Context, d time.Duration) (func(context.Context) error, error) {
	if err := c.Missing(HookCacheSlow, HookCacheFast); err != nil {
		return nil, err
	}
	if _, err := c.h.run(ctx, HookCacheSlow, "HARNESS_CACHE_DELAY_MS="+strconv.FormatInt(d.Milliseconds(), 10)); err != nil {
		// It may have half-applied: try to undo it.
		_, _ = c.h.run(context.WithoutCancel(ctx), HookCacheFast)
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := c.h.run(ctx, HookCacheFast)
		return err
	}, nil
}

// ControlMissing reports whether ctl can run the named hooks (stackinfo.ControlMissing).
var ControlMissing = stackinfo.ControlMissing

// externalStack is the backend of an external deployment: nothing to start
// or stop; what it can do comes from the hooks.
type externalStack struct{ h *hooks }

var controlHooks = []string{HookCacheStop, HookCacheStart, HookCacheSlow, HookCacheFast, HookWorkerKill}

func (e *externalStack) control() (Control, error) {
	for _, n := range controlHooks {
		if e.h.has(n) {
			return hookControl{e.h}, nil
		}
	}
	return nil, fmt.Errorf("%w: no control hook configured (%s; --hook NAME=COMMAND or harness.yaml stack.hooks)", ErrUnsupported, strings.Join(controlHooks, ", "))
}

func (e *externalStack) logs(ctx context.Context) string {
	out, err := e.readLogs(ctx)
	if err != nil {
		return ""
	}
	return out
}

func (e *externalStack) readLogs(ctx context.Context) (string, error) {
	return e.h.run(ctx, HookLogs)
}

func (e *externalStack) seed(context.Context, Seed, string) error {
	return fmt.Errorf("%w: an external deployment's data is its own", ErrUnsupported)
}

func (e *externalStack) down(context.Context) error { return nil }

func (e *externalStack) cpuTime(ctx context.Context) CPUTime {
	out := Unmeasured
	if v, err := e.h.cpuSeconds(ctx); err == nil {
		out.Target = v
	}
	return out
}

// ReadLogs returns the target's recent log lines, or why it cannot: in
// external mode the logs hook's output, ErrUnsupported without one, a
// *HookError when it failed.
func (s *Stack) ReadLogs(ctx context.Context) (string, error) {
	if s == nil || s.be == nil {
		return "", fmt.Errorf("%w: no stack", ErrUnsupported)
	}
	if e, ok := s.be.(*externalStack); ok {
		return e.readLogs(ctx)
	}
	return s.be.logs(ctx), nil
}

// ReadCPU is CPUTime with the reason when the target's CPU cannot be read
// (external mode: no cpu hook, or the hook failed or printed no number).
func (s *Stack) ReadCPU(ctx context.Context) (CPUTime, error) {
	if s == nil || s.be == nil {
		return Unmeasured, fmt.Errorf("%w: no stack", ErrUnsupported)
	}
	if e, ok := s.be.(*externalStack); ok {
		v, err := e.h.cpuSeconds(ctx)
		if err != nil {
			return Unmeasured, err
		}
		return CPUTime{Target: v, Cache: -1}, nil
	}
	return s.be.cpuTime(ctx), nil
}

// HookRuns lists the hook runs of an external stack so far (for evidence).
func (s *Stack) HookRuns() []HookRun {
	if s == nil {
		return nil
	}
	if e, ok := s.be.(*externalStack); ok {
		return e.h.runs()
	}
	return nil
}

// capBuffer keeps the first max bytes written and counts the rest.
type capBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	room := max(b.max-b.buf.Len(), 0)
	if room < len(p) {
		b.dropped += len(p) - room
		p = p[:room]
	}
	b.buf.Write(p)
	return n, nil // the rest is counted, not refused: the command must not see a short write
}

func (b *capBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[... %d bytes dropped]", b.dropped)
	}
	return b.buf.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// tail returns the last n non-empty lines of s joined with " | ".
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func truncateStr(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
