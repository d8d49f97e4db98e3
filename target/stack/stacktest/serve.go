package stacktest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ahsp-harness/harness/target/stack"
)

// Served is a reference target the test started as its own process, the
// way an operator runs a deployment: the harness reaches it only as
// --stack external.
type Served struct {
	URL    string // http://127.0.0.1:port
	RunDir string // holds worker-<i>.pid
	PID    int    // the master
	mu     sync.Mutex
	log    strings.Builder
}

// Log is what the target printed so far.
func (s *Served) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Serve starts `ahsp-target serve` with args on a free loopback port and a
// fresh database and run dir, waits for it to listen, and stops it when the
// test ends. A target that cannot be built skips locally, fails under CI.
func Serve(t testing.TB, args ...string) *Served {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: starts a reference target process (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	Need(t, "a buildable reference target", err)
	dir := t.TempDir()
	s := &Served{RunDir: filepath.Join(dir, "run")}
	full := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "ahsp.db"), "--run-dir", s.RunDir}, args...)
	cmd := exec.Command(bin, full...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s.PID = cmd.Process.Pid
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			var m struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "listening" && m.Addr != "" {
				select {
				case listening <- m.Addr:
				default:
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(done)
	}()
	select {
	case addr := <-listening:
		s.URL = "http://" + addr
	case <-done:
		t.Fatalf("ahsp-target %s exited before listening:\n%s", strings.Join(full, " "), s.Log())
	case <-time.After(time.Minute):
		t.Fatalf("ahsp-target %s did not listen within a minute:\n%s", strings.Join(full, " "), s.Log())
	}
	// Ready means the workers answer, not only the master's socket.
	if err := waitReady(ctx, s.URL+stack.ReadyPath); err != nil {
		t.Fatalf("ahsp-target at %s not ready: %v\n%s", s.URL, err, s.Log())
	}
	return s
}

func waitReady(ctx context.Context, url string) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s answered %d", url, resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
