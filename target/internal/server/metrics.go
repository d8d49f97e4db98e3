package server

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics are this worker's counters. Like gunicorn workers without a
// multiprocess collector, each worker reports its own; X-Worker-Id tells
// which one answered a scrape.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // route, status
	// latency is a histogram of every answer's duration over
	// latencyBuckets (cumulative counts are made at render).
	latency    [len(latencyBuckets) + 1]uint64
	latencySum float64
	hits       map[[2]string]uint64 // operation, category
	cacheErr   map[string]uint64    // limiter, session, health
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, hits: map[[2]string]uint64{}, cacheErr: map[string]uint64{}}
}

// latencyBuckets are the upper bounds (seconds) of the latency histogram
// that alert rules take the p99 from.
var latencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func (m *metrics) request(route string, status int, took time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	sec := took.Seconds()
	i := sort.SearchFloat64s(latencyBuckets[:], sec) // first bound >= sec
	m.mu.Lock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	m.latency[i]++
	m.latencySum += sec
	m.mu.Unlock()
}

func (m *metrics) limitHit(op, category string) {
	m.mu.Lock()
	m.hits[[2]string{op, category}]++
	m.mu.Unlock()
}

func (m *metrics) cacheError(source string) {
	m.mu.Lock()
	m.cacheErr[source]++
	m.mu.Unlock()
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(s.metrics.render(s.workerID)))
}

func (m *metrics) render(worker string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP ahsp_worker_info The worker that answered this scrape.\n# TYPE ahsp_worker_info gauge\nahsp_worker_info{worker=%q} 1\n", worker)
	b.WriteString("# HELP ahsp_http_requests_total HTTP requests by route and status.\n# TYPE ahsp_http_requests_total counter\n")
	for _, k := range sortedKeys(m.requests) {
		fmt.Fprintf(&b, "ahsp_http_requests_total{route=%q,status=%q} %d\n", k[0], k[1], m.requests[k])
	}
	b.WriteString("# HELP ahsp_http_request_duration_seconds Time to answer a request, every route.\n# TYPE ahsp_http_request_duration_seconds histogram\n")
	var cum uint64
	for i, le := range latencyBuckets {
		cum += m.latency[i]
		fmt.Fprintf(&b, "ahsp_http_request_duration_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += m.latency[len(latencyBuckets)]
	fmt.Fprintf(&b, "ahsp_http_request_duration_seconds_bucket{le=\"+Inf\"} %d\nahsp_http_request_duration_seconds_sum %g\nahsp_http_request_duration_seconds_count %d\n", cum, m.latencySum, cum)
	b.WriteString("# HELP ahsp_rate_limit_hits_total Requests rejected with 429 by operation and category.\n# TYPE ahsp_rate_limit_hits_total counter\n")
	for _, k := range sortedKeys(m.hits) {
		fmt.Fprintf(&b, "ahsp_rate_limit_hits_total{operation=%q,category=%q} %d\n", k[0], k[1], m.hits[k])
	}
	b.WriteString("# HELP ahsp_cache_errors_total Cache (limiter, session, health) call failures.\n# TYPE ahsp_cache_errors_total counter\n")
	srcs := make([]string, 0, len(m.cacheErr))
	for k := range m.cacheErr {
		srcs = append(srcs, k)
	}
	sort.Strings(srcs)
	for _, k := range srcs {
		fmt.Fprintf(&b, "ahsp_cache_errors_total{source=%q} %d\n", k, m.cacheErr[k])
	}
	return b.String()
}

func sortedKeys(m map[[2]string]uint64) [][2]string {
	out := make([][2]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return out[i][1] < out[j][1]
	})
	return out
}
