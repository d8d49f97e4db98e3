package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
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

// bypassOp is the operation limited-write writes to and reads back (a
// write the real app limits too, its one limited operation); the other
// bypass-class probes take theirs from the policy map.
const bypassOp = "list-pekerjaan.save"

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

// exhaust spends vu's quota on op: one request at a time, each on a fresh
// connection, until exhaustStreak 429s in a row. It returns false when no
// such streak came within the bound (the operation is not limited, or not
// reached).
func (s *scanner) exhaust(ctx context.Context, vu *scenarios.VU, op api.Operation, t *tally) bool {
	p := s.policyOf(op.Category)
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	bound := 8*max(p.Limit.Requests, 1) + 4*exhaustStreak
	streak := 0
	for range bound {
		if ctx.Err() != nil {
			return false
		}
		o := s.send(ctx, hc, opReq(vu, op, api.Legacy, "exhaust the quota"))
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

// variant is one way of sending the exhausted operation that must not get
// past the limit.
type variant struct {
	name string
	mk   func(round int) req
}

// bypassResult is how a variant fared against its controls.
type bypassResult struct {
	name                       string
	sent, accepted, measured   int
	controlSent, controlAcc    int
	controlReached, controlLim int
	statuses, controlStatuses  map[int]int
}

// compare sends, for each round and variant, a control request (the plain
// request of the exhausted user) and then the variant, each on a fresh
// connection. A variant bypasses when it reached the operation in at least 2
// rounds and at least 2 more often than its controls: the quota was spent
// for the plain request before and after, so the variant was counted apart.
func (s *scanner) compare(ctx context.Context, control func() req, vs []variant, t *tally) []bypassResult {
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
			c := s.send(ctx, hc, control())
			c.label = "control: the plain request"
			t.add(c)
			b := &out[i]
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
			o := s.send(ctx, hc, v.mk(r))
			o.label = v.name
			t.add(o)
			b.sent++
			b.statuses[o.status]++
			if apiClass(o.status) == accepted {
				b.accepted++
			}
			// Measured: the deployment answered for the operation (accepted,
			// limited, or refused as a method/request error); not a bounce
			// to the login page, a 5xx or a transport error.
			if o.status != 0 && o.status != http.StatusFound && o.status < 500 {
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

// exhaustedUser logs a fresh user in and spends its quota on bypassOp; a
// non-nil Result means the probe cannot judge.
func (s *scanner) exhaustedUser(ctx context.Context, t *tally) (*scenarios.VU, client.Credential, api.Operation, string, *Result) {
	// The limited operation from the policy map (--op pins one), a write
	// first; without one the probe is skipped for coverage.
	_, op, sk := s.pick(api.Write)
	if sk != nil {
		return nil, client.Credential{}, op, "", sk
	}
	cred, note := s.freshUser()
	vu, err := s.loginAs(ctx, cred, true)
	if err != nil {
		r := setupFailed(err)
		return nil, cred, op, note, &r
	}
	if !s.exhaust(ctx, vu, op, t) {
		e := t.evidence()
		r := inconclusive("%s never answered %d 429s in a row within %d requests (statuses %v): not limited, or not reached, so there is no spent quota to get past (see coverage)",
			op.Name, exhaustStreak, e.Sent, e.Status)
		r.Evidence = e
		return nil, cred, op, note, &r
	}
	return vu, cred, op, note, nil
}

// loginAs logs cred in (a new session each time).
func (s *scanner) loginAs(ctx context.Context, cred client.Credential, discover bool) (*scenarios.VU, error) {
	vus, err := scenarios.LoginUsers(ctx, s.base, []client.Credential{cred}, 1, scenarios.LoginOptions{Discover: discover, Version: api.Legacy})
	if err != nil {
		return nil, err
	}
	return vus[0], nil
}

func probeIdentityRotation(ctx context.Context, s *scanner) Result {
	t := newTally(apiClass)
	vu, cred, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	// The same credential logs in again: a new session of the same user.
	fresh, err := s.loginAs(ctx, cred, false)
	if err != nil {
		return errorf("log %s in again: %v", vu.User, err)
	}
	fresh.Project, fresh.Pekerjaan, fresh.Custom = vu.Project, vu.Pekerjaan, vu.Custom
	results := s.compare(ctx, func() req { return opReq(vu, op, api.Legacy, "") }, []variant{
		{"a new session of the same user", func(int) req { return opReq(fresh, op, api.Legacy, "") }},
	}, t)
	e, _ := judgeBurst(t, s.policyOf(op.Category), op, vu, note)
	e.ExpectedMax, e.Overshoot = 0, 0
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent (%d 429s in a row on fresh connections), then %s logged in again", vu.User, exhaustStreak, vu.User))
	return judgeBypass(e, op, "a new login of the same user", results)
}

func probeIdentityHeaders(ctx context.Context, s *scanner) Result {
	t := newTally(apiClass)
	vu, _, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	var vs []variant
	for _, h := range identityHeaders {
		vs = append(vs, variant{h, func(round int) req {
			r := opReq(vu, op, api.Legacy, "")
			r.header = r.header.Clone()
			r.header.Set(h, forgedIdentity(h, round))
			return r
		}})
	}
	results := s.compare(ctx, func() req { return opReq(vu, op, api.Legacy, "") }, vs, t)
	e, _ := judgeBurst(t, s.policyOf(op.Category), op, vu, note)
	e.ExpectedMax, e.Overshoot = 0, 0
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent, then each of %d identity headers sent with a new forged value per round", vu.User, len(identityHeaders)))
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
	vu, _, op, note, bad := s.exhaustedUser(ctx, t)
	if bad != nil {
		return *bad
	}
	with := func(method, override string) func(int) req {
		return func(int) req {
			r := opReq(vu, op, api.Legacy, "")
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
		{http.MethodHead, with(http.MethodHead, "")},
		{http.MethodPut, with(http.MethodPut, "")},
		{http.MethodPatch, with(http.MethodPatch, "")},
		{"PUT with X-HTTP-Method-Override: " + op.Method, with(http.MethodPut, op.Method)},
		{op.Method + " with X-HTTP-Method-Override: " + other, with(op.Method, other)},
		{"GET with X-HTTP-Method-Override: " + op.Method, with(http.MethodGet, op.Method)},
	}
	results := s.compare(ctx, func() req { return opReq(vu, op, api.Legacy, "") }, vs, t)
	e, _ := judgeBurst(t, s.policyOf(op.Category), op, vu, note)
	e.ExpectedMax, e.Overshoot = 0, 0
	e.Notes = append(e.Notes, fmt.Sprintf("%s's quota spent with %s, then other methods and method overrides tried", vu.User, op.Method))
	return judgeBypass(e, op, "method variants", results)
}

// probeLimitedWrite runs the probe, then takes its klasifikasi out of the
// project again: the list save only appends (REAL-APP.md 3.1), so every
// accepted write (at most 1 + bypassRounds) would stay. The upsert that
// removes them is said in the evidence, as is a removal that failed.
func probeLimitedWrite(ctx context.Context, s *scanner) Result {
	nonce := rand.Int64N(1_000_000_000)
	prefix := fmt.Sprintf("%slimited-write-%d-", scenarios.LoadMarker, nonce)
	vu, note, err := s.user(ctx, true)
	if err != nil {
		return setupFailed(err)
	}
	res := limitedWrite(ctx, s, vu, note, prefix)
	if vu.Client == nil {
		return res
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	n, err := scenarios.PruneTree(pctx, vu.Client, vu.Project, prefix)
	switch {
	case err != nil:
		res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("the probe's accepted writes (klasifikasi named %q...) could not be removed: %v", prefix, err))
	case n > 0:
		res.Evidence.Notes = append(res.Evidence.Notes, fmt.Sprintf("the probe's %d accepted writes removed again from project %d (upsert, read back)", n, vu.Project))
	}
	return res
}

func limitedWrite(ctx context.Context, s *scanner, vu *scenarios.VU, note, prefix string) Result {
	op := mustOp(bypassOp)
	tree := mustOp("list-pekerjaan.tree")
	t := newTally(apiClass)
	hc := httpClient(10*time.Second, true)
	defer hc.CloseIdleConnections()
	nonce := rand.Int64N(1_000_000_000)
	write := func(i int, label string) (req, string) {
		marker := fmt.Sprintf("%s%d.", prefix, i) // the dot: "-1." is no prefix of "-10."
		r := opReq(vu, op, api.Legacy, label)
		r.body = fmt.Appendf(nil, `{"klasifikasi":[{"name":%q,"ordering_index":%d}]}`, marker, 700000000+int(nonce%1000000)*10+i)
		return r, marker
	}
	readBack := func() (string, error) {
		o, _ := s.agent(vu).do(ctx, hc, tree, api.Legacy, "read back") // past session bounces
		if o.status == http.StatusServiceUnavailable || o.status == http.StatusTooManyRequests {
			o = s.sendRetry(ctx, hc, req{label: "read back", method: tree.Method, path: tree.URLPath(api.Legacy, vu.Project, 0), header: vu.Header}, 3)
		}
		t.add(o)
		if o.status != http.StatusOK {
			return "", fmt.Errorf("%s answered %d %s", tree.Name, o.status, o.err)
		}
		return string(o.body), nil
	}
	// Control: an accepted write must be visible in the read-back, or the
	// read-back proves nothing.
	r0, m0 := write(0, "control write (accepted)")
	o0 := s.send(ctx, hc, r0)
	t.add(o0)
	if apiClass(o0.status) != accepted {
		return inconclusive("the control write answered %d %s, not accepted; cannot compare", o0.status, truncate(string(o0.body)+o0.err, 120))
	}
	body, err := readBack()
	if err != nil {
		return errorf("read back: %v", err)
	}
	if !strings.Contains(body, m0) {
		return inconclusive("an accepted write (%s) is not visible in %s, so a refused write's absence would prove nothing", m0, tree.Name)
	}
	if !s.exhaust(ctx, vu, op, t) {
		e := t.evidence()
		r := inconclusive("%s never answered %d 429s in a row within %d requests (statuses %v): not limited, or not reached (see coverage)", op.Name, exhaustStreak, e.Sent, e.Status)
		r.Evidence = e
		return r
	}
	var refused []string
	for i := 1; i <= bypassRounds; i++ {
		r, m := write(i, "real write after the quota is spent")
		o := s.send(ctx, hc, r)
		t.add(o)
		if o.status == http.StatusTooManyRequests {
			refused = append(refused, m)
		}
	}
	e, _ := judgeBurst(t, s.policyOf(op.Category), op, vu, note)
	e.ExpectedMax, e.Overshoot = 0, 0
	if len(refused) == 0 {
		res := inconclusive("none of %d real writes after the quota was spent got a 429; nothing to check", bypassRounds)
		res.Evidence = e
		return res
	}
	body, err = readBack()
	if err != nil {
		return errorf("read back after the 429s: %v", err)
	}
	var applied []string
	for _, m := range refused {
		if strings.Contains(body, m) {
			applied = append(applied, m)
		}
	}
	e.Notes = append(e.Notes, fmt.Sprintf("control write %s was visible in %s; %d real writes answered 429: %s", m0, tree.Name, len(refused), strings.Join(refused, ", ")))
	res := Result{Evidence: e}
	if len(applied) > 0 {
		res.Status = check.Fail
		res.Reason = fmt.Sprintf("a write refused with 429 took effect: %d of %d refused writes to %s are in %s (%s)", len(applied), len(refused), op.Name, tree.Name, strings.Join(applied, ", "))
		return res
	}
	res.Status = check.Pass
	res.Reason = fmt.Sprintf("%d writes refused with 429 left no trace in %s (an accepted control write did)", len(refused), tree.Name)
	return res
}
