package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

func probeSessions(ctx context.Context, s *scanner) Result {
	vu, note, err := s.user(ctx, false)
	if err != nil {
		return setupFailed(err)
	}
	if vu.Project == 0 {
		return skip("user %s has no project id to read", vu.User)
	}
	op := mustOp("volume-pekerjaan.list")
	workers := s.workerHint()
	n := max(8*workers, 8)
	// Stay under the operation's limit: a 429 would hide a bounce.
	if pol, ok := s.pm.Lookup(op.Name, api.Legacy); ok && pol.State == OpLimited {
		n = min(n, max(pol.Limit-1, 1))
	} else if !ok {
		n = min(n, max(s.policyOf(op.Category).Limit.Requests-1, 1))
	}
	// A new connection per request lets the kernel hand each to any worker.
	hc := httpClient(30*time.Second, true)
	t := newTally(apiClass)
	bounced := map[string]int{}
	for range n {
		o := s.send(ctx, hc, req{method: op.Method, path: op.URLPath(api.Legacy, vu.Project, 0), header: vu.Header})
		w := o.worker
		if w == "" {
			w = "unknown"
		}
		o.label = "worker " + api.WorkerIndex(w)
		t.add(o)
		if o.status == http.StatusFound && strings.Contains(o.header.Get("Location"), api.LoginPath) {
			bounced[api.WorkerIndex(w)]++
		}
	}
	e := t.evidence()
	e.Operation, e.User = op.Name, vu.User
	if note != "" {
		e.Notes = append(e.Notes, note)
	}
	return sessionsVerdict(e, n, workers, bounced)
}

// sessionsVerdict judges the sessions probe's reads; bounced counts the
// redirects to the login page per worker index ("unknown" without
// X-Worker-Id).
func sessionsVerdict(e Evidence, n, workers int, bounced map[string]int) Result {
	identified := e.WorkersSeen > 0
	seen := len(e.Rows)
	if identified && workers > 1 && seen < workers {
		e.Notes = append(e.Notes, fmt.Sprintf("only %s of %d answered", plural(seen, "worker"), workers))
	}
	if !identified {
		e.Notes = append(e.Notes, "workers not identifiable (no X-Worker-Id)")
	}
	for i := range e.Rows {
		if b := bounced[strings.TrimPrefix(e.Rows[i].Name, "worker ")]; b > 0 {
			e.Rows[i].Note = fmt.Sprintf("%d redirected to the login page", b)
		}
	}
	res := Result{Evidence: e}
	if len(bounced) > 0 {
		total := 0
		for _, b := range bounced {
			total += b
		}
		by := "by " + plural(len(bounced), "worker") + " (" + formatCounts(bounced) + ")"
		if !identified {
			by = "(workers not identifiable)"
		}
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("%d of %d requests of a logged-in user were redirected to the login page %s: sessions live in one worker's memory",
			total, n, by)
		return res
	}
	if e.Accepted == 0 {
		// Nothing was served, so whether the session is honoured is unknown.
		res.Status, res.Reason = check.Inconclusive, unmeasured(e)
		if e.Limited > 0 {
			res.Reason = fmt.Sprintf("all %d answered requests were refused with 429 (the user's quota for the operation was spent): no session could be seen honoured or bounced", e.Limited)
		}
		return res
	}
	res.Status = check.Pass
	who := "workers not identifiable"
	if identified {
		who = plural(seen, "worker")
	}
	res.Reason = fmt.Sprintf("the session was honoured on every worker that answered (%s, %d requests on new connections)", who, n)
	return res
}

// plural is "1 worker", "2 workers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// control returns the stack's control or the skip result that explains why
// there is none.
func (s *scanner) control(needCache bool, hooks ...string) (stackinfo.Control, *Result) {
	c, err := s.t.Control()
	if err == nil {
		// An external deployment is controlled through the user's hooks.
		err = stackinfo.ControlMissing(c, hooks...)
	}
	if err != nil {
		r := skip("%v", err)
		if errors.Is(err, stackinfo.ErrUnsupported) && !strings.Contains(err.Error(), "hook") {
			r = skip("unsupported in external mode: the probe needs to control the stack (give --hook %s=COMMAND)", strings.Join(hooks, "=... --hook "))
		}
		return nil, &r
	}
	external := s.t.Info().Mode == stackinfo.ModeExternal
	if needCache && !external && s.t.Info().Cache != stackinfo.CacheRedis {
		r := skip("the target runs with cache %q: there is no cache server to break (use --cache redis)", s.t.Info().Cache)
		return nil, &r
	}
	if needCache && s.t.Info().SessionStore == "cache" {
		r := skip("sessions are stored in the cache, so a cache outage logs everyone out; run with --session-store db to test the limiter's policy")
		return nil, &r
	}
	return c, nil
}

// refused reports whether an answer refuses the request, as a fail-closed
// policy must: a 5xx (a limiter's 503, or the 500 of one that raises on the
// cache error) or a 429.
func refused(status int) bool {
	return status >= http.StatusInternalServerError || status == http.StatusTooManyRequests
}

// policyAnswer checks one answer against the failure policy; "" when it
// complies.
func (s *scanner) policyAnswer(o outcome) string {
	if o.latency() > s.timeout+s.slack {
		return fmt.Sprintf("request took %s, longer than the limiter timeout %s + %s", o.latency().Round(time.Millisecond), s.timeout, s.slack)
	}
	if s.policy == "fail-open" {
		if apiClass(o.status) != accepted {
			return fmt.Sprintf("fail-open: want the request served, got %d %s", o.status, truncate(string(o.body)+o.err, 120))
		}
		return ""
	}
	if o.status == 0 {
		return fmt.Sprintf("fail-closed: want the request refused, got no answer (%s)", truncate(o.err, 120))
	}
	if !refused(o.status) {
		return fmt.Sprintf("fail-closed: want the request refused (5xx), got %d %s", o.status, truncate(string(o.body)+o.err, 120))
	}
	return ""
}

// degraded is what op answered while the cache was broken.
type degraded struct {
	problems []string
	status   map[int]int // of the requests that reached the operation
	// unreached counts requests still redirected to the login page after
	// the agent's resends; cause says why (the session, a failed login).
	unreached int
	cause     string
}

// degradedPhase sends k requests of op while the cache is broken and checks
// the policy on each. Bounces to the login page are resent by the agent
// (where sessions live in a worker's memory they say nothing about the
// cache); one that stays bounced never reached the operation and is not
// judged.
func (s *scanner) degradedPhase(ctx context.Context, a *agent, op api.Operation, label string, k int, t *tally) degraded {
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	a.outage = true
	defer func() { a.outage = false }()
	d := degraded{status: map[int]int{}}
	for range k {
		o, _ := a.send(ctx, hc, faultReq(op))
		o.label = label
		t.add(o)
		if bounced(o) {
			d.unreached++
			continue
		}
		d.status[o.status]++
		if pr := s.policyAnswer(o); pr != "" {
			d.problems = append(d.problems, pr)
			t.samples = append(t.samples, sampleOf("policy broken", o))
		}
	}
	d.problems = dedupe(d.problems)
	if d.unreached > 0 {
		d.cause = fmt.Sprintf("%d of %d requests to %s stayed redirected to the login page while the cache was %s (the session was not honoured by the worker that answered)",
			d.unreached, k, op.Name, strings.TrimPrefix(label, "cache "))
		if a.loginErr != nil {
			d.cause += fmt.Sprintf(", and logging in again failed: %v", a.loginErr)
		}
	}
	return d
}

// unmeasured is the result of a cache probe whose requests never reached
// the operation: inconclusive with the cause; nil when some did.
func (d degraded) unmeasured(e Evidence) *Result {
	if d.unreached == 0 || len(d.status) > 0 {
		return nil
	}
	return &Result{Status: check.Inconclusive, Evidence: e, Reason: "the failure policy could not be measured: " + d.cause}
}

// statusText is "500=5" style counts of the answers.
func statusText(m map[int]int) string {
	byText := make(map[string]int, len(m))
	for k, v := range m {
		byText[strconv.Itoa(k)] = v
	}
	return formatCounts(byText)
}

// recovery polls until an API call is served and health is 200.
func (s *scanner) recovery(ctx context.Context, a *agent, op api.Operation, within time.Duration, t *tally) (time.Duration, error) {
	hc := httpClient(5*time.Second, false)
	defer hc.CloseIdleConnections()
	start := time.Now()
	for time.Since(start) < within {
		o, _ := a.send(ctx, hc, faultReq(op))
		o.label = "recovery"
		h := s.send(ctx, hc, req{method: http.MethodGet, path: api.HealthPath})
		// A 429 is a working limiter too: the quota may be spent by now.
		if c := apiClass(o.status); (c == accepted || c == limited) && h.status == http.StatusOK {
			t.add(o)
			return time.Since(start), nil
		}
		if err := sleepUntil(ctx, time.Now().Add(200*time.Millisecond)); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("not recovered %s after the cache came back (API and /health/ not both healthy)", within)
}

func probeCacheDown(ctx context.Context, s *scanner) Result {
	ctl, sk := s.control(true, stackinfo.HookCacheStop, stackinfo.HookCacheStart)
	if sk != nil {
		return *sk
	}
	op, sk := s.faultOp()
	if sk != nil {
		return *sk
	}
	// Logged in before the outage: a deployment's login may need the cache.
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	a := s.agent(vu)
	t := newTally(apiClass)
	if pr := s.degradedBaseline(ctx, a, op, t); pr != "" {
		return errorf("before the outage: %s", pr)
	}
	var notes []string
	if note != "" {
		notes = append(notes, note)
	}
	export, xnote := s.exportBefore(ctx, a, t)
	if xnote != "" {
		notes = append(notes, xnote)
	}
	if err := ctl.StopCache(ctx); err != nil {
		return errorf("stop the cache: %v", err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = ctl.StartCache(context.WithoutCancel(ctx))
		}
	}()
	d := s.degradedPhase(ctx, a, op, "cache stopped", 5, t)
	problems := d.problems
	reads := s.readsWhileDown(ctx, a, t)
	var findings []Finding
	var samples []Sample
	if export != nil {
		a.outage = true
		f, xnote, sample := export.during(ctx, a, t)
		a.outage = false
		samples = append(samples, sample)
		if f != nil {
			findings = append(findings, *f)
		} else {
			notes = append(notes, xnote)
		}
	}
	hc := httpClient(10*time.Second, false)
	health := s.send(ctx, hc, req{method: http.MethodGet, path: api.HealthPath, label: "health while the cache is stopped"})
	t.add(health)
	hc.CloseIdleConnections()
	if health.status != http.StatusServiceUnavailable {
		problems = append(problems, fmt.Sprintf("/health/ answered %d while the cache was stopped, want 503", health.status))
	}
	if err := ctl.StartCache(ctx); err != nil {
		return errorf("start the cache again: %v", err)
	}
	restarted = true
	took, rerr := s.recovery(ctx, a, op, 15*time.Second, t)
	if rerr != nil {
		problems = append(problems, rerr.Error())
	}
	e := t.evidence()
	e.User, e.Operation, e.Policy = vu.User, op.Name, s.policy
	e.Samples = append(e.Samples, sampleOf("health while down", health))
	e.Samples = append(e.Samples, samples...)
	e.Notes = append(e.Notes, notes...)
	if len(d.status) > 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("while the cache was stopped %s answered %s", op.Name, statusText(d.status)))
		if s.policy == "fail-closed" && d.status[http.StatusInternalServerError] > 0 {
			e.Notes = append(e.Notes, "refused with 500 (an unhandled cache error), not 503 with Retry-After: clients and load balancers cannot tell the outage from a bug")
		}
	}
	if reads != "" {
		e.Notes = append(e.Notes, "while the cache was stopped the reads answered (not judged): "+reads)
	}
	if d.cause != "" {
		e.Notes = append(e.Notes, d.cause)
	}
	if rerr == nil {
		e.Notes = append(e.Notes, fmt.Sprintf("recovered %s after the cache came back", took.Round(time.Millisecond)))
	}
	if r := d.unmeasured(e); r != nil && len(findings) == 0 {
		return *r
	}
	res := Result{Evidence: e, Findings: findings}
	for _, f := range findings {
		problems = append(problems, f.String())
	}
	if len(problems) > 0 {
		res.Status, res.Reason = check.Fail, strings.Join(problems, "; ")
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("%s honoured with the cache stopped (%s answered %s), /health/ 503, recovered in %s",
		s.policy, op.Name, statusText(d.status), took.Round(time.Millisecond))
	return res
}

// readsWhileDown sends each read operation once (legacy family) while the
// cache is down and says what each answered ("list-pekerjaan.tree 500,
// ..."): which pages an outage breaks. Not judged: a read may refuse
// (fail-closed) or be served (it needs no cache); the rekap CSV is compared
// apart.
func (s *scanner) readsWhileDown(ctx context.Context, a *agent, t *tally) string {
	hc := httpClient(10*time.Second, false)
	defer hc.CloseIdleConnections()
	a.outage = true
	defer func() { a.outage = false }()
	var parts []string
	for _, op := range api.Operations {
		if op.Method != http.MethodGet || op.Name == "export.rekap-rab-csv" {
			continue
		}
		o, _ := a.do(ctx, hc, op, api.Legacy, "reads while the cache is stopped")
		t.add(o)
		what := strconv.Itoa(o.status)
		switch {
		case o.status == 0:
			what = "no answer"
		case bounced(o):
			what = "302 to the login page"
		}
		parts = append(parts, op.Name+" "+what)
	}
	return strings.Join(parts, ", ")
}

// degradedBaseline checks the API works before a cache is broken.
func (s *scanner) degradedBaseline(ctx context.Context, a *agent, op api.Operation, t *tally) string {
	hc := httpClient(10*time.Second, false)
	defer hc.CloseIdleConnections()
	var o outcome
	// A 503 may be a busy fail-closed limiter: a few tries, each past bounces.
	for try := 0; try < 3; try++ {
		if o, _ = a.send(ctx, hc, faultReq(op)); o.status != http.StatusServiceUnavailable {
			break
		}
		if sleepUntil(ctx, time.Now().Add(300*time.Millisecond)) != nil {
			break
		}
	}
	o.label = "baseline"
	t.add(o)
	if apiClass(o.status) != accepted {
		return fmt.Sprintf("%s answered %d %s", op.Name, o.status, o.err)
	}
	return ""
}

func probeCacheSlow(ctx context.Context, s *scanner) Result {
	ctl, sk := s.control(true, stackinfo.HookCacheSlow, stackinfo.HookCacheFast)
	if sk != nil {
		return *sk
	}
	op, sk := s.faultOp()
	if sk != nil {
		return *sk
	}
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	a := s.agent(vu)
	t := newTally(apiClass)
	if pr := s.degradedBaseline(ctx, a, op, t); pr != "" {
		return errorf("before the slowdown: %s", pr)
	}
	delay := max(4*s.timeout, 200*time.Millisecond)
	remove, err := ctl.AddCacheLatency(ctx, delay)
	if err != nil {
		if errors.Is(err, stackinfo.ErrUnsupported) {
			return skip("cache latency: %v", err)
		}
		return errorf("add cache latency: %v", err)
	}
	removed := false
	defer func() {
		if !removed {
			_ = remove(context.WithoutCancel(ctx))
		}
	}()
	d := s.degradedPhase(ctx, a, op, fmt.Sprintf("cache delayed by %s", delay), 5, t)
	problems := d.problems
	if err := remove(ctx); err != nil {
		return errorf("remove cache latency: %v", err)
	}
	removed = true
	took, rerr := s.recovery(ctx, a, op, 15*time.Second, t)
	if rerr != nil {
		problems = append(problems, rerr.Error())
	}
	e := t.evidence()
	e.User, e.Operation, e.Policy = vu.User, op.Name, s.policy
	if note != "" {
		e.Notes = append(e.Notes, note)
	}
	e.Notes = append(e.Notes, fmt.Sprintf("every cache reply delayed by %s (limiter timeout %s); slowest answer %s", delay, s.timeout, t.maxLat.Round(time.Millisecond)))
	if len(d.status) > 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("while the cache was slow %s answered %s", op.Name, statusText(d.status)))
	}
	if d.cause != "" {
		e.Notes = append(e.Notes, d.cause)
	}
	if r := d.unmeasured(e); r != nil {
		return *r
	}
	res := Result{Evidence: e}
	if len(problems) > 0 {
		res.Status, res.Reason = check.Fail, strings.Join(problems, "; ")
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("with the cache %s slow, %s was honoured and no request hung (slowest %s); recovered in %s",
		delay, s.policy, t.maxLat.Round(time.Millisecond), took.Round(time.Millisecond))
	return res
}

func probeWorkerKill(ctx context.Context, s *scanner) Result {
	ctl, sk := s.control(false, stackinfo.HookWorkerKill)
	if sk != nil {
		return *sk
	}
	external := s.t.Info().Mode == stackinfo.ModeExternal
	// The victim: the first listed worker; an external deployment's workers
	// cannot be listed, so its hook gets index 1 and restart is judged by
	// the deployment serving writes again.
	victim := stackinfo.Worker{Index: 1}
	if !external {
		before, err := ctl.Workers(ctx)
		if err != nil || len(before) == 0 {
			return errorf("list workers: %v (%d found)", err, len(before))
		}
		victim = before[0]
	}
	vus, notes, sk := s.scratchUsers(ctx, min(4, len(s.creds)), "writes volumes it does not put back (unique values, to prove none acknowledged was lost)")
	if sk != nil {
		return *sk
	}
	for _, vu := range vus {
		if len(vu.Pekerjaan) == 0 {
			return inconclusive("user %s has no pekerjaan in project %d to write volumes to", vu.User, vu.Project)
		}
	}
	op := mustOp("volume-pekerjaan.save")
	p := s.policyOf(op.Category)
	const load = 3 * time.Second
	gap := max(100*time.Millisecond, load/time.Duration(max(p.Limit.Requests, 1)))
	// Unique, increasing values per run: run*1000 + n with 3 decimals, so a
	// stored value can only be one this run sent (seeded or older values
	// never match).
	run := 100000 + time.Now().UnixNano()/1000%900000
	value := func(n int) string { return fmt.Sprintf("%d.%03d", run, n) }
	acks := make([]*durability, len(vus))
	t := newTally(apiClass)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	var killAt time.Duration
	afterKill := newTally(apiClass)
	for i, vu := range vus {
		a := &durability{user: vu.User, pid: vu.Project, pk: vu.Pekerjaan[0], failures: map[string]int{}}
		acks[i] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := httpClient(10*time.Second, false)
			defer hc.CloseIdleConnections()
			ag := s.agent(vu) // a write bounced to the login page never ran: resent
			for q := 1; time.Since(start) < load && q < 1000; q++ {
				v := value(q)
				body := fmt.Sprintf(`{"items":[{"pekerjaan_id":%d,"quantity":"%s"}]}`, a.pk, v)
				o, _ := ag.send(ctx, hc, func(vu *scenarios.VU) req {
					h := vu.Header.Clone()
					h.Set("Content-Type", "application/json")
					return req{label: "writes", method: op.Method, path: op.URLPath(api.Legacy, a.pid, 0), header: h, body: []byte(body)}
				})
				mu.Lock()
				t.add(o)
				if killAt > 0 && o.start.Sub(start) > killAt {
					afterKill.add(o)
				}
				mu.Unlock()
				a.sent = append(a.sent, v)
				switch {
				case o.status == http.StatusOK:
					a.lastAck = len(a.sent)
				case o.status == 0:
					a.failures["transport error"]++
				default:
					a.failures[strconv.Itoa(o.status)]++
				}
				if err := sleepUntil(ctx, time.Now().Add(gap)); err != nil {
					return
				}
			}
		}()
	}
	if err := sleepUntil(ctx, start.Add(load/3)); err != nil {
		return errorf("interrupted: %v", err)
	}
	mu.Lock()
	killAt = time.Since(start)
	mu.Unlock()
	killErr := ctl.KillWorker(ctx, victim.Index)
	// Watch for the restart while the writes go on: the master must bring
	// the index back with a new pid (not observable in external mode).
	restarted := make(chan time.Duration, 1)
	if !external {
		go func() {
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if ws, err := ctl.Workers(ctx); err == nil {
					for _, w := range ws {
						if w.Index == victim.Index && w.PID != victim.PID && w.PID != 0 {
							restarted <- time.Since(start) - killAt
							return
						}
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
			restarted <- 0
		}()
	}
	wg.Wait()
	e := t.evidence()
	e.Operation, e.Policy = op.Name, p.String()
	how := fmt.Sprintf("killed worker %d (pid %d) with SIGKILL", victim.Index, victim.PID)
	if external {
		how = fmt.Sprintf("ran the worker-kill hook (HARNESS_WORKER_INDEX=%d)", victim.Index)
	}
	e.Notes = append(notes, fmt.Sprintf("%s %.2fs into %s of writes from %d users; values %s.001 upwards, unique to this run", how, killAt.Seconds(), load, len(vus), strconv.FormatInt(run, 10)))
	res := Result{Evidence: e}
	if killErr != nil {
		res.Status, res.Reason = check.Error, fmt.Sprintf("kill worker %d: %v", victim.Index, killErr)
		return res
	}
	var problems []string
	ak := afterKill.evidence()
	res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("after the kill the deployment answered %v (%d writes acknowledged)", ak.Status, ak.Accepted))
	if !external {
		if in := <-restarted; in == 0 {
			problems = append(problems, fmt.Sprintf("worker %d was not restarted within 10s", victim.Index))
		} else {
			res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("worker %d back with a new pid %s after the kill", victim.Index, in.Round(time.Millisecond)))
		}
	} else if ak.Accepted == 0 {
		problems = append(problems, fmt.Sprintf("no write was acknowledged after the worker-kill hook ran (answers %v): the deployment did not recover within the %s of load", ak.Status, load))
	}
	// Durability: the stored value is the last acknowledged one, or one
	// sent after it (its answer lost); anything else lost an acknowledged write.
	list := mustOp("volume-pekerjaan.list")
	hc := httpClient(10*time.Second, false)
	defer hc.CloseIdleConnections()
	checked := 0
	for i, a := range acks {
		row := Row{Name: a.user, Sent: len(a.sent), Accepted: a.acked(), Note: "nothing acknowledged"}
		if a.lastAck > 0 {
			row.Note = "last acknowledged " + a.sent[a.lastAck-1]
		}
		if len(a.failures) > 0 {
			row.Note += fmt.Sprintf("; not acknowledged: %v", a.failures)
		}
		if a.lastAck > 0 {
			o, _ := s.agent(vus[i]).do(ctx, hc, list, api.Legacy, "read back")
			if o.status == http.StatusServiceUnavailable {
				o = s.sendRetry(ctx, hc, req{method: list.Method, path: list.URLPath(api.Legacy, a.pid, 0), header: vus[i].Header}, 3)
			}
			got, err := storedQuantity(o, a.pk)
			if err != nil {
				problems = append(problems, fmt.Sprintf("read back %s's volumes: %v", a.user, err))
			} else {
				checked++
				verdict, ok := a.judge(got)
				row.Note += "; " + verdict
				if !ok {
					problems = append(problems, fmt.Sprintf("%s: %s", a.user, verdict))
				}
			}
		}
		res.Evidence.Rows = append(res.Evidence.Rows, row)
	}
	if len(problems) > 0 {
		res.Status, res.Reason = check.Fail, strings.Join(problems, "; ")
		return res
	}
	if checked == 0 {
		res.Status, res.Reason = check.Inconclusive, "no write was acknowledged, so durability could not be checked: "+unmeasured(e)
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("%s under load; every user's stored value is its last acknowledged write or a later one (%d users, %d writes acknowledged)", how, checked, e.Accepted)
	return res
}

// durability tracks one user's writes during worker-kill.
type durability struct {
	user     string
	pid, pk  int
	sent     []string // values in send order
	lastAck  int      // 1-based index into sent of the last 200, 0 for none
	failures map[string]int
}

func (d *durability) acked() int {
	n := len(d.sent)
	for _, c := range d.failures {
		n -= c
	}
	return n
}

// judge checks the stored value: the last acknowledged value, or a later
// sent one whose answer was lost, is durable; anything else is not.
func (d *durability) judge(stored float64) (string, bool) {
	for i := len(d.sent) - 1; i >= d.lastAck-1 && i >= 0; i-- {
		if v, _ := strconv.ParseFloat(d.sent[i], 64); v == stored {
			if i == d.lastAck-1 {
				return fmt.Sprintf("stored %s = the last acknowledged", d.sent[i]), true
			}
			return fmt.Sprintf("stored %s, sent after the last acknowledged (its answer was lost)", d.sent[i]), true
		}
	}
	for i := d.lastAck - 2; i >= 0; i-- {
		if v, _ := strconv.ParseFloat(d.sent[i], 64); v == stored {
			return fmt.Sprintf("stored %s, an older value than the last acknowledged %s: an acknowledged write was lost", d.sent[i], d.sent[d.lastAck-1]), false
		}
	}
	return fmt.Sprintf("stored %g, which this run never sent; the last acknowledged was %s: acknowledged writes were lost", stored, d.sent[d.lastAck-1]), false
}

// storedQuantity finds pekerjaan pk's quantity in a volume list answer
// (legacy/v1 or v2 envelope).
func storedQuantity(o outcome, pk int) (float64, error) {
	if o.status != http.StatusOK {
		return 0, fmt.Errorf("status %d %s", o.status, o.err)
	}
	type item struct {
		PekerjaanID int             `json:"pekerjaan_id"`
		Quantity    json.RawMessage `json:"quantity"`
	}
	var doc struct {
		Items []item `json:"items"`
		Data  *struct {
			Items []item `json:"items"`
		} `json:"data"`
	}
	if err := json.Unmarshal(o.body, &doc); err != nil {
		return 0, fmt.Errorf("decode: %w", err)
	}
	items := doc.Items
	if doc.Data != nil {
		items = doc.Data.Items
	}
	for _, it := range items {
		if it.PekerjaanID == pk {
			q := strings.Trim(string(it.Quantity), `"`)
			return strconv.ParseFloat(q, 64)
		}
	}
	return 0, fmt.Errorf("pekerjaan %d not in the list", pk)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
