package scan

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

// Discovery states of one operation.
const (
	OpLimited     = "limited"
	OpUnlimited   = "unlimited"
	OpUnmeasured  = "unmeasured"
	OpNotDeployed = "not-deployed"
)

// OpPolicy is one operation's rate limit in one URL family as the scan
// found it on the wire, next to what was declared for it.
type OpPolicy struct {
	Operation string       `json:"operation"`
	Version   api.Version  `json:"version"`
	Category  api.Category `json:"category"`
	Declared  api.Limit    `json:"declared"`
	// State is limited, unlimited (no 429 within Budget reached requests)
	// or unmeasured (too few requests reached the operation).
	State string `json:"state"`
	// Limit is the most requests one key may send per window: what the 429
	// states (body or RateLimit-Policy), else the accepted count observed
	// before the first 429. LimitFrom says which.
	Limit     int    `json:"limit,omitempty"`
	LimitFrom string `json:"limit_from,omitempty"`
	// Observed is how many were accepted before the first 429.
	Observed      int    `json:"observed,omitempty"`
	WindowSeconds int    `json:"window_s,omitempty"`
	WindowFrom    string `json:"window_from,omitempty"`
	// Budget is how many reached requests had to pass without a 429 to call
	// the operation unlimited.
	Budget  int `json:"budget"`
	Sent    int `json:"sent"`
	Reached int `json:"reached"`
	// Bounced counts redirects to the login page (a session another
	// worker did not know).
	Bounced int         `json:"bounced,omitempty"`
	Status  map[int]int `json:"status,omitempty"`
	// Carries lists what the first 429 told the client (headers, body fields).
	Carries []string `json:"carries,omitempty"`
	// PerUser: "yes" when another user was still served after the key's
	// first 429, "no" when it was refused too.
	PerUser    string   `json:"per_user,omitempty"`
	SharesWith []string `json:"shares_with,omitempty"`
	Sample     *Sample  `json:"sample,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// Name is "operation" in the legacy family and "operation@version" elsewhere.
func (p OpPolicy) Name() string {
	if p.Version == api.Legacy || p.Version == "" {
		return p.Operation
	}
	return p.Operation + "@" + string(p.Version)
}

// Policy is the discovered limit for the oracle (algorithm as declared).
func (p OpPolicy) Policy(alg string) Policy {
	return Policy{Limit: api.Limit{Requests: p.Limit, WindowSeconds: p.WindowSeconds}, Algorithm: alg}
}

// Family is one URL family and whether the deployment serves it.
type Family struct {
	Version  api.Version `json:"version"`
	Deployed bool        `json:"deployed"`
	Status   int         `json:"status"`
	Note     string      `json:"note,omitempty"`
}

// PolicyMap is the deployment's rate-limit policy per operation, measured
// before any probe judges it.
type PolicyMap struct {
	Families []Family   `json:"families"`
	Ops      []OpPolicy `json:"operations"`
	// Differences between the declared and the discovered policy, one line
	// each; coverage reports them.
	Differences []string `json:"differences,omitempty"`
	// Buckets are the groups of limited operations that count in one
	// bucket; Sharing says how the pairs were checked.
	Buckets [][]string `json:"buckets,omitempty"`
	Sharing string     `json:"sharing,omitempty"`
	Users   []string   `json:"users"`
	Sent    int        `json:"sent"`
	Seconds float64    `json:"duration_s"`
}

// Lookup returns operation name's entry in family v.
func (m *PolicyMap) Lookup(name string, v api.Version) (OpPolicy, bool) {
	if m == nil {
		return OpPolicy{}, false
	}
	for _, p := range m.Ops {
		if p.Operation == name && p.Version == v {
			return p, true
		}
	}
	return OpPolicy{}, false
}

// Limited returns the legacy family's limited operations, those of the
// prefer categories first (in that order), then the rest in table order.
func (m *PolicyMap) Limited(prefer ...api.Category) []OpPolicy {
	if m == nil {
		return nil
	}
	var out []OpPolicy
	for _, p := range m.Ops {
		if p.Version == api.Legacy && p.State == OpLimited && p.Limit > 0 {
			out = append(out, p)
		}
	}
	rank := func(c api.Category) int {
		if i := slices.Index(prefer, c); i >= 0 {
			return i
		}
		return len(prefer)
	}
	slices.SortStableFunc(out, func(a, b OpPolicy) int { return rank(a.Category) - rank(b.Category) })
	return out
}

// Deployed lists the URL families that answered.
func (m *PolicyMap) Deployed() []api.Version {
	var out []api.Version
	for _, f := range m.Families {
		if f.Deployed {
			out = append(out, f.Version)
		}
	}
	return out
}

// discoveryBounces is the slack for bounced requests in a discovery loop.
const discoveryBounces = scenarios.SessionBounces

// workerHint is how many per-process counters a burst must be able to
// expose: the stack's workers, else (external) 8.
func (s *scanner) workerHint() int {
	if s.cfg.Workers > 0 {
		return s.cfg.Workers
	}
	if w := s.t.Info().Workers; w > 0 {
		return w
	}
	return 8
}

// budget is how many reached requests must pass without a 429 before an
// operation is called unlimited: enough to exceed the declared limit on
// every worker even when each worker counts alone.
func (s *scanner) budget(l api.Limit) int {
	n := max(l.Requests, 1)*s.workerHint() + 1
	return min(max(n, 2*max(l.Requests, 1)), 1000)
}

// densest is the most of the sorted times that fall within one span of w.
func densest(times []time.Time, w time.Duration) int {
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// discover maps the policy: which families answer, then every operation of
// every deployed family concurrently (one user per family), the per-user
// check on each key's first 429, and bucket sharing among limited ones.
func (s *scanner) discover(ctx context.Context) (*PolicyMap, error) {
	start := time.Now()
	m := &PolicyMap{}
	main, err := s.session(ctx, "discovery")
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	second, err := s.session(ctx, "discovery")
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	m.Users = []string{main.User, second.User}
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	tree := mustOp("list-pekerjaan.tree")
	users := map[api.Version]*scenarios.VU{api.Legacy: main}
	ma := s.agent(main)
	for _, v := range api.Versions {
		o, b := ma.do(ctx, hc, tree, v, "")
		m.Sent += 1 + b
		f := Family{Version: v, Status: o.status, Deployed: apiClass(o.status) != other}
		switch {
		case v == api.Legacy && !f.Deployed:
			return m, fmt.Errorf("discovery: the legacy family did not answer: GET %s -> %d %s", o.path, o.status, truncate(string(o.body)+o.err, 120))
		case !f.Deployed:
			f.Note = fmt.Sprintf("GET %s answered %d: not deployed", o.path, o.status)
		case v != api.Legacy:
			if users[v], err = s.session(ctx, "discovery"); err != nil {
				return nil, fmt.Errorf("discovery: %w", err)
			}
			m.Users = append(m.Users, users[v].User)
		}
		m.Families = append(m.Families, f)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, v := range m.Deployed() {
		for _, op := range api.Operations {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := s.discoverOp(ctx, users[v], second, op, v)
				mu.Lock()
				m.Ops = append(m.Ops, p)
				m.Sent += p.Sent
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	for _, f := range m.Families {
		if f.Deployed {
			continue
		}
		for _, op := range api.Operations {
			m.Ops = append(m.Ops, OpPolicy{Operation: op.Name, Version: f.Version, Category: op.Category, Declared: s.limits[op.Category], State: OpNotDeployed})
		}
	}
	order := func(p OpPolicy) int {
		return slices.Index(api.Versions, p.Version)*len(api.Operations) + slices.IndexFunc(api.Operations, func(o api.Operation) bool { return o.Name == p.Operation })
	}
	slices.SortFunc(m.Ops, func(a, b OpPolicy) int { return order(a) - order(b) })
	if err := s.discoverSharing(ctx, m); err != nil {
		return m, err
	}
	m.Differences = differences(m)
	m.Seconds = round3(time.Since(start).Seconds())
	return m, ctx.Err()
}

// discoverOp sends op sequentially as vu until the first 429 or until
// budget requests reached it without one.
func (s *scanner) discoverOp(ctx context.Context, vu, other *scenarios.VU, op api.Operation, v api.Version) OpPolicy {
	decl := s.limits[op.Category]
	p := OpPolicy{Operation: op.Name, Version: v, Category: op.Category, Declared: decl, Status: map[int]int{}}
	p.Budget = s.budget(decl)
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	var first *outcome
	a := s.agent(vu)
	// "No 429" proves no limit only if more than the declared limit reached
	// the operation within one declared window; a slow machine or
	// deployment may spread the budget over several windows, so the stream
	// goes on (bounded) until it has, else it is unmeasured. (The budget
	// itself covers a counter per worker.)
	need, win := 0, time.Duration(decl.WindowSeconds)*time.Second
	if decl.Requests > 0 && win > 0 {
		need = min(decl.Requests+1, p.Budget)
	}
	var reachedAt []time.Time
	dense := func() bool { return need == 0 || densest(reachedAt, win) >= need }
	for (p.Reached < p.Budget || (!dense() && p.Reached < 4*p.Budget)) && p.Sent < 10*p.Budget+discoveryBounces && ctx.Err() == nil {
		o, b := a.do(ctx, hc, op, v, "")
		p.Sent += 1 + b
		p.Bounced += b
		p.Status[o.status]++
		if bounced(o) {
			continue
		}
		c := apiClass(o.status)
		if c == accepted {
			p.Reached++
			p.Observed++
			reachedAt = append(reachedAt, time.Now())
		}
		if c == limited {
			p.Reached++
			first = &o
			break
		}
	}
	if first == nil {
		if p.Reached < p.Budget {
			p.State = OpUnmeasured
			p.Note = fmt.Sprintf("only %d of %d requests reached the operation (statuses %v)", p.Reached, p.Sent, p.Status)
			return p
		}
		if !dense() {
			p.State = OpUnmeasured
			p.Note = fmt.Sprintf("no 429 within %d requests, but at most %d of them fell within one declared window of %s (more than %d needed): sent too slowly to tell (a busy machine or a slow deployment)",
				p.Reached, densest(reachedAt, win), win, need-1)
			return p
		}
		p.State = OpUnlimited
		p.Note = fmt.Sprintf("no 429 within %d requests", p.Reached)
		return p
	}
	p.State = OpLimited
	sm := sampleOf("first 429", *first)
	p.Sample = &sm
	info := read429(*first)
	p.Carries = info.carries
	p.Limit, p.LimitFrom = info.limit, info.limitFrom
	if p.Limit == 0 {
		p.Limit, p.LimitFrom = p.Observed, "observed"
	}
	p.WindowSeconds, p.WindowFrom = info.window, info.windowFrom
	if p.WindowSeconds == 0 {
		p.WindowSeconds, p.WindowFrom = decl.WindowSeconds, "declared (the 429 does not say)"
	}
	if p.Observed > p.Limit && p.LimitFrom != "observed" {
		p.Note = fmt.Sprintf("%d accepted before the first 429 although it states %d", p.Observed, p.Limit)
	}
	// Per-user key: right away, while this key is exhausted, another user.
	if v == api.Legacy && other != nil {
		o, b := s.agent(other).do(ctx, hc, op, v, "")
		p.Sent += 1 + b
		switch apiClass(o.status) {
		case accepted:
			p.PerUser = "yes"
		case limited:
			p.PerUser = "no"
		}
	}
	return p
}

// sharingBudget bounds the requests of the bucket check (all rounds).
const sharingBudget = 20000

// discoverSharing finds which limited legacy operations count in one
// bucket, for every pair, with one fresh user: round by round it exhausts
// an operation not yet known to share an exhausted one's bucket (until its
// first 429), then sends every later limited operation once; a 429 there
// means the two share a bucket (sharing is symmetric, so each pair is
// checked once). A later operation is not asked when this user's own
// requests to it could already have used its limit up (its 429 would prove
// nothing); such pairs are reported as unchecked.
func (s *scanner) discoverSharing(ctx context.Context, m *PolicyMap) error {
	lim := m.Limited()
	if len(lim) < 2 {
		return nil
	}
	// Smallest limits first: an operation takes one request per earlier
	// round, so those with little room are exhausted before it runs out.
	slices.SortStableFunc(lim, func(a, b OpPolicy) int { return a.Limit - b.Limit })
	vu, err := s.session(ctx, "discovery")
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	m.Users = append(m.Users, vu.User)
	hc := httpClient(30*time.Second, false)
	defer hc.CloseIdleConnections()
	a := s.agent(vu)
	send := func(op string) outcome {
		o, b := a.do(ctx, hc, mustOp(op), api.Legacy, "")
		m.Sent += 1 + b
		return o
	}
	res := checkSharing(lim, s.workerHint(), func() bool { return ctx.Err() == nil }, send)
	for _, pair := range res.shared {
		for i := range m.Ops {
			p := &m.Ops[i]
			if p.Version != api.Legacy {
				continue
			}
			if p.Operation == pair[0] {
				p.SharesWith = append(p.SharesWith, pair[1])
			}
			if p.Operation == pair[1] {
				p.SharesWith = append(p.SharesWith, pair[0])
			}
		}
	}
	m.Buckets = res.buckets(lim)
	m.Sharing = res.summary(len(lim))
	return nil
}

// sharing is the outcome of the bucket check.
type sharing struct {
	shared    [][2]string
	checked   int
	unchecked []string
	sent      int
}

// checkSharing runs the rounds (pure but for send, for tests).
func checkSharing(lim []OpPolicy, workers int, alive func() bool, send func(op string) outcome) sharing {
	var r sharing
	sentTo := map[string]int{}
	exhausted := map[string]bool{} // ops in a bucket this user has exhausted
	inBucket := func(x string) bool { return exhausted[x] }
	for i, x := range lim {
		if inBucket(x.Operation) || !alive() {
			continue
		}
		got := false
		for n := 0; n < 4*max(x.Limit, 1)*workers+discoveryBounces && r.sent < sharingBudget && alive(); n++ {
			o := send(x.Operation)
			r.sent++
			sentTo[x.Operation]++
			if o.status == http.StatusTooManyRequests {
				got = true
				break
			}
		}
		if !got {
			for _, y := range lim[i+1:] {
				r.unchecked = append(r.unchecked, x.Operation+"~"+y.Operation)
			}
			continue
		}
		exhausted[x.Operation] = true
		for _, y := range lim[i+1:] {
			if inBucket(y.Operation) {
				continue // already in an exhausted bucket: a 429 would not say which
			}
			if sentTo[y.Operation]+1 >= max(y.Limit, 1) || r.sent >= sharingBudget || !alive() {
				r.unchecked = append(r.unchecked, x.Operation+"~"+y.Operation)
				continue
			}
			o := send(y.Operation)
			r.sent++
			sentTo[y.Operation]++
			r.checked++
			if o.status == http.StatusTooManyRequests {
				r.shared = append(r.shared, [2]string{x.Operation, y.Operation})
				exhausted[y.Operation] = true
			}
		}
	}
	return r
}

// buckets groups the limited operations that share one (groups of 2+).
func (r sharing) buckets(lim []OpPolicy) [][]string {
	var out [][]string
	for _, pair := range r.shared {
		placed := false
		for i := range out {
			if slices.Contains(out[i], pair[0]) {
				if !slices.Contains(out[i], pair[1]) {
					out[i] = append(out[i], pair[1])
				}
				placed = true
			}
		}
		if !placed {
			out = append(out, []string{pair[0], pair[1]})
		}
	}
	order := func(n string) int { return slices.IndexFunc(lim, func(p OpPolicy) bool { return p.Operation == n }) }
	for _, g := range out {
		slices.SortFunc(g, func(a, b string) int { return order(a) - order(b) })
	}
	return out
}

func (r sharing) summary(nLimited int) string {
	pairs := nLimited * (nLimited - 1) / 2
	var b []string
	for _, pair := range r.shared {
		b = append(b, pair[0]+" = "+pair[1])
	}
	out := "every limited operation counts in its own bucket"
	if len(b) > 0 {
		out = "shared buckets: " + strings.Join(b, ", ")
	}
	out += fmt.Sprintf(" (%d pairs of %d limited operations: %d asked, %d implied by a shared bucket, %d unchecked; %d requests)",
		pairs, nLimited, r.checked, max(pairs-r.checked-len(r.unchecked), 0), len(r.unchecked), r.sent)
	if len(r.unchecked) > 0 {
		out += "; unchecked: " + strings.Join(r.unchecked[:min(len(r.unchecked), 6)], ", ")
		if len(r.unchecked) > 6 {
			out += ", …"
		}
	}
	return out
}

// differences lists where the discovered policy departs from the declared.
func differences(m *PolicyMap) []string {
	var out []string
	for _, p := range m.Ops {
		d := p.Declared
		decl := fmt.Sprintf("declared %s=%d/%d on %s", p.Category, d.Requests, d.WindowSeconds, p.Name())
		switch {
		case d.Requests <= 0:
		case p.State == OpUnlimited:
			out = append(out, fmt.Sprintf("%s; observed: no 429 within %d requests", decl, p.Reached))
		case p.State != OpLimited:
		case p.Limit != d.Requests:
			out = append(out, fmt.Sprintf("%s; discovered %d per %ds (%s)", decl, p.Limit, p.WindowSeconds, p.LimitFrom))
		case p.WindowSeconds != d.WindowSeconds && !strings.HasPrefix(p.WindowFrom, "declared"):
			out = append(out, fmt.Sprintf("%s; discovered a %ds window (%s)", decl, p.WindowSeconds, p.WindowFrom))
		}
	}
	return out
}

// bounced reports a redirect to the login page: the session was not known
// where the request landed.
func bounced(o outcome) bool {
	return (o.status == http.StatusFound || o.status == http.StatusSeeOther) && strings.Contains(o.header.Get("Location"), api.LoginPath)
}

// info429 is what one 429 says about the policy.
type info429 struct {
	limit, window         int
	limitFrom, windowFrom string
	carries               []string
}

// read429 reads the limit and window a 429 states: JSON body fields
// (max_requests/limit, window_seconds/window, at any depth), then
// RateLimit-Policy ("20;w=60"), then X-RateLimit-Limit.
func read429(o outcome) info429 {
	var in info429
	h := o.header
	for _, name := range []string{"Retry-After", "RateLimit", "RateLimit-Policy", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if v := h.Get(name); v != "" {
			in.carries = append(in.carries, name+": "+v)
		}
	}
	var doc any
	if json.Unmarshal(o.body, &doc) == nil {
		fields := map[string]float64{}
		flatten(doc, "", fields)
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			in.carries = append(in.carries, "body "+k+"="+strconv.FormatFloat(fields[k], 'f', -1, 64))
		}
		if n, k := firstField(fields, "max_requests", "limit"); n > 0 {
			in.limit, in.limitFrom = n, "429 body "+k
		}
		if n, k := firstField(fields, "window_seconds", "window"); n > 0 {
			in.window, in.windowFrom = n, "429 body "+k
		}
	} else if len(o.body) > 0 {
		in.carries = append(in.carries, "non-JSON body")
	}
	if pol := h.Get("RateLimit-Policy"); pol != "" {
		n, w := parseRateLimitPolicy(pol)
		if in.limit == 0 && n > 0 {
			in.limit, in.limitFrom = n, "RateLimit-Policy"
		}
		if in.window == 0 && w > 0 {
			in.window, in.windowFrom = w, "RateLimit-Policy"
		}
	}
	if in.limit == 0 {
		if n, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil && n > 0 {
			in.limit, in.limitFrom = n, "X-RateLimit-Limit"
		}
	}
	return in
}

// flatten collects the numeric fields of a JSON document by dotted path.
func flatten(v any, prefix string, out map[string]float64) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flatten(x, strings.TrimPrefix(prefix+"."+k, "."), out)
		}
	case float64:
		out[prefix] = t
	}
}

// firstField finds the first of names as a path's last segment.
func firstField(fields map[string]float64, names ...string) (int, string) {
	for _, n := range names {
		for k, v := range fields {
			if k == n || strings.HasSuffix(k, "."+n) {
				return int(v), k
			}
		}
	}
	return 0, ""
}

// parseRateLimitPolicy reads "20;w=60" (the IETF draft's quota policy).
func parseRateLimitPolicy(v string) (n, w int) {
	first, _, _ := strings.Cut(v, ",")
	parts := strings.Split(first, ";")
	n, _ = strconv.Atoi(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "w" {
			w, _ = strconv.Atoi(val)
		}
	}
	return n, w
}

// WriteText prints the map as a table.
func (m *PolicyMap) WriteText(w io.Writer) {
	if m == nil {
		return
	}
	var fams []string
	for _, f := range m.Families {
		st := "deployed"
		if !f.Deployed {
			st = fmt.Sprintf("not deployed (%d)", f.Status)
		}
		fams = append(fams, fmt.Sprintf("%s %s", f.Version, st))
	}
	fmt.Fprintf(w, "policy map (discovered with %d requests in %.1fs as %s): %s\n", m.Sent, m.Seconds, strings.Join(m.Users, ", "), strings.Join(fams, ", "))
	fmt.Fprintf(w, "%-30s %-9s %-11s %-11s %-8s %-8s %s\n", "OPERATION", "DECLARED", "STATE", "DISCOVERED", "REACHED", "PER-USER", "429 CARRIES / NOTE")
	for _, p := range m.Ops {
		if p.State == OpNotDeployed {
			continue
		}
		disc := "-"
		if p.State == OpLimited {
			disc = fmt.Sprintf("%d/%d", p.Limit, p.WindowSeconds)
		}
		note := strings.Join(p.Carries, "; ")
		if len(p.SharesWith) > 0 {
			note = "shares a bucket with " + strings.Join(p.SharesWith, ", ") + "; " + note
		}
		if p.Note != "" {
			note = strings.TrimSuffix(p.Note+"; "+note, "; ")
		}
		fmt.Fprintf(w, "%-30s %-9s %-11s %-11s %-8d %-8s %s\n", p.Name(), fmt.Sprintf("%d/%d", p.Declared.Requests, p.Declared.WindowSeconds),
			p.State, disc, p.Reached, cmp.Or(p.PerUser, "-"), truncate(note, 150))
	}
	if m.Sharing != "" {
		fmt.Fprintf(w, "buckets: %s\n", m.Sharing)
	}
	for _, d := range m.Differences {
		fmt.Fprintf(w, "difference: %s\n", d)
	}
}

// pick returns the limited operation a limit probe uses: --op when given
// (it must be limited), else the first limited one of the preferred
// categories. Without one it returns the skip result that says why; a
// missing limiter itself is coverage's finding, not the probe's.
func (s *scanner) pick(prefer ...api.Category) (OpPolicy, api.Operation, *Result) {
	if s.pm == nil {
		r := errorf("the policy could not be discovered: %v", s.discoverErr)
		return OpPolicy{}, api.Operation{}, &r
	}
	lim := s.pm.Limited(prefer...)
	if s.cfg.Op != "" {
		p, _ := s.pm.Lookup(s.cfg.Op, api.Legacy)
		if p.State != OpLimited {
			r := skip("--op %s is not limited on this deployment (%s: %s); see coverage", s.cfg.Op, cmp.Or(p.State, "unknown"), p.Note)
			return OpPolicy{}, api.Operation{}, &r
		}
		lim = []OpPolicy{p}
	}
	if len(lim) == 0 {
		r := skip("no operation answered 429 during discovery, so there is no limit to probe (coverage reports the missing limiters)")
		return OpPolicy{}, api.Operation{}, &r
	}
	return lim[0], mustOp(lim[0].Operation), nil
}

// pickOther is pick for a second, concurrent part of a probe: another
// limited operation when there is one, else the same one (a fresh user's
// key is its own when the key is per user).
func (s *scanner) pickOther(not string, prefer ...api.Category) (OpPolicy, bool) {
	for _, p := range s.pm.Limited(prefer...) {
		if p.Operation != not && s.cfg.Op == "" {
			return p, true
		}
	}
	p, ok := s.pm.Lookup(not, api.Legacy)
	return p, ok && p.PerUser == "yes"
}

// reachFactor is how many requests are sent per one that reaches the
// operation, as discovery saw it (bounces to login where sessions are per
// worker); bursts are scaled by it, at most 8×.
func (s *scanner) reachFactor() int {
	if s.pm == nil {
		return 1
	}
	sent, reached := 0, 0
	for _, p := range s.pm.Ops {
		if p.Version == api.Legacy {
			sent += p.Sent
			reached += p.Reached
		}
	}
	if reached == 0 {
		return 1
	}
	return min((sent+reached-1)/reached, 8)
}
