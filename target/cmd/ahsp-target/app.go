package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/server"
)

// appStore is what the worker needs from the database.
type appStore interface {
	server.Store
	close()
	sessions() server.Sessions
	names(userID, projectID int64) (user, project string)
}

// errNoStore is returned until the store package is wired in.
var errNoStore = errors.New("store not built into this binary yet")

type pendingStore struct{ mem *server.MemorySessions }

func (pendingStore) Ping(context.Context) error { return errNoStore }
func (pendingStore) Authenticate(context.Context, string, string) (int64, bool, error) {
	return 0, false, nil
}
func (pendingStore) ProjectOwner(context.Context, int64) (int64, bool, error) { return 0, false, nil }
func (pendingStore) FirstProject(context.Context, int64) (int64, bool, error) { return 0, false, nil }
func (pendingStore) close()                                                   {}
func (p pendingStore) sessions() server.Sessions                              { return p.mem }
func (pendingStore) names(int64, int64) (string, string)                      { return "", "" }

func openApp(_ context.Context, _ config, _ defects.Set) (appStore, server.APIFunc, error) {
	apiFn := func(w http.ResponseWriter, _ *http.Request, _ api.Operation, _ api.Version, _ server.Params) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"ok":false,"errors":[{"path":"","message":"handlers not built into this binary yet"}]}`))
	}
	return pendingStore{mem: server.NewMemorySessions()}, apiFn, nil
}

func seedDB(_ context.Context, log *slog.Logger, c config) error {
	log.Warn("seed skipped: store not built into this binary yet", "db", c.DB)
	return nil
}
