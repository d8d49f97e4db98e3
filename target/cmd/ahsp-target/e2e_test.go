package main

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
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// builtBinary is ahsp-target built statically once per test binary.
var builtBinary string

func binary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	dir, err := os.MkdirTemp("", "ahsp-target-e2e-")
	require.NoError(t, err)
	out := filepath.Join(dir, "ahsp-target")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	builtBinary = out
	return out
}

func startRedisServer(t *testing.T) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr = ln.Addr().String()
	ln.Close()
	return addr, startRedisServerAt(t, addr)
}

// startRedisServerAt runs redis-server on addr (a loopback host:port).
func startRedisServerAt(t *testing.T, addr string) (stop func()) {
	t.Helper()
	bin := testenv.NeedBinary(t, "redis-server", "apt-get install -y redis-server")
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		require.True(t, time.Now().Before(deadline), "redis-server did not start")
		time.Sleep(20 * time.Millisecond)
	}
	return stop
}

// serve starts the real binary and returns its base URL once all workers are ready.
func serve(t *testing.T, workers int, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0",
		"--workers", fmt.Sprint(workers), "--db", filepath.Join(dir, "a.db"),
		"--run-dir", filepath.Join(dir, "run"), "--seed", "users=2,projects=1"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	addr := make(chan string, 1)
	ready := make(chan struct{}, workers)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Msg {
			case "listening":
				addr <- l.Addr
			case "worker ready":
				ready <- struct{}{}
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(15 * time.Second):
		t.Fatal("target did not log its address")
	}
	for range workers {
		select {
		case <-ready:
		case <-time.After(15 * time.Second):
			t.Fatal("workers did not become ready")
		}
	}
	return base
}

// fresh sends a GET on a new connection with c's cookies, so requests spread
// over the workers.
func fresh(t *testing.T, c *client.Client, path string) *http.Response {
	t.Helper()
	resp, _ := freshBody(t, c, path)
	return resp
}

// freshBody is fresh with the answer's body.
func freshBody(t *testing.T, c *client.Client, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", c.URL(path), nil)
	require.NoError(t, err)
	req.Header.Set("Cookie", "sessionid="+c.SessionID()+"; csrftoken="+c.CSRFToken())
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func login(t *testing.T, base string) *client.Client {
	t.Helper()
	c, err := client.New(base)
	require.NoError(t, err)
	require.NoError(t, c.Login(context.Background(), "user1", "ahsp-pass"))
	return c
}

// The real binary with Redis: cache sessions and one shared limit across
// workers; with Redis gone, fail-closed answers 503 and /health/ reports it.
func TestServeWithRedisAcrossWorkers(t *testing.T) {
	raddr, stopRedis := startRedisServer(t)
	base := serve(t, 2, "--cache", "redis", "--redis-addr", raddr, "--session-store", "cache", "--redis-timeout", "2s",
		"--limiter", "sliding", "--limits", "read=5/60")
	c := login(t, base)
	path := api.Operations[2].URLPath(api.Legacy, 1, 0)
	workersSeen := map[string]bool{}
	statuses := map[int]int{}
	for range 20 {
		resp := fresh(t, c, path)
		statuses[resp.StatusCode]++
		workersSeen[api.WorkerIndex(resp.Header.Get(api.WorkerHeader))] = true
	}
	require.Equal(t, map[int]int{200: 5, 429: 15}, statuses, "sessions and the limit are shared through Redis")
	require.Len(t, workersSeen, 2)

	stopRedis()
	require.Equal(t, http.StatusServiceUnavailable, fresh(t, c, "/health/").StatusCode)
	require.Equal(t, http.StatusServiceUnavailable, fresh(t, c, path).StatusCode)
}

// A Redis restart must not cost a 503 on each pooled connection the restart
// reset: the client retries such a call once, within the same deadline.
func TestRedisRestartCostsNoRequest(t *testing.T) {
	raddr, stopRedis := startRedisServer(t)
	base := serve(t, 1, "--cache", "redis", "--redis-addr", raddr, "--redis-timeout", "2s", "--limits", "read=1000/60")
	c := login(t, base)
	path := api.Operations[2].URLPath(api.Legacy, 1, 0)
	for range 5 {
		require.Equal(t, http.StatusOK, fresh(t, c, path).StatusCode)
	}
	stopRedis()
	startRedisServerAt(t, raddr)
	for i := range 10 {
		require.Equal(t, http.StatusOK, fresh(t, c, path).StatusCode, "request %d after the Redis restart", i+1)
	}
}

func TestLocalSessionsDefectBouncesAcrossWorkers(t *testing.T) {
	base := serve(t, 2, "--defect", "local-sessions")
	c := login(t, base)
	path := api.Operations[2].URLPath(api.Legacy, 1, 0)
	seen := map[int]bool{}
	for i := 0; i < 400 && !(seen[200] && seen[302]); i++ {
		seen[fresh(t, c, path).StatusCode] = true
	}
	require.True(t, seen[200] && seen[302], "the logged-in worker answers 200, the other bounces to login: %v", seen)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	os.Exit(code)
}

// With the cache in Redis (django-redis), the tree-cache-stale entry is
// every worker's: after an upsert, a worker that never read the tree serves
// the tree another worker cached, and the entry sits under django-redis's
// prefix with the 300 s timeout.
func TestTreeCacheSharedThroughRedis(t *testing.T) {
	raddr, _ := startRedisServer(t)
	base := serve(t, 2, "--cache", "redis", "--redis-addr", raddr, "--session-store", "cache", "--redis-timeout", "2s",
		"--defect", "tree-cache-stale", "--limits", "read=1000/60,bulk=1000/60")
	c := login(t, base)
	tree := api.Operations[2].URLPath(api.Legacy, 1, 0)
	read := func() (name, worker string) {
		resp, body := freshBody(t, c, tree)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var d struct {
			Klasifikasi []map[string]any `json:"klasifikasi"`
		}
		require.NoError(t, json.Unmarshal(body, &d))
		require.NotEmpty(t, d.Klasifikasi)
		return d.Klasifikasi[0]["name"].(string), api.WorkerIndex(resp.Header.Get(api.WorkerHeader))
	}
	// One read caches the tree (on whichever worker took it).
	old, _ := read()
	resp, err := c.Do(context.Background(), "GET", tree, nil)
	require.NoError(t, err)
	var d map[string]any
	require.NoError(t, json.Unmarshal(resp.Body, &d))
	ks := d["klasifikasi"].([]any)
	ks[0].(map[string]any)["name"] = "Diganti uji"
	up, err := c.Do(context.Background(), "POST", api.Operations[1].URLPath(api.Legacy, 1, 0), map[string]any{"klasifikasi": ks})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, up.Status, string(up.Body))

	workers := map[string]bool{}
	for i := 0; i < 40 && len(workers) < 2; i++ {
		name, w := read()
		require.Equal(t, old, name, "read %d on worker %s: the shared entry, not a fresh tree", i+1, w)
		workers[w] = true
	}
	require.Len(t, workers, 2, "both workers served the cached tree")

	rdb := redis.NewClient(&redis.Options{Addr: raddr})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "ahsp:1:tree:1:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	ttl, err := rdb.TTL(context.Background(), keys[0]).Result()
	require.NoError(t, err)
	require.InDelta(t, 300, ttl.Seconds(), 10)
}
