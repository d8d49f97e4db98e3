package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/ahsp-harness/harness/target/api"
)

// The deployed app with its Redis cache down (REAL-APP.md section 6):
// Django's cache calls raise, so the views that touch the cache answer 500
// (defect cache-errors-raise) and the rekap CSV export swallows the error
// and prints no amounts (defect rekap-csv-blank-cache-down). Views that do
// not touch the cache keep answering 200.

// cacheErr checks the cache within the cache timeout; the in-process cache
// (nil) never fails.
func (s *Server) cacheErr(ctx context.Context) error {
	if s.d.Cache == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CacheTimeout)
	defer cancel()
	return s.d.Cache.Ping(ctx)
}

// cachedRead reports whether the deployed app answers op from its cache
// (300 s): rekap and the unsearched tree (REAL-APP.md 3.3, 3.11).
func cachedRead(op api.Operation, r *http.Request) bool {
	switch op.Name {
	case "rekap":
		return true
	case "list-pekerjaan.tree":
		q := r.URL.Query()
		return strings.TrimSpace(q.Get("search")) == "" && strings.TrimSpace(q.Get("q")) == ""
	}
	return false
}

// deployedCacheUse does what the deployed app's views do with the cache
// before their work: a cached read raises (500) when the cache is down, and
// the rekap CSV is told so. false means a response was written.
func (s *Server) deployedCacheUse(w http.ResponseWriter, r *http.Request, op api.Operation, p *Params) bool {
	switch {
	case s.cfg.Defects.Has("cache-errors-raise") && cachedRead(op, r):
		if err := s.cacheErr(r.Context()); err != nil {
			s.metrics.cacheError("cache")
			s.serverError(w, r, fmt.Errorf("cache get: %w", err), nil)
			return false
		}
	case s.cfg.Defects.Has("rekap-csv-blank-cache-down") && op.Name == "export.rekap-rab-csv":
		if err := s.cacheErr(r.Context()); err != nil {
			s.metrics.cacheError("cache")
			s.log.Warn("rekap CSV without its cached rekap: amounts left blank", "err", err.Error(), "project", p.ProjectID)
			p.CacheDown = true
		}
	}
	return true
}

// redisPyMessage is redis-py's text for a failed call, which the deployed
// /health/ shows as the cache check's message.
func redisPyMessage(addr string, err error) string {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Error %d connecting to %s. Connection refused.", int(syscall.ECONNREFUSED), addr)
	case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
		return "Timeout connecting to server"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "Timeout reading from socket"
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return "Connection closed by server."
	}
	return fmt.Sprintf("Error connecting to %s. %v.", addr, err)
}
