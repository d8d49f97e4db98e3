package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ReadyPath is polled until it answers 200.
const ReadyPath = "/health/ready/"

// waitReady polls baseURL+ReadyPath until it answers 200, the deadline
// passes, or exited reports that the target died. logs supplies the lines
// quoted in the error.
func waitReady(ctx context.Context, baseURL string, timeout time.Duration, exited func() error, logs func() string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		if exited != nil {
			if err := exited(); err != nil {
				return fmt.Errorf("%w: target exited before it was ready (%v); last log lines:\n%s", ErrStart, err, lastLines(logs(), 20))
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+ReadyPath, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("status %d", resp.StatusCode)
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s%s not ready after %s (last: %s); last log lines:\n%s",
				ErrStart, baseURL, ReadyPath, timeout, last, lastLines(logs(), 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ringLog keeps the last lines written to it, for Logs and error messages.
type ringLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	max     int
	onLine  func(string)
}

func (r *ringLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		line := string(r.partial[:i])
		r.partial = r.partial[i+1:]
		r.lines = append(r.lines, line)
		if len(r.lines) > r.max {
			r.lines = r.lines[len(r.lines)-r.max:]
		}
		if r.onLine != nil {
			r.onLine(line)
		}
	}
	return len(p), nil
}

func (r *ringLog) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.lines, "\n")
	if len(r.partial) > 0 {
		s += "\n" + string(r.partial)
	}
	return s
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkPortFree fails with a clear message when port is taken on 127.0.0.1.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("%w: port %d on 127.0.0.1 is in use (%v): stop what listens there or pick another port (--port 0 picks a free one)", ErrStart, port, err)
	}
	return l.Close()
}

// DockerHost is the engine address the docker mode uses: $DOCKER_HOST or the default socket.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// PingDocker says whether a Docker engine answers at DockerHost (its /_ping,
// within 2 s): what docker mode needs before anything is built.
func PingDocker(ctx context.Context) error { return pingDocker(ctx) }

// pingDocker asks the engine's /_ping, with a short deadline.
func pingDocker(ctx context.Context) error {
	host := DockerHost()
	var hc *http.Client
	base := ""
	switch {
	case strings.HasPrefix(host, "unix://"):
		sock := strings.TrimPrefix(host, "unix://")
		hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
		base = "http://docker"
	case strings.HasPrefix(host, "tcp://"):
		hc = &http.Client{}
		base = "http://" + strings.TrimPrefix(host, "tcp://")
	default:
		return fmt.Errorf("docker host %q: only unix:// and tcp:// are supported", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping answered %d", resp.StatusCode)
	}
	return nil
}

// chooseMode implements auto: docker when an engine answers, else local.
func chooseMode(ctx context.Context) (mode, reason string) {
	if err := pingDocker(ctx); err != nil {
		return ModeLocal, fmt.Sprintf("no Docker engine at %s; using local mode", DockerHost())
	}
	return ModeDocker, fmt.Sprintf("Docker engine answered at %s", DockerHost())
}
