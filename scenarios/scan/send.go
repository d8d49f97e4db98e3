package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// probeBody is sent to write operations by probes that only measure the
// limiter: the limit is counted before the body is parsed (as in the real
// app), and a body that cannot be parsed can never change data.
const probeBody = `{"harness_probe": `

// req is one planned request.
type req struct {
	label  string
	method string
	path   string // from the base URL, query included
	header http.Header
	body   []byte
}

// outcome is one answered (or failed) request.
type outcome struct {
	req
	status     int
	worker     string
	header     http.Header
	body       []byte
	err        string
	start, end time.Time
}

func (o outcome) latency() time.Duration { return o.end.Sub(o.start) }

// class sorts a status into what the limiter did.
type class int

const (
	accepted class = iota
	limited
	other
)

// apiClass: 429 is limited; 2xx and the app's validation answers (400, 409,
// 422) passed the limiter; anything else (404, 302 to login, 403, 5xx,
// transport errors) never reached the operation.
func apiClass(status int) class {
	switch {
	case status == http.StatusTooManyRequests:
		return limited
	case status >= 200 && status < 300, status == 400, status == 409, status == 422:
		return accepted
	}
	return other
}

// loginClass: a login answer (form again with an error, or 302) passed.
func loginClass(status int) class {
	switch status {
	case http.StatusTooManyRequests:
		return limited
	case http.StatusOK, http.StatusFound, http.StatusSeeOther:
		return accepted
	}
	return other
}

// tally aggregates outcomes as they arrive.
type tally struct {
	classify  func(int) class
	sent      int
	counts    [3]int
	perWorker map[string]int
	workers   map[string]bool // every X-Worker-Id that answered
	status    map[int]int
	rows      map[string]*Row
	order     []string
	first     time.Time
	last      time.Time
	samples   []Sample
	seen      map[string]bool // sample kinds already kept
	maxLat    time.Duration
	connClose int // answers that closed their connection
}

func newTally(classify func(int) class) *tally {
	return &tally{classify: classify, perWorker: map[string]int{}, workers: map[string]bool{}, status: map[int]int{}, rows: map[string]*Row{}, seen: map[string]bool{}}
}

func (t *tally) add(o outcome) {
	t.sent++
	c := t.classify(o.status)
	t.counts[c]++
	t.status[o.status]++
	if o.worker != "" {
		t.workers[api.WorkerIndex(o.worker)] = true
	}
	if c == accepted {
		w := o.worker
		if w == "" {
			w = "unknown"
		}
		t.perWorker[w]++
	}
	if t.first.IsZero() || o.start.Before(t.first) {
		t.first = o.start
	}
	if o.end.After(t.last) {
		t.last = o.end
	}
	t.maxLat = max(t.maxLat, o.latency())
	if strings.EqualFold(o.header.Get("Connection"), "close") {
		t.connClose++
	}
	if o.label != "" {
		r := t.rows[o.label]
		if r == nil {
			r = &Row{Name: o.label, Status: map[int]int{}}
			t.rows[o.label] = r
			t.order = append(t.order, o.label)
		}
		r.Sent++
		r.Status[o.status]++
		switch c {
		case accepted:
			r.Accepted++
		case limited:
			r.Limited++
		}
	}
	kind := [...]string{"accepted", "limited", "other"}[c]
	if !t.seen[kind] && len(t.samples) < 6 {
		t.seen[kind] = true
		t.samples = append(t.samples, sampleOf(kind, o))
	}
}

func (t *tally) elapsed() time.Duration {
	if t.first.IsZero() {
		return 0
	}
	return t.last.Sub(t.first)
}

// evidence fills the common fields; the oracle's numbers come from the probe.
func (t *tally) evidence() Evidence {
	e := Evidence{
		Sent: t.sent, Accepted: t.counts[accepted], Limited: t.counts[limited], Other: t.counts[other],
		AcceptedPerWorker: t.perWorker, WorkersSeen: len(t.workers), Status: t.status, ElapsedSeconds: round3(t.elapsed().Seconds()),
		Samples: t.samples,
	}
	for _, l := range t.order {
		e.Rows = append(e.Rows, *t.rows[l])
	}
	return e
}

var sampleHeaders = []string{"Retry-After", "RateLimit", "RateLimit-Policy", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Location", "Content-Type"}

func sampleOf(what string, o outcome) Sample {
	s := Sample{What: what, Method: o.method, URL: o.path, Status: o.status, Worker: o.worker, LatencyMS: round3(float64(o.latency().Microseconds()) / 1000)}
	for _, h := range sampleHeaders {
		if v := o.header.Get(h); v != "" {
			if s.Headers == nil {
				s.Headers = map[string]string{}
			}
			s.Headers[h] = v
		}
	}
	s.Body = truncate(string(o.body), 400)
	if o.err != "" {
		s.Body = "error: " + o.err
	}
	return s
}

// burst sends reqs as fast as conns connections allow, through the load
// engine (vegeta, capped workers), and feeds t. noKeepAlive opens a new
// connection per request so a multi-worker target spreads them.
func (s *scanner) burst(ctx context.Context, reqs []req, conns int, noKeepAlive bool, t *tally) error {
	if len(reqs) == 0 {
		return nil
	}
	byKey := map[string]*req{}
	for i := range reqs {
		byKey[reqs[i].method+" "+s.base+reqs[i].path] = &reqs[i]
	}
	var n atomic.Uint64
	tg := func(tgt *vegeta.Target) error {
		i := n.Add(1) - 1
		if i >= uint64(len(reqs)) {
			return vegeta.ErrNoTargets
		}
		r := reqs[i]
		tgt.Method, tgt.URL, tgt.Header, tgt.Body = r.method, s.base+r.path, r.header, r.body
		return nil
	}
	plan := scenarios.Plan{
		Name: "scan", Targeter: tg, Pacer: scenarios.BurstPacer{N: uint64(len(reqs))},
		Workers: conns, MaxWorkers: conns, MaxConnections: conns, Timeout: 30 * time.Second,
		MaxBody: 4096, DisableKeepAlives: noKeepAlive,
	}
	return scenarios.Execute(ctx, plan, func(r *vegeta.Result) {
		o := outcome{status: int(r.Code), header: r.Headers, body: r.Body, err: r.Error, start: r.Timestamp, end: r.End()}
		if o.header == nil {
			o.header = http.Header{}
		}
		o.worker = o.header.Get(api.WorkerHeader)
		if q := byKey[r.Method+" "+r.URL]; q != nil {
			o.req = *q
		} else {
			o.req = req{method: r.Method, path: strings.TrimPrefix(r.URL, s.base)}
		}
		if o.status != 0 {
			o.err = ""
		}
		t.add(o)
	})
}

// httpClient is a plain client that never follows redirects.
func httpClient(timeout time.Duration, noKeepAlive bool) *http.Client {
	return &http.Client{
		Timeout:       timeout,
		Transport:     &http.Transport{DisableKeepAlives: noKeepAlive, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// send sends one request and reads the whole answer.
func (s *scanner) send(ctx context.Context, hc *http.Client, r req) outcome {
	o := outcome{req: r, header: http.Header{}}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(ctx, r.method, s.base+r.path, body)
	if err != nil {
		o.err = err.Error()
		return o
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	o.start = time.Now()
	resp, err := hc.Do(hr)
	if err != nil {
		o.end = time.Now()
		o.err = err.Error()
		return o
	}
	defer resp.Body.Close()
	o.body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	o.end = time.Now()
	o.status, o.header = resp.StatusCode, resp.Header
	o.worker = resp.Header.Get(api.WorkerHeader)
	return o
}

// sendRetry is send, repeated up to tries times while the answer is a 503
// (a fail-closed limiter whose cache was briefly slow on a busy machine):
// for the probes' single checks, where one transient 503 proves nothing.
func (s *scanner) sendRetry(ctx context.Context, hc *http.Client, r req, tries int) outcome {
	var o outcome
	_ = client.Retry(ctx, client.Backoff{Tries: tries, Wait: 300 * time.Millisecond, Retry: client.OnStatus(http.StatusServiceUnavailable)},
		func(ctx context.Context) error {
			if o = s.send(ctx, hc, r); o.status == http.StatusServiceUnavailable {
				return client.StatusErrorf(o.status, "status %d", o.status)
			}
			return nil
		})
	return o // the last answer, judged by the caller
}

// pinnedBurst sends n requests built by mk over connections that all reach
// one worker, released together: the most concentrated concurrency the
// target allows. It opens up to maxConns connections, asks each which worker
// answers (an unlimited health call), keeps the largest group, and reports
// the chosen worker.
func (s *scanner) pinnedBurst(ctx context.Context, n, want, maxConns int, mk func(i int) req, t *tally) (string, int, error) {
	type conn struct {
		hc     *http.Client
		worker string
	}
	groups := map[string][]*conn{}
	var all []*conn
	defer func() {
		for _, c := range all {
			c.hc.CloseIdleConnections()
		}
	}()
	best := ""
	for i := 0; i < maxConns && len(groups[best]) < want; i++ {
		hc := &http.Client{
			Timeout:       30 * time.Second,
			Transport:     &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		o := s.send(ctx, hc, req{method: http.MethodGet, path: api.HealthLivePath})
		if o.status == 0 {
			return "", 0, fmt.Errorf("open connection %d: %s", i+1, o.err)
		}
		c := &conn{hc: hc, worker: api.WorkerIndex(o.worker)}
		all = append(all, c)
		groups[c.worker] = append(groups[c.worker], c)
		if len(groups[c.worker]) > len(groups[best]) {
			best = c.worker
		}
	}
	pinned := groups[best]
	start := make(chan struct{})
	outs := make(chan outcome, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for _, c := range pinned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				outs <- s.send(ctx, c.hc, mk(i))
			}
		}()
	}
	close(start)
	wg.Wait()
	close(outs)
	var list []outcome
	for o := range outs {
		list = append(list, o)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].start.Before(list[j].start) })
	for _, o := range list {
		t.add(o)
	}
	return best, len(pinned), nil
}

// user logs a fresh credential in (waiting out login throttling) and
// discovers its project's ids.
// A credential is logged in once per scan and its session shared by every
// phase that gets it again (deployments throttle logins per client IP).
func (s *scanner) user(ctx context.Context, discover bool) (*scenarios.VU, string, error) {
	cred, note := s.freshUser()
	vu, err := s.sessionFor(ctx, cred, discover)
	return vu, note, err
}

// sessionFor is cred's session of this scan: the one it has (its ids
// discovered on it when asked for), else a new login, kept for the others.
func (s *scanner) sessionFor(ctx context.Context, cred client.Credential, discover bool) (*scenarios.VU, error) {
	s.mu.Lock()
	vu := s.sessions[cred.User]
	s.mu.Unlock()
	if vu != nil && (!discover || len(vu.Pekerjaan) > 0) {
		return vu, nil
	}
	if vu != nil && vu.Project != 0 {
		// Logged in without the ids: discover them on the same session.
		v := *vu
		if err := scenarios.Discover(ctx, &v, s.loginOptions(true)); err == nil {
			s.mu.Lock()
			s.sessions[cred.User] = &v
			s.mu.Unlock()
			return &v, nil
		}
	}
	vu, err := s.loginAs(ctx, cred, discover)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.sessions[cred.User] = vu
	s.mu.Unlock()
	return vu, nil
}

// scanLoginWait bounds how long one login waits out login throttling: the
// app's failed-login lockout lasts 300 s, a per-IP limit a minute.
const scanLoginWait = 330 * time.Second

// loginOptions are the scan's login options: throttling (a 429 or a lockout
// page) is waited out within scanLoginWait and said on the progress output.
func (s *scanner) loginOptions(discover bool) scenarios.LoginOptions {
	return scenarios.LoginOptions{Discover: discover, Version: api.Legacy, Wait: scanLoginWait,
		OnThrottle: func(user string, attempt int, err error) {
			s.throttled.Add(1)
			if attempt == 1 || attempt%10 == 0 {
				s.printf("scan: login of %s throttled (try %d: %v); waiting it out, up to %s", user, attempt, err, scanLoginWait)
			}
		}}
}

// loginAs logs cred in (a new session each time), counted as a login.
func (s *scanner) loginAs(ctx context.Context, cred client.Credential, discover bool) (*scenarios.VU, error) {
	s.logins.Add(1)
	vus, err := scenarios.LoginUsers(ctx, s.base, []client.Credential{cred}, 1, s.loginOptions(discover))
	if err != nil {
		return nil, err
	}
	return vus[0], nil
}

// opReq builds a request for op as user vu in version v; writes get the
// unparseable probe body.
func opReq(vu *scenarios.VU, op api.Operation, v api.Version, label string) req {
	id := 0
	if len(vu.Pekerjaan) > 0 {
		id = vu.Pekerjaan[0]
	}
	if op.Name == "detail-ahsp.save" && len(vu.Custom) > 0 {
		id = vu.Custom[0]
	}
	r := req{label: label, method: op.Method, path: op.URLPath(v, vu.Project, id), header: vu.Header}
	if op.Body {
		h := vu.Header.Clone()
		h.Set("Content-Type", "application/json")
		r.header, r.body = h, []byte(probeBody)
	}
	return r
}

func mustOp(name string) api.Operation {
	op, ok := api.Lookup(name)
	if !ok {
		panic("scan: no operation " + name)
	}
	return op
}

// agent is one goroutine's hold on a user's session. Where sessions live in
// one worker's memory, requests landing elsewhere bounce to the login page;
// the agent resends (the next connection may reach the session's worker),
// and after a run of bounces logs in again (the new session lives on
// whichever worker takes the login) and resends, within bounds: per agent
// and per scan. Bounces are counted as sessions evidence.
type agent struct {
	s        *scanner
	vu       scenarios.VU // a copy: Header is this agent's own
	relogins int
	bounced  int // requests of this agent that bounced
	// outage: a fault is on (the cache stopped), so a login may fail for
	// it: no waiting out throttling, and loginErr keeps why it failed.
	outage   bool
	loginErr error
}

// outageLoginWait bounds a login during a fault (the cache stopped): the
// fault lasts until the probe ends it, so throttling is not waited out.
const outageLoginWait = 2 * time.Second

// maxRelogins bounds an agent's extra logins.
const maxRelogins = 3

// reloginBudget bounds the scan's logins that replace a bounced session,
// and, apart, the extra sessions sessionsFor logs in (sessions per worker):
// a few per worker a burst must reach, each.
func (s *scanner) reloginBudget() int64 { return int64(16 * s.workerHint()) }

func (s *scanner) agent(vu *scenarios.VU) *agent {
	return &agent{s: s, vu: *vu}
}

// req builds op's request with the agent's current session.
func (a *agent) req(op api.Operation, v api.Version, label string) req {
	return opReq(&a.vu, op, v, label)
}

// do sends op and resends while it bounces (bounded); it returns the last
// answer and how many bounced.
func (a *agent) do(ctx context.Context, hc *http.Client, op api.Operation, v api.Version, label string) (outcome, int) {
	return a.send(ctx, hc, func(vu *scenarios.VU) req { return opReq(vu, op, v, label) })
}

// send is do for any request built from the agent's session (a variant
// with other headers or another method): mk is called again for every
// resend, so a new login's session is used.
func (a *agent) send(ctx context.Context, hc *http.Client, mk func(vu *scenarios.VU) req) (outcome, int) {
	o := a.s.send(ctx, hc, mk(&a.vu))
	// Workers taking connections in turn bounce at most workers-1 in a row
	// while the session is alive on one of them; other requests in flight
	// break the turns, so only a long run (6 per worker: about e^-6 when
	// workers are taken at random) means the session is gone.
	run := 6 * a.s.workerHint()
	n := 0
	for bounced(o) && n < 2*run && ctx.Err() == nil {
		n++
		a.s.bounces.Add(1)
		if n%run == 0 {
			a.relogin(ctx)
		}
		o = a.s.send(ctx, hc, mk(&a.vu))
	}
	a.bounced += n
	return o, n
}

// relogin replaces the agent's session with a new login of the same user,
// within the agent's and the scan's relogin bounds.
func (a *agent) relogin(ctx context.Context) bool {
	cred, ok := a.s.cred(a.vu.User)
	if !ok || a.relogins >= maxRelogins || a.s.relogins.Add(1) > a.s.reloginBudget() {
		return false
	}
	if !a.login(ctx, cred) {
		return false
	}
	a.share()
	return true
}

// login replaces the agent's session with a new login of cred.
func (a *agent) login(ctx context.Context, cred client.Credential) bool {
	c, err := client.New(a.s.base)
	if err != nil {
		return false
	}
	a.relogins++
	a.s.logins.Add(1)
	// A new session on purpose (renewing a bounced one, or one more per
	// worker), also where the run shares its sessions.
	opts := a.s.loginOptions(false)
	if a.outage {
		opts.Wait = outageLoginWait // a fail-closed login limit refuses until the fault ends
	}
	if a.loginErr = scenarios.LoginWith(client.FreshSession(ctx), c, cred, opts); a.loginErr != nil {
		return false
	}
	a.vu.Header, a.vu.Client = c.Headers(), c
	return true
}

// share makes the agent's current session the user's shared one (a session
// that bounced everywhere, e.g. on a killed worker, is not handed out again).
func (a *agent) share() {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if old := a.s.sessions[a.vu.User]; old != nil && old.Client != a.vu.Client {
		v := *old
		v.Header, v.Client = a.vu.Header, a.vu.Client
		a.s.sessions[a.vu.User] = &v
	}
}
