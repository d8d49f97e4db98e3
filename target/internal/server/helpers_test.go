package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/limiter"
	"github.com/ahsp-harness/harness/target/internal/store"
	"github.com/ahsp-harness/harness/target/internal/web"
)

const (
	testPassword = "ahsp-pass"
	testUsers    = 3
	testProjects = 2 // per user: user i owns (i-1)*2+1 .. i*2
)

// syncBuffer collects JSON log lines from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the decoded log lines whose msg is msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(s.b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// testDB is one seeded database per test binary; tests that write open their own.
var testDB struct {
	once sync.Once
	path string
	err  error
}

func seededDB(t testing.TB) *store.Store {
	t.Helper()
	testDB.once.Do(func() {
		dir, err := os.MkdirTemp("", "ahsp-server-test-")
		if err != nil {
			testDB.err = err
			return
		}
		testDB.path = filepath.Join(dir, "ahsp.db")
		ctx := context.Background()
		st, err := store.Open(ctx, testDB.path)
		if err != nil {
			testDB.err = err
			return
		}
		defer st.Close()
		testDB.err = seed(ctx, st)
	})
	require.NoError(t, testDB.err)
	st, err := store.Open(context.Background(), testDB.path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// appOpts configures one test worker.
type appOpts struct {
	defects []string
	limits  map[string]Limit
	policy  string
	// lim is the limiter; nil means a fresh locmem fixed-window limiter.
	lim      limiter.Limiter
	sessions Sessions
	cache    Pinger
	api      APIFunc
	index    int
	// loginFailures is login-lockout's store (nil: memory); cacheAddr the
	// Redis address the deployed health text names.
	loginFailures Sessions
	cacheAddr     string
}

type testApp struct {
	srv  *Server
	ts   *httptest.Server
	st   *store.Store
	logs *syncBuffer
}

func newApp(t testing.TB, o appOpts) *testApp {
	t.Helper()
	return newAppWithStore(t, seededDB(t), o)
}

func newAppWithStore(t testing.TB, st *store.Store, o appOpts) *testApp {
	t.Helper()
	set, err := defects.Parse(o.defects)
	require.NoError(t, err)
	if o.lim == nil {
		o.lim, err = limiter.New(limiter.Config{Backend: "locmem", Algorithm: "fixed", Naive: set.Has("naive-limiter")})
		require.NoError(t, err)
	}
	if o.sessions == nil {
		o.sessions = st.Sessions()
	}
	if o.api == nil {
		o.api = echoAPI
	}
	backend := "locmem"
	if o.cache != nil {
		backend = "redis"
	}
	logs := &syncBuffer{}
	ui := web.New(set)
	srv, err := New(Config{
		WorkerIndex:   max(o.index, 1),
		Defects:       set,
		Limits:        o.limits,
		FailurePolicy: o.policy,
		CacheTimeout:  3 * time.Second, // generous: -race and a busy machine slow Redis calls
		CacheBackend:  backend,
		CacheAddr:     o.cacheAddr,
		Logger:        slog.New(slog.NewJSONHandler(logs, nil)),
	}, Deps{
		Store:         st,
		Sessions:      o.sessions,
		Cache:         o.cache,
		Limit:         FromLimiter(o.lim),
		LoginFailures: o.loginFailures,
		API:           o.api,
		Page: func(w http.ResponseWriter, r *http.Request, page string, p PageParams) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			switch page {
			case "landing":
				require.NoError(t, ui.RenderLanding(w))
			case "dashboard":
				require.NoError(t, ui.RenderDashboard(w, web.DashboardData{ProjectID: p.ProjectID}))
			default:
				require.NoError(t, ui.RenderPage(w, page, web.PageData{ProjectID: p.ProjectID, CSRFToken: p.CSRFToken}))
			}
		},
		Login: func(w http.ResponseWriter, p LoginParams) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			require.NoError(t, ui.RenderLogin(w, web.LoginData{CSRFToken: p.CSRFToken, Next: p.Next, Error: p.Error, Login: p.Login}))
		},
		Static: ui.StaticHandler(),
	})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testApp{srv: srv, ts: ts, st: st, logs: logs}
}

// echoAPI answers what the router resolved, so routing tests see it.
func echoAPI(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p Params) {
	b, _ := io.ReadAll(r.Body)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "operation": op.Name, "version": v, "user": p.UserID,
		"project": p.ProjectID, "pekerjaan": p.PekerjaanID, "body_bytes": len(b), "cache_down": p.CacheDown,
	})
}

// login returns a logged-in Django client for user i.
func (a *testApp) login(t testing.TB, i int) *client.Client {
	t.Helper()
	return loginAt(t, a.ts.URL, i)
}

func loginAt(t testing.TB, base string, i int) *client.Client {
	t.Helper()
	c, err := client.New(base)
	require.NoError(t, err)
	require.NoError(t, c.Login(context.Background(), fmt.Sprintf("user%d", i), testPassword))
	return c
}

// project returns the first project of user i.
func project(i int) int { return (i-1)*testProjects + 1 }

// do sends a request with the client's cookies and exactly the given headers.
func do(t testing.TB, c *client.Client, method, path string, h http.Header, body string) *client.Response {
	t.Helper()
	if h == nil {
		h = http.Header{}
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	resp, err := c.DoRaw(context.Background(), method, path, h, r)
	require.NoError(t, err)
	return resp
}

// apiHeaders are jfetch's headers with the CSRF token of c.
func apiHeaders(c *client.Client) http.Header {
	h := c.Headers()
	h.Del("Cookie")
	h.Set("Content-Type", "application/json")
	return h
}

// anon returns a client without a session.
func anon(t testing.TB, base string) *client.Client {
	t.Helper()
	c, err := client.New(base)
	require.NoError(t, err)
	return c
}

// redisServer is a real redis-server on a free loopback port, owned by one
// test so the test may stop it.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin := testenv.NeedBinary(t, "redis-server", "apt-get install -y redis-server: failure-policy and shared-limit tests need it")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning")
	require.NoError(t, cmd.Start())
	rs := &redisServer{addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(rs.done) }()
	t.Cleanup(rs.stop)
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		require.True(t, time.Now().Before(deadline), "redis-server on %s did not answer within 5s", addr)
		time.Sleep(20 * time.Millisecond)
	}
	return rs
}

func (r *redisServer) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

// client returns a go-redis client configured like the target's.
func (r *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{
		// Generous timeouts: 200 concurrent requests open many connections
		// at once on a shared machine; these tests are about counting.
		Addr: r.addr, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: 2 * time.Second, PoolTimeout: 2 * time.Second,
		MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true, PoolSize: 64,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// seed writes testUsers users with testProjects projects each.
func seed(ctx context.Context, st *store.Store) error {
	return st.Seed(ctx, store.SeedSpec{Users: testUsers, Projects: testProjects, Password: testPassword})
}
