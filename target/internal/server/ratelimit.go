package server

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// legacyScopeOp is the only operation the real app limits (defect legacy-scope).
const legacyScopeOp = "list-pekerjaan.save"

// operationKey is the rate-limit key of an API call. The correct key is
// user + operation name + category, the same for legacy, v1 and v2; the
// defects split it apart.
func (s *Server) operationKey(r *http.Request, rt route, uid int64) string {
	name := rt.op.Name
	if s.cfg.Defects.Has("raw-path-key") {
		// The raw path as sent: every spelling counts on its own.
		name = r.URL.EscapedPath()
	}
	if s.cfg.Defects.Has("split-versions") {
		v := "v1"
		if rt.version == api.V2 {
			v = "v2"
		}
		name = v + ":" + name
	}
	if id := s.keyIdentity(r); id != "" {
		return fmt.Sprintf("rl:%s:%s:%s", rt.op.Category, id, name)
	}
	return fmt.Sprintf("rl:%s:%d:%s", rt.op.Category, uid, name)
}

// limitOperation counts an API call; false means a response was written.
func (s *Server) limitOperation(w http.ResponseWriter, r *http.Request, rt route, uid int64) bool {
	if s.cfg.Defects.Has("legacy-scope") && rt.op.Name != legacyScopeOp {
		return true
	}
	cat := string(rt.op.Category)
	return s.limit(w, r, s.operationKey(r, rt, uid), cat, hitInfo{user: strconv.FormatInt(uid, 10), operation: rt.op.Name})
}

// limitLogin counts a login attempt per client IP.
func (s *Server) limitLogin(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Defects.Has("no-login-limit") {
		return true
	}
	ip := clientIP(r, s.cfg.Defects.Has("trust-xff"))
	return s.limit(w, r, "rl:login:"+ip, LoginCategory, hitInfo{operation: "login"})
}

type hitInfo struct {
	user, operation string
}

// clientIP is the peer address, or with trustXFF the first X-Forwarded-For
// value (which any client can forge).
func clientIP(r *http.Request, trustXFF bool) string {
	if trustXFF {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := strings.TrimSpace(first); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// unavailableRetryAfter is the Retry-After, in seconds, of every 503 the
// server answers because its cache is down (limiter fail-closed, session store).
const unavailableRetryAfter = 5

// setUnavailable sets the headers of those 503s.
func setUnavailable(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", strconv.Itoa(unavailableRetryAfter))
}

// limit applies category's policy to key; false means a 429 or 503 was written.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, key, category string, hi hitInfo) bool {
	l, ok := s.cfg.Limits[category]
	if !ok || l.Requests <= 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CacheTimeout)
	dec, err := s.d.Limit(ctx, key, l)
	cancel()
	window := int(l.Window / time.Second)
	if err != nil {
		if !s.cfg.Defects.Has("metrics-miss-cache-errors") {
			s.metrics.cacheError("limiter")
		}
		if s.cfg.Defects.Has("cache-errors-raise") {
			// The deployed decorator calls the cache unguarded: Django's 500.
			s.serverError(w, r, fmt.Errorf("rate limiter cache: %w", err), nil)
			return false
		}
		if s.cfg.FailurePolicy == FailOpen {
			s.log.Warn("rate limiter unavailable, allowing (fail-open)", "err", err.Error(), "key", key, "category", category)
			return true
		}
		s.log.Error("rate limiter unavailable, rejecting (fail-closed)", "err", err.Error(), "key", key, "category", category)
		setUnavailable(w.Header())
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{
			"success": false,
			"message": fmt.Sprintf("Layanan pembatas permintaan sedang tidak tersedia. Silakan coba lagi dalam %d detik.", unavailableRetryAfter),
			"code":    "RATE_LIMIT_UNAVAILABLE",
			"details": map[string]any{"category": category, "failure_policy": s.cfg.FailurePolicy, "retry_after": unavailableRetryAfter},
		})
		return false
	}
	h := w.Header()
	if s.cfg.Defects.Has("no-ratelimit-headers") {
		h = http.Header{} // the deployed decorator states the limit in the 429 body only
	}
	reset := ceilSeconds(dec.Reset)
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.Requests))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(dec.Remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.Itoa(reset))
	h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", l.Requests, window))
	if dec.Allowed {
		h.Set("RateLimit", fmt.Sprintf("limit=%d, remaining=%d, reset=%d", l.Requests, max(dec.Remaining, 0), reset))
		return true
	}
	retry := max(ceilSeconds(dec.RetryAfter), 1)
	count := dec.Count
	if s.cfg.Defects.Has("retry-after-full-window") {
		// The deployed decorator answers its constants, not the window's state.
		retry, count = window, l.Requests
	}
	h.Set("RateLimit", fmt.Sprintf("limit=%d, remaining=0, reset=%d", l.Requests, retry))
	if !s.cfg.Defects.Has("no-retry-after") {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	h.Set("Cache-Control", "no-store")
	if s.countsHit(category) {
		s.metrics.limitHit(hi.operation, category)
	}
	user := hi.user
	if s.cfg.Defects.Has("hit-log-no-user") {
		user = ""
	}
	s.log.Warn("rate limit exceeded",
		"user", user, "operation", hi.operation, "category", category,
		"ip", clientIP(r, false), "forwarded_for", r.Header.Get("X-Forwarded-For"), "user_agent", r.UserAgent(),
		"count", dec.Count, "limit", l.Requests, "retry_after", retry)
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"success": false,
		"message": fmt.Sprintf("Terlalu banyak permintaan. Silakan coba lagi dalam %d detik.", retry),
		"code":    "RATE_LIMIT_EXCEEDED",
		"details": map[string]any{
			"max_requests":   l.Requests,
			"window_seconds": window,
			"current_count":  count,
			"category":       category,
		},
		"retry_after": retry,
	})
	return false
}
