package scenarios

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText prints a run as a readable summary: the schedule verdict, then
// one line per operation, status and worker.
func (r *Result) WriteText(w io.Writer) {
	m := r.Metrics
	fmt.Fprintf(w, "%s\n", r.Shape)
	if r.Skipped != "" {
		fmt.Fprintf(w, "  SKIPPED, nothing sent: %s\n", r.Skipped)
		return
	}
	fmt.Fprintf(w, "  sent %d", r.Sent)
	if r.Scheduled > 0 {
		fmt.Fprintf(w, " of %d scheduled", r.Scheduled)
	}
	if r.RequestedRate > 0 {
		fmt.Fprintf(w, ", requested %.1f/s", r.RequestedRate)
	}
	fmt.Fprintf(w, ", achieved %.1f/s over %.2fs (max %d workers, %d connections)\n", r.AchievedRate, m.ElapsedSeconds, r.MaxWorkers, r.MaxConnections)
	if r.Note != "" {
		fmt.Fprintf(w, "  NOTE: %s\n", r.Note)
	}
	fmt.Fprintf(w, "  %-26s %8s %7s %7s %9s %8s %8s %8s %8s %8s\n", "operation", "requests", "ok", "errors", "req/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms")
	line := func(name string, s *Stats) {
		l := s.Latency
		fmt.Fprintf(w, "  %-26s %8d %7d %7d %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n", name, s.Requests, s.OK, s.Errors, s.Throughput, l.P50, l.P90, l.P95, l.P99, l.Max)
	}
	for _, k := range sortedKeys(m.Operations) {
		line(k, m.Operations[k])
	}
	line("TOTAL", m.Total)
	fmt.Fprintf(w, "  status: %s\n", counts(m.Total.Status))
	if len(m.Errors) > 0 {
		fmt.Fprintf(w, "  errors: %s\n", counts(m.Errors))
	}
	if len(m.Workers) > 0 {
		var parts []string
		for _, k := range sortedKeys(m.Workers) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m.Workers[k].Requests))
		}
		fmt.Fprintf(w, "  per worker (X-Worker-Id): %s\n", strings.Join(parts, " "))
	}
}

func counts[V int64 | int](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}
