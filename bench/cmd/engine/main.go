// Command engine drives one URL with the harness's load engine
// (scenarios.Execute + scenarios.Metrics) the way `make bench-compare` drives
// wrk and the vegeta CLI: a fixed number of connections kept busy (closed
// model) for a duration, or a fixed number of requests. It prints one JSON
// line with the request count, rate, its own CPU time and peak memory.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios"
)

type summary struct {
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	Seconds       float64 `json:"seconds"`
	RatePerS      float64 `json:"rate_per_s"`
	CPUSeconds    float64 `json:"cpu_s"`
	CPUPerRequest float64 `json:"cpu_us_per_request"`
	MaxRSSMB      float64 `json:"max_rss_mb"`
	HeapMB        float64 `json:"heap_inuse_mb"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
}

func main() {
	target := flag.String("url", "", "URL to GET (loopback only)")
	conns := flag.Int("connections", 64, "connections and in-flight requests")
	dur := flag.Duration("duration", 5*time.Second, "how long to drive (ignored with -requests)")
	n := flag.Uint64("requests", 0, "send exactly this many requests instead (bounded by 10 minutes)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	ua := flag.String("user-agent", "", `User-Agent to send; "" sends none, as wrk does, so the server parses the same request from both (net/http's default is "Go-http-client/1.1")`)
	flag.Parse()
	scenarios.GeneratorGC() // as cmd/harness does
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "engine:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "engine:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*target, *conns, *dur, *n, *ua); err != nil {
		fmt.Fprintln(os.Stderr, "engine:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(target string, conns int, dur time.Duration, n uint64, ua string) error {
	u, err := url.Parse(target)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("-url %q: want http://127.0.0.1:PORT/", target)
	}
	if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
		return fmt.Errorf("-url %s: only loopback targets are allowed", target)
	}
	if conns < 1 || conns > 1024 {
		return fmt.Errorf("-connections %d: want 1..1024", conns)
	}
	plan := scenarios.Plan{
		Name: "engine", Targeter: vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: target, Header: http.Header{"User-Agent": {ua}}}),
		Pacer: scenarios.ClosedPacer{}, Duration: dur,
		Workers: conns, MaxWorkers: conns, MaxConnections: conns, Timeout: 10 * time.Second,
	}
	if n > 0 {
		plan.Pacer, plan.Duration = scenarios.BurstPacer{N: n}, 10*time.Minute
	}
	m := scenarios.NewMetrics()
	cpu0 := cpuSeconds()
	start := time.Now()
	plan.ReuseResults = true // Metrics.Add keeps nothing of a result
	if err := scenarios.Execute(context.Background(), plan, m.Add); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	sum := m.Summary()
	s := summary{
		Requests: m.Count(), Errors: m.ErrorCount(), Seconds: el, RatePerS: float64(m.Count()) / el,
		CPUSeconds: cpu, MaxRSSMB: float64(ru.Maxrss) / 1024, HeapMB: float64(ms.HeapInuse) / (1 << 20),
	}
	if s.Requests > 0 {
		s.CPUPerRequest = cpu / float64(s.Requests) * 1e6
	}
	if sum.Total != nil {
		s.P50ms, s.P99ms = sum.Total.Latency.P50, sum.Total.Latency.P99
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
