package master_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/internal/master"
)

var binary string

// TestMain builds ahsp-target once, statically, as the stack does.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ahsp-master-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ahsp-target")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/ahsp-harness/harness/target/cmd/ahsp-target")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ahsp-target:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Msg    string `json:"msg"`
	Addr   string `json:"addr"`
	Worker any    `json:"worker"`
	PID    int    `json:"pid"`
	Role   string `json:"role"`
}

// running is a started master with its log lines streamed into a channel.
type running struct {
	cmd    *exec.Cmd
	runDir string
	addr   string
	mu     sync.Mutex
	lines  []logLine
	seen   chan logLine
	done   chan error
}

func start(t *testing.T, workers int) *running {
	t.Helper()
	dir := t.TempDir()
	r := &running{runDir: filepath.Join(dir, "run"), seen: make(chan logLine, 1024), done: make(chan error, 1)}
	r.cmd = exec.Command(binary, "serve",
		"--addr", "127.0.0.1:0",
		"--workers", fmt.Sprint(workers),
		"--run-dir", r.runDir,
		"--db", filepath.Join(dir, "ahsp.db"),
		"--seed", "users=2,projects=1",
		"--drain-timeout", "5s")
	r.cmd.Env = append(os.Environ(), "AHSP_WORKERS=9") // the flag must win
	stderr, err := r.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				r.mu.Lock()
				r.lines = append(r.lines, l)
				r.mu.Unlock()
				select {
				case r.seen <- l:
				default:
				}
			}
		}
		r.done <- r.cmd.Wait()
	}()
	l := r.waitLog(t, 10*time.Second, func(l logLine) bool { return l.Msg == "listening" })
	r.addr = l.Addr
	started := 0
	r.waitLog(t, 10*time.Second, func(l logLine) bool {
		if l.Msg == "worker ready" {
			started++
		}
		return started == workers
	})
	return r
}

func (r *running) waitLog(t *testing.T, d time.Duration, pred func(logLine) bool) logLine {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-r.seen:
			if pred(l) {
				return l
			}
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no matching log line within %s; saw %+v", d, r.lines)
		}
	}
}

// workerOf makes one request on a fresh connection and returns X-Worker-Id.
func workerOf(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/health/live/")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"status":"alive"}`, string(b))
	return resp.Header.Get("X-Worker-Id")
}

func TestMasterWorkersRestartAndDrain(t *testing.T) {
	r := start(t, 2)

	// Both workers accept on the one socket.
	ids := map[string]bool{}
	for i := 0; i < 400 && len(ids) < 2; i++ {
		ids[workerOf(t, r.addr)] = true
	}
	require.Len(t, ids, 2, "two workers should answer across new connections: %v", ids)
	for id := range ids {
		require.Regexp(t, `^[12]-\d+$`, id)
	}

	// kill -9 of worker 1 through the pid file: it is back within a second.
	oldPID, err := master.ReadPID(r.runDir, 1)
	require.NoError(t, err)
	killed := time.Now()
	pid, err := master.KillWorker(r.runDir, 1, syscall.SIGKILL)
	require.NoError(t, err)
	require.Equal(t, oldPID, pid)
	l := r.waitLog(t, 5*time.Second, func(l logLine) bool {
		return l.Msg == "worker started" && fmt.Sprint(l.Worker) == "1"
	})
	require.Less(t, time.Since(killed), time.Second, "worker restart took too long")
	require.NotEqual(t, oldPID, l.PID)
	newPID, err := master.ReadPID(r.runDir, 1)
	require.NoError(t, err)
	require.Equal(t, l.PID, newPID)
	want := fmt.Sprintf("1-%d", newPID)
	got := false
	for i := 0; i < 400 && !got; i++ {
		got = workerOf(t, r.addr) == want
	}
	require.True(t, got, "restarted worker %s never answered", want)

	// SIGTERM drains: an in-flight request (its body still arriving) is
	// answered, then the master exits 0.
	conn, err := net.DialTimeout("tcp", r.addr, 5*time.Second)
	require.NoError(t, err)
	defer conn.Close()
	body := "login=user1&password=x&csrfmiddlewaretoken=tok"
	_, err = fmt.Fprintf(conn, "POST /accounts/login/ HTTP/1.1\r\nHost: %s\r\nCookie: csrftoken=tok\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", r.addr, len(body), body[:10])
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // let a worker pick the request up
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(300 * time.Millisecond) // drain has begun; the request is still in flight
	_, err = io.WriteString(conn, body[10:])
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(status, "HTTP/1.1 "), status)
	require.NotContains(t, status, " 5", "in-flight request failed during drain: %s", status)

	select {
	case err := <-r.done:
		require.NoError(t, err, "master should exit 0 after draining")
	case <-time.After(10 * time.Second):
		t.Fatal("master did not exit after SIGTERM")
	}
	_, err = net.DialTimeout("tcp", r.addr, time.Second)
	require.Error(t, err, "the socket should be closed after the drain")
}

func TestParseSignal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"KILL", syscall.SIGKILL, false},
		{"sigterm", syscall.SIGTERM, false},
		{"9", syscall.SIGKILL, false},
		{"bogus", 0, true},
		{"0", 0, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := master.ParseSignal(c.in)
			if c.err {
				require.ErrorContains(t, err, "allowed values")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestReadPIDErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := master.ReadPID(dir, 1)
	require.ErrorContains(t, err, "worker 1")
	require.NoError(t, os.WriteFile(master.PIDFile(dir, 2), []byte("nope\n"), 0o644))
	_, err = master.ReadPID(dir, 2)
	require.ErrorContains(t, err, "not a pid")
	require.NoError(t, master.WritePID(dir, 3, 4242))
	pid, err := master.ReadPID(dir, 3)
	require.NoError(t, err)
	require.Equal(t, 4242, pid)
}

func TestRunRejectsBadOptions(t *testing.T) {
	err := master.Run(context.Background(), master.Options{Workers: 0})
	require.ErrorContains(t, err, "at least 1")
}
