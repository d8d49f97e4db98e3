package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

func fail(format string, a ...any) Result {
	return Result{Status: check.Fail, Reason: fmt.Sprintf(format, a...)}
}

func skip(format string, a ...any) Result {
	return Result{Status: check.Skip, Reason: fmt.Sprintf(format, a...)}
}

// setupFailed is a probe that could not start: the target did not let a
// seeded user in, which is a finding in itself.
func setupFailed(err error) Result { return fail("set up: %v", err) }

// judgeBurst fills the oracle's numbers and the verdict of a burst on one
// fresh key.
func judgeBurst(t *tally, p Policy, op api.Operation, vu *scenarios.VU, note string) (Evidence, int) {
	e := t.evidence()
	e.Operation, e.Policy = op.Name, p.String()
	if vu != nil {
		e.User = vu.User
	}
	if note != "" {
		e.Notes = append(e.Notes, note)
	}
	e.ExpectedMax = MaxAccepted(p, t.elapsed())
	e.Overshoot = max(0, e.Accepted-e.ExpectedMax)
	return e, e.Overshoot
}

// unmeasured says why a burst measured nothing, or "".
func unmeasured(e Evidence) string {
	if e.Accepted == 0 && e.Limited == 0 {
		return fmt.Sprintf("no request reached the operation (statuses %v): the probe measured nothing", e.Status)
	}
	return ""
}

// tooFewReached is the precondition of every burst verdict: more requests
// must have reached the operation (answered by it, not bounced, refused or
// lost) than the policy allows, or an overshoot could not have shown. It
// returns why not, or "".
func tooFewReached(e Evidence) string {
	reached := e.Accepted + e.Limited
	if e.Accepted == 0 && e.Limited > 0 && e.ExpectedMax > 0 {
		// A fresh quota accepts something first: this one was spent before
		// the burst (an earlier scan or run with the same account), so no
		// overshoot could show.
		return fmt.Sprintf("none of the %d requests that reached the operation was accepted (%d answered 429): the account's quota was already spent when the probe started (an earlier scan or run?); wait one window or use other accounts",
			reached, e.Limited)
	}
	if reached > e.ExpectedMax {
		return ""
	}
	return fmt.Sprintf("only %d of %d requests reached the operation (statuses %v), not more than the %d the policy allows, so an overshoot could not show",
		reached, e.Sent, e.Status, e.ExpectedMax)
}

// inconclusiveWith is inconclusive with the evidence of what did run.
func inconclusiveWith(e Evidence, format string, a ...any) Result {
	r := inconclusive(format, a...)
	r.Evidence = e
	return r
}

// bounceNote names sessions as the cause when requests bounced to login.
func bounceNote(e Evidence) string {
	if n := e.Status[http.StatusFound]; n > 0 {
		return fmt.Sprintf("; %d bounced to the login page (sessions not shared by the workers: see sessions)", n)
	}
	return ""
}

// sessionsFor returns n session headers of one user: its shared session,
// plus, where sessions live in one worker's memory (discovery saw bounces),
// up to n-1 extra logins so that requests can be served by several workers.
// Extra sessions are kept per user and handed out again (the login budget).
func (s *scanner) sessionsFor(ctx context.Context, vu *scenarios.VU, n int) []http.Header {
	out := []http.Header{vu.Header}
	if s.bounces.Load() == 0 {
		return out
	}
	s.mu.Lock()
	if s.spread == nil {
		s.spread = map[string][]http.Header{}
	}
	have := s.spread[vu.User]
	s.mu.Unlock()
	out = append(out, have[:min(len(have), n-1)]...)
	cred, ok := s.cred(vu.User)
	if !ok {
		return out
	}
	hc := httpClient(5*time.Second, true)
	defer hc.CloseIdleConnections()
	for len(out) < n && s.spreads.Add(1) <= s.reloginBudget() {
		// A few unauthenticated requests first, a random number: where
		// workers take connections in turn, the logins would otherwise
		// land on the same workers every time.
		for range rand.IntN(n) {
			s.send(ctx, hc, req{method: http.MethodGet, path: api.HealthLivePath})
		}
		if a := s.agent(vu); a.login(ctx, cred) {
			out = append(out, a.vu.Header)
			s.mu.Lock()
			s.spread[vu.User] = append(s.spread[vu.User], a.vu.Header)
			s.mu.Unlock()
		}
	}
	return out
}

func probeMultiWorker(ctx context.Context, s *scanner) Result {
	pol, op, sk := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	if sk != nil {
		return *sk
	}
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	p := pol.Policy(s.alg)
	workers := s.workerHint()
	heads := s.sessionsFor(ctx, vu, 2*workers)
	n := (workers + 1) * p.Limit.Requests * s.reachFactor()
	reqs := make([]req, n)
	for i := range reqs {
		v := *vu
		v.Header = heads[rand.IntN(len(heads))] // not in step with the workers' turns
		reqs[i] = opReq(&v, op, api.Legacy, "")
	}
	// One request at a time, each on a new connection: the connections
	// spread over the workers, and no two requests race, so an overshoot
	// here is a counter per process, not a non-atomic one (race's finding).
	t := newTally(apiClass)
	if err := s.burst(ctx, reqs, 1, true, t); err != nil {
		return fail("burst: %v", err)
	}
	e, over := judgeBurst(t, p, op, vu, note)
	if len(heads) > 1 {
		e.Notes = append(e.Notes, fmt.Sprintf("%d sessions of %s (sessions live in one worker each), requests rotated over them", len(heads), vu.User))
	}
	seen := e.WorkersSeen
	if seen == 0 {
		e.Notes = append(e.Notes, "workers not identifiable (no X-Worker-Id): accepted counts are totals")
	}
	res := Result{Evidence: e}
	if over > 0 {
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("accepted %d of %d from one user on %s in %.2fs, the policy allows at most %d (%d over); accepted per worker: %s",
			e.Accepted, e.Sent, op.Name, e.ElapsedSeconds, e.ExpectedMax, over, formatCounts(e.AcceptedPerWorker))
		switch {
		case perWorkerWithin(e.AcceptedPerWorker, e.ExpectedMax) && len(e.AcceptedPerWorker) > 1:
			res.Reason += "; " + perWorkerClause
		case seen == 0:
			res.Reason += fmt.Sprintf("; the requests went one at a time (none raced), each on a new connection, and %.1f× the limit passed", float64(e.Accepted)/float64(max(p.Limit.Requests, 1))) +
				"; " + oneAtATimeClause
		}
		return res
	}
	if m := tooFewReached(e); m != "" {
		return inconclusiveWith(e, "%s%s", m, bounceNote(e))
	}
	if seen == 1 && workers > 1 {
		return inconclusiveWith(e, "only 1 worker answered although %d are declared: the burst did not spread, so a per-worker counter could not show", workers)
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("accepted %d of %d on %s, at most %d allowed", e.Accepted, e.Sent, op.Name, e.ExpectedMax)
	if seen > 1 {
		res.Reason += fmt.Sprintf(" (spread over %d workers)", seen)
	}
	return res
}

// The probes' own explanations of an overshoot; diagnose drops them when
// the controls name another cause.
const (
	raceClause       = "concurrent requests read the same count before any wrote it back (non-atomic read-modify-write)"
	perWorkerClause  = "every worker stayed within the limit on its own: each counts in its own memory (per-process cache), so N workers let N× the limit through"
	oneAtATimeClause = "the processes that served them do not share the counter, each counts in its own memory (per-process cache)"
)

func perWorkerWithin(m map[string]int, limit int) bool {
	for _, v := range m {
		if v > limit {
			return false
		}
	}
	return true
}

func probeRace(ctx context.Context, s *scanner) Result {
	pol, op, sk := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	if sk != nil {
		return *sk
	}
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	p := pol.Policy(s.alg)
	n := 3 * p.Limit.Requests * s.reachFactor()
	t := newTally(apiClass)
	// Where only some requests reach the operation (sessions per worker),
	// more connections keep as many in flight on the one that serves.
	k := s.conns * s.reachFactor()
	worker, conns, err := s.pinnedBurst(ctx, n, k, 4*k, func(int) req { return opReq(vu, op, api.Legacy, "") }, t)
	if err != nil {
		return fail("burst: %v", err)
	}
	e, over := judgeBurst(t, p, op, vu, note)
	where := "on worker " + worker
	if worker == "" {
		where = "(workers not identifiable: the burst relies on concurrency, not pinning)"
	}
	e.Notes = append(e.Notes, fmt.Sprintf("%d connections %s, released together", conns, where))
	res := Result{Evidence: e}
	if over > 0 {
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("accepted %d of %d concurrent requests on %s %s in %.2fs, at most %d allowed (%d over): %s",
			e.Accepted, e.Sent, op.Name, where, e.ElapsedSeconds, e.ExpectedMax, over, raceClause)
		return res
	}
	if m := tooFewReached(e); m != "" {
		return inconclusiveWith(e, "%s%s", m, bounceNote(e))
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("accepted %d of %d concurrent requests on %s (%d connections %s), at most %d allowed", e.Accepted, e.Sent, op.Name, conns, where, e.ExpectedMax)
	return res
}

// maxProbeWait bounds how long one probe may wait on the declared windows.
const maxProbeWait = 10 * time.Minute

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// windowEdge is the window probe's second part: bursts of 2×limit at the
// start, just before and just after the first window's end, on a fresh key;
// a fixed window may accept up to the limit on each side of the edge, and no
// more. It runs concurrently with the polite stream (disjoint users).
type windowEdge struct {
	e      Evidence
	over   int
	p      Policy
	op     api.Operation
	vu     string
	result *Result // set when the part could not run
}

// windowEdgeUser logs the edge bursts' user in (before the polite stream
// starts, so both logins come before the other probes' when logins are
// throttled).
func (s *scanner) windowEdgeUser(ctx context.Context, pol OpPolicy) (*scenarios.VU, string, error) {
	if pol.Operation == "" {
		return nil, "", nil
	}
	return s.user(ctx, true)
}

func (s *scanner) windowEdge(ctx context.Context, polite string, pol OpPolicy, vu *scenarios.VU, note string, err error) windowEdge {
	if pol.Operation == "" {
		r := skip("no second limited operation and %s's key is not per user: the window edge cannot be probed apart from the polite stream", polite)
		return windowEdge{result: &r}
	}
	op := mustOp(pol.Operation)
	if err != nil {
		r := setupFailed(err)
		return windowEdge{result: &r}
	}
	p := pol.Policy(s.alg)
	w := p.window()
	if w > maxProbeWait {
		r := skip("the %s window (%s) is too long to probe", op.Name, w)
		return windowEdge{result: &r}
	}
	margin := min(w/10, 500*time.Millisecond)
	edge := newTally(apiClass)
	t0 := time.Now()
	phases := []struct {
		label string
		at    time.Time
	}{
		{"edge: burst at window start", t0},
		{"edge: burst just before the window ends", t0.Add(w - margin)},
		{"edge: burst just after the window ends", t0.Add(w + margin)},
	}
	for _, ph := range phases {
		if err := sleepUntil(ctx, ph.at); err != nil {
			r := fail("interrupted: %v", err)
			return windowEdge{result: &r}
		}
		reqs := make([]req, 2*p.Limit.Requests*s.reachFactor())
		for i := range reqs {
			reqs[i] = opReq(vu, op, api.Legacy, ph.label)
		}
		// Sequential: a window edge needs no concurrency, and a
		// non-atomic counter must not pass for an edge effect.
		if err := s.burst(ctx, reqs, 1, false, edge); err != nil {
			r := fail("burst: %v", err)
			return windowEdge{result: &r}
		}
	}
	e, over := judgeBurst(edge, p, op, vu, note)
	return windowEdge{e: e, over: over, p: p, op: op, vu: vu.User}
}

func probeWindow(ctx context.Context, s *scanner) Result {
	// Part 1: a polite client, slower than the limit, is never throttled.
	_, _, sk := s.pick(api.Export, api.Write, api.Bulk, api.Read)
	if sk != nil {
		return *sk
	}
	pol, edgePol := s.windowOps()
	op := mustOp(pol.Operation)
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	edgeVU, edgeNote, edgeErr := s.windowEdgeUser(ctx, edgePol)
	setupDone(ctx)
	p := pol.Policy(s.alg)
	every := PoliteInterval(p).Round(time.Millisecond)
	n := max(p.Limit.Requests+2, 3)
	if every*time.Duration(n) > maxProbeWait {
		return skip("the %s window is too long to probe (%d requests one every %s)", op.Category, n, every)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	edgeDone := make(chan windowEdge, 1)
	go func() { edgeDone <- s.windowEdge(ctx, op.Name, edgePol, edgeVU, edgeNote, edgeErr) }()
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	polite := newTally(apiClass)
	ag := s.agent(vu)
	// One client on one counter: a renewed session may live in another
	// worker whose own counter starts afresh, so the stream never logs in
	// again; a bounce is sent again (bounded) until its worker answers.
	ag.relogins = maxRelogins
	start := time.Now()
	throttledAt := 0
	var last time.Time
	minGap := time.Duration(1 << 62)
	for i := range n {
		// On schedule, but never closer than every to the last send that
		// reached the operation: a request bounced to the login page lands
		// late, and the next one on schedule would land too close to it.
		at := start.Add(time.Duration(i) * every)
		if !last.IsZero() && last.Add(every).After(at) {
			at = last.Add(every)
		}
		if err := sleepUntil(ctx, at); err != nil {
			return fail("interrupted: %v", err)
		}
		o, _ := ag.do(ctx, hc, op, api.Legacy, "polite: one every "+every.String())
		polite.add(o)
		if !last.IsZero() {
			minGap = min(minGap, o.start.Sub(last))
		}
		last = o.start
		if apiClass(o.status) == limited && throttledAt == 0 {
			throttledAt = i + 1
		}
	}
	pe := polite.evidence()
	// docs/limiter.md: spacing above w/(limit−1) must always pass. A client
	// starved of CPU may have sent closer than that; then a 429 proves nothing.
	mustPass := p.window() / time.Duration(max(p.Limit.Requests-1, 1))
	if throttledAt > 0 && minGap <= mustPass {
		return inconclusiveWith(pe, "the polite client was throttled at request %d but could not keep its spacing (closest two sends %s apart, must-pass spacing is over %s); the machine is too busy",
			throttledAt, minGap.Round(time.Millisecond), mustPass)
	}
	ed := <-edgeDone
	e := ed.e
	e.Rows = append(pe.Rows, e.Rows...)
	if note != "" {
		e.Notes = append(e.Notes, note)
	}
	e.Notes = append(e.Notes, fmt.Sprintf("polite stream: %s as %s, %d requests one every %s (%d per %ds discovered): %d accepted, %d limited",
		op.Name, vu.User, pe.Sent, every, p.Limit.Requests, p.Limit.WindowSeconds, pe.Accepted, pe.Limited))
	if ed.result != nil {
		e.Notes = append(e.Notes, "window edge: "+ed.result.Reason)
	}
	res := Result{Evidence: e}
	switch {
	case throttledAt > 0:
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("a client slower than the limit (%s: one every %s) was throttled at request %d of %d: "+
			"the window is pushed back on every allowed request (TTL refresh), so a steady client slower than the limit ends up throttled",
			op.Name, every, throttledAt, n)
		res.Evidence.Samples = append(res.Evidence.Samples, pe.Samples...)
	case pe.Accepted < n:
		res.Status, res.Reason = check.Inconclusive, fmt.Sprintf("polite stream: only %d of %d requests reached the operation (statuses %v)%s", pe.Accepted, n, pe.Status, bounceNote(pe))
	case ed.over > 0:
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("around the window edge %d of %d were accepted on %s in %.2fs, the %s policy allows at most %d (%d over)",
			e.Accepted, e.Sent, ed.op.Name, e.ElapsedSeconds, ed.p.Algorithm, e.ExpectedMax, ed.over)
	case ed.result != nil && ed.result.Status != check.Skip:
		res.Status, res.Reason = ed.result.Status, "window edge: "+ed.result.Reason
	case ed.result == nil && tooFewReached(e) != "":
		res.Status, res.Reason = check.Inconclusive, "edge bursts: "+tooFewReached(e)+bounceNote(e)
	default:
		res.Status = check.Pass
		res.Reason = fmt.Sprintf("a polite client was never throttled (%d/%d accepted)", pe.Accepted, pe.Sent)
		if ed.result == nil {
			res.Reason += fmt.Sprintf("; around the window edge %d of %d were accepted, at most %d allowed", e.Accepted, e.Sent, e.ExpectedMax)
		}
	}
	return res
}

// pathVariants are spellings of one operation's path that a Django-style
// router (or the reference target's) may resolve to the same view.
func pathVariants(op api.Operation, pid, id int) [][2]string {
	legacy := op.URLPath(api.Legacy, pid, id)
	prefix := api.ProjectPrefix(api.Legacy, pid)
	rest := strings.TrimPrefix(legacy, prefix)
	lastSeg := strings.TrimSuffix(rest, "/")
	i := strings.LastIndexByte(lastSeg, '/')
	enc := legacy
	if seg := lastSeg[i+1:]; len(seg) > 1 {
		// percent-encode the segment's second character
		enc = prefix + lastSeg[:i+1] + seg[:1] + fmt.Sprintf("%%%02X", seg[1]) + seg[2:] + strings.TrimPrefix(rest, lastSeg)
	}
	return [][2]string{
		{"canonical (legacy)", legacy},
		{"no trailing slash", strings.TrimSuffix(legacy, "/")},
		{"double slash", prefix + "/" + rest},
		{"upper case", prefix + strings.ToUpper(rest)},
		{"percent-encoded", enc},
		{"query string", legacy + "?harness=1"},
		{"v1", op.URLPath(api.V1, pid, id)},
		{"v2", op.URLPath(api.V2, pid, id)},
	}
}

func probePathVariants(ctx context.Context, s *scanner) Result {
	pol, op, sk := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	if sk != nil {
		return *sk
	}
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	p := pol.Policy(s.alg)
	variants := pathVariants(op, vu.Project, 0)
	var reqs []req
	for range p.Limit.Requests * s.reachFactor() {
		for _, v := range variants {
			r := opReq(vu, op, api.Legacy, v[0]+" "+v[1])
			r.path = v[1]
			reqs = append(reqs, r)
		}
	}
	// One connection, one request at a time: a path split does not need
	// concurrency, and a non-atomic counter must not pass for one.
	t := newTally(apiClass)
	if err := s.burst(ctx, reqs, 1, false, t); err != nil {
		return fail("burst: %v", err)
	}
	e, over := judgeBurst(t, p, op, vu, note)
	// Control: the canonical spelling alone, as many requests, on a fresh
	// key. What it lets through (counters per process, say) is not a split.
	if vu2, _, err := s.user(ctx, true); err == nil {
		ctl := newTally(apiClass)
		creqs := make([]req, len(reqs))
		for i := range creqs {
			creqs[i] = opReq(vu2, op, api.Legacy, "")
		}
		if err := s.burst(ctx, creqs, 1, false, ctl); err == nil {
			ce := ctl.evidence()
			e.Notes = append(e.Notes, fmt.Sprintf("control: the canonical path alone, %d requests as %s: %d accepted", ce.Sent, vu2.User, ce.Accepted))
			if ce.Accepted > e.ExpectedMax && tooFewReached(ce) == "" {
				e.ExpectedMax = ce.Accepted
				e.Overshoot = max(0, e.Accepted-e.ExpectedMax)
				over = e.Overshoot
			}
		}
	}
	for i := range e.Rows {
		r := &e.Rows[i]
		if r.Accepted == 0 && r.Limited == 0 {
			r.Note = "not routed to the operation (" + fmt.Sprint(r.Status) + ")"
		}
	}
	res := Result{Evidence: e}
	if over == 0 {
		if m := tooFewReached(e); m != "" {
			return inconclusiveWith(e, "%s%s", m, bounceNote(e))
		}
	}
	if over > 0 {
		var apart []string
		for _, r := range e.Rows {
			if r.Accepted > 0 {
				apart = append(apart, fmt.Sprintf("%s=%d", strings.SplitN(r.Name, " /", 2)[0], r.Accepted))
			}
		}
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("spellings of %s were counted apart: %d accepted over %d variants, at most %d allowed (%d over); accepted per variant: %s",
			op.Name, e.Accepted, len(variants), e.ExpectedMax, over, strings.Join(apart, ", "))
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("%d variants of %s shared one limit: %d accepted, at most %d allowed", len(variants), op.Name, e.Accepted, e.ExpectedMax)
	return res
}

// probeCoverage judges the discovered policy against the declared one: an
// operation declared limited that never answered 429 (or answered it at
// another count or window) is a finding, reported here once for all probes.
func probeCoverage(_ context.Context, s *scanner) Result {
	pm := s.pm
	if pm == nil {
		return errorf("the policy could not be discovered: %v", s.discoverErr)
	}
	var e Evidence
	var unlimited, unmeasuredOps, families []string
	for _, f := range pm.Families {
		if !f.Deployed {
			families = append(families, string(f.Version))
		}
	}
	for _, p := range pm.Ops {
		if p.State == OpNotDeployed {
			continue
		}
		row := Row{Name: p.Name(), Sent: p.Sent, Accepted: p.Reached, Status: p.Status}
		switch p.State {
		case OpLimited:
			row.Limited = 1
			row.Note = fmt.Sprintf("limited: %d per %ds (%s; window %s)", p.Limit, p.WindowSeconds, p.LimitFrom, p.WindowFrom)
		case OpUnlimited:
			row.Note = fmt.Sprintf("UNLIMITED: no 429 within %d requests (declared %s %d/%ds)", p.Reached, p.Category, p.Declared.Requests, p.Declared.WindowSeconds)
			if p.Declared.Requests > 0 {
				unlimited = append(unlimited, p.Name())
			}
		default:
			row.Note = "not measured: " + p.Note
			unmeasuredOps = append(unmeasuredOps, p.Name())
		}
		e.Rows = append(e.Rows, row)
		e.Sent += p.Sent
		e.Accepted += p.Reached
		e.Limited += row.Limited
	}
	e.User = strings.Join(pm.Users, ", ")
	if len(families) > 0 {
		e.Notes = append(e.Notes, "URL families not deployed (their operations not judged): "+strings.Join(families, ", "))
	}
	e.Notes = append(e.Notes, pm.Differences...)
	res := Result{Evidence: e}
	measured := len(e.Rows) - len(unmeasuredOps)
	switch {
	case len(unlimited) > 0:
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("%d of %d operations have no limit although one is declared (no 429 within the discovery budget): %s",
			len(unlimited), measured, strings.Join(unlimited, ", "))
	case len(pm.Differences) > 0:
		res.Status = check.Fail
		res.Reason = "the discovered policy differs from the declared one: " + strings.Join(pm.Differences, "; ")
	case len(unmeasuredOps) > 0:
		res.Status = check.Inconclusive
		res.Reason = fmt.Sprintf("%d operations could not be measured (too few requests reached them, or too slowly to fill a window: see their notes): %s", len(unmeasuredOps), strings.Join(unmeasuredOps, ", "))
	default:
		res.Status = check.Pass
		res.Reason = fmt.Sprintf("all %d operations are limited as declared", len(e.Rows))
	}
	if res.Status == check.Fail && len(unmeasuredOps) > 0 {
		res.Reason += fmt.Sprintf("; not measured: %s", strings.Join(unmeasuredOps, ", "))
	}
	return res
}

func probeHeaders(ctx context.Context, s *scanner) Result {
	_, _, sk := s.pick(api.Write, api.Export, api.Bulk, api.Read)
	if sk != nil {
		return *sk
	}
	pol := s.headersOp()
	op := mustOp(pol.Operation)
	vu, note, err := s.user(ctx, true)
	setupDone(ctx)
	if err != nil {
		return setupFailed(err)
	}
	p := pol.Policy(s.alg)
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	t := newTally(apiClass)
	var got *outcome
	ag := s.agent(vu)
	for range (p.Limit.Requests + 2) * s.workerHint() {
		o, _ := ag.do(ctx, hc, op, api.Legacy, "until the first 429")
		t.add(o)
		if o.status == http.StatusTooManyRequests {
			got = &o
			break
		}
	}
	e, _ := judgeBurst(t, p, op, vu, note)
	// The oracle's maximum is not the question here (the sequence is
	// sequential and spans Retry-After): only the headers are judged.
	e.ExpectedMax, e.Overshoot = 0, 0
	res := Result{Evidence: e}
	if got == nil {
		if e.Accepted <= 8*p.Limit.Requests {
			// Too few reached the operation to say it is not limited.
			res.Status, res.Reason = check.Inconclusive, fmt.Sprintf("no 429 from %s, but only %d of %d requests reached it (statuses %v): not enough to exceed a limit, so the 429's headers could not be checked",
				op.Name, e.Accepted, e.Sent, e.Status)
			return res
		}
		res.Status, res.Reason = check.Skip, fmt.Sprintf("%s never answered 429 within %d requests, so there are no 429 headers to check (see coverage)", op.Name, e.Sent)
		return res
	}
	res.Evidence.Samples = []Sample{sampleOf("first 429", *got)}
	problems, advisory := judge429Headers(got.header, got.end, s.cfg.RequireRateLimitHeaders)
	res.Evidence.Notes = append(res.Evidence.Notes, advisory...)
	ra := got.header.Get("Retry-After")
	secs, _ := parseRetryAfter(ra, got.end)
	shown := "refused before it, accepted after it" // what the requests around it measured
	if len(problems) == 0 {
		// Honesty: right after the 429 a request is still refused; just
		// after Retry-After one passes.
		if secs > maxProbeWait {
			res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("Retry-After %s is too long to wait for; honesty not checked", secs))
			shown = "too long to wait for, so whether it is honest was not checked"
		} else {
			before := s.send(ctx, hc, ag.req(op, api.Legacy, "right after the 429"))
			t.add(before)
			if apiClass(before.status) == accepted && secs >= time.Second {
				if gap := before.start.Sub(got.end); rightAfterJudged(gap, secs) {
					problems = append(problems, fmt.Sprintf("Retry-After said %s but a request right after the 429 passed", secs))
				} else {
					shown = "accepted after it (a request right after it passed within the wait the header may mean: not judged)"
					res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("a request %s after the 429 passed: Retry-After %s (whole seconds) promises a wait of more than %s only, so not judged",
						gap.Round(time.Millisecond), secs, secs-time.Second))
				}
			}
			if err := sleepUntil(ctx, got.end.Add(secs+250*time.Millisecond)); err != nil {
				return errorf("interrupted: %v", err)
			}
			after := s.sendRetry(ctx, hc, ag.req(op, api.Legacy, "after Retry-After"), 3)
			t.add(after)
			res.Evidence.Samples = append(res.Evidence.Samples, sampleOf("after Retry-After", after))
			if apiClass(after.status) != accepted {
				problems = append(problems, fmt.Sprintf("Retry-After said %s but a request %s later got %d", secs, after.start.Sub(got.end).Round(time.Millisecond), after.status))
			}
			e2 := t.evidence()
			res.Evidence.Rows, res.Evidence.Sent, res.Evidence.Accepted, res.Evidence.Limited = e2.Rows, e2.Sent, e2.Accepted, e2.Limited
		}
	}
	if len(problems) > 0 {
		res.Status, res.Reason = check.Fail, strings.Join(problems, "; ")
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("the 429 carries Retry-After %s; %s", ra, shown)
	if len(advisory) > 0 {
		res.Reason += " (advisory: " + strings.Join(advisory, "; ") + ")"
	}
	return res
}

// rightAfterJudged: Retry-After is whole seconds, so "N" promises a wait
// of more than N-1 s only (the limiter may free the operation any moment
// after that: a fixed window about to reset, or a smoothing limiter, GCRA,
// that lets one through every window/limit). A request accepted gap after
// the 429 proves the header dishonest only when gap is shorter.
func rightAfterJudged(gap, retryAfter time.Duration) bool {
	return gap < retryAfter-time.Second
}

// parseRetryAfter reads delay-seconds or an HTTP date (relative to at).
func parseRetryAfter(v string, at time.Time) (time.Duration, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, err
	}
	return max(t.Sub(at), 0), nil
}

func probeXFF(ctx context.Context, s *scanner) Result {
	p := s.policyOf(LoginCategory)
	if p.Limit.Requests <= 0 {
		return skip("no login limit is declared")
	}
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	form := s.send(ctx, hc, req{method: http.MethodGet, path: api.LoginPath})
	if form.status != http.StatusOK {
		return fail("get the login form: status %d %s", form.status, form.err)
	}
	var cookie string
	for _, c := range (&http.Response{Header: form.header}).Cookies() {
		if c.Name == "csrftoken" {
			cookie = c.Value
		}
	}
	token, ok := client.FormCSRFToken(form.body)
	if !ok || cookie == "" {
		return fail("the login form has no csrfmiddlewaretoken field or csrftoken cookie")
	}
	// Control first, without forged headers: is login limited per client
	// address at all? A missing login limit is not a forged-header bypass.
	ctl, limitedAfter := s.loginControl(ctx, hc, cookie, token, 3*p.Limit.Requests)
	if limitedAfter == 0 {
		r := skip("login is not limited per client address: %d failed logins from one address without forged headers got no 429 (statuses %v), so there is no login limit for a forged header to bypass (the declared %s is not what the deployment does)",
			ctl.Sent, ctl.Status, p)
		r.Evidence = ctl
		r.Evidence.Operation, r.Evidence.Policy = "login (per client IP)", p.String()
		return r
	}
	// 5×L: even if a busy fail-closed limiter answers some with 503, a
	// limiter keyed by the forged header still accepts far more than 2L−1.
	n := 5 * p.Limit.Requests
	reqs := make([]req, n)
	for i := range reqs {
		ip := fmt.Sprintf("127.%d.%d.%d", 10+i/65536%200, i/256%256, i%256)
		h := http.Header{
			"Content-Type":    {"application/x-www-form-urlencoded"},
			"Cookie":          {"csrftoken=" + cookie},
			"Referer":         {s.base + api.LoginPath},
			"X-Forwarded-For": {ip},
			"X-Real-Ip":       {ip},
		}
		body := url.Values{"login": {"harness-xff-probe"}, "password": {"not-the-password"}, "csrfmiddlewaretoken": {token}}.Encode()
		reqs[i] = req{method: http.MethodPost, path: api.LoginPath, header: h, body: []byte(body)}
	}
	t := newTally(loginClass)
	if err := s.burst(ctx, reqs, s.conns, false, t); err != nil {
		return fail("burst: %v", err)
	}
	e := t.evidence()
	e.Operation, e.Policy = "login (per client IP)", p.String()
	// The loopback address's login counter has history (the scan's own
	// logins), so the bound for an interval of unknown history applies.
	e.ExpectedMax = MaxAcceptedAnyInterval(p, t.elapsed())
	e.Overshoot = max(0, e.Accepted-e.ExpectedMax)
	e.Notes = append(e.Notes, fmt.Sprintf("control without forged headers: the %d-th failed login from one address got 429 (%d sent, statuses %v)", limitedAfter, ctl.Sent, ctl.Status))
	e.Notes = append(e.Notes, fmt.Sprintf("%d failed logins, each with its own X-Forwarded-For and X-Real-IP value (header values only)", n))
	res := Result{Evidence: e}
	if m := unmeasured(e); m != "" {
		res.Status, res.Reason = check.Fail, m
		return res
	}
	if e.Overshoot > 0 {
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("the login limit trusts forged client IPs: %d of %d attempts with rotating X-Forwarded-For accepted, at most %d allowed (%d over); without forged headers the same address was limited after %d",
			e.Accepted, e.Sent, e.ExpectedMax, e.Overshoot, limitedAfter)
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("forged X-Forwarded-For/X-Real-IP did not help: %d of %d login attempts accepted, at most %d allowed", e.Accepted, e.Sent, e.ExpectedMax)
	return res
}

// loginControl sends failed logins without forged headers, one at a time,
// until the first 429 (at most n). It returns the evidence and the 1-based
// index of that 429 (0: never limited).
func (s *scanner) loginControl(ctx context.Context, hc *http.Client, cookie, token string, n int) (Evidence, int) {
	t := newTally(loginClass)
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		h := http.Header{
			"Content-Type": {"application/x-www-form-urlencoded"},
			"Cookie":       {"csrftoken=" + cookie},
			"Referer":      {s.base + api.LoginPath},
		}
		body := url.Values{"login": {"harness-xff-control"}, "password": {"not-the-password"}, "csrfmiddlewaretoken": {token}}.Encode()
		o := s.send(ctx, hc, req{label: "control: failed logins without forged headers", method: http.MethodPost, path: api.LoginPath, header: h, body: []byte(body)})
		t.add(o)
		if o.status == http.StatusTooManyRequests {
			return t.evidence(), i
		}
	}
	return t.evidence(), 0
}
