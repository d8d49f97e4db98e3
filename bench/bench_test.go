package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
)

// trivial answers like a tiny JSON endpoint of the target.
func trivial() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Worker-Id", "1-1")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
}

// fakeVUs are logged-in users as LoginUsers would return them, without a
// login (the trivial server has none).
func fakeVUs(n int) []*scenarios.VU {
	vus := make([]*scenarios.VU, n)
	for i := range vus {
		vus[i] = &scenarios.VU{
			Index: i, User: fmt.Sprintf("user%d", i+1), Project: i + 1,
			Pekerjaan: []int{1, 2, 3, 4}, Custom: []int{3, 4}, Ref: []int{1, 2}, HargaItems: []int{7, 8},
			Header: http.Header{"Cookie": {"sessionid=x; csrftoken=y"}, "X-Csrftoken": {"y"}, "Accept": {"application/json"}},
		}
	}
	return vus
}

func targeter(b testing.TB, base, mix string) vegeta.Targeter {
	if mix == "static" {
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: base + "/detail_project/api/project/1/rekap/"})
	}
	sc, err := scenarios.Builtin(mix)
	if err != nil {
		b.Fatal(err)
	}
	sc.Normalize()
	tg, err := scenarios.NewTargeter(base, sc, fakeVUs(sc.Users))
	if err != nil {
		b.Fatal(err)
	}
	return tg.Targeter()
}

// BenchmarkEngineRequest is the engine's cost per request against a trivial
// loopback handler: targeter (static, or a built-in mix with its templates),
// vegeta's attacker over 64 capped workers and the constant-memory metrics.
// ns/op includes the server's share of the same cores.
func BenchmarkEngineRequest(b *testing.B) {
	for _, mix := range []string{"static", "read-mix", "write-mix"} {
		b.Run("mix="+mix, func(b *testing.B) {
			srv := trivial()
			defer srv.Close()
			m := scenarios.NewMetrics()
			plan := scenarios.Plan{
				Name: "bench", Targeter: targeter(b, srv.URL, mix), Pacer: scenarios.BurstPacer{N: uint64(b.N)},
				Workers: 64, MaxWorkers: 64, MaxConnections: 64, Timeout: 10 * time.Second,
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			err := scenarios.Execute(context.Background(), plan, m.Add)
			el := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if m.Count() != int64(b.N) || m.ErrorCount() != 0 {
				b.Fatalf("got %d results, %d errors; want %d, 0", m.Count(), m.ErrorCount(), b.N)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
		})
	}
}

// BenchmarkTargeterNext is the engine's request-building cost alone (no
// network): picking the user and operation and rendering templates.
func BenchmarkTargeterNext(b *testing.B) {
	for _, mix := range []string{"read-mix", "write-mix"} {
		b.Run("mix="+mix, func(b *testing.B) {
			next := targeter(b, "http://127.0.0.1:1", mix)
			var t vegeta.Target
			b.ReportAllocs()
			for b.Loop() {
				if err := next(&t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sampleRun is a report with two load scenarios of 20k results each and a
// capacity section, like a typical `harness run`.
func sampleRun(b testing.TB) *reports.Run {
	run := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: reports.Meta{Tool: "harness", Command: "bench"}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"read-mix", "write-mix"} {
		m := scenarios.NewMetrics()
		urls := []string{"http://x/detail_project/api/project/1/rekap/", "http://x/detail_project/api/project/1/list-pekerjaan/tree/", "http://x/detail_project/api/v2/project/1/detail-ahsp/5/"}
		for i := range 20000 {
			code := uint16(200)
			if i%97 == 0 {
				code = 429
			}
			m.Add(&vegeta.Result{Code: code, Timestamp: t0.Add(time.Duration(i) * time.Millisecond), Latency: time.Duration(200+i%5000) * time.Microsecond,
				URL: urls[i%len(urls)], Headers: http.Header{"X-Worker-Id": {fmt.Sprintf("%d-10%d", i%4+1, i%4)}}})
		}
		run.Scenarios = append(run.Scenarios, &scenarios.Result{Scenario: name, Kind: scenarios.Constant, RequestedRate: 1000, AchievedRate: 1000, Sent: 20000, Metrics: m.Summary()})
	}
	out, err := capacity.Search{Start: 25, Grow: 2, Max: 6400, Resolution: 10, MaxBisect: 4, SLO: capacity.DefaultSLO()}.Run(context.Background(),
		func(_ context.Context, rate int) (capacity.Step, error) {
			return capacity.Step{Achieved: float64(rate), Requests: int64(rate * 2), P50: 1, P99: 1 + float64(rate)/8}, nil
		})
	if err != nil {
		b.Fatal(err)
	}
	run.Capacity = &capacity.Report{SLO: capacity.DefaultSLO(), Results: []*capacity.Result{{Config: capacity.Config{Workers: 1, Cache: "locmem", Mix: "read-mix"}, Outcome: out}}}
	run.EvaluateGate(reports.DefaultGate())
	return run
}

// BenchmarkReportRender is the cost of each rendering of one run.
func BenchmarkReportRender(b *testing.B) {
	run := sampleRun(b)
	dir := b.TempDir()
	for _, r := range []struct {
		name   string
		render func(io.Writer) error
	}{
		{"html", func(w io.Writer) error { return reports.WriteHTML(w, run, dir) }},
		{"json", func(w io.Writer) error { return reports.WriteJSON(w, run) }},
		{"markdown", func(w io.Writer) error { return reports.WriteMarkdown(w, run) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := r.render(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
