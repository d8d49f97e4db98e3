package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios/h1"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// Plan is a ready-to-run attack: where the requests come from, when they
// are sent and how much of the machine the generator may use.
type Plan struct {
	Name     string
	Targeter vegeta.Targeter
	Pacer    vegeta.Pacer
	// Duration bounds the attack (zero: until the pacer stops).
	Duration time.Duration
	// Workers is vegeta's initial worker count; MaxWorkers caps in-flight
	// requests; MaxConnections caps connections to the host.
	Workers, MaxWorkers, MaxConnections int
	Timeout                             time.Duration
	// MaxBody caps the bytes of each response body kept in results.
	MaxBody int64
	// DisableKeepAlives opens a new connection per request, so a target
	// with several workers on one socket spreads them across workers.
	DisableKeepAlives bool
	// ReuseResults says on keeps nothing of a result (the Result, its Body,
	// Headers) after it returns and changes none of it: each worker then
	// reuses one Result, body buffer and header map instead of allocating
	// them per request.
	ReuseResults bool
}

// Execute runs plan and calls on for every result as results arrive, one
// call at a time (from the workers' goroutines, under a mutex: on must not
// keep the workers waiting long). It returns when the attack ends or ctx is
// done, after the last call.
func Execute(ctx context.Context, plan Plan, on func(*vegeta.Result)) error {
	if plan.MaxWorkers <= 0 || plan.MaxConnections <= 0 {
		return fmt.Errorf("execute %s: max workers and max connections must be capped (got %d, %d)", plan.Name, plan.MaxWorkers, plan.MaxConnections)
	}
	if plan.Timeout <= 0 {
		plan.Timeout = DefaultTimeout
	}
	workers := plan.Workers
	if workers <= 0 || workers > plan.MaxWorkers {
		workers = min(plan.MaxWorkers, 8)
	}
	maxBody := plan.MaxBody
	if maxBody == 0 {
		maxBody = 1 << 20
	}
	dialer := &net.Dialer{Timeout: plan.Timeout, KeepAlive: 30 * time.Second}
	// h1 sends plain-http requests from the worker's own goroutine (about half
	// of net/http's CPU per request); https goes through net/http.
	tr := &h1.Transport{
		MaxConnsPerHost:   plan.MaxConnections,
		Timeout:           plan.Timeout,
		IdleConnTimeout:   30 * time.Second,
		DisableKeepAlives: plan.DisableKeepAlives,
		Dial:              dialer.DialContext,
		Fallback: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConnsPerHost: plan.MaxConnections,
			MaxConnsPerHost:     plan.MaxConnections,
			IdleConnTimeout:     30 * time.Second,
			DisableKeepAlives:   plan.DisableKeepAlives,
		},
	}
	defer tr.Close()
	// No Client.Timeout: the transport bounds each request itself, without
	// the timer goroutine net/http starts per request for other transports.
	a := &attack{
		plan: plan, tr: tr, maxBody: maxBody, began: time.Now(), stopCh: make(chan struct{}), on: on,
		hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 302 to the login page is an answer, not a hop
		}},
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			a.stop()
		case <-done:
		}
	}()
	a.run(workers)
	return ctx.Err()
}

// GeneratorGC raises the GC target of a load-generating process unless
// GOGC is set: the engine's heap is a few MB of constant-size metrics, so
// the default target collects every few thousand requests. 400 saves about
// 15% of CPU per request for some 10 MB more memory.
func GeneratorGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// BurstPacer sends n hits as fast as the workers allow, then stops.
type BurstPacer struct{ N uint64 }

// Pace implements vegeta.Pacer.
func (p BurstPacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	return 0, hits >= p.N
}

// Rate implements vegeta.Pacer; a burst has no rate.
func (BurstPacer) Rate(time.Duration) float64 { return 0 }

// CountPacer stops its Pacer after N hits.
type CountPacer struct {
	vegeta.Pacer
	N uint64
}

// Pace implements vegeta.Pacer.
func (p CountPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.N {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// ClosedPacer never waits: with Workers == MaxWorkers it keeps exactly that
// many requests in flight (the closed model).
type ClosedPacer struct{}

// Pace implements vegeta.Pacer.
func (ClosedPacer) Pace(time.Duration, uint64) (time.Duration, bool) { return 0, false }

// Rate implements vegeta.Pacer.
func (ClosedPacer) Rate(time.Duration) float64 { return 0 }

// StepPacer runs each step's constant rate for its duration, then stops.
type StepPacer struct{ Steps []StepSpec }

// Pace implements vegeta.Pacer.
func (p StepPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	var start time.Duration
	var before float64
	for _, st := range p.Steps {
		n := float64(st.Rate) * st.Duration.Seconds()
		if float64(hits) < before+math.Floor(n) {
			due := start + time.Duration((float64(hits)-before)/float64(st.Rate)*float64(time.Second))
			return max(due-elapsed, 0), false
		}
		before += math.Floor(n)
		start += st.Duration
	}
	return 0, true
}

// Rate implements vegeta.Pacer.
func (p StepPacer) Rate(elapsed time.Duration) float64 {
	var start time.Duration
	for _, st := range p.Steps {
		start += st.Duration
		if elapsed < start {
			return float64(st.Rate)
		}
	}
	return 0
}

// Options are how Run reaches the target and reports progress.
type Options struct {
	BaseURL     string
	Credentials []client.Credential
	// VUs are already logged-in users; when nil Run logs Scenario.Users in.
	VUs []*VU
	// Progress receives a live line (TTY) or periodic plain lines; nil: none.
	Progress io.Writer
	TTY      bool
	// ProgressInterval is the period of plain lines (default 5s; 250ms on a TTY).
	ProgressInterval time.Duration
	// Raw receives every result in vegeta's encoding (gob), for `vegeta report`
	// or merging later; nil: none.
	Raw io.Writer
	// OnResult sees every result (from the aggregating goroutine).
	OnResult func(*vegeta.Result)
}

// Result is one scenario run, as plain data for the reports.
type Result struct {
	Scenario       string      `json:"scenario"`
	Kind           Kind        `json:"kind"`
	Shape          string      `json:"shape"`
	Version        api.Version `json:"version"`
	Users          int         `json:"users"`
	Started        time.Time   `json:"started"`
	MaxWorkers     int         `json:"max_workers"`
	MaxConnections int         `json:"max_connections"`
	TimeoutSeconds float64     `json:"timeout_s"`
	// Scheduled is the number of requests asked for (-1: open, closed model).
	Scheduled     int     `json:"scheduled"`
	Sent          int64   `json:"sent"`
	RequestedRate float64 `json:"requested_rate_per_s,omitempty"`
	AchievedRate  float64 `json:"achieved_rate_per_s"`
	// FellBehind is true when the generator could not keep the schedule;
	// Note says so in words.
	FellBehind  bool `json:"fell_behind"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Skipped says why the scenario sent nothing on purpose (its writes
	// would have gone to projects nobody declared scratch).
	Skipped string  `json:"skipped,omitempty"`
	Note    string  `json:"note,omitempty"`
	Metrics Summary `json:"metrics"`
}

// BehindThreshold is the fraction of the requested rate below which a run
// is said to have measured the generator, not the app.
const BehindThreshold = 0.95

// Run logs in the scenario's virtual users, drives its load and returns the
// aggregated result.
func Run(ctx context.Context, sc *Scenario, o Options) (*Result, error) {
	sc.Normalize()
	vus := o.VUs
	if vus == nil {
		creds := o.Credentials
		if sc.Writes() {
			var why string
			if creds, why = ScratchOnly(creds); len(creds) == 0 {
				return &Result{Scenario: sc.Name, Kind: sc.Kind, Shape: sc.String(), Version: sc.Version, Started: time.Now().UTC(),
					Scheduled: sc.ScheduledHits(), RequestedRate: sc.RequestedRate(), Skipped: why}, nil
			}
		}
		var err error
		vus, err = LoginUsers(ctx, o.BaseURL, creds, sc.Users, LoginOptions{
			Discover: true, HargaItems: needsHarga(sc), Version: sc.Version,
		})
		if err != nil {
			return nil, fmt.Errorf("set up %s: %w", sc.Name, err)
		}
	}
	tg, err := NewTargeter(o.BaseURL, sc, vus)
	if err != nil {
		return nil, err
	}
	plan := Plan{Name: sc.Name, Targeter: tg.Targeter(), Timeout: sc.Timeout, MaxConnections: sc.MaxConnections}
	switch sc.Kind {
	case Burst:
		plan.Pacer = BurstPacer{N: uint64(sc.Requests)}
		plan.Workers, plan.MaxWorkers = sc.Connections, sc.Connections
		plan.MaxConnections = min(sc.MaxConnections, sc.Connections)
	case Constant:
		// Every scheduled request is sent, late if the generator lags (the
		// lag is reported), within a hard bound of twice the duration.
		plan.Pacer = CountPacer{Pacer: vegeta.Rate{Freq: sc.Rate, Per: time.Second}, N: uint64(sc.ScheduledHits())}
		plan.Duration = 2*sc.Duration + time.Second
		plan.MaxWorkers = sc.MaxWorkers
	case Step:
		plan.Pacer = StepPacer{Steps: sc.Steps}
		plan.Duration = 2*sc.TotalDuration() + time.Second
		plan.MaxWorkers = sc.MaxWorkers
	case Concurrency:
		plan.Pacer = ClosedPacer{}
		plan.Duration = sc.Duration
		plan.Workers, plan.MaxWorkers = sc.Concurrency, sc.Concurrency
		plan.MaxConnections = min(sc.MaxConnections, sc.Concurrency)
	default:
		return nil, fmt.Errorf("run %s: unknown kind %q", sc.Name, sc.Kind)
	}

	m := NewMetrics()
	var enc vegeta.Encoder
	if o.Raw != nil {
		enc = vegeta.NewEncoder(o.Raw)
	}
	var sent, errs atomic.Int64
	prog := startProgress(o, sc, &sent, &errs)
	started := time.Now()
	var encErr error
	// Metrics and the encoder copy what they keep; OnResult may keep more.
	plan.ReuseResults = o.OnResult == nil
	runErr := Execute(ctx, plan, func(r *vegeta.Result) {
		m.Add(r)
		sent.Add(1)
		if ErrorKind(r) != "" {
			errs.Add(1)
		}
		if enc != nil && encErr == nil {
			encErr = enc.Encode(r)
		}
		if o.OnResult != nil {
			o.OnResult(r)
		}
	})
	prog.stop()
	if encErr != nil {
		return nil, fmt.Errorf("write raw results: %w", encErr)
	}
	res := &Result{
		Scenario: sc.Name, Kind: sc.Kind, Shape: sc.String(), Version: sc.Version, Users: len(vus),
		Started: started.UTC(), MaxWorkers: plan.MaxWorkers, MaxConnections: plan.MaxConnections,
		TimeoutSeconds: sc.Timeout.Seconds(), Scheduled: sc.ScheduledHits(), Sent: m.Count(),
		RequestedRate: sc.RequestedRate(), Metrics: m.Summary(), Interrupted: runErr != nil,
	}
	res.AchievedRate = res.Metrics.SendRate
	res.judgeSchedule()
	if note := pruneLoadRows(ctx, sc, vus); note != "" {
		res.Note = strings.TrimPrefix(res.Note+"; "+note, "; ")
	}
	return res, nil
}

// Writes reports whether the scenario's mix sends operations that change
// data.
func (sc *Scenario) Writes() bool {
	for _, e := range sc.Mix {
		if op, ok := api.Lookup(e.Op); ok && op.Method != http.MethodGet && op.Method != http.MethodHead {
			return true
		}
	}
	return false
}

// ScratchOnly narrows credentials to the projects writes may go to: each
// one's projects declared scratch (on a stack the harness seeded, all of
// them). Credentials without one are left out; when none is left, why says
// so and how to declare one.
func ScratchOnly(creds []client.Credential) (out []client.Credential, why string) {
	for _, c := range creds {
		if len(c.Scratch) > 0 {
			c.Projects = slices.Clone(c.Scratch)
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		why = fmt.Sprintf("the mix writes, and none of the %d users declares a scratch project: the deployment's data is left alone (users file: name:password ids scratch)", len(creds))
	}
	return out, why
}

// pruneLoadRows takes the rows the run's list saves appended out of each
// project again (the app's save never deletes) and says what it did. Only
// rows named LoadMarker are removed: a mix entry with its own body names
// its own rows, and they stay (the note says so).
func pruneLoadRows(ctx context.Context, sc *Scenario, vus []*VU) string {
	saves, own := false, false
	for _, e := range sc.Mix {
		if e.Op == "list-pekerjaan.save" {
			saves = true
			own = own || e.Body != "" && !strings.Contains(e.Body, LoadMarker)
		}
	}
	if !saves {
		return ""
	}
	// An interrupted run still cleans up, within its own bound.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var notes []string
	done := map[int]bool{}
	for _, vu := range vus {
		if done[vu.Project] || vu.Client == nil || vu.Project == 0 {
			continue
		}
		done[vu.Project] = true
		n, err := PruneTree(pctx, vu.Client, vu.Project, LoadMarker)
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("list-pekerjaan.save appends and the rows named %q could not be removed: %v", LoadMarker, err))
		case n > 0:
			notes = append(notes, fmt.Sprintf("list-pekerjaan.save appends: %d klasifikasi named %q removed from project %d after the run (upsert, read back)", n, LoadMarker, vu.Project))
		}
	}
	if own {
		notes = append(notes, fmt.Sprintf("list-pekerjaan.save with the scenario's own body: the rows it appended stay (name them %q... to have them removed after the run)", LoadMarker))
	}
	return strings.Join(notes, "; ")
}

// judgeSchedule says in words whether the generator kept the schedule.
func (r *Result) judgeSchedule() {
	var notes []string
	if r.Interrupted {
		notes = append(notes, fmt.Sprintf("interrupted after %d of the scheduled requests", r.Sent))
	}
	if r.RequestedRate > 0 {
		ratio := r.AchievedRate / r.RequestedRate
		short := r.Scheduled > 0 && float64(r.Sent) < BehindThreshold*float64(r.Scheduled)
		if (ratio < BehindThreshold || short) && !r.Interrupted {
			r.FellBehind = true
			notes = append(notes, fmt.Sprintf(
				"the load generator fell behind: requested %.0f/s, achieved %.1f/s (%.0f%%), sent %d of %d; "+
					"the run measured the generator (max %d workers, %d connections), not the app: "+
					"raise max_workers or lower the rate", r.RequestedRate, r.AchievedRate, ratio*100, r.Sent, r.Scheduled, r.MaxWorkers, r.MaxConnections))
		}
	}
	if r.Scheduled > 0 && r.Kind == Burst && r.Sent < int64(r.Scheduled) && !r.Interrupted {
		notes = append(notes, fmt.Sprintf("only %d of %d burst requests were sent", r.Sent, r.Scheduled))
	}
	r.Note = strings.Join(notes, "; ")
}

func needsHarga(sc *Scenario) bool {
	for _, e := range sc.Mix {
		if e.Op == "harga-items.save" && e.Body == "" || strings.Contains(e.Body, ".HargaItem") {
			return true
		}
	}
	return false
}

// Vars are the per-request variables body and query templates can use.
type Vars struct {
	User      string // login name
	UserIndex int    // 1-based virtual user number
	Project   int
	Pekerjaan int // any pekerjaan of the project (rotating)
	Custom    int // a custom pekerjaan (editable detail), or any when none
	Ref       int // a ref pekerjaan, or any when none
	HargaItem int
	Seq       uint64 // request sequence number, from 0
	Now       string // RFC 3339 time of the request
}

// DefaultBodies are the body templates used when a mix entry gives none.
// They produce valid writes against a seeded project.
var DefaultBodies = map[string]string{
	// The save appends (REAL-APP.md 3.1): rows named LoadMarker, at ordering
	// indexes 900000000+Seq (unique per project for klasifikasi and
	// pekerjaan), removed again by Run with PruneTree after the run.
	"list-pekerjaan.save":   `{"klasifikasi":[{"name":"` + LoadMarker + `K{{.Seq}}","ordering_index":9{{printf "%08d" .Seq}},"temp_id":"k{{.Seq}}","sub":[{"name":"` + LoadMarker + `S{{.Seq}}","ordering_index":1,"temp_id":"s{{.Seq}}","pekerjaan":[{"source_type":"custom","snapshot_uraian":"Pekerjaan beban {{.Seq}}","snapshot_satuan":"m2","ordering_index":9{{printf "%08d" .Seq}},"temp_id":"p{{.Seq}}"}]}]}]}`,
	"volume-pekerjaan.save": `{"items":[{"pekerjaan_id":{{.Pekerjaan}},"quantity":"{{.Seq}}.5"}]}`,
	"detail-ahsp.save":      `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja {{.Seq}}","satuan":"OH","koefisien":"0.750000"},{"kategori":"BHN","kode":"B.{{.Seq}}","uraian":"Semen","satuan":"kg","koefisien":"1.250000"}]}`,
	"harga-items.save":      `{"items":[{"id":{{.HargaItem}},"harga_satuan":"150000"}],"markup_percent":"15"}`,
}

// DefaultQueries are the query templates used when a mix entry gives none.
var DefaultQueries = map[string]string{
	"search-ahsp": "q=beton&limit=10",
}

type mixItem struct {
	op    api.Operation
	body  *template.Template
	raw   []byte // body without template actions
	query *template.Template
	rawQ  string
}

// Targeter turns a scenario's mix into requests, cycling users and a
// smooth weighted round robin of operations, so runs are reproducible.
type Targeter struct {
	base    string
	version api.Version
	vus     []*VU
	jsonHdr []http.Header // per VU: its headers plus Content-Type for bodies
	wheel   []*mixItem
	seq     atomic.Uint64
}

// NewTargeter compiles the mix's templates.
func NewTargeter(baseURL string, sc *Scenario, vus []*VU) (*Targeter, error) {
	if len(vus) == 0 {
		return nil, fmt.Errorf("scenario %s: no virtual users", sc.Name)
	}
	t := &Targeter{base: strings.TrimRight(baseURL, "/"), version: sc.Version, vus: vus}
	for _, vu := range vus {
		h := vu.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
		t.jsonHdr = append(t.jsonHdr, h)
	}
	items := make([]*mixItem, len(sc.Mix))
	weights := make([]int, len(sc.Mix))
	for i, e := range sc.Mix {
		op, ok := api.Lookup(e.Op)
		if !ok {
			return nil, fmt.Errorf("scenario %s: mix[%d]: unknown operation %q", sc.Name, i, e.Op)
		}
		it := &mixItem{op: op}
		body := e.Body
		if body == "" && op.Body {
			body = DefaultBodies[op.Name]
			if body == "" {
				return nil, fmt.Errorf("scenario %s: mix[%d]: operation %s has no default body (it can delete data); give one in body", sc.Name, i, op.Name)
			}
		}
		var err error
		if it.body, it.raw, err = compile(body); err != nil {
			return nil, fmt.Errorf("scenario %s: mix[%d].body: %w", sc.Name, i, err)
		}
		q := e.Query
		if q == "" {
			q = DefaultQueries[op.Name]
		}
		var rq []byte
		if it.query, rq, err = compile(q); err != nil {
			return nil, fmt.Errorf("scenario %s: mix[%d].query: %w", sc.Name, i, err)
		}
		it.rawQ = string(rq)
		items[i] = it
		weights[i] = max(e.Weight, 1)
	}
	t.wheel = smoothWheel(items, weights)
	return t, nil
}

func compile(text string) (*template.Template, []byte, error) {
	if !strings.Contains(text, "{{") {
		return nil, []byte(text), nil
	}
	tp, err := template.New("t").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, nil, err
	}
	return tp, nil, nil
}

// smoothWheel lays out weights like nginx's smooth weighted round robin:
// weights 3,1 give a a b a, not a a a b.
func smoothWheel(items []*mixItem, weights []int) []*mixItem {
	total := 0
	for _, w := range weights {
		total += w
	}
	cur := make([]int, len(items))
	out := make([]*mixItem, 0, total)
	for range total {
		best := 0
		for i := range items {
			cur[i] += weights[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, items[best])
	}
	return out
}

// Targeter returns the vegeta targeter; safe for concurrent use.
func (t *Targeter) Targeter() vegeta.Targeter {
	return func(tgt *vegeta.Target) error { return t.Next(tgt) }
}

// Next fills tgt with the next request.
func (t *Targeter) Next(tgt *vegeta.Target) error {
	n := t.seq.Add(1) - 1
	vi := n % uint64(len(t.vus))
	vu := t.vus[vi]
	k := n / uint64(len(t.vus))
	it := t.wheel[k%uint64(len(t.wheel))]
	v := Vars{User: vu.User, UserIndex: vu.Index + 1, Project: vu.Project, Seq: n, Now: time.Now().UTC().Format(time.RFC3339)}
	v.Pekerjaan = pick(vu.Pekerjaan, k)
	v.Custom, v.Ref = pick(vu.Custom, k), pick(vu.Ref, k)
	if v.Custom == 0 {
		v.Custom = v.Pekerjaan
	}
	if v.Ref == 0 {
		v.Ref = v.Pekerjaan
	}
	v.HargaItem = pick(vu.HargaItems, k)
	id := v.Pekerjaan
	if it.op.Name == "detail-ahsp.save" {
		id = v.Custom // ref pekerjaan are read-only
	}
	u := t.base + it.op.URLPath(t.version, vu.Project, id)
	q := it.rawQ
	if it.query != nil {
		var b strings.Builder
		if err := it.query.Execute(&b, v); err != nil {
			return fmt.Errorf("render query of %s: %w", it.op.Name, err)
		}
		q = b.String()
	}
	if q != "" {
		u += "?" + q
	}
	tgt.Method, tgt.URL, tgt.Header, tgt.Body = it.op.Method, u, vu.Header, it.raw
	if it.body != nil {
		var b bytes.Buffer
		if err := it.body.Execute(&b, v); err != nil {
			return fmt.Errorf("render body of %s: %w", it.op.Name, err)
		}
		tgt.Body = b.Bytes()
	}
	if len(tgt.Body) > 0 {
		tgt.Header = t.jsonHdr[vi]
	}
	return nil
}

func pick(ids []int, k uint64) int {
	if len(ids) == 0 {
		return 0
	}
	return ids[k%uint64(len(ids))]
}
