package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Workers sharing a directory each report the sum of all of them; without
// the directory a worker reports only itself.
func TestMetricsSharedAcrossWorkers(t *testing.T) {
	dir := t.TempDir()
	w1, w2 := newMetrics(), newMetrics()
	w1.share(dir, 1)
	w2.share(dir, 2)
	w1.limitHit("rekap", "read")
	w2.limitHit("rekap", "read")
	w2.limitHit("list-pekerjaan.upsert", "bulk")
	w2.cacheError("limiter")
	// w2's counters reach the file on its flush; w1 flushes its own at scrape.
	w2.mu.Lock()
	w2.flushLocked()
	w2.mu.Unlock()
	got := w1.render("1-1")
	require.Contains(t, got, `ahsp_rate_limit_hits_total{operation="rekap",category="read"} 2`)
	require.Contains(t, got, `ahsp_rate_limit_hits_total{operation="list-pekerjaan.upsert",category="bulk"} 1`)
	require.Contains(t, got, `ahsp_cache_errors_total{source="limiter"} 1`)

	// A restarted worker 2 continues from its file.
	w2b := newMetrics()
	w2b.share(dir, 2)
	w2b.limitHit("rekap", "read")
	require.Contains(t, w2b.render("2-9"), `ahsp_rate_limit_hits_total{operation="rekap",category="read"} 3`)

	alone := newMetrics()
	alone.limitHit("rekap", "read")
	require.Contains(t, alone.render("1-1"), `ahsp_rate_limit_hits_total{operation="rekap",category="read"} 1`)
}
