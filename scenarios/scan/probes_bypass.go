package scan

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// Probe names of the bypass classes that exhaust a user's quota first and
// then try to get past it.
const (
	IdentityRotation = "identity-rotation"
	IdentityHeaders  = "identity-headers"
	LimitedWrite     = "limited-write"
	MethodVariants   = "method-variants"
)

// identityHeaders are client and user identity headers that proxies set and
// any client can forge; none may move a request to another bucket.
var identityHeaders = []string{
	"X-Forwarded-For", "X-Real-IP", "X-Client-IP", "True-Client-IP", "Forwarded", "X-Originating-IP",
	"X-Remote-IP", "X-Remote-Addr", "X-Cluster-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
	"X-User-Id", "X-Remote-User", "X-Forwarded-User", "X-Auth-User",
}

const (
	// exhaustStreak is how many 429s in a row, each on a fresh connection,
	// mean the user's quota is spent everywhere (on every worker of a
	// per-process limiter, too, with high probability).
	exhaustStreak = 6
	// bypassRounds is how often each variant is tried, each time right after
	// a control request.
	bypassRounds = 3
)

// exhaust spends the agent's quota on op: one request at a time, each on a
// fresh connection (bounces to the login page resent by the agent), until
// exhaustStreak 429s in a row. It returns false when no such streak came
// within the bound (the operation is not limited, or not reached).
func (s *scanner) exhaust(ctx context.Context, a *agent, op api.Operation, t *tally) bool {
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	bound := 8*max(s.limitOf(op).Requests, 1) + 4*exhaustStreak
	streak := 0
	for range bound {
		if ctx.Err() != nil {
			return false
		}
		o, _ := a.do(ctx, hc, op, api.Legacy, "exhaust the quota")
		t.add(o)
		switch apiClass(o.status) {
		case limited:
			streak++
			if streak >= exhaustStreak {
				return true
			}
		case accepted:
			streak = 0
		}
	}
	return false
}

// limitOf is op's limit as discovered, else as declared.
func (s *scanner) limitOf(op api.Operation) api.Limit {
	if p, ok := s.pm.Lookup(op.Name, api.Legacy); ok && p.State == OpLimited && p.Limit > 0 {
		return api.Limit{Requests: p.Limit, WindowSeconds: p.WindowSeconds}
	}
	return s.limits[op.Category]
}

// variant is one way of sending the exhausted operation that must not get
// past the limit: built from a session (the control's, or its own agent's).
type variant struct {
	name string
	mk   func(vu *scenarios.VU, round int) req
	// ag sends the variant; nil: the control's agent (the same session).
	ag *agent
}

// bypassResult is how a variant fared against its controls.
type bypassResult struct {
	name                       string
	sent, accepted, measured   int
	controlSent, controlAcc    int
	controlReached, controlLim int
	bounced                    int // resent after a bounce to the login page
	statuses, controlStatuses  map[int]int
}

// compare sends, for each round and variant, a control request (the plain
// request of the exhausted user) and then the variant, each on a fresh
// connection, both through agents (a bounce to the login page is resent,
// not measured). A variant bypasses when it reached the operation in at
// least 2 rounds and at least 2 more often than its controls: the quota was
// spent for the plain request before and after, so the variant was counted
// apart.
func (s *scanner) compare(ctx context.Context, ctl *agent, control func(vu *scenarios.VU) req, vs []variant, t *tally) []bypassResult {
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	out := make([]bypassResult, len(vs))
	for i := range vs {
		out[i] = bypassResult{name: vs[i].name, statuses: map[int]int{}, controlStatuses: map[int]int{}}
	}
	for r := range bypassRounds {
		for i, v := range vs {
			if ctx.Err() != nil {
				return out
			}
			b := &out[i]
			c, n := ctl.send(ctx, hc, control)
			c.label = "control: the plain request"
			t.add(c)
			b.bounced += n
			b.controlSent++
			b.controlStatuses[c.status]++
			switch apiClass(c.status) {
			case accepted:
				b.controlAcc++
				b.controlReached++
			case limited:
				b.controlLim++
				b.controlReached++
			}
			ag := cmp.Or(v.ag, ctl)
			o, n := ag.send(ctx, hc, func(vu *scenarios.VU) req { return v.mk(vu, r) })
			o.label = v.name
			t.add(o)
			b.bounced += n
			b.sent++
			b.statuses[o.status]++
			if apiClass(o.status) == accepted {
				b.accepted++
			}
			// Measured: the deployment answered for the operation (accepted,
			// limited, or refused as a method/request error); not a bounce
			// to the login page, a 5xx or a transport error.
			if o.status != 0 && !bounced(o) && o.status < 500 {
				b.measured++
			}
		}
	}
	return out
}

func (b bypassResult) bypassed() bool { return b.accepted >= 2 && b.accepted >= b.controlAcc+2 }

func (b bypassResult) row() Row {
	note := fmt.Sprintf("reached the operation %d of %d times; the plain request right before it: %d accepted, %d limited of %d (%v)",
		b.accepted, b.sent, b.controlAcc, b.controlLim, b.controlSent, b.controlStatuses)
	if b.bounced > 0 {
		note += fmt.Sprintf("; %d bounced to the login page and were resent (sessions per worker)", b.bounced)
	}
	if b.bypassed() {
		note = "BYPASS: " + note
	}
	return Row{Name: b.name, Sent: b.sent, Accepted: b.accepted, Limited: b.statuses[http.StatusTooManyRequests], Status: b.statuses, Note: note}
}

// judgeBypass turns the comparison into a verdict.
func judgeBypass(e Evidence, op api.Operation, what string, results []bypassResult) Result {
	res := Result{Evidence: e}
	res.Evidence.Rows = nil
	var bypass, unmeasured []string
	for _, b := range results {
		res.Evidence.Rows = append(res.Evidence.Rows, b.row())
		if b.bypassed() {
			bypass = append(bypass, fmt.Sprintf("%s (%d of %d accepted)", b.name, b.accepted, b.sent))
		}
		// A PASS needs the variant answered and the plain request limited
		// in most rounds; bounces (302), 5xx and errors measure nothing.
		if b.measured < 2 || b.controlLim < 2 {
			unmeasured = append(unmeasured, fmt.Sprintf("%s (variant answered %d of %d: %v; plain request limited %d of %d: %v)",
				b.name, b.measured, b.sent, b.statuses, b.controlLim, b.controlSent, b.controlStatuses))
		}
	}
	switch {
	case len(bypass) > 0:
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("%s got past the spent quota of %s while the plain request stayed limited: %s", what, op.Name, strings.Join(bypass, ", "))
	case len(unmeasured) > 0:
		res.Status = check.Inconclusive
		res.Reason = fmt.Sprintf("could not compare on %s: %s", op.Name, strings.Join(unmeasured, "; "))
		if e.Status[http.StatusFound] > 0 {
			res.Reason += fmt.Sprintf("; %d answers were redirects to the login page (sessions)", e.Status[http.StatusFound])
		}
	default:
		res.Status = check.Pass
		res.Reason = fmt.Sprintf("%s shared the spent quota of %s or were refused (%s × %d rounds)", what, op.Name, plural(len(results), "variant"), bypassRounds)
	}
	return res
}

// exhaustedUser takes a fresh user (its shared session) and spends its
// quota on the policy map's limited operation (a write first; --op pins);
// a non-nil Result means the probe cannot judge.
func (s *scanner) exhaustedUser(ctx context.Context, t *tally) (*agent, api.Operation, string, *Result) {
	_, op, sk := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	if sk != nil {
		return nil, op, "", sk
	}
	vu, note, err := s.user(ctx, true)
	if err != nil {
		r := setupFailed(err)
		return nil, op, note, &r
	}
	a := s.agent(vu)
	if !s.exhaust(ctx, a, op, t) {
		e := t.evidence()
		r := inconclusive("%s never answered %d 429s in a row within %d requests (statuses %v): not limited, or not reached, so there is no spent quota to get past (see coverage)",
			op.Name, exhaustStreak, e.Sent, e.Status)
		r.Evidence = e
		return nil, op, note, &r
	}
	return a, op, note, nil
}

// bypassEvidence is the evidence common to the bypass-class probes.
func (s *scanner) bypassEvidence(t *tally, a *agent, op api.Operation, note string) Evidence {
	e, _ := judgeBurst(t, Policy{Limit: s.limitOf(op), Algorithm: s.alg}, op, &a.vu, note)
	e.ExpectedMax, e.Overshoot = 0, 0
	return e
}

func probeIdentityRotation(ctx context.Context, s *scanner) Result {
	t := newTally(apiClass)
	a, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	cred, ok := s.cred(a.vu.User)
	if !ok {
		return errorf("no credential for %s", a.vu.User)
	}
	// The same credential logs in again: a new session of the same user.
	fresh, err := s.loginAs(client.FreshSession(ctx), cred, false)
	if err != nil {
		return errorf("log %s in again: %v", a.vu.User, err)
	}
	fresh.Project, fresh.Pekerjaan, fresh.Custom = a.vu.Project, a.vu.Pekerjaan, a.vu.Custom
	plain := func(vu *scenarios.VU) req { return opReq(vu, op, api.Legacy, "") }
	results := s.compare(ctx, a, plain, []variant{
		{name: "a new session of the same user", mk: func(vu *scenarios.VU, _ int) req { return plain(vu) }, ag: s.agent(fresh)},
	}, t)
	e := s.bypassEvidence(t, a, op, note)
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent (%d 429s in a row on fresh connections), then %s logged in again", a.vu.User, exhaustStreak, a.vu.User))
	res := judgeBypass(e, op, "a new login of the same user", results)
	if res.Status == check.Fail && s.bounces.Load() > 0 {
		return s.rotationPerWorker(ctx, a, op, res)
	}
	return res
}

// rotationPerWorker re-judges an apparent identity-rotation bypass where
// sessions live in one worker's memory: the new session may simply live on
// a worker whose own counter for the user is untouched (a counter per
// process, multi-worker's finding). A few more new sessions, each logged in
// after a random number of other connections, are tried once: one that is
// refused at once was served where the quota was spent, so the key is not
// the session. None refused stays open.
func (s *scanner) rotationPerWorker(ctx context.Context, a *agent, op api.Operation, res Result) Result {
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	heads := s.sessionsFor(ctx, &a.vu, s.workerHint()+1)[1:]
	row := Row{Name: "new sessions where sessions live in one worker", Status: map[int]int{}}
	for _, h := range heads {
		v := a.vu
		v.Header = h
		o, _ := s.agent(&v).do(ctx, hc, op, api.Legacy, "")
		row.Sent++
		row.Status[o.status]++
		switch apiClass(o.status) {
		case accepted:
			row.Accepted++
		case limited:
			row.Limited++
		}
	}
	res.Evidence.Rows = append(res.Evidence.Rows, row)
	switch {
	case row.Limited > 0:
		res.Status = check.Pass
		res.Reason = fmt.Sprintf("a new login of %s was refused with 429 where the quota was spent (%d of %d further new sessions, each living on one worker); "+
			"the others were served by workers that count the user apart (a counter per process, see multi-worker), so the key is the user, not the session",
			a.vu.User, row.Limited, row.Sent)
	default:
		res.Status = check.Inconclusive
		res.Reason = fmt.Sprintf("a new session of %s was served while the old one was limited, but sessions live in one worker each here and none of %d further new sessions "+
			"was refused (statuses %v): each may live on a worker whose own counter is untouched (a counter per process, see multi-worker), so a session-keyed limit cannot be told apart",
			a.vu.User, row.Sent, row.Status)
	}
	return res
}

func probeIdentityHeaders(ctx context.Context, s *scanner) Result {
	t := newTally(apiClass)
	a, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	plain := func(vu *scenarios.VU) req { return opReq(vu, op, api.Legacy, "") }
	var vs []variant
	for _, h := range identityHeaders {
		vs = append(vs, variant{name: h, mk: func(vu *scenarios.VU, round int) req {
			r := plain(vu)
			r.header = r.header.Clone()
			r.header.Set(h, forgedIdentity(h, round))
			return r
		}})
	}
	results := s.compare(ctx, a, plain, vs, t)
	e := s.bypassEvidence(t, a, op, note)
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent, then each of %d identity headers sent with a new forged value per round", a.vu.User, len(identityHeaders)))
	return judgeBypass(e, op, "forged identity headers", results)
}

// forgedIdentity is a value a client could forge for header h.
func forgedIdentity(h string, round int) string {
	ip := fmt.Sprintf("203.0.113.%d", 1+rand.IntN(250))
	switch h {
	case "Forwarded":
		return "for=" + ip
	case "X-User-Id":
		return fmt.Sprint(100000 + round*7 + rand.IntN(1000))
	case "X-Remote-User", "X-Forwarded-User", "X-Auth-User":
		return fmt.Sprintf("harness-forged-%d", round)
	}
	return ip
}

func probeMethodVariants(ctx context.Context, s *scanner) Result {
	t := newTally(apiClass)
	a, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	plain := func(vu *scenarios.VU) req { return opReq(vu, op, api.Legacy, "") }
	with := func(method, override string) func(*scenarios.VU, int) req {
		return func(vu *scenarios.VU, _ int) req {
			r := plain(vu)
			r.method = method
			if override != "" {
				r.header = r.header.Clone()
				r.header.Set("X-HTTP-Method-Override", override)
			}
			if method == http.MethodHead || method == http.MethodGet {
				r.body = nil
			}
			return r
		}
	}
	other := http.MethodPatch
	if op.Method == http.MethodPatch {
		other = http.MethodPut
	}
	vs := []variant{
		{name: http.MethodHead, mk: with(http.MethodHead, "")},
		{name: http.MethodPut, mk: with(http.MethodPut, "")},
		{name: http.MethodPatch, mk: with(http.MethodPatch, "")},
		{name: "PUT with X-HTTP-Method-Override: " + op.Method, mk: with(http.MethodPut, op.Method)},
		{name: op.Method + " with X-HTTP-Method-Override: " + other, mk: with(op.Method, other)},
		{name: "GET with X-HTTP-Method-Override: " + op.Method, mk: with(http.MethodGet, op.Method)},
	}
	results := s.compare(ctx, a, plain, vs, t)
	e := s.bypassEvidence(t, a, op, note)
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent with %s, then other methods and method overrides tried", a.vu.User, op.Method))
	return judgeBypass(e, op, "method variants", results)
}

// writeCheck is how limited-write writes a value unique to the run into a
// write operation and finds it again by reading back: one per write whose
// effect the harness knows how to read.
type writeCheck struct {
	readBack string
	// query is appended to the read-back's path (the run's prefix).
	query func(prefix string) string
	// body writes marker n of the run (prefix and nonce unique to it) for
	// vu; it returns the body and what the read-back shows when the write
	// took effect.
	body  func(vu *scenarios.VU, prefix string, nonce int64, n int) ([]byte, string)
	found func(o outcome, vu *scenarios.VU, marker string) bool
	// prune: the accepted writes are rows named prefix..., removed again
	// afterwards (scenarios.PruneTree); a volume write just overwrites.
	prune bool
}

var writeChecks = map[string]writeCheck{
	"list-pekerjaan.save": {
		// The deployed app serves the unsearched tree from a cache its
		// key, max(pekerjaan.updated_at), does not always move out of
		// (REAL-APP.md 3.3): a marked pekerjaan makes each write findable by a
		// search, which is never cached, for the run's prefix.
		readBack: "list-pekerjaan.tree",
		query:    func(prefix string) string { return "?q=" + url.QueryEscape(prefix) },
		body: func(_ *scenarios.VU, prefix string, nonce int64, n int) ([]byte, string) {
			marker := fmt.Sprintf("%s%d.", prefix, n) // the dot: "-1." is no prefix of "-10."
			ord := 700000000 + int(nonce%1000000)*10 + n
			return fmt.Appendf(nil, `{"klasifikasi":[{"name":%q,"ordering_index":%d,"sub":[{"name":%q,"ordering_index":1,"pekerjaan":[{"source_type":"custom","snapshot_uraian":%q,"snapshot_satuan":"ls","ordering_index":%d}]}]}]}`,
				marker, ord, marker, marker, ord), marker
		},
		found: func(o outcome, _ *scenarios.VU, marker string) bool { return strings.Contains(string(o.body), marker) },
		prune: true,
	},
	"volume-pekerjaan.save": {
		readBack: "volume-pekerjaan.list",
		body: func(vu *scenarios.VU, _ string, nonce int64, n int) ([]byte, string) {
			v := fmt.Sprintf("%d.%03d", 100000+nonce%900000, n)
			return fmt.Appendf(nil, `{"items":[{"pekerjaan_id":%d,"quantity":"%s"}]}`, vu.Pekerjaan[0], v), v
		},
		found: func(o outcome, vu *scenarios.VU, marker string) bool {
			got, err := storedQuantity(o, vu.Pekerjaan[0])
			want, _ := strconv.ParseFloat(marker, 64)
			return err == nil && got == want
		},
	},
}

// pickWrite is the limited write limited-write uses: the policy map's
// limited operations (--op pins) that have a known read-back.
func (s *scanner) pickWrite() (api.Operation, writeCheck, *Result) {
	_, first, sk := s.pick(api.Write, api.Bulk)
	if sk != nil {
		return first, writeCheck{}, sk
	}
	cands := []OpPolicy{{Operation: first.Name}}
	if s.cfg.Op == "" {
		cands = s.pm.Limited(api.Write, api.Bulk)
	}
	var names []string
	for _, p := range cands {
		if wc, ok := writeChecks[p.Operation]; ok {
			return mustOp(p.Operation), wc, nil
		}
		names = append(names, p.Operation)
	}
	r := skip("no limited write whose effect the harness can read back (limited: %s; read-backs known for %s)", strings.Join(names, ", "), strings.Join(slices.Sorted(maps.Keys(writeChecks)), ", "))
	return first, writeCheck{}, &r
}

func probeLimitedWrite(ctx context.Context, s *scanner) Result {
	op, wc, sk := s.pickWrite()
	if sk != nil {
		return *sk
	}
	vus, notes, sk := s.scratchUsers(ctx, 1, "writes real rows (an accepted control write, removed again afterwards)")
	if sk != nil {
		return *sk
	}
	vu, note := vus[0], strings.Join(notes, "; ")
	if len(vu.Pekerjaan) == 0 {
		return inconclusive("user %s has no pekerjaan to write in project %d", vu.User, vu.Project)
	}
	nonce := rand.Int64N(1_000_000_000)
	prefix := fmt.Sprintf("%slimited-write-%d-", scenarios.LoadMarker, nonce)
	a := s.agent(vu)
	res := limitedWrite(ctx, s, a, op, wc, note, prefix, nonce)
	if !wc.prune || a.vu.Client == nil {
		return res
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	n, err := scenarios.PruneTree(pctx, a.vu.Client, a.vu.Project, prefix)
	switch {
	case err != nil:
		res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("the probe's accepted writes (klasifikasi named %q...) could not be removed: %v", prefix, err))
	case n > 0:
		res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("the probe's %d accepted writes removed again from project %d (upsert, read back)", n, a.vu.Project))
	}
	return res
}

// scratchUsers are up to n users logged in on projects a probe may write
// real rows to: projects declared scratch (every project of a stack the
// harness seeded itself). The probe's own fresh users come first, then the
// users that declare a scratch project, each session moved to it. With none
// the probe is skipped (what tells why): a deployment's data is left alone.
func (s *scanner) scratchUsers(ctx context.Context, n int, what string) ([]*scenarios.VU, []string, *Result) {
	var vus []*scenarios.VU
	var notes []string
	var first *scenarios.VU
	for range n {
		vu, note, err := s.user(ctx, true)
		if err != nil {
			r := setupFailed(err)
			return nil, nil, &r
		}
		first = cmp.Or(first, vu)
		if c, _ := s.cred(vu.User); c.IsScratch(vu.Project) && !slices.ContainsFunc(vus, sameUser(vu.User)) {
			vus = append(vus, vu)
			if note != "" {
				notes = append(notes, note)
			}
		}
	}
	for _, c := range s.creds {
		if len(vus) >= n {
			break
		}
		if len(c.Scratch) == 0 || slices.ContainsFunc(vus, sameUser(c.User)) {
			continue
		}
		held, err := s.sessionFor(ctx, c, false)
		if err != nil {
			r := setupFailed(err)
			return nil, nil, &r
		}
		v := scenarios.VU{Index: held.Index, User: held.User, Project: c.Scratch[0], Header: held.Header, Client: held.Client}
		if err := scenarios.Discover(ctx, &v, s.loginOptions(true)); err != nil {
			r := setupFailed(fmt.Errorf("read scratch project %d of %s: %w", v.Project, v.User, err))
			return nil, nil, &r
		}
		vus = append(vus, &v)
		notes = append(notes, fmt.Sprintf("writes go to project %d of %s, declared scratch (its counters may be partly used by other probes, which can only lower accepted counts)", v.Project, v.User))
	}
	if len(vus) == 0 {
		r := skip("the probe %s: project %d of %s is not declared scratch and no user declares one, so the deployment's data is left alone (users file: name:password ids scratch)", what, first.Project, first.User)
		return nil, nil, &r
	}
	return vus, notes, nil
}

func sameUser(name string) func(*scenarios.VU) bool {
	return func(v *scenarios.VU) bool { return v.User == name }
}

func limitedWrite(ctx context.Context, s *scanner, a *agent, op api.Operation, wc writeCheck, note, prefix string, nonce int64) Result {
	back := mustOp(wc.readBack)
	t := newTally(apiClass)
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	write := func(i int, label string) (outcome, string) {
		var marker string
		o, _ := a.send(ctx, hc, func(vu *scenarios.VU) req {
			r := opReq(vu, op, api.Legacy, label)
			r.body, marker = wc.body(vu, prefix, nonce, i)
			return r
		})
		o.label = label
		t.add(o)
		return o, marker
	}
	backReq := func(vu *scenarios.VU) req {
		r := opReq(vu, back, api.Legacy, "read back")
		if wc.query != nil {
			r.path += wc.query(prefix)
		}
		return r
	}
	readBack := func() (outcome, error) {
		o, _ := a.send(ctx, hc, backReq) // past session bounces
		if o.status == http.StatusServiceUnavailable || o.status == http.StatusTooManyRequests {
			o = s.sendRetry(ctx, hc, backReq(&a.vu), 3)
		}
		t.add(o)
		if o.status != http.StatusOK {
			return o, fmt.Errorf("%s answered %d %s", back.Name, o.status, o.err)
		}
		return o, nil
	}
	// Control: an accepted write must be visible in the read-back, or the
	// read-back proves nothing.
	o0, m0 := write(0, "control write (accepted)")
	if apiClass(o0.status) != accepted {
		return inconclusive("the control write to %s answered %d %s, not accepted; cannot compare", op.Name, o0.status, truncate(string(o0.body)+o0.err, 120))
	}
	got, err := readBack()
	if err != nil {
		return errorf("read back: %v", err)
	}
	if !wc.found(got, &a.vu, m0) {
		return inconclusive("an accepted write to %s (%s) is not visible in %s, so a refused write's absence would prove nothing", op.Name, m0, back.Name)
	}
	if !s.exhaust(ctx, a, op, t) {
		e := t.evidence()
		r := inconclusive("%s never answered %d 429s in a row within %d requests (statuses %v): not limited, or not reached (see coverage)", op.Name, exhaustStreak, e.Sent, e.Status)
		r.Evidence = e
		return r
	}
	var refused []string
	for i := 1; i <= bypassRounds; i++ {
		if o, m := write(i, "real write after the quota is spent"); o.status == http.StatusTooManyRequests {
			refused = append(refused, m)
		}
	}
	e := s.bypassEvidence(t, a, op, note)
	if len(refused) == 0 {
		res := inconclusive("none of %d real writes to %s after the quota was spent got a 429; nothing to check", bypassRounds, op.Name)
		res.Evidence = e
		return res
	}
	got, err = readBack()
	if err != nil {
		return errorf("read back after the 429s: %v", err)
	}
	var applied []string
	for _, m := range refused {
		if wc.found(got, &a.vu, m) {
			applied = append(applied, m)
		}
	}
	e.Notes = append(e.Notes, fmt.Sprintf("control write %s was visible in %s; %d real writes answered 429: %s", m0, back.Name, len(refused), strings.Join(refused, ", ")))
	res := Result{Evidence: e}
	if len(applied) > 0 {
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("a write refused with 429 took effect: %d of %d refused writes to %s are in %s (%s)", len(applied), len(refused), op.Name, back.Name, strings.Join(applied, ", "))
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("%d writes to %s refused with 429 left no trace in %s (an accepted control write did)", len(refused), op.Name, back.Name)
	return res
}
