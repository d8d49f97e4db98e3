package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics are this worker's counters. With a shared directory (the master's
// run dir) each worker also writes them to metrics-<index>.json shortly after
// they change, and a scrape of any worker sums every worker's file, like
// prometheus_client's multiprocess mode under gunicorn: one scrape sees the
// whole deployment, whichever worker answers it. Without a directory a
// scrape sees only the worker that answered.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // route, status
	hits     map[[2]string]uint64 // operation, category
	cacheErr map[string]uint64    // limiter, session, health
	// latency counts answers per latencyBuckets bound (the last: +Inf),
	// not cumulative; render makes the buckets cumulative.
	latency    []uint64
	latencySum float64

	dir     string // "" keeps the counters in this process only
	file    string
	pending bool // a flush is scheduled
}

// metricsFlushDelay bounds how stale another worker's counters can be in a
// scrape; the harness's observability check retries its scrape past it.
const metricsFlushDelay = 50 * time.Millisecond

// snapshot is one worker's counters on disk.
type snapshot struct {
	Requests map[string]uint64 `json:"requests"` // "route\x00status"
	Hits     map[string]uint64 `json:"hits"`     // "operation\x00category"
	CacheErr map[string]uint64 `json:"cache_errors"`
	Latency  []uint64          `json:"latency,omitempty"`
	LatSum   float64           `json:"latency_sum,omitempty"`
}

// latencyBuckets are the upper bounds (seconds) of the latency histogram
// that alert rules take the p99 from.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]uint64{}, hits: map[[2]string]uint64{}, cacheErr: map[string]uint64{},
		latency: make([]uint64, len(latencyBuckets)+1)}
}

// share makes the worker's counters visible to every worker through
// dir. A restarted worker continues from its predecessor's file, so a killed
// worker's counts are not lost.
func (m *metrics) share(dir string, index int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dir = dir
	m.file = filepath.Join(dir, fmt.Sprintf("metrics-%d.json", index))
	if s, err := readSnapshot(m.file); err == nil {
		m.add(s)
	}
}

func (m *metrics) add(s snapshot) {
	for k, v := range s.Requests {
		a, b, _ := strings.Cut(k, "\x00")
		m.requests[[2]string{a, b}] += v
	}
	for k, v := range s.Hits {
		a, b, _ := strings.Cut(k, "\x00")
		m.hits[[2]string{a, b}] += v
	}
	for k, v := range s.CacheErr {
		m.cacheErr[k] += v
	}
	for i, v := range s.Latency {
		if i < len(m.latency) {
			m.latency[i] += v
		}
	}
	m.latencySum += s.LatSum
}

// changed schedules a flush; the caller holds mu.
func (m *metrics) changed() {
	if m.dir == "" || m.pending {
		return
	}
	m.pending = true
	time.AfterFunc(metricsFlushDelay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.flushLocked()
	})
}

func (m *metrics) flushLocked() {
	m.pending = false
	if m.dir == "" {
		return
	}
	s := snapshot{Requests: map[string]uint64{}, Hits: map[string]uint64{}, CacheErr: map[string]uint64{}}
	for k, v := range m.requests {
		s.Requests[k[0]+"\x00"+k[1]] = v
	}
	for k, v := range m.hits {
		s.Hits[k[0]+"\x00"+k[1]] = v
	}
	for k, v := range m.cacheErr {
		s.CacheErr[k] = v
	}
	s.Latency, s.LatSum = append([]uint64(nil), m.latency...), m.latencySum
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	tmp := m.file + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, m.file)
	}
}

func readSnapshot(path string) (snapshot, error) {
	var s snapshot
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal(b, &s)
	return s, err
}

func (m *metrics) request(route string, status int, took time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	sec := took.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, sec) // first bound >= sec
	m.mu.Lock()
	m.requests[[2]string{route, strconv.Itoa(status)}]++
	m.latency[i]++
	m.latencySum += sec
	m.changed()
	m.mu.Unlock()
}

func (m *metrics) limitHit(op, category string) {
	m.mu.Lock()
	m.hits[[2]string{op, category}]++
	m.changed()
	m.mu.Unlock()
}

func (m *metrics) cacheError(source string) {
	m.mu.Lock()
	m.cacheErr[source]++
	m.changed()
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

// total is what a scrape reports: this worker's counters, or with a shared
// directory the sum of every worker's file (this worker's flushed first).
func (m *metrics) total() *metrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := newMetrics()
	if m.dir == "" {
		for k, v := range m.requests {
			out.requests[k] = v
		}
		for k, v := range m.hits {
			out.hits[k] = v
		}
		for k, v := range m.cacheErr {
			out.cacheErr[k] = v
		}
		copy(out.latency, m.latency)
		out.latencySum = m.latencySum
		return out
	}
	m.flushLocked()
	files, _ := filepath.Glob(filepath.Join(m.dir, "metrics-*.json"))
	for _, f := range files {
		if s, err := readSnapshot(f); err == nil {
			out.add(s)
		}
	}
	return out
}

func (m *metrics) render(worker string) string {
	t := m.total()
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP ahsp_worker_info The worker that answered this scrape.\n# TYPE ahsp_worker_info gauge\nahsp_worker_info{worker=%q} 1\n", worker)
	b.WriteString("# HELP ahsp_http_requests_total HTTP requests by route and status.\n# TYPE ahsp_http_requests_total counter\n")
	for _, k := range sortedKeys(t.requests) {
		fmt.Fprintf(&b, "ahsp_http_requests_total{route=%q,status=%q} %d\n", k[0], k[1], t.requests[k])
	}
	b.WriteString("# HELP ahsp_http_request_duration_seconds Time to answer a request, every route.\n# TYPE ahsp_http_request_duration_seconds histogram\n")
	var cum uint64
	for i, le := range latencyBuckets {
		cum += t.latency[i]
		fmt.Fprintf(&b, "ahsp_http_request_duration_seconds_bucket{le=%q} %d\n", strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += t.latency[len(latencyBuckets)]
	fmt.Fprintf(&b, "ahsp_http_request_duration_seconds_bucket{le=\"+Inf\"} %d\nahsp_http_request_duration_seconds_sum %g\nahsp_http_request_duration_seconds_count %d\n", cum, t.latencySum, cum)
	b.WriteString("# HELP ahsp_rate_limit_hits_total Requests rejected with 429 by operation and category.\n# TYPE ahsp_rate_limit_hits_total counter\n")
	for _, k := range sortedKeys(t.hits) {
		fmt.Fprintf(&b, "ahsp_rate_limit_hits_total{operation=%q,category=%q} %d\n", k[0], k[1], t.hits[k])
	}
	b.WriteString("# HELP ahsp_cache_errors_total Cache (limiter, session, health) call failures.\n# TYPE ahsp_cache_errors_total counter\n")
	srcs := make([]string, 0, len(t.cacheErr))
	for k := range t.cacheErr {
		srcs = append(srcs, k)
	}
	sort.Strings(srcs)
	for _, k := range srcs {
		fmt.Fprintf(&b, "ahsp_cache_errors_total{source=%q} %d\n", k, t.cacheErr[k])
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
