package reports

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/security"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

// sampleRun is a deterministic run that fills every section, with failures
// in each, so golden files cover every branch of the renderers.
func sampleRun() *Run {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	stats := func(n int64, errs int64, p50, p95, p99 float64, thr float64) *scenarios.Stats {
		return &scenarios.Stats{
			Requests: n, OK: n - errs, Errors: errs, Throughput: thr,
			Latency: scenarios.Latency{Min: p50 / 4, Mean: p50 * 1.2, P50: p50, P90: p95 * 0.8, P95: p95, P99: p99, Max: p99 * 1.5},
			BytesIn: uint64(n) * 900, BytesOut: uint64(n) * 120,
			Status: map[string]int64{"200": n - errs, "500": errs},
		}
	}
	var series []scenarios.Point
	for s := 0; s < 10; s++ {
		series = append(series, scenarios.Point{Second: s, Requests: int64(48 + s%3), Errors: int64(s % 4 / 3), P95: 20 + float64(s*s)/2})
	}
	steady := &scenarios.Result{
		Scenario: "steady-read", Kind: scenarios.Constant, Shape: "constant 50/s for 10s", Version: api.V1, Users: 4,
		Started: t0.Add(40 * time.Second), MaxWorkers: 64, MaxConnections: 32, TimeoutSeconds: 5,
		Scheduled: 500, Sent: 500, RequestedRate: 50, AchievedRate: 49.9,
		Metrics: scenarios.Summary{
			Total: stats(500, 3, 12.5, 41.2, 88.9, 49.8),
			Operations: map[string]*scenarios.Stats{
				"rekap":          stats(300, 0, 10.1, 30.4, 60.2, 29.9),
				"list-pekerjaan": stats(200, 3, 15.2, 52.7, 99.1, 19.9),
			},
			Workers: map[string]*scenarios.Stats{
				"0-101": stats(250, 1, 12.0, 40.0, 80.0, 24.9),
				"1-102": stats(250, 2, 13.0, 42.0, 90.0, 24.9),
			},
			Errors:         map[string]int64{"http 500": 3},
			Series:         series,
			ElapsedSeconds: 10.02, SendRate: 49.9,
		},
	}
	behind := &scenarios.Result{
		Scenario: "write-spike", Kind: scenarios.Step, Shape: "step 20/s,200/s for 2s each", Version: api.V2, Users: 2,
		Started: t0.Add(52 * time.Second), MaxWorkers: 8, MaxConnections: 8, TimeoutSeconds: 5,
		Scheduled: 440, Sent: 250, RequestedRate: 110, AchievedRate: 62.5, FellBehind: true,
		Note: "the load generator fell behind: requested 110/s, achieved 62.5/s (57%), sent 250 of 440; raise max_workers or lower the rate",
		Metrics: scenarios.Summary{
			Total:          stats(250, 20, 80, 310, 620, 60.1),
			Operations:     map[string]*scenarios.Stats{"volume-pekerjaan.save": stats(250, 20, 80, 310, 620, 60.1)},
			Series:         series[:4],
			ElapsedSeconds: 4.0, SendRate: 62.5,
		},
	}
	info := stack.Info{
		Mode: "embedded", ModeReason: "docker not available", RunID: "run-sample", BaseURL: "http://127.0.0.1:18080",
		Workers: 2, Cache: "redis", RedisKind: "miniredis", RedisAddr: "127.0.0.1:16379", Limiter: "fixed",
		FailurePolicy: "open", SessionStore: "redis", Limits: scan.FastLimits, Defects: []string{"limiter-per-worker"},
		StartupSeconds: 0.84,
	}
	var pngBuf bytes.Buffer
	im := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for x := 0; x < 40; x++ {
		for y := 0; y < 24; y++ {
			im.Set(x, y, color.RGBA{uint8(x * 6), 120, uint8(y * 10), 255})
		}
	}
	_ = png.Encode(&pngBuf, im)
	r := &Run{
		SchemaVersion: SchemaVersion,
		Meta: Meta{
			Tool: "harness", Version: "0.1.0-test", GitSHA: "0123456789abcdef0123456789abcdef01234567",
			Command: "harness run --quick", Profile: "quick", Started: t0, Finished: t0.Add(75 * time.Second), DurationS: 75,
			Machine: Machine{OS: "linux", Arch: "amd64", CPUs: 2, Hostname: "ci-box", GoVersion: "go1.26"},
		},
		Stack: &info,
		Scan: &scan.Report{
			Target: info, Algorithm: "fixed", FailurePolicy: "open",
			Limits: map[api.Category]api.Limit{api.Write: {Requests: 10, WindowSeconds: 2}, api.Read: {Requests: 40, WindowSeconds: 2}},
			Status: check.Fail, Started: t0.Add(2 * time.Second), Seconds: 12.5,
			PolicyMap: &scan.PolicyMap{
				Families: []scan.Family{{Version: api.Legacy, Deployed: true, Status: 200}, {Version: api.V1, Status: 404}},
				Ops: []scan.OpPolicy{
					{Operation: "list-pekerjaan.save", Version: api.Legacy, Category: api.Write, Declared: api.Limit{Requests: 10, WindowSeconds: 2}, State: scan.OpLimited,
						Limit: 10, LimitFrom: "429 body details.max_requests", WindowSeconds: 2, WindowFrom: "429 body details.window_seconds", Budget: 21, Sent: 11, Reached: 11,
						PerUser: "yes", Carries: []string{"body details.max_requests=10"}},
					{Operation: "harga-items.save", Version: api.Legacy, Category: api.Write, Declared: api.Limit{Requests: 10, WindowSeconds: 2}, State: scan.OpUnlimited,
						Budget: 21, Sent: 21, Reached: 21, Note: "no 429 within 21 requests"},
				},
				Differences: []string{"declared write=10/2 on harga-items.save; observed: no 429 within 21 requests"},
				Users:       []string{"loadtest01", "loadtest02"}, Sent: 32, Seconds: 0.4,
			},
			Probes: []scan.Result{
				{Probe: "multi-worker", Status: check.Fail, Reason: "accepted 20 of 30 within one window, limit 10: each worker counts on its own",
					DurationSeconds: 2.1, Evidence: scan.Evidence{
						Operation: "volume-pekerjaan.save", Policy: "write 10/2s", User: "loadtest01", Sent: 30, Accepted: 20, Limited: 10,
						ExpectedMax: 10, Overshoot: 10, AcceptedPerWorker: map[string]int{"0-101": 10, "1-102": 10}, WorkersSeen: 2,
						Status: map[int]int{200: 20, 429: 10}, ElapsedSeconds: 0.41,
						Rows:    []scan.Row{{Name: "burst 30", Sent: 30, Accepted: 20, Limited: 10, Status: map[int]int{200: 20, 429: 10}, Note: "one window"}},
						Samples: []scan.Sample{{What: "first 429", Method: "POST", URL: "http://127.0.0.1:18080/api/project/1/volume-pekerjaan/save/", Status: 429, Worker: "0-101", Headers: map[string]string{"Retry-After": "2"}, Body: `{"success":false,"message":"Terlalu banyak permintaan"}`, LatencyMS: 1.9}},
						Notes:   []string{"two workers answered"},
					}},
				{Probe: "window-edge", Status: check.Pass, Reason: "20 accepted across the edge, oracle allows 20 for a fixed window", DurationSeconds: 4.2,
					Evidence: scan.Evidence{Operation: "rekap", Policy: "read 40/2s", Sent: 60, Accepted: 20, Limited: 40, ExpectedMax: 20, ElapsedSeconds: 2.3}},
				{Probe: "header-spoof", Status: check.Skip, Reason: "target does not read X-Forwarded-For", DurationSeconds: 0.2},
				{Probe: "race", Status: check.Fail, Intermittent: "1 of 2", Attempts: 2, DurationSeconds: 1.5,
					Reason:   "intermittent (failed in 1 of 2 attempts): 12 parallel writes accepted, limit 10",
					Evidence: scan.Evidence{Operation: "volume-pekerjaan.save", Policy: "write 10/2s", Sent: 12, Accepted: 12, Limited: 0, ExpectedMax: 10, Overshoot: 2},
					AttemptLog: []scan.Attempt{
						{Status: check.Fail, Reason: "12 parallel writes accepted, limit 10", DurationSeconds: 0.7, Evidence: scan.Evidence{Sent: 12, Accepted: 12, ExpectedMax: 10, Overshoot: 2}},
						{Status: check.Pass, Reason: "10 of 12 parallel writes accepted, limit 10", DurationSeconds: 0.8, Evidence: scan.Evidence{Sent: 12, Accepted: 10, Limited: 2, ExpectedMax: 10}},
					}},
				{Probe: "fail-open", Status: check.Inconclusive, Reason: "no cache-stop hook configured: the cache outage could not be caused", DurationSeconds: 0.1},
				{Probe: "window-reset", Status: check.Error, Reason: "login failed: 502 Bad Gateway", DurationSeconds: 0.3},
			},
		},
		Scenarios: []*scenarios.Result{steady, behind},
		Contracts: &contracts.Report{
			Status: check.Fail, Target: "http://127.0.0.1:18080", Started: t0.Add(60 * time.Second), Duration: 3 * time.Second,
			Results: []contracts.Result{
				{Version: "v1", Step: "rekap", Operation: "rekap", Method: "GET", Path: "/api/project/1/rekap/", WantStatus: 200, Status: 200, Verdict: check.Pass, Schema: "v1/rekap.response.200.json", Elapsed: 12 * time.Millisecond},
				{Version: "v2", Step: "rekap", Operation: "rekap", Method: "GET", Path: "/api/v2/project/1/rekap/", WantStatus: 200, Status: 200, Verdict: check.Fail, Schema: "v2/rekap.response.200.json",
					Violations: []contracts.Violation{{Where: "body", InstancePath: "/data/rows/0/total", SchemaPath: "v2/rekap.response.200.json#/properties/data/properties/rows/items/properties/total/type", Message: "got number, want string"}}, Elapsed: 9 * time.Millisecond},
			},
			Equivalence: []contracts.Equivalence{
				{Step: "rekap", Operation: "rekap", SameProject: true, Status: check.Fail, Differences: []contracts.Difference{{Path: "data.rows[0].total", V1Path: "rows[0].total", What: "value differs", V1: `"1500.00"`, V2: "1500"}}},
				{Step: "list-pekerjaan", Operation: "list-pekerjaan", SameProject: true, Status: check.Pass},
			},
			Breaking: []contracts.Comparison{{Name: "v1 vs v2 schemas", Old: "v1", New: "v2", Status: check.Fail, Unaccepted: 1, Changes: []contracts.Change{
				{Operation: "rekap", Kind: contracts.Response, Status: 200, Path: "rows[].total", Change: contracts.TypeChanged, Old: "string", New: "number", Breaking: true},
				{Operation: "rekap", Kind: contracts.Response, Status: 200, Path: "meta", Change: contracts.FieldAdded, New: "object"},
			}}},
			Families: []contracts.Family{{Version: "v1", Deployed: true, Status: check.Pass, Probe: "GET /api/project/1/rekap/", ProbeCode: 200, Reason: "answers an owned project"}},
			Findings: []contracts.Finding{{ID: "legacy-scope", Title: "a project of another user answers 200", Steps: []string{"v1 rekap-other-user"}, Evidence: "GET /api/project/2/rekap/ -> 200", Status: check.Fail}},
			Restores: []contracts.Restore{{Project: 1, User: "loadtest01", Status: check.Pass, Reason: "read-back equals the snapshot"}},
			Notes:    []string{"baseline comparison skipped: no baseline given"},
		},
		E2E: &e2e.Report{
			Status: check.Fail, BaseURL: "http://127.0.0.1:18080", Browser: "Chromium 130", Started: t0.Add(65 * time.Second), DurationMS: 8200,
			Results: []e2e.Result{
				{Name: "toast-stacking", Group: "toast", Title: "Toasts stack without overlap", Status: check.Pass, DurationMS: 812},
				{Name: "offline-banner", Group: "network", Title: "The offline banner shows", Status: check.Inconclusive, Reason: "the page never went offline: emulation unsupported", DurationMS: 300},
				{Name: "loading-overlay-clears", Group: "loading", Title: "The loading overlay goes away after save", Status: check.Fail, Reason: "overlay still visible 5s after the save answered",
					DurationMS: 5400, Evidence: []string{"overlay-added at 120 ms", "no overlay-removed"},
					Screenshots: []e2e.Screenshot{{Name: "after-save", PNG: pngBuf.Bytes()}},
					Console:     []e2e.ConsoleEntry{{Kind: "console", Level: "error", Text: "Uncaught TypeError: x is undefined"}},
					Events:      []e2e.Event{{At: 120, Kind: "overlay-added", Class: "loading-overlay"}}},
			},
		},
		Security: &security.Report{
			Status: check.Fail, BaseURL: "http://127.0.0.1:18080", Started: t0.Add(70 * time.Second), DurationS: 2.4,
			Checks: []security.Result{
				{Name: security.Headers, Status: check.Fail, Findings: []string{"project page: page has no Content-Security-Policy"},
					Evidence: []string{`project page: status 200, text/html; X-Frame-Options "DENY", X-Content-Type-Options "nosniff", Referrer-Policy "same-origin", CSP ""`}, Requests: 4, DurationMS: 31},
				{Name: security.CSRF, Status: check.Pass, Evidence: []string{"harga-items.save, no token: status 403"}, Requests: 40, DurationMS: 220},
				{Name: security.HostileBody, Status: check.Skip, Reason: "hostile bodies may store data: external target without scratch projects"},
			},
		},
		Observability: &observability.Report{
			Status: check.Fail, BaseURL: "http://127.0.0.1:18080", Started: t0.Add(75 * time.Second), DurationS: 1.1, User: "user40",
			Hits: []observability.OpHits{
				{Operation: "list-pekerjaan.save", Category: api.Write, Sent: 13, Limited: 3, Metric: 3, Logged: 3},
				{Operation: "list-pekerjaan.upsert", Category: api.Bulk, Sent: 6, Limited: 3, Metric: 0, Logged: 3},
			},
			Checks: []observability.Result{
				{Name: observability.MetricsLimitHits, Status: check.Fail, Findings: []string{"list-pekerjaan.upsert (bulk): 3 429s, ahsp_rate_limit_hits_total rose by 0: misses 3"}, DurationMS: 600},
				{Name: observability.LogsLimitHits, Status: check.Pass, Evidence: []string{"40 log lines read, 6 429s caused, 6 logged once"}, DurationMS: 600},
				{Name: observability.MetricsCacheErrors, Status: check.Skip, Reason: "the cache is per process (locmem): there is no cache server to stop"},
			},
		},
		Errors: []string{"capacity bench: skipped in quick profile"},
	}
	r.EvaluateGate(sampleGate())
	return r
}

// sampleGate is the default gate with a latency rule on every scenario and
// an error-rate rule on one endpoint.
func sampleGate() GateConfig {
	th1, _ := ParseThreshold("p95 < 250ms")
	th2, _ := ParseThreshold("error_rate{endpoint=rekap} <= 1%")
	cfg := DefaultGate()
	cfg.Thresholds = append(cfg.Thresholds, th1, th2)
	return cfg
}
