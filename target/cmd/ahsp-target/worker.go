package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/limiter"
	"github.com/ahsp-harness/harness/target/internal/master"
	"github.com/ahsp-harness/harness/target/internal/server"
	"github.com/ahsp-harness/harness/target/internal/web"
)

// newRedis returns a client whose every call is bounded by timeout and never
// retried, so a dead or slow Redis costs one timeout, not several.
func newRedis(c config) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  c.RedisAddr,
		DialTimeout:           max(c.RedisTimeout, 100*time.Millisecond),
		ReadTimeout:           c.RedisTimeout,
		WriteTimeout:          c.RedisTimeout,
		PoolTimeout:           c.RedisTimeout,
		MaxRetries:            -1,
		DialerRetries:         1,
		ContextTimeoutEnabled: true,
	})
}

// redisLog sends go-redis's own messages (pool dial failures) to the JSON log.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client", "detail", fmt.Sprintf(format, v...))
}

func runWorker(ctx context.Context, p proc, c config, w master.Worker) error {
	log := newLogger(p.stderr).With("role", "worker")
	redis.SetLogger(redisLog{log})
	set, err := defects.Parse(c.Defects)
	if err != nil {
		return err
	}
	h, closeFn, err := buildHandler(ctx, c, set, w.Index, log)
	if err != nil {
		return fmt.Errorf("worker %d: %w", w.Index, err)
	}
	defer closeFn()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       75 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if set.Has("connection-close") {
		// gunicorn sync workers: one request per connection, taken in turn.
		if w.Listener, err = master.FIFO(w.Listener); err != nil {
			return fmt.Errorf("worker %d: %w", w.Index, err)
		}
	}
	log.Info("worker ready", "worker", w.Index, "pid", os.Getpid())
	if err := w.Serve(ctx, srv, c.DrainTimeout); err != nil {
		return err
	}
	log.Info("worker drained", "worker", w.Index, "pid", os.Getpid())
	return nil
}

// buildHandler wires the store, cache, limiter, API handlers and frontend
// into one worker's server.
func buildHandler(ctx context.Context, c config, set defects.Set, index int, log *slog.Logger) (http.Handler, func(), error) {
	closers := []func(){}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var rdb *redis.Client
	var cache server.Pinger
	if c.Cache == "redis" {
		rdb = newRedis(c)
		closers = append(closers, func() { rdb.Close() })
		cache = redisPinger{rdb}
	}
	st, api, err := openApp(ctx, c, set, log, rdb)
	if err != nil {
		closeAll()
		return nil, func() {}, err
	}
	closers = append(closers, st.close)
	lim, err := limiter.New(limiter.Config{
		Backend:   c.Cache,
		Algorithm: c.Limiter,
		Redis:     redisClient(rdb),
		Naive:     set.Has("naive-limiter"),
	})
	if err != nil {
		closeAll()
		return nil, func() {}, fmt.Errorf("build limiter: %w", err)
	}
	var sessions server.Sessions
	var sessionTimeout time.Duration
	switch {
	case set.Has("local-sessions"):
		sessions = server.NewMemorySessions()
	case c.SessionStore == "cache" && rdb != nil:
		sessions = server.NewRedisSessions(rdb)
		sessionTimeout = c.RedisTimeout
	case c.SessionStore == "cache":
		sessions = server.NewMemorySessions()
	default:
		sessions = st.sessions()
	}
	ui := web.New(set)
	srv, err := server.New(server.Config{
		WorkerIndex:    index,
		Defects:        set,
		Limits:         c.Limits,
		FailurePolicy:  c.FailurePolicy,
		CacheTimeout:   c.RedisTimeout,
		SessionTimeout: sessionTimeout,
		CacheBackend:   c.Cache,
		CacheAddr:      c.RedisAddr,
		MetricsDir:     c.RunDir,
		Logger:         log,
	}, server.Deps{
		Store:    st,
		Sessions: sessions,
		Cache:    cache,
		Limit:    server.FromLimiter(lim),
		// The failed-login count of login-lockout lives in the cache.
		LoginFailures: loginFailures(rdb),
		API:           api,
		Page:          pageFunc(ui, st),
		Login:         loginFunc(ui),
		Static:        ui.StaticHandler(),
	})
	if err != nil {
		closeAll()
		return nil, func() {}, err
	}
	return srv, closeAll, nil
}

// redisClient avoids a typed-nil interface when there is no Redis.
func redisClient(c *redis.Client) redis.UniversalClient {
	if c == nil {
		return nil
	}
	return c
}

type redisPinger struct{ c *redis.Client }

func (r redisPinger) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// redisKV is the shared cache as django-redis keeps it (key prefix and
// version "ahsp:1:").
type redisKV struct{ c *redis.Client }

func (r redisKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := r.c.Get(ctx, "ahsp:1:"+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (r redisKV) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return r.c.Set(ctx, "ahsp:1:"+key, val, ttl).Err()
}

func pageFunc(ui *web.Web, st appStore) server.PageFunc {
	return func(w http.ResponseWriter, r *http.Request, page string, p server.PageParams) {
		data := web.PageData{ProjectID: p.ProjectID, CSRFToken: p.CSRFToken}
		if p.UserID != 0 {
			data.UserName, data.ProjectName = st.names(r.Context(), p.UserID, p.ProjectID)
		}
		var buf bytes.Buffer
		var err error
		switch page {
		case "landing":
			err = ui.RenderLanding(&buf)
		case "dashboard":
			err = ui.RenderDashboard(&buf, web.DashboardData{UserName: data.UserName, ProjectID: p.ProjectID})
		default:
			err = ui.RenderPage(&buf, page, data)
		}
		if err != nil {
			panic(fmt.Errorf("render page %s: %w", page, err))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	}
}

func loginFunc(ui *web.Web) server.LoginFunc {
	return func(w http.ResponseWriter, p server.LoginParams) {
		var buf bytes.Buffer
		err := ui.RenderLogin(&buf, web.LoginData{CSRFToken: p.CSRFToken, Next: p.Next, Error: p.Error, Login: p.Login})
		if err != nil {
			panic(fmt.Errorf("render login: %w", err))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	}
}

// loginFailures is where login-lockout counts: Redis when the cache is
// Redis, else this worker's memory (nil).
func loginFailures(rdb *redis.Client) server.Sessions {
	if rdb == nil {
		return nil
	}
	return server.NewRedisSessions(rdb)
}
