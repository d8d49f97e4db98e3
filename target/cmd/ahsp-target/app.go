package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/handlers"
	"github.com/ahsp-harness/harness/target/internal/server"
	"github.com/ahsp-harness/harness/target/internal/store"
)

// appStore adapts the store to what the worker wiring needs.
type appStore struct {
	*store.Store
}

func (a appStore) close() { _ = a.Close() }

func (a appStore) sessions() server.Sessions { return a.Sessions() }

// names returns the user's name for the page header; the project name is
// left to the page scripts, which load the project through the API.
func (a appStore) names(ctx context.Context, userID, _ int64) (string, string) {
	u, ok, err := a.UserByID(ctx, userID)
	if err != nil || !ok {
		return "", ""
	}
	return u.Username, ""
}

// openApp opens the shared database and the API handlers of one worker.
func openApp(ctx context.Context, c config, set defects.Set, log *slog.Logger, rdb *redis.Client) (appStore, server.APIFunc, error) {
	st, err := store.Open(ctx, c.DB)
	if err != nil {
		return appStore{}, nil, err
	}
	h := handlers.New(st, set)
	h.SetLogger(log)
	if rdb != nil {
		// django-redis: the cached trees are every worker's.
		h.SetSharedCache(redisKV{rdb})
	}
	apiFn := func(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p server.Params) {
		h.Serve(w, r, op, v, handlers.Params{UserID: p.UserID, ProjectID: p.ProjectID, PekerjaanID: p.PekerjaanID, CacheDown: p.CacheDown})
	}
	return appStore{st}, apiFn, nil
}

// seedDB creates or refreshes the database once, before any worker starts.
func seedDB(ctx context.Context, log *slog.Logger, c config) error {
	start := time.Now()
	st, err := store.Open(ctx, c.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Seed(ctx, store.SeedSpec{Users: c.SeedUsers, Projects: c.SeedProjects, Password: c.SeedPassword}); err != nil {
		return fmt.Errorf("seed %s: %w", c.DB, err)
	}
	log.Info("seeded", "db", c.DB, "users", c.SeedUsers, "projects_per_user", c.SeedProjects,
		"took", time.Since(start).Round(time.Millisecond).String())
	return nil
}
