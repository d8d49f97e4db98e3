package server

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds the database check of /health/ and /health/ready/.
const healthTimeout = 2 * time.Second

type checkResult struct {
	Status  string `json:"status"`
	Backend string `json:"backend,omitempty"`
	Message string `json:"message,omitempty"`
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, kind string) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if kind == "ready" && s.cfg.Defects.Has("cache-errors-raise") {
		kind = "deep" // the deployed /health/ready/ is /health/ (REAL-APP.md section 7)
	}
	switch kind {
	case "simple":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case "live":
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	case "ready":
		db := s.checkDB(r.Context())
		if db.Status != "ok" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": map[string]checkResult{"database": db}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "worker": s.workerID})
	default:
		if s.cfg.Defects.Has("health-session-simple") && r.URL.Query().Get("mode") != "deep" && s.loggedIn(r) {
			// The deployed /health/ skips its checks for a logged-in session.
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": map[string]string{"mode": "simple"},
				"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")})
			return
		}
		checks := map[string]checkResult{"database": s.checkDB(r.Context()), "cache": s.checkCache(r.Context())}
		status, code := "ok", http.StatusOK
		for _, c := range checks {
			if c.Status != "ok" {
				status, code = "error", http.StatusServiceUnavailable
			}
		}
		writeJSON(w, code, map[string]any{"status": status, "checks": checks, "worker": s.workerID})
	}
}

func (s *Server) checkDB(ctx context.Context) checkResult {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	if err := s.d.Store.Ping(ctx); err != nil {
		s.log.Error("health: database", "err", err.Error())
		return checkResult{Status: "error", Backend: "sqlite", Message: "database unavailable: " + err.Error()}
	}
	return checkResult{Status: "ok", Backend: "sqlite"}
}

func (s *Server) checkCache(ctx context.Context) checkResult {
	if s.d.Cache == nil {
		return checkResult{Status: "ok", Backend: s.cfg.CacheBackend}
	}
	ctx, cancel := context.WithTimeout(ctx, max(s.cfg.CacheTimeout, 500*time.Millisecond))
	defer cancel()
	if err := s.d.Cache.Ping(ctx); err != nil {
		s.metrics.cacheError("health")
		s.log.Error("health: cache", "err", err.Error())
		if s.cfg.Defects.Has("cache-errors-raise") {
			return checkResult{Status: "error", Message: redisPyMessage(s.cfg.CacheAddr, err)}
		}
		return checkResult{Status: "error", Backend: s.cfg.CacheBackend, Message: "cache unavailable: " + err.Error()}
	}
	return checkResult{Status: "ok", Backend: s.cfg.CacheBackend}
}

// loggedIn reports whether r carries a live session (a session store error
// counts as anonymous: health never fails on it).
func (s *Server) loggedIn(r *http.Request) bool {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return false
	}
	ctx, cancel := s.sessionCtx(r)
	defer cancel()
	uid, found, err := s.d.Sessions.Get(ctx, c.Value)
	return err == nil && found && uid != 0
}
