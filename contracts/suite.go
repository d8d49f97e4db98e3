package contracts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/internal/jsonv"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// Target is what the runtime suite needs of a deployment; a *stack.Stack
// satisfies it.
type Target interface {
	BaseURL() string
	Credentials() []client.Credential
}

// CacheControl stops and restarts the deployment's limiter cache, so the
// suite can check the fail-closed 503 contract. stack.Control satisfies it.
type CacheControl interface {
	StopCache(ctx context.Context) error
	StartCache(ctx context.Context) error
}

// Options configure Run. Zero values take the embedded contracts and defaults.
type Options struct {
	Set     *Set
	Mapping *Mapping
	Compat  *Compat
	// Baseline, when set, is compared with Set (scope "baseline").
	Baseline *Set
	// Cache, when set, lets the suite stop the cache to see the 503.
	Cache CacheControl
	// SearchTerm finds reference AHSP entries in the catalog ("beton").
	SearchTerm string
	// MaxRateLimitCalls bounds the calls spent to reach a 429 (per version).
	MaxRateLimitCalls int
	// Timeout bounds each request.
	Timeout time.Duration
	// Progress receives one line per phase; nil discards.
	Progress io.Writer
	// Deprecation is the policy for Deprecation/Sunset/Link on legacy and
	// v1 answers once a v2 family is deployed (default advisory).
	Deprecation DeprecationPolicy
}

// Defaults of Options.
const (
	DefaultSearchTerm        = "beton"
	DefaultMaxRateLimitCalls = 200
	DefaultRequestTimeout    = 15 * time.Second
)

// rateLimitedOp is the operation exhausted to see a 429: the one the
// deployed app limits (write, 20/60 s), and every deployment counts it
// before it parses the body, so malformed JSON writes nothing.
var rateLimitedOp = "list-pekerjaan.save"

// againCalls bounds the calls spent on the second 429.
const againCalls = 40

// maxSpacers bounds the harmless requests between a login and the resend
// (enough for 8 workers taking connections in turn).
const maxSpacers = 7

// maxRelogins bounds the logins one request may spend when the session
// lives in one worker and the request landed on another.
const maxRelogins = 40

func (o *Options) defaults() error {
	var err error
	if o.Set == nil {
		if o.Set, err = LoadEmbedded(); err != nil {
			return err
		}
	}
	if o.Mapping == nil {
		if o.Mapping, err = LoadMapping(Embedded, "mapping.yaml"); err != nil {
			return err
		}
	}
	if o.Compat == nil {
		if o.Compat, err = LoadCompat(Embedded, "compat.yaml"); err != nil {
			return err
		}
	}
	if o.SearchTerm == "" {
		o.SearchTerm = DefaultSearchTerm
	}
	if o.MaxRateLimitCalls <= 0 {
		o.MaxRateLimitCalls = DefaultMaxRateLimitCalls
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRequestTimeout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Deprecation == "" {
		o.Deprecation = DeprecationAdvisory
	}
	return nil
}

// Static runs only the schema analyses that need no deployment: declared v1
// against declared v2 and, when opts.Baseline is set, the baseline against
// the current schemas.
func Static(opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	r := &Report{Started: time.Now()}
	r.Breaking = staticComparisons(opts)
	r.Duration = time.Since(r.Started)
	r.finish()
	return r, nil
}

func staticComparisons(opts Options) []Comparison {
	v1v2 := Comparison{Name: ScopeV1V2, Old: opts.Set.Source + " v1", New: opts.Set.Source + " v2",
		Changes: dropDeclaredV2Only(opts.Mapping, DiffSets(opts.Set, "v1", opts.Set, "v2", opts.Mapping.MapShape))}
	v1v2.Judge(opts.Compat, ScopeV1V2)
	out := []Comparison{v1v2}
	if opts.Baseline != nil {
		out = append(out, BaselineComparison(opts.Baseline, opts.Set, opts.Compat))
	}
	return out
}

// BaselineComparison compares every version of base with the same version of cur.
func BaselineComparison(base, cur *Set, compat *Compat) Comparison {
	c := Comparison{Name: ScopeBaseline, Old: base.Source, New: cur.Source}
	versions := map[string]bool{}
	for _, v := range base.Versions() {
		versions[v] = true
	}
	for _, v := range cur.Versions() {
		versions[v] = true
	}
	for _, v := range sortedKeys(versions) {
		for _, ch := range DiffSets(base, v, cur, v, nil) {
			ch.Operation = v + " " + ch.Operation
			c.Changes = append(c.Changes, ch)
		}
	}
	c.Judge(compat, ScopeBaseline)
	return c
}

// dropDeclaredV2Only removes additions the mapping declares (the v2 envelope's
// message and code): they are the point of v2, not a difference.
func dropDeclaredV2Only(m *Mapping, cs []Change) []Change {
	out := cs[:0]
	for _, c := range cs {
		if c.Change == FieldAdded && c.Kind == Response {
			globs := compileGlobs(append(append([]string{}, m.V2Only...), m.Operations[c.Operation].V2Only...))
			if matchAny(globs, c.Path) {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// Run discovers which URL families the deployment answers (legacy, the
// v1 baseline, must; /api/v1/ and /api/v2/ are probed once each), runs the
// scripted sequence through the legacy family as the first user and, when
// v2 is deployed, through v2 as the second user, validates every response,
// compares the families only where both answered, and runs the
// breaking-change analyses. Writing steps run only on projects declared
// scratch; such a project is snapshotted first and restored afterwards, the
// restore proven by a read-back diff. The error is for setup failures only
// (no usable credentials, login refused); everything found is in the Report.
func Run(ctx context.Context, t Target, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	creds := withProjects(t.Credentials())
	if len(creds) < 1 {
		return nil, fmt.Errorf("contracts need a user that owns a project; got none (give projects in the users file: 'name:password 12,13')")
	}
	foreign := 0
	if len(creds) > 1 {
		foreign = creds[1].Projects[0]
	}
	rep := &Report{Target: t.BaseURL(), Started: time.Now()}
	base, err := newRunner(ctx, t.BaseURL(), api.Legacy, creds[0], foreign, opts)
	if err != nil {
		return nil, err
	}
	rep.Families = base.discover(ctx)
	finish := func() (*Report, error) {
		rep.Breaking = append(staticComparisons(opts), rep.Breaking...)
		rep.Duration = time.Since(rep.Started)
		rep.Findings = findings(rep.Results, opts.Compat)
		rep.finish()
		return rep, nil
	}
	if !familyDeployed(rep.Families, api.Legacy) {
		rep.Notes = append(rep.Notes, "the legacy family (the v1 baseline) did not answer: nothing else ran")
		return finish()
	}
	v1On, v2On := familyDeployed(rep.Families, api.V1), familyDeployed(rep.Families, api.V2)
	runners := []*runner{base}
	var v2 *runner
	if v2On {
		if len(creds) < 2 {
			rep.Notes = append(rep.Notes, "v2 is deployed but only one user owns a project: the v2 script needs a second user (rate limits are per user)")
		} else if v2, err = newRunner(ctx, t.BaseURL(), api.V2, creds[1], creds[0].Projects[0], opts); err != nil {
			return nil, err
		} else {
			runners = append(runners, v2)
		}
	}
	for _, r := range runners {
		r.successor = v2On
	}
	if !v2On && opts.Deprecation != DeprecationOff {
		rep.Notes = append(rep.Notes, "deprecation headers not judged: no successor (v2) family is deployed")
	}
	snaps := map[*runner]*snapshot{}
	for _, r := range runners {
		if !r.scratch {
			rep.Notes = append(rep.Notes, fmt.Sprintf("project %d of %s is not declared scratch: writing steps skipped, only read-only steps run (mark it scratch in the users file or harness.yaml to run them)", r.pid, r.cred.User))
			continue
		}
		s, err := r.takeSnapshot(ctx)
		if err != nil {
			r.results = append(r.results, Result{Version: string(r.version), Step: "snapshot", Verdict: check.Error,
				Reason: "cannot snapshot the project through the read API, so nothing is written: " + err.Error()})
			r.scratch = false
			continue
		}
		r.snap, snaps[r] = s, s
	}
	for _, r := range runners {
		fmt.Fprintf(opts.Progress, "contracts: %s script as %s on project %d\n", r.version, r.cred.User, r.pid)
		r.script(ctx)
	}
	var same []Equivalence
	if v1On {
		fmt.Fprintf(opts.Progress, "contracts: project %d through the legacy and v1 families\n", base.pid)
		same = append(same, familyPairs(ctx, base, api.V1)...)
	}
	if v2 != nil {
		fmt.Fprintf(opts.Progress, "contracts: project %d through the legacy and v2 families\n", v2.pid)
		same = append(same, samePairs(ctx, v2)...)
	}
	// Rate limits last: they use up the operation's quota for the window.
	for _, r := range runners {
		r.partialSave(ctx)
		r.rateLimited(ctx)
		if opts.Cache != nil {
			r.failClosed(ctx)
		}
	}
	if opts.Cache == nil {
		rep.Notes = append(rep.Notes, "503 fail-closed contract not exercised at runtime: the deployment gives no cache control (external mode or locmem); the Sampler checks it under load")
	}
	for _, r := range runners {
		if s := snaps[r]; s != nil {
			rep.Restores = append(rep.Restores, r.restore(ctx, s))
		}
		if r.staleReads > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: %d tree read-backs found the unsearched tree served from a cache (stale); their decisions used the uncached reads (volume list, tree searches)", r.cred.User, r.staleReads))
		}
		if r.relogins > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: logged in again %d times after a request was sent to login (the session lives in one worker)", r.cred.User, r.relogins))
		}
		rep.Results = append(rep.Results, r.results...)
	}
	if v2 != nil {
		rep.Equivalence = crossPairs(opts.Mapping, base, v2)
		rep.Breaking = append(rep.Breaking, runtimeComparison(opts, v2))
	}
	rep.Equivalence = append(rep.Equivalence, same...)
	return finish()
}

func withProjects(cs []client.Credential) []client.Credential {
	var out []client.Credential
	for _, c := range cs {
		if len(c.Projects) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// exchange is one recorded call.
type exchange struct {
	op     string
	status int
	header http.Header
	body   []byte
}

type runner struct {
	version api.Version
	schema  string // "v1" or "v2"
	cred    client.Credential
	pid     int
	foreign int // a project of another user
	c       *client.Client
	base    string
	opts    Options
	results []Result
	calls   map[string]exchange // by step
	order   []string
	all     []exchange // every response, for the runtime shape analysis

	refID, customID, refPekID int
	customUpdatedAt           string
	// nextK, nextP are ordering_index values the project does not use yet
	// (klasifikasi; pekerjaan project-wide): the deployed save appends and
	// refuses a taken one (REAL-APP.md 3.1), the upsert lets a new pekerjaan
	// take over the one at its ordering_index.
	nextK, nextP int
	// savedK is the klasifikasi save.tree created.
	savedK int

	// scratch: the project is declared disposable, writing steps may run.
	scratch bool
	// successor: a v2 family is deployed, so legacy/v1 answers should
	// announce their deprecation (judged by opts.Deprecation).
	successor bool
	relogins  int
	// staleReads counts tree reads whose unsearched answer was stale.
	staleReads int
	// gone are the klasifikasi and sub rows ("sub 5") a replace-all upsert
	// of the suite left out; dropped counts those the last confirmedTree dropped.
	gone    map[string]bool
	dropped int
	// countErr is why countRows could not count, last time.
	countErr string
	snap     *snapshot
	// spacers: requests to /health/live/ between a login and the resend
	// that last brought the resend to the login's worker.
	spacers, lastSpacers int
}

func newRunner(ctx context.Context, base string, v api.Version, cred client.Credential, foreign int, opts Options) (*runner, error) {
	c, err := client.New(base, client.WithHTTPClient(&http.Client{Timeout: opts.Timeout}))
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, cred.User, cred.Password); err != nil {
		return nil, fmt.Errorf("log in for the %s contract run: %w", v, err)
	}
	schema := string(v)
	if v == api.Legacy {
		schema = string(api.V1) // the legacy family is the v1 contract
	}
	pid := cred.Projects[0]
	return &runner{version: v, schema: schema, cred: cred, pid: pid, foreign: foreign, c: c, base: base,
		opts: opts, calls: map[string]exchange{}, scratch: cred.IsScratch(pid)}, nil
}

// do sends one request; a redirect to the login page (the session lives in
// another worker) logs in again and resends, a bounded number of times.
func (r *runner) do(ctx context.Context, method, path string, body any) (*client.Response, error) {
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		resp, err := r.c.Do(rctx, method, path, body)
		cancel()
		if err == nil && attempt > 0 && !isLoginRedirect(resp) {
			r.spacers = r.lastSpacers
		}
		if err != nil || !isLoginRedirect(resp) || attempt >= maxRelogins {
			return resp, err
		}
		r.relogins++
		if err := r.c.Login(client.FreshSession(ctx), r.cred.User, r.cred.Password); err != nil {
			return resp, nil
		}
		// Workers that take connections in turn put the next request on
		// another worker than the login: spend a few harmless requests so
		// it comes round to the login's worker. The count that worked is
		// tried first next time.
		n := (r.spacers + attempt) % (maxSpacers + 1)
		if attempt > 0 && n == r.spacers {
			n = (n + 1) % (maxSpacers + 1)
		}
		for i := 0; i < n; i++ {
			sctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
			_, _ = r.c.Do(sctx, http.MethodGet, api.HealthLivePath, nil)
			cancel()
		}
		r.lastSpacers = n
	}
}

// isLoginRedirect: the deployment took the request as anonymous, by a
// redirect to the login page or (the deployed exports check PRO before
// login) a 401.
func isLoginRedirect(resp *client.Response) bool {
	if resp.Status == http.StatusUnauthorized {
		return true
	}
	if resp.Status != http.StatusFound {
		return false
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	return err == nil && u.Path == api.LoginPath
}

// send is a planned request outside the contract checks (restore writes):
// the scratch gate applies, the answer is returned as is.
func (r *runner) send(ctx context.Context, step string, pekID int, body any) exchange {
	ps := planned(step)
	op, _ := api.Lookup(ps.Operation)
	if ps.Class == Writing && !r.scratch {
		return exchange{op: op.Name}
	}
	resp, err := r.do(ctx, ps.Method, op.URLPath(api.Legacy, r.pid, pekID), body)
	if err != nil {
		return exchange{op: op.Name, body: []byte(err.Error())}
	}
	return exchange{op: op.Name, status: resp.Status, header: resp.Header, body: resp.Body}
}

// callSpec is one scripted call. extra adds step-specific checks on the
// decoded payload when the status is the expected one.
type callSpec struct {
	step    string
	op      string
	version api.Version // zero: the runner's
	pekID   int
	query   string
	body    any
	want    int
	project int // zero: the runner's project
	extra   func(payload map[string]any) []Violation
	noStore bool
	// waitLimited waits out a 429 of up to quirkWaitWithin (3 tries).
	waitLimited bool
}

// quirkWaitWithin bounds one wait of a quirk step on a 429: short windows
// (a test deployment's) are waited out, a production window is not.
const quirkWaitWithin = 15 * time.Second

// call sends one request, checks the response against the contract and
// records the result; it returns the exchange and the decoded payload.
func (r *runner) call(ctx context.Context, cs callSpec) (exchange, map[string]any) {
	op, ok := api.Lookup(cs.op)
	if !ok {
		panic("contracts: unknown operation " + cs.op)
	}
	v := cs.version
	if v == "" {
		v = r.version
	}
	pid := cs.project
	if pid == 0 {
		pid = r.pid
	}
	path := op.URLPath(v, pid, cs.pekID) + cs.query
	ps := planned(cs.step)
	res := Result{Version: string(v), Step: cs.step, Operation: op.Name, Method: op.Method, Path: path, WantStatus: cs.want, Class: ps.Class}
	if ps.Class == Writing && !r.scratch {
		res.Verdict = check.Skip
		res.Reason = fmt.Sprintf("writing step: project %d is not declared scratch (mark it scratch in the users file or harness.yaml)", pid)
		r.results = append(r.results, res)
		return exchange{op: op.Name}, nil
	}
	schema := r.schema
	if v == api.Legacy || v == api.V1 {
		schema = string(api.V1)
	}
	if e, ok := r.opts.Set.Response(schema, op.Name, cs.want); ok {
		res.Schema = e.File
	}
	resp, err := r.do(ctx, op.Method, path, cs.body)
	for try := 0; cs.waitLimited && err == nil && resp.Status == http.StatusTooManyRequests && try < 3; try++ {
		// A quirk step measures the operation, not its limiter: a short
		// window is waited out (bounded) instead of leaving it unmeasured.
		wait := limitWait(resp.Header, resp.Body)
		if wait > quirkWaitWithin {
			break
		}
		fmt.Fprintf(r.opts.Progress, "contracts: %s answered 429; waiting %s to measure it\n", cs.step, wait.Round(time.Second/10))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		resp, err = r.do(ctx, op.Method, path, cs.body)
	}
	if err != nil {
		res.Verdict = check.Fail
		res.Violations = []Violation{{Where: "transport", Message: err.Error()}}
		r.results = append(r.results, res)
		return exchange{op: op.Name}, nil
	}
	res.Status, res.Elapsed = resp.Status, resp.Elapsed
	ex := exchange{op: op.Name, status: resp.Status, header: resp.Header, body: resp.Body}
	if resp.Status != cs.want {
		res.Violations = append(res.Violations, Violation{Where: "status", InstancePath: strconv.Itoa(resp.Status),
			Message: fmt.Sprintf("got %d, want %d (body %s)", resp.Status, cs.want, snippet(resp.Body))})
	}
	r.judgeHeaders(&res, v, CheckResponse(r.opts.Set, op.Name, schema, resp.Status, resp.Header, resp.Body))
	var csvID, csvSeen string
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") && resp.Status == http.StatusOK {
		res.Violations = append(res.Violations, CheckCSV(op.Name, resp.Body)...)
		csvID, csvSeen = csvQuirk(op.Name, resp.Body)
	}
	payload := r.payload(resp.Body)
	if cs.extra != nil && resp.Status == cs.want {
		res.Violations = append(res.Violations, cs.extra(payload)...)
	}
	res.Verdict = check.Pass
	if len(res.Violations) > 0 {
		res.Verdict = check.Fail
	}
	if csvID != "" && len(res.Violations) == 0 {
		r.finding(&res, csvID, csvSeen)
	}
	r.results = append(r.results, res)
	r.all = append(r.all, ex)
	if !cs.noStore {
		r.calls[cs.step] = ex
		r.order = append(r.order, cs.step)
	}
	return ex, payload
}

// payload is the decoded body's payload: v1 fields at the top level, v2
// under "data" (error details under "details").
func (r *runner) payload(body []byte) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	if r.version == api.V2 {
		if d, ok := m["data"].(map[string]any); ok {
			return d
		}
		if d, ok := m["details"].(map[string]any); ok {
			return d
		}
	}
	return m
}

// judgeHeaders files a response's violations: deprecation headers on
// legacy and v1 answers follow the policy (and are not judged while no v2
// family is deployed), everything else is a violation.
func (r *runner) judgeHeaders(res *Result, v api.Version, vs []Violation) {
	if v == api.V2 {
		res.Violations = append(res.Violations, vs...)
		return
	}
	dep, other := splitHeaderViolations(vs)
	res.Violations = append(res.Violations, other...)
	if !r.successor {
		return
	}
	switch r.opts.Deprecation {
	case DeprecationRequired:
		res.Violations = append(res.Violations, dep...)
	case DeprecationAdvisory:
		res.Advisories = append(res.Advisories, dep...)
	}
}

func (r *runner) skip(step, op, reason string) {
	r.results = append(r.results, Result{Version: string(r.version), Step: step, Operation: op, Verdict: check.Skip, Reason: reason})
}

// script is the scripted sequence; every step has the same name in both
// versions so the responses can be paired.
func (r *runner) script(ctx context.Context) {
	_, initial := r.call(ctx, callSpec{step: "tree.initial", op: "list-pekerjaan.tree", want: 200})
	r.nextK, r.nextP = freeOrdering(initial)
	if r.snap != nil {
		// tree.initial may be a cached answer; the snapshot's tree is not.
		k, p := freeOrdering(r.snap.tree)
		r.nextK, r.nextP = max(r.nextK, k), max(r.nextP, p)
	}
	_, p := r.call(ctx, callSpec{step: "search", op: "search-ahsp", query: "?q=" + url.QueryEscape(r.opts.SearchTerm) + "&limit=5", want: 200,
		extra: func(p map[string]any) []Violation { return wantNonEmpty(p, "results") }})
	if res := list(p, "results"); len(res) > 0 {
		r.refID = intOf(get(res[0], "id"))
	}
	r.searchTotal(ctx, len(list(p, "results")))
	r.createTree(ctx)
	r.call(ctx, callSpec{step: "tree.after-save", op: "list-pekerjaan.tree", want: 200})
	r.upsert(ctx)
	r.call(ctx, callSpec{step: "tree.search", op: "list-pekerjaan.tree", query: "?q=kontrak", want: 200,
		extra: func(p map[string]any) []Violation { return wantKeys(p, "search_active", "match_count") }})
	if r.customID == 0 {
		r.skip("volume, detail and rekap steps", "", "the tree save did not return the new pekerjaan ids")
		return
	}
	r.volumes(ctx)
	r.detail(ctx)
	r.harga(ctx)
	r.call(ctx, callSpec{step: "rekap", op: "rekap", want: 200,
		extra: func(p map[string]any) []Violation { return wantNonEmpty(p, "rows") }})
	r.methods(ctx)
	r.call(ctx, callSpec{step: "export.rekap-rab", op: "export.rekap-rab-csv", want: 200})
	r.call(ctx, callSpec{step: "export.rincian-rab", op: "export.rincian-rab-csv", want: 200})
	r.call(ctx, callSpec{step: "not-found.pekerjaan", op: "detail-ahsp.get", pekID: 999999999, want: 404})
	if r.foreign != 0 {
		r.call(ctx, callSpec{step: "not-found.foreign-project", op: "list-pekerjaan.tree", project: r.foreign, want: 404})
		ex, _ := r.call(ctx, callSpec{step: "not-found.foreign-export", op: "export.rekap-rab-csv", project: r.foreign, want: 404})
		if ex.status == http.StatusInternalServerError {
			r.finding(r.last("not-found.foreign-export"), "export.rekap-rab-csv.foreign-project-500",
				fmt.Sprintf("another user's project %d answered 500 %s", r.foreign, snippet(ex.body)))
		}
	} else {
		r.skip("not-found.foreign-project", "list-pekerjaan.tree", "only one user owns a project: no foreign project to try")
	}
	r.unauthenticated(ctx, "unauthenticated", "list-pekerjaan.tree")
	r.unauthenticated(ctx, "unauthenticated.export", "export.rekap-rab-csv")
	r.badInputs(ctx)
	r.upsertQuirks(ctx)
	if r.version == api.Legacy {
		r.healthSession(ctx)
	}
}

// methods sends other methods than the operation's: POST to two reads (a
// read refuses it, 405 naming GET in Allow) and HEAD on the tree (a GET
// answers HEAD). The deployed harga-items list and rekap take any method,
// and its other GETs refuse HEAD (REAL-APP.md 3.9, 3.11, 6; section 8 item
// 21).
func (r *runner) methods(ctx context.Context) {
	for _, m := range []struct {
		step, op string
		want     int
	}{
		{"method.post.harga-list", "harga-items.list", http.StatusMethodNotAllowed},
		{"method.post.rekap", "rekap", http.StatusMethodNotAllowed},
		{"method.head.tree", "list-pekerjaan.tree", http.StatusOK},
	} {
		ps := planned(m.step)
		op, _ := api.Lookup(m.op)
		path := op.URLPath(r.version, r.pid, 0)
		res := Result{Version: string(r.version), Step: m.step, Operation: op.Name, Method: ps.Method, Path: path, WantStatus: m.want, Class: ps.Class}
		if ps.Class == Writing && !r.scratch {
			res.Verdict = check.Skip
			res.Reason = fmt.Sprintf("writing step: project %d is not declared scratch (mark it scratch in the users file or harness.yaml)", r.pid)
			r.results = append(r.results, res)
			continue
		}
		resp, err := r.do(ctx, ps.Method, path, nil)
		if err != nil {
			res.Verdict, res.Violations = check.Fail, []Violation{{Where: "transport", Message: err.Error()}}
			r.results = append(r.results, res)
			continue
		}
		res.Status, res.Elapsed = resp.Status, resp.Elapsed
		if resp.Status != m.want {
			res.Violations = append(res.Violations, Violation{Where: "status", InstancePath: strconv.Itoa(resp.Status),
				Message: fmt.Sprintf("%s answered %d, want %d", ps.Method, resp.Status, m.want)})
		} else if m.want == http.StatusMethodNotAllowed && !strings.Contains(resp.Header.Get("Allow"), op.Method) {
			res.Violations = append(res.Violations, Violation{Where: "header", InstancePath: "Allow",
				Message: fmt.Sprintf("405 with Allow %q, want it to name %s", resp.Header.Get("Allow"), op.Method)})
		}
		res.Verdict = verdict(res.Violations)
		switch {
		case ps.Method == http.MethodPost && resp.Status == http.StatusOK:
			r.finding(&res, "method.read-accepts-any-method",
				fmt.Sprintf("POST %s answered 200 %s; a read should refuse it with 405", path, snippet(resp.Body)))
		case ps.Method == http.MethodHead && resp.Status == http.StatusMethodNotAllowed:
			r.finding(&res, "method.head-405",
				fmt.Sprintf("HEAD %s answered 405 (Allow %q) where GET answers 200", path, resp.Header.Get("Allow")))
		}
		r.results = append(r.results, res)
	}
}

// last returns the most recent result of step (a skip placeholder when the
// step left none, so callers can always write to it).
// searchTotal asks the same search for one row: its total must still count
// every match, so at least the rows the limit-5 search returned. The
// deployed app counts the rows it returns (REAL-APP.md 3.8).
func (r *runner) searchTotal(ctx context.Context, seen int) {
	if seen < 2 {
		r.results = append(r.results, Result{Version: string(r.version), Step: "search.total", Operation: "search-ahsp", Class: ReadOnly,
			Verdict: check.Inconclusive, Reason: fmt.Sprintf("the search for %q returned %d results: total cannot be told apart from the rows returned", r.opts.SearchTerm, seen)})
		return
	}
	_, p := r.call(ctx, callSpec{step: "search.total", op: "search-ahsp", query: "?q=" + url.QueryEscape(r.opts.SearchTerm) + "&limit=1", want: 200})
	if p == nil {
		return
	}
	if total, n := intOf(get(p, "total")), len(list(p, "results")); total < seen {
		r.finding(r.last("search.total"), "search-ahsp.total-counts-returned",
			fmt.Sprintf("limit=1 answered total %d with %d result; limit=5 had returned %d results", total, n, seen))
	}
}

func (r *runner) last(step string) *Result {
	for i := len(r.results) - 1; i >= 0; i-- {
		if r.results[i].Step == step {
			return &r.results[i]
		}
	}
	return &Result{}
}

// freeOrdering is one past the highest klasifikasi and pekerjaan
// ordering_index of a tree payload (1, 1 for an empty or unread tree).
func freeOrdering(tree map[string]any) (klas, pek int) {
	klas, pek = 1, 1
	for _, k := range list(tree, "klasifikasi") {
		klas = max(klas, intOf(get(k, "ordering_index"))+1)
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				pek = max(pek, intOf(get(p, "ordering_index"))+1)
			}
		}
	}
	return klas, pek
}

// ordK and ordP hand out free ordering indexes (see nextK); 0 means the
// tree was not read, so a fixed high one is used.
func (r *runner) ordK() int {
	if r.nextK == 0 {
		r.nextK = 900
	}
	r.nextK++
	return r.nextK - 1
}

func (r *runner) ordP() int {
	if r.nextP == 0 {
		r.nextP = 900
	}
	r.nextP++
	return r.nextP - 1
}

func (r *runner) createTree(ctx context.Context) {
	pek := []map[string]any{
		{"source_type": "custom", "snapshot_uraian": "Pekerjaan kontrak uji", "snapshot_satuan": "m3", "ordering_index": r.ordP(), "temp_id": "p-custom"},
	}
	if r.refID != 0 {
		pek = append(pek, map[string]any{"source_type": "ref", "ref_id": r.refID, "ordering_index": r.ordP(), "temp_id": "p-ref"})
	}
	body := map[string]any{"klasifikasi": []map[string]any{{
		"name": "Klasifikasi kontrak", "ordering_index": r.ordK(), "temp_id": "k-1",
		"sub": []map[string]any{{"name": "Sub kontrak", "ordering_index": 1, "temp_id": "s-1", "pekerjaan": pek}},
	}}}
	r.checkRequest("list-pekerjaan.save", body)
	_, p := r.call(ctx, callSpec{step: "save.tree", op: "list-pekerjaan.save", body: body, want: 200})
	ids := get(get(p, "id_map"), "pekerjaan")
	r.customID = intOf(get(ids, "p-custom"))
	r.refPekID = intOf(get(ids, "p-ref"))
	r.savedK = intOf(get(get(get(p, "id_map"), "klasifikasi"), "k-1"))
}

// upsert sends back the klasifikasi save.tree created with one new custom
// pekerjaan. The upsert replaces the tree, so every other row goes: the
// project then holds only the script's rows, and the two families' runs
// (on different projects) can be compared from here on (the snapshot's
// rows come back with the restore).
func (r *runner) upsert(ctx context.Context) {
	ex, ok := r.calls["tree.after-save"]
	if !ok || ex.status != 200 || r.savedK == 0 {
		r.skip("upsert", "list-pekerjaan.upsert", "no tree to send back")
		return
	}
	var klas []any
	for _, k := range list(r.payload(ex.body), "klasifikasi") {
		if intOf(get(k, "id")) != r.savedK {
			continue
		}
		var subs []any
		for _, s := range list(k, "sub") {
			var peks []any
			for _, p := range list(s, "pekerjaan") {
				row := map[string]any{"id": get(p, "id"), "source_type": get(p, "source_type"), "ordering_index": get(p, "ordering_index"),
					"snapshot_uraian": get(p, "snapshot_uraian"), "snapshot_satuan": get(p, "snapshot_satuan")}
				if ref := get(p, "ref_id"); ref != nil {
					row["ref_id"] = ref
				}
				peks = append(peks, row)
			}
			if intOf(get(s, "id")) != 0 && get(s, "name") == "Sub kontrak" {
				peks = append(peks, map[string]any{"source_type": "custom", "snapshot_uraian": "Pekerjaan tambahan uji", "snapshot_satuan": "m2",
					"ordering_index": r.ordP(), "temp_id": "p-upsert"})
			}
			subs = append(subs, map[string]any{"id": get(s, "id"), "name": get(s, "name"), "ordering_index": get(s, "ordering_index"), "pekerjaan": peks})
		}
		klas = append(klas, map[string]any{"id": get(k, "id"), "name": get(k, "name"), "ordering_index": get(k, "ordering_index"), "sub": subs})
	}
	body := map[string]any{"klasifikasi": klas}
	r.checkRequest("list-pekerjaan.upsert", body)
	r.call(ctx, callSpec{step: "upsert", op: "list-pekerjaan.upsert", body: body, want: 200})
}

func (r *runner) volumes(ctx context.Context) {
	r.numberNotation(ctx)
	items := []map[string]any{{"pekerjaan_id": r.customID, "quantity": "12,5"}}
	if r.refPekID != 0 {
		items = append(items, map[string]any{"pekerjaan_id": r.refPekID, "quantity": 3})
	}
	body := map[string]any{"items": items}
	r.checkRequest("volume-pekerjaan.save", body)
	r.call(ctx, callSpec{step: "volume.save", op: "volume-pekerjaan.save", body: body, want: 200})
	custom := r.customID
	r.call(ctx, callSpec{step: "volume.list", op: "volume-pekerjaan.list", want: 200, extra: func(p map[string]any) []Violation {
		for _, it := range list(p, "items") {
			if intOf(get(it, "pekerjaan_id")) == custom {
				if q, _ := get(it, "quantity").(string); q != "12.500" {
					return []Violation{{Where: "body", InstancePath: "items[].quantity", Message: fmt.Sprintf("saved \"12,5\", listed %v, want \"12.500\"", get(it, "quantity"))}}
				}
				return nil
			}
		}
		return []Violation{{Where: "body", InstancePath: "items", Message: fmt.Sprintf("pekerjaan %d saved with a volume is not listed", custom)}}
	}})
}

// numberNotation saves two quantities a parser must not guess at: "1,000"
// (1.0 with a decimal comma, 1000 with a thousands comma) and "1e3" (a
// string in exponent notation); each must be refused (400 on the row). The
// deployed parser reads "1,000" as 1.0 and takes "1e3" as 1000 (REAL-APP.md
// 1, section 8 item 24); what it stored is read back. volume.save then
// writes the script's own volumes over them.
func (r *runner) numberNotation(ctx context.Context) {
	for _, n := range []notation{
		{"volume.save.comma-thousands", "quantity", "1,000", "volume-pekerjaan.save.comma-thousands-as-decimal"},
		{"volume.save.exponent", "quantity", "1e3", "volume-pekerjaan.save.exponent-string-accepted"},
	} {
		body := map[string]any{"items": []map[string]any{{"pekerjaan_id": r.customID, "quantity": n.value}}}
		r.notationStep(ctx, n, "volume-pekerjaan.save", 0, body, "items[0].quantity", "volume-pekerjaan.list", func(p map[string]any) string {
			for _, it := range list(p, "items") {
				if intOf(get(it, "pekerjaan_id")) == r.customID {
					return fmt.Sprintf("listed as %v", get(it, "quantity"))
				}
			}
			return "not listed"
		})
	}
}

// notation is one number a parser must not guess at, sent in field.
type notation struct{ step, field, value, finding string }

// notationStep sends body (n.value in n.field) to op and wants it refused
// with 400 on path; accepted, it reads readOp back (step ".read-back") and
// reports n.finding with what stored says was kept.
func (r *runner) notationStep(ctx context.Context, n notation, op string, pekID int, body any, path, readOp string, stored func(map[string]any) string) {
	ex, _ := r.call(ctx, callSpec{step: n.step, op: op, pekID: pekID, body: body, want: 400, extra: wantErrorPath(path), waitLimited: true})
	if ex.status < 200 || ex.status > 299 {
		return
	}
	_, p := r.call(ctx, callSpec{step: n.step + ".read-back", op: readOp, pekID: pekID, want: 200})
	r.finding(r.last(n.step), n.finding, fmt.Sprintf("%s %q accepted with %d and %s", n.field, n.value, ex.status, stored(p)))
}

// detailNotation saves the first rincian row again with koefisien "1,000"
// and then "1e3" (quirk 24 on detail save, see numberNotation); accepted,
// the detail get says what was stored.
func (r *runner) detailNotation(ctx context.Context, item any) {
	for _, n := range []notation{
		{"detail.save.comma-thousands", "koefisien", "1,000", "detail-ahsp.save.comma-thousands-as-decimal"},
		{"detail.save.exponent", "koefisien", "1e3", "detail-ahsp.save.exponent-string-accepted"},
	} {
		kode := get(item, "kode")
		body := map[string]any{"rows": []map[string]any{{"kategori": get(item, "kategori"), "kode": kode, "uraian": get(item, "uraian"),
			"satuan": get(item, "satuan"), "koefisien": n.value}}}
		r.notationStep(ctx, n, "detail-ahsp.save", r.customID, body, "rows[0].koefisien", "detail-ahsp.get", func(p map[string]any) string {
			for _, it := range list(p, "items") {
				if get(it, "kode") == kode {
					return fmt.Sprintf("stored as %v", get(it, "koefisien"))
				}
			}
			return fmt.Sprintf("kode %v not listed", kode)
		})
	}
}

// hargaNotation saves the first listed price, then the markup, as "1,000"
// and as a string in exponent notation (quirk 24 on harga save, see
// numberNotation). The markup's exponent is "1e1": 1000 % would be refused
// for its range whatever the parser.
func (r *runner) hargaNotation(ctx context.Context, id any) {
	price := func(p map[string]any) string {
		for _, it := range list(p, "items") {
			if intOf(get(it, "id")) == intOf(id) {
				return fmt.Sprintf("listed as %v", get(it, "harga_satuan"))
			}
		}
		return fmt.Sprintf("item %v not listed", id)
	}
	markup := func(p map[string]any) string {
		return fmt.Sprintf("listed as %v", get(get(p, "meta"), "markup_percent"))
	}
	for _, n := range []struct {
		notation
		markup bool
	}{
		{notation{"harga.save.comma-thousands", "harga_satuan", "1,000", "harga-items.save.comma-thousands-as-decimal"}, false},
		{notation{"harga.save.exponent", "harga_satuan", "1e3", "harga-items.save.exponent-string-accepted"}, false},
		{notation{"harga.save.markup.comma-thousands", "markup_percent", "1,000", "harga-items.save.comma-thousands-as-decimal"}, true},
		{notation{"harga.save.markup.exponent", "markup_percent", "1e1", "harga-items.save.exponent-string-accepted"}, true},
	} {
		if n.markup {
			r.notationStep(ctx, n.notation, "harga-items.save", 0, map[string]any{"markup_percent": n.value}, "markup_percent", "harga-items.list", markup)
			continue
		}
		body := map[string]any{"items": []map[string]any{{"id": id, "harga_satuan": n.value}}}
		r.notationStep(ctx, n.notation, "harga-items.save", 0, body, "items[0].harga_satuan", "harga-items.list", price)
	}
}

// kategoriClash saves a rincian row whose kode the project already has
// under another kategori (the first row detail get listed after the save,
// sent with another kategori): the deployed app refuses the save whole,
// 400 {ok, user_message, errors: [{path: "kategori"}]} (REAL-APP.md 3.7);
// the rows read before and after must be the same.
func (r *runner) kategoriClash(ctx context.Context, item any) {
	kat, _ := get(item, "kategori").(string)
	other := "ALT"
	if kat == other {
		other = "BHN"
	}
	_, before := r.call(ctx, callSpec{step: "detail.save.kategori-clash.before", op: "detail-ahsp.get", pekID: r.customID, want: 200, noStore: true})
	body := map[string]any{"rows": []map[string]any{{"kategori": other, "kode": get(item, "kode"), "uraian": get(item, "uraian"),
		"satuan": get(item, "satuan"), "koefisien": "1"}}}
	ex, _ := r.call(ctx, callSpec{step: "detail.save.kategori-clash", op: "detail-ahsp.save", pekID: r.customID, body: body, want: 400,
		extra: wantErrorPath("kategori"), waitLimited: true})
	if ex.status == 0 {
		return
	}
	_, after := r.call(ctx, callSpec{step: "detail.save.kategori-clash.after", op: "detail-ahsp.get", pekID: r.customID, want: 200, noStore: true})
	if b, a := rincianRows(before), rincianRows(after); b != a {
		res := r.last("detail.save.kategori-clash")
		res.Verdict = check.Fail
		res.Violations = append(res.Violations, Violation{Where: "body", InstancePath: "rows",
			Message: fmt.Sprintf("kode %v sent as %s (the project's %s) answered %d and the rincian changed: %s -> %s", get(item, "kode"), other, kat, ex.status, b, a)})
	}
}

// rincianRows is a detail answer's rows as "kategori kode koefisien", for
// comparing two reads.
func rincianRows(p map[string]any) string {
	var out []string
	for _, it := range list(p, "items") {
		out = append(out, fmt.Sprintf("%v %v %v", get(it, "kategori"), get(it, "kode"), get(it, "koefisien")))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

func (r *runner) detail(ctx context.Context) {
	_, p := r.call(ctx, callSpec{step: "detail.get.custom", op: "detail-ahsp.get", pekID: r.customID, want: 200})
	r.customUpdatedAt, _ = get(get(p, "pekerjaan"), "updated_at").(string)
	rows := []map[string]any{
		{"kategori": "TK", "kode": "L.01", "uraian": "Pekerja", "satuan": "OH", "koefisien": "0.750000"},
		{"kategori": "BHN", "kode": "B.01", "uraian": "Semen portland", "satuan": "kg", "koefisien": "0,025"},
	}
	body := map[string]any{"rows": rows, "client_updated_at": r.customUpdatedAt}
	r.checkRequest("detail-ahsp.save", body)
	r.call(ctx, callSpec{step: "detail.save", op: "detail-ahsp.save", pekID: r.customID, body: body, want: 200})
	// The same edit again from the old version: the optimistic lock must refuse it.
	r.call(ctx, callSpec{step: "detail.save.conflict", op: "detail-ahsp.save", pekID: r.customID, body: body, want: 409})
	r.detailResend(ctx, rows)
	if items := list(r.payload(r.calls["detail.get.after-save"].body), "items"); len(items) > 0 {
		r.kategoriClash(ctx, items[0])
		r.detailNotation(ctx, items[0])
	} else {
		r.skip("detail.save.kategori-clash", "detail-ahsp.save", "detail-ahsp.get listed no rincian after the save: no kode to clash with")
	}
	if r.refPekID != 0 {
		r.call(ctx, callSpec{step: "detail.get.ref", op: "detail-ahsp.get", pekID: r.refPekID, want: 200})
		r.call(ctx, callSpec{step: "detail.save.read-only", op: "detail-ahsp.save", pekID: r.refPekID,
			body: map[string]any{"rows": rows}, want: 400})
	}
}

func (r *runner) harga(ctx context.Context) {
	_, p := r.call(ctx, callSpec{step: "harga.list", op: "harga-items.list", want: 200})
	items := list(p, "items")
	if len(items) == 0 {
		r.skip("harga.save", "harga-items.save", "the price list is empty")
		return
	}
	body := map[string]any{"items": []map[string]any{{"id": get(items[0], "id"), "harga_satuan": "150000"}}, "markup_percent": "15"}
	r.checkRequest("harga-items.save", body)
	_, saved := r.call(ctx, callSpec{step: "harga.save", op: "harga-items.save", body: body, want: 200})
	stamp, _ := get(saved, "project_updated_at").(string)
	if stamp == "" {
		stamp, _ = get(saved, "updated_at").(string) // v2's name
	}
	r.naiveStamp(ctx, "harga.save.naive-stamp", "harga-items.save", 0, stamp, map[string]any{"markup_percent": "15"})
	r.hargaStringID(ctx, get(items[0], "id"))
	r.hargaNotation(ctx, get(items[0], "id"))
}

// hargaStringID saves the first listed price again with its id sent as a
// string ("7"): the number parser takes strings everywhere, so a save
// accepts it; the deployed one refuses it as not used in the project and
// its 400 says the data was partly saved (REAL-APP.md 3.10, section 8
// item 20).
func (r *runner) hargaStringID(ctx context.Context, id any) {
	sid := fmt.Sprint(id)
	ex, _ := r.call(ctx, callSpec{step: "harga.save.string-id", op: "harga-items.save",
		body: map[string]any{"items": []map[string]any{{"id": sid, "harga_satuan": "150000"}}}, want: 200})
	if ex.status != http.StatusBadRequest {
		return
	}
	var top map[string]any
	_ = json.Unmarshal(ex.body, &top)
	p := r.payload(ex.body)
	errs := list(p, "errors")
	if errs == nil {
		errs = list(top, "errors")
	}
	var seen []string
	for _, e := range errs {
		seen = append(seen, fmt.Sprintf("%v %q", get(e, "path"), get(e, "message")))
	}
	msg := get(p, "user_message")
	if msg == nil {
		msg = get(top, "message")
	}
	r.finding(r.last("harga.save.string-id"), "harga-items.save.string-id-refused",
		fmt.Sprintf("id %q (harga-items.list's id %v as a string) refused with 400: %s; user_message %q with updated %v",
			sid, id, strings.Join(seen, ", "), msg, get(p, "updated")))
}

// detailResend saves the custom pekerjaan's rows again with the updated_at
// detail get hands out after the save: a lock that compares the stamp it
// hands out lets it through; the deployed one compares the project's
// (bumped by the save) and answers 409 (REAL-APP.md 3.7, section 8 item 17).
// Then the same save with a client_updated_at without a time zone.
func (r *runner) detailResend(ctx context.Context, rows []map[string]any) {
	_, p := r.call(ctx, callSpec{step: "detail.get.after-save", op: "detail-ahsp.get", pekID: r.customID, want: 200})
	stamp, _ := get(get(p, "pekerjaan"), "updated_at").(string)
	if stamp == "" {
		r.skip("detail.save.resend", "detail-ahsp.save", "detail-ahsp.get handed out no pekerjaan.updated_at: the lock cannot be exercised")
		return
	}
	ex, _ := r.call(ctx, callSpec{step: "detail.save.resend", op: "detail-ahsp.save", pekID: r.customID,
		body: map[string]any{"rows": rows, "client_updated_at": stamp}, want: 200})
	if ex.status == http.StatusConflict {
		r.finding(r.last("detail.save.resend"), "detail-ahsp.save.lock-stamp-mismatch",
			fmt.Sprintf("resending updated_at %s, which detail-ahsp.get handed out after the save, answered 409 with server_updated_at %v: the lock checks another stamp than the one it hands out",
				stamp, get(r.payload(ex.body), "server_updated_at")))
	}
	r.naiveStamp(ctx, "detail.save.naive-stamp", "detail-ahsp.save", r.customID, stamp, map[string]any{"rows": rows})
}

// naiveStamp sends body with client_updated_at set to stamp a day later
// and without its time zone ("2026-12-03T00:32:05.890020"): later than the
// server's version however the zone is read, so a lock lets it through or
// refuses the format with 400; the deployed app answers 500 (REAL-APP.md
// 3.7, section 8 item 18).
func (r *runner) naiveStamp(ctx context.Context, step, op string, pekID int, stamp string, body map[string]any) {
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		r.skip(step, op, fmt.Sprintf("no usable updated_at to derive a naive one from (got %q)", stamp))
		return
	}
	naive := t.Add(24 * time.Hour).Format("2006-01-02T15:04:05.000000")
	body["client_updated_at"] = naive
	ex, _ := r.call(ctx, callSpec{step: step, op: op, pekID: pekID, body: body, want: 200})
	res := r.last(step)
	switch {
	case ex.status == http.StatusInternalServerError:
		r.finding(res, "lock.naive-client-updated-at-500",
			fmt.Sprintf("%s with client_updated_at %q (no time zone) answered 500 %s", op, naive, snippet(ex.body)))
		// The quirk is this finding, not also a status the v2 shapes add.
		r.all = r.all[:len(r.all)-1]
	case ex.status == http.StatusBadRequest && len(wantErrorPath("client_updated_at")(r.payload(ex.body))) == 0:
		// Refusing a stamp without a zone, naming the field, is fine.
		res.Verdict, res.Violations, res.Reason = check.Pass, nil, "a client_updated_at without a time zone refused with 400 on client_updated_at"
	}
}

// badInputs sends inputs a deployment must refuse without writing. Each is
// its own group: the project's rows are counted before and after, and an
// input that is accepted or changes the rows is a finding ("input X
// accepted with 200; N rows deleted"); the project is then restored from
// the snapshot before the next group runs.
func (r *runner) badInputs(ctx context.Context) {
	type bad struct {
		step, op, desc, path, quirk string
		pekID                       int
		body                        any
	}
	var bads []bad
	if r.customID != 0 {
		bads = append(bads,
			bad{"bad.volume.quantity", "volume-pekerjaan.save", `quantity "dua belas"`, "items[0].quantity", "volume-pekerjaan.save.bad-input-accepted", 0,
				map[string]any{"items": []map[string]any{{"pekerjaan_id": r.customID, "quantity": "dua belas"}}}},
			bad{"bad.detail.kategori", "detail-ahsp.save", "kategori XYZ", "rows[0].kategori", "detail-ahsp.save.bad-input-accepted", r.customID,
				map[string]any{"rows": []map[string]any{{"kategori": "XYZ", "kode": "X", "uraian": "X", "satuan": "OH", "koefisien": "1"}}}})
	}
	bads = append(bads,
		bad{"bad.save.malformed-json", "list-pekerjaan.save", "malformed JSON", "$", "list-pekerjaan.save.malformed-json-writes", 0, []byte(`{"klasifikasi": [`)},
		bad{"bad.save.empty-name", "list-pekerjaan.save", `klasifikasi name " "`, "klasifikasi[0].name", "list-pekerjaan.save.blank-name-accepted", 0,
			map[string]any{"klasifikasi": []map[string]any{{"name": " ", "ordering_index": r.ordK()}}}},
		bad{"bad.upsert.negative-id", "list-pekerjaan.upsert", "klasifikasi id -5", "klasifikasi[0].id", "list-pekerjaan.upsert.negative-id-wipes", 0,
			map[string]any{"klasifikasi": []map[string]any{{"id": -5, "name": "X", "ordering_index": 1}}}},
		bad{"bad.upsert.empty-list", "list-pekerjaan.upsert", "klasifikasi []", "klasifikasi", "list-pekerjaan.upsert.empty-list-wipes", 0,
			map[string]any{"klasifikasi": []any{}}},
	)
	for _, b := range bads {
		if !r.scratch {
			r.call(ctx, callSpec{step: b.step, op: b.op, body: b.body, want: 400}) // recorded as a skip
			continue
		}
		before, okBefore := r.countRows(ctx)
		ex, _ := r.call(ctx, callSpec{step: b.step, op: b.op, pekID: b.pekID, body: b.body, want: 400, extra: wantErrorPath(b.path)})
		after, okAfter := r.countRows(ctx)
		accepted := ex.status >= 200 && ex.status < 300
		changed := okBefore && okAfter && after != before
		if !accepted && !changed {
			if res := r.last(b.step); (!okBefore || !okAfter) && res.Verdict == check.Pass {
				// Refused, but whether rows changed was not measured.
				res.Verdict = check.Inconclusive
				res.Reason = fmt.Sprintf("refused with %d, but the project's rows could not be counted before and after (%s)", ex.status, r.countErr)
			}
			continue
		}
		ev := fmt.Sprintf("input %s accepted with %d", b.desc, ex.status)
		if !accepted {
			ev = fmt.Sprintf("input %s refused with %d but the rows changed", b.desc, ex.status)
		}
		switch {
		case !okBefore || !okAfter:
			ev += "; rows could not be counted"
		case after < before:
			ev += fmt.Sprintf("; %d rows deleted (%d -> %d klasifikasi+sub+pekerjaan)", before-after, before, after)
		case after > before:
			ev += fmt.Sprintf("; %d rows created", after-before)
		default:
			ev += "; row count unchanged"
		}
		r.finding(r.last(b.step), b.quirk, ev)
		// The group stops here; put the project back before the next one.
		if r.snap != nil {
			if rs := r.restore(ctx, r.snap); rs.Status != check.Pass {
				r.results = append(r.results, Result{Version: string(r.version), Step: b.step + ".restore", Verdict: rs.Status,
					Reason: "restore after the finding: " + rs.Reason, Violations: stringViolations(rs.Differences)})
				return
			}
		}
		r.customID, r.refPekID = 0, 0
	}
}

func stringViolations(ss []string) []Violation {
	var out []Violation
	for _, s := range ss {
		out = append(out, Violation{Where: "body", Message: s})
	}
	return out
}

// countRows counts the project's klasifikasi, sub and pekerjaan rows.
func (r *runner) countRows(ctx context.Context) (int, bool) {
	_ = planned("bad.count")
	tree, err := r.confirmedTree(ctx)
	if err != nil {
		r.countErr = err.Error()
		return 0, false
	}
	k, sb, p := treeRows(tree)
	return len(k) + len(sb) + len(p), true
}

// partialSave adds one valid and one invalid pekerjaan: 207 with the
// invalid row located. Then a save whose only pekerjaan fails must write
// nothing (400); committing its klasifikasi and sub anyway with 207 is the
// deployed app's quirk (REAL-APP.md section 8, item 11). Both add rows, so
// they run after everything that reads the script's rows.
func (r *runner) partialSave(ctx context.Context) {
	body := map[string]any{"klasifikasi": []map[string]any{{"name": "Klasifikasi parsial", "ordering_index": r.ordK(), "temp_id": "k-p",
		"sub": []map[string]any{{"name": "Sub parsial", "ordering_index": 1, "temp_id": "s-p", "pekerjaan": []map[string]any{
			{"source_type": "custom", "snapshot_uraian": "Baris sah", "snapshot_satuan": "m2", "ordering_index": r.ordP(), "temp_id": "p-ok"},
			{"source_type": "bogus", "ordering_index": r.ordP(), "temp_id": "p-bad"},
		}}}}}}
	r.call(ctx, callSpec{step: "save.partial", op: "list-pekerjaan.save", body: body, want: 207,
		extra: wantErrorPath("klasifikasi[0].sub[0].pekerjaan[1].source_type")})

	body = map[string]any{"klasifikasi": []map[string]any{{"name": "Klasifikasi tanpa pekerjaan", "ordering_index": r.ordK(), "temp_id": "k-g",
		"sub": []map[string]any{{"name": "Sub tanpa pekerjaan", "ordering_index": 1, "temp_id": "s-g", "pekerjaan": []map[string]any{
			{"source_type": "bogus", "ordering_index": r.ordP(), "temp_id": "p-g"},
		}}}}}}
	before, okBefore := 0, false
	if r.scratch {
		before, okBefore = r.countRows(ctx)
	}
	ex, _ := r.call(ctx, callSpec{step: "save.groups-only", op: "list-pekerjaan.save", body: body, want: 400,
		extra: wantErrorPath("klasifikasi[0].sub[0].pekerjaan[0].source_type")})
	if ex.status < 200 || ex.status > 299 {
		return
	}
	ev := fmt.Sprintf("a save whose only pekerjaan failed answered %d", ex.status)
	if after, okAfter := r.countRows(ctx); okBefore && okAfter {
		ev += fmt.Sprintf(" and committed %d klasifikasi+sub rows (%d -> %d)", after-before, before, after)
	}
	r.finding(r.last("save.groups-only"), "list-pekerjaan.save.keeps-empty-groups", ev)
}

// unauthenticated: an anonymous API call is redirected to the login page
// (Django's 302, not 401). An export answering 401 JSON instead is the
// deployed app's quirk.
func (r *runner) unauthenticated(ctx context.Context, step, opName string) {
	op, _ := api.Lookup(opName)
	path := op.URLPath(r.version, r.pid, 0)
	res := Result{Version: string(r.version), Step: step, Operation: op.Name, Method: op.Method, Path: path, WantStatus: 302, Class: planned(step).Class}
	anon, err := client.New(r.base, client.WithHTTPClient(&http.Client{Timeout: r.opts.Timeout}))
	var resp *client.Response
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		resp, err = anon.Do(rctx, op.Method, path, nil)
		cancel()
		if err == nil {
			res.Status = resp.Status
			res.Violations = CheckLoginRedirect(resp.Status, resp.Header, path)
		}
	}
	if err != nil {
		res.Violations = []Violation{{Where: "transport", Message: err.Error()}}
	}
	res.Verdict = verdict(res.Violations)
	if resp != nil && resp.Status == http.StatusUnauthorized && strings.HasPrefix(opName, "export.") && isJSON(resp.Header) {
		r.finding(&res, "export.anonymous-401", fmt.Sprintf("anonymous %s answered 401 %s while other operations redirect to login", path, snippet(resp.Body)))
	}
	r.results = append(r.results, res)
}

// CheckLoginRedirect checks Django's answer to an anonymous API call: 302 to
// /accounts/login/?next=<the requested path>.
func CheckLoginRedirect(status int, h http.Header, requested string) []Violation {
	var out []Violation
	if status != http.StatusFound {
		out = append(out, Violation{Where: "status", InstancePath: strconv.Itoa(status), Message: fmt.Sprintf("anonymous call answered %d, want 302 to %s", status, api.LoginPath)})
	}
	loc := h.Get("Location")
	u, err := url.Parse(loc)
	switch {
	case loc == "" || err != nil:
		out = append(out, Violation{Where: "header", InstancePath: "Location", Message: fmt.Sprintf("%q: want %s?next=...", loc, api.LoginPath)})
	case u.Path != api.LoginPath:
		out = append(out, Violation{Where: "header", InstancePath: "Location", Message: fmt.Sprintf("redirects to %q, want %s", u.Path, api.LoginPath)})
	case u.Query().Get("next") != requested:
		out = append(out, Violation{Where: "header", InstancePath: "Location", Message: fmt.Sprintf("next=%q, want %q", u.Query().Get("next"), requested)})
	}
	return out
}

// rateLimited exhausts one operation's quota with malformed bodies (the
// limiter counts before the body is parsed, so nothing is written) and
// checks the 429 contract: schema, Retry-After agreeing with the body's
// retry_after, and retry_after counting down on a second 429 a little later.
func (r *runner) rateLimited(ctx context.Context) {
	op, _ := api.Lookup(rateLimitedOp)
	path := op.URLPath(r.version, r.pid, 0)
	res := Result{Version: string(r.version), Step: "rate-limited", Operation: op.Name, Method: op.Method, Path: path, WantStatus: 429, Class: Writing}
	if !r.scratch {
		res.Verdict, res.Reason = check.Skip, fmt.Sprintf("writing step: project %d is not declared scratch (mark it scratch in the users file or harness.yaml)", r.pid)
		r.results = append(r.results, res)
		return
	}
	malformed := []byte(`{"klasifikasi": [`)
	var resp *client.Response
	calls := 0
	for calls < r.opts.MaxRateLimitCalls {
		calls++
		var err error
		resp, err = r.do(ctx, op.Method, path, malformed)
		if err != nil {
			res.Verdict, res.Violations = check.Fail, []Violation{{Where: "transport", Message: err.Error()}}
			r.results = append(r.results, res)
			return
		}
		if resp.Status == http.StatusTooManyRequests || resp.Status >= 500 {
			break
		}
	}
	res.Status, res.Elapsed = resp.Status, resp.Elapsed
	if e, ok := r.opts.Set.Response(r.schema, op.Name, 429); ok {
		res.Schema = e.File
	}
	if resp.Status != http.StatusTooManyRequests {
		res.Verdict = check.Inconclusive
		res.Reason = fmt.Sprintf("no 429 within %d calls (last %d): the deployment does not limit %s within this budget, the 429 contract was not measured", calls, resp.Status, op.Name)
		r.results = append(r.results, res)
		return
	}
	res.Reason = fmt.Sprintf("429 after %d calls", calls)
	vs := CheckResponse(r.opts.Set, op.Name, r.schema, resp.Status, resp.Header, resp.Body)
	missingRetry := false
	var keep []Violation
	for _, v := range vs {
		if v.Where == "header" && v.InstancePath == "Retry-After" && resp.Header.Get("Retry-After") == "" {
			missingRetry = true
			continue
		}
		keep = append(keep, v)
	}
	r.judgeHeaders(&res, r.version, keep)
	first, hasFirst := retryAfter(resp.Body)
	if hasFirst {
		if h, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && h != first {
			res.Violations = append(res.Violations, Violation{Where: "header", InstancePath: "Retry-After",
				Message: fmt.Sprintf("header says %d s, body retry_after %d s", h, first)})
		}
	}
	res.Verdict = verdict(res.Violations)
	r.results = append(r.results, res)
	r.calls["rate-limited"] = exchange{op: op.Name, status: resp.Status, header: resp.Header, body: resp.Body}
	r.order = append(r.order, "rate-limited")
	if missingRetry && len(res.Violations) == 0 {
		r.finding(r.last("rate-limited"), "rate-limit.no-retry-after", fmt.Sprintf("429 after %d calls without Retry-After (body %s)", calls, snippet(resp.Body)))
	}
	// A second 429 a little over a second later: an honest retry_after has
	// counted down; one stuck at the full window has not.
	window := windowSeconds(resp.Body)
	if !hasFirst || window == 0 || first != window {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(1100 * time.Millisecond):
	}
	again := Result{Version: string(r.version), Step: "rate-limited.again", Operation: op.Name, Method: op.Method, Path: path, WantStatus: 429, Class: Writing}
	// A limiter kept per worker may let the next call through on another
	// worker: a few more calls, bounded, until one is refused again.
	var resp2 *client.Response
	for i := 0; i < againCalls; i++ {
		var err error
		if resp2, err = r.do(ctx, op.Method, path, malformed); err != nil {
			return
		}
		if resp2.Status == http.StatusTooManyRequests {
			break
		}
	}
	if resp2.Status != http.StatusTooManyRequests {
		return // the window ended: nothing to compare
	}
	again.Status = resp2.Status
	second, ok := retryAfter(resp2.Body)
	again.Verdict = check.Pass
	again.Reason = fmt.Sprintf("retry_after %d s, then %d s 1.1 s later", first, second)
	if ok && second >= first {
		r.finding(&again, "rate-limit.retry-after-full-window",
			fmt.Sprintf("retry_after %d s (window %d s) and again %d s 1.1 s later; current_count %d", first, window, second, currentCount(resp2.Body)))
	}
	r.results = append(r.results, again)
}

func retryAfter(body []byte) (int, bool) {
	var b struct {
		RetryAfter *int `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) != nil || b.RetryAfter == nil {
		return 0, false
	}
	return *b.RetryAfter, true
}

func windowSeconds(body []byte) int {
	var b struct {
		Details struct {
			Window int `json:"window_seconds"`
		} `json:"details"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Details.Window
}

func currentCount(body []byte) int {
	var b struct {
		Details struct {
			Count int `json:"current_count"`
		} `json:"details"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Details.Count
}

// failClosed stops the cache, expects the fail-closed 503 and starts it again.
func (r *runner) failClosed(ctx context.Context) {
	if err := r.opts.Cache.StopCache(ctx); err != nil {
		r.skip("limiter-unavailable", "list-pekerjaan.tree", "cannot stop the cache: "+err.Error())
		return
	}
	r.call(ctx, callSpec{step: "limiter-unavailable", op: "list-pekerjaan.tree", want: 503})
	if err := r.opts.Cache.StartCache(ctx); err != nil {
		r.results = append(r.results, Result{Version: string(r.version), Step: "limiter-unavailable", Verdict: check.Fail,
			Violations: []Violation{{Where: "transport", Message: "restart the cache: " + err.Error()}}})
	}
}

// checkRequest validates a request body the script is about to send, so the
// request schemas are exercised against what the deployment accepts.
func (r *runner) checkRequest(op string, body any) {
	e, ok := r.opts.Set.Get(Key{Version: r.schema, Operation: op, Kind: Request})
	if !ok {
		return
	}
	raw, _ := json.Marshal(body)
	if vs := e.ValidateBody(raw); len(vs) > 0 {
		r.results = append(r.results, Result{Version: string(r.version), Step: "request." + op, Operation: op, Verdict: check.Fail,
			Schema: e.File, Violations: vs, Reason: "the script's own request does not match the request schema"})
	}
}

// samePairs reads the v2 runner's project through v1 and v2 back to back, so
// ids must agree too.
func samePairs(ctx context.Context, r *runner) []Equivalence {
	type read struct {
		op    string
		pekID int
		query string
	}
	reads := []read{{"list-pekerjaan.tree", 0, ""}, {"volume-pekerjaan.list", 0, ""}, {"harga-items.list", 0, ""}, {"rekap", 0, ""},
		{"search-ahsp", 0, "?q=" + url.QueryEscape(r.opts.SearchTerm) + "&limit=5"}}
	if r.customID != 0 {
		reads = append(reads, read{"detail-ahsp.get", r.customID, ""})
	}
	var out []Equivalence
	v1 := &runner{version: api.Legacy, schema: "v1", cred: r.cred, pid: r.pid, c: r.c, base: r.base, opts: r.opts, calls: map[string]exchange{},
		scratch: r.scratch, successor: r.successor}
	for _, rd := range reads {
		step := "same-project." + rd.op
		a, _ := v1.call(ctx, callSpec{step: step, op: rd.op, pekID: rd.pekID, query: rd.query, want: 200})
		b, _ := r.call(ctx, callSpec{step: step, op: rd.op, pekID: rd.pekID, query: rd.query, want: 200, noStore: true})
		out = append(out, equivalence(r.opts.Mapping, step, rd.op, a, b, true))
	}
	r.results = append(r.results, v1.results...)
	r.relogins += v1.relogins
	return out
}

// familyPairs reads r's project through the legacy family and family v
// (v1) back to back: v1 serves the legacy answers, so the bodies must agree.
func familyPairs(ctx context.Context, r *runner, v api.Version) []Equivalence {
	reads := []struct {
		op    string
		pekID int
		query string
	}{{"list-pekerjaan.tree", 0, ""}, {"volume-pekerjaan.list", 0, ""}, {"harga-items.list", 0, ""}, {"rekap", 0, ""}}
	var out []Equivalence
	for _, rd := range reads {
		step := "same-project." + rd.op
		a, _ := r.call(ctx, callSpec{step: step, op: rd.op, version: api.Legacy, want: 200, noStore: true})
		b, _ := r.call(ctx, callSpec{step: step, op: rd.op, version: v, want: 200, noStore: true})
		r.results[len(r.results)-1].Version = string(v)
		e := Equivalence{Step: string(v) + "." + step, Operation: rd.op, SameProject: true, Status: check.Pass}
		if a.status != b.status {
			e.Differences = append(e.Differences, Difference{Path: "(status)", What: "status differs", V1: strconv.Itoa(a.status), V2: strconv.Itoa(b.status)})
		} else if d := diffJSON(a.body, b.body); len(d) > 0 {
			e.Differences = d
		}
		if len(e.Differences) > 0 {
			e.Status = check.Fail
		}
		out = append(out, e)
	}
	return out
}

// diffJSON lists the leaves two JSON bodies disagree on, clocks aside.
func diffJSON(a, b []byte) []Difference {
	x, errA := leaves(a)
	y, errB := leaves(b)
	if errA != nil || errB != nil {
		if !bytes.Equal(a, b) {
			return []Difference{{Path: "(body)", What: "not comparable (not JSON)", V1: snippet(a), V2: snippet(b)}}
		}
		return nil
	}
	clock := compileGlobs([]string{"**.updated_at", "**.project_updated_at"})
	var out []Difference
	for p, v := range x {
		if matchAny(clock, stripIndices(p)) {
			continue
		}
		if w, ok := y[p]; !ok {
			out = append(out, Difference{Path: p, V1Path: p, What: "missing in v1", V1: v})
		} else if w != v {
			out = append(out, Difference{Path: p, V1Path: p, What: "value differs", V1: v, V2: w})
		}
	}
	for p, w := range y {
		if _, ok := x[p]; !ok && !matchAny(clock, stripIndices(p)) {
			out = append(out, Difference{Path: p, What: "only in v1", V2: w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// crossSkip are steps whose responses depend on the project's seed data
// (seeded trees and price lists differ between projects; the save appends
// to them, and after the upsert the trees match) or on the other user.
var crossSkip = map[string]bool{"tree.initial": true, "tree.after-save": true, "harga.list": true, "not-found.foreign-project": true, "rate-limited": true}

// projectData: the step's answer depends on the project's own rows.
func projectData(step string) bool {
	for _, p := range []string{"tree.", "volume.", "detail.", "harga.", "rekap", "export."} {
		if strings.HasPrefix(step, p) {
			return true
		}
	}
	return false
}

// crossPairs compares the two runs step by step (different projects).
func crossPairs(m *Mapping, v1, v2 *runner) []Equivalence {
	var out []Equivalence
	for _, step := range v1.order {
		if crossSkip[step] {
			continue
		}
		if (!v1.scratch || !v2.scratch) && projectData(step) {
			// Without the script's writes both sides read their own
			// seeded data: different projects, nothing to compare.
			continue
		}
		a := v1.calls[step]
		b, ok := v2.calls[step]
		if !ok {
			continue
		}
		out = append(out, equivalence(m, step, a.op, a, b, false))
	}
	return out
}

func equivalence(m *Mapping, step, op string, a, b exchange, same bool) Equivalence {
	e := Equivalence{Step: step, Operation: op, SameProject: same}
	if isJSON(a.header) && isJSON(b.header) {
		e.Differences = m.Compare(op, a.status, a.body, b.status, b.body, same)
	} else if m.V2Status(a.status) != b.status {
		e.Differences = []Difference{{Path: "(status)", What: "status differs", V1: strconv.Itoa(a.status), V2: strconv.Itoa(b.status)}}
	}
	e.Status = check.Pass
	if len(e.Differences) > 0 {
		e.Status = check.Fail
	}
	return e
}

func isJSON(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/json")
}

// runtimeComparison compares the declared v1 contracts (moved into the v2
// layout) with the shapes of the v2 responses actually observed.
func runtimeComparison(opts Options, v2 *runner) Comparison {
	c := Comparison{Name: ScopeRuntime, Old: opts.Set.Source + " v1 schemas", New: "observed v2 responses"}
	type key struct {
		op     string
		status int
	}
	bodies := map[key][]any{}
	for _, ex := range v2.all {
		if !isJSON(ex.header) {
			continue
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(ex.body))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			continue
		}
		k := key{ex.op, ex.status}
		bodies[k] = append(bodies[k], v)
	}
	keys := make([]key, 0, len(bodies))
	for k := range bodies {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].op != keys[j].op {
			return keys[i].op < keys[j].op
		}
		return keys[i].status < keys[j].status
	})
	for _, k := range keys {
		v1Status := k.status
		for s1, s2 := range opts.Mapping.Statuses {
			if s2 == k.status {
				v1Status = s1
			}
		}
		e, ok := opts.Set.Response("v1", k.op, v1Status)
		switch {
		case !ok:
			c.Changes = append(c.Changes, Change{Operation: k.op, Kind: Response, Status: k.status, Change: StatusAdded, New: strconv.Itoa(k.status), Breaking: true})
			continue
		case !e.JSON():
			c.Changes = append(c.Changes, Change{Operation: k.op, Kind: Response, Status: k.status, Change: MediaTypeChanged,
				Old: strings.Join(e.MediaTypes, "|"), New: JSONMediaType, Breaking: true})
			continue
		}
		declared := opts.Mapping.MapShape(k.op, v1Status, Flatten(e.Schema))
		cs := DiffShapes(declared, Infer(bodies[k], declared), Response)
		for i := range cs {
			cs[i].Operation, cs[i].Kind, cs[i].Status = k.op, Response, k.status
		}
		c.Changes = append(c.Changes, dropDeclaredV2Only(opts.Mapping, cs)...)
	}
	c.Judge(opts.Compat, ScopeRuntime)
	return c
}

// csvLayouts are the deployed exports' fixed lines (REAL-APP.md 3.12,
// 3.13), byte-order marks removed: the first line, lines that must appear,
// and the number of ';' fields of the header and rows.
var csvLayouts = map[string]struct {
	first  string
	lines  []string
	fields int
}{
	"export.rekap-rab-csv": {first: "RENCANA ANGGARAN BIAYA", lines: []string{
		"Uraian Pekerjaan;Kode AHSP;Satuan;Volume;Harga Satuan (Rp);Jumlah Harga (Rp)",
		"REKAPITULASI RENCANA ANGGARAN BIAYA", "No;Uraian Klasifikasi;Jumlah Harga (Rp)",
	}},
	"export.rincian-rab-csv": {first: "pekerjaan_kode;pekerjaan_uraian;kategori;kode;uraian;satuan;koefisien;volume;harga_satuan;subtotal",
		fields: 10},
}

// CheckCSV checks an export of operation op: byte-order marks only at line
// starts (several are the deployed rekap's quirk, reported by csvQuirk),
// ';' as the separator, one kind of line end, and the deployed layout of
// the operation's export (a title line first on the rekap, the rincian
// header and rows of its ten fields up to the blank line before the totals).
func CheckCSV(op string, body []byte) []Violation {
	var out []Violation
	bom := []byte("\xef\xbb\xbf")
	if n := bytes.Count(body, bom); n > 1 {
		for _, line := range bytes.Split(body, []byte("\n")) {
			for bytes.HasPrefix(line, bom) {
				line = line[len(bom):]
			}
			if bytes.Contains(line, bom) {
				out = append(out, Violation{Where: "body", Message: fmt.Sprintf("byte-order mark inside a line (%d in the file)", n)})
				break
			}
		}
	} else if n == 1 && !bytes.HasPrefix(body, bom) {
		out = append(out, Violation{Where: "body", Message: "byte-order mark in the middle of the file"})
	}
	text := bytes.ReplaceAll(body, bom, nil)
	switch {
	case len(bytes.TrimSpace(text)) == 0:
		return append(out, Violation{Where: "body", Message: "empty export"})
	case !bytes.Contains(text, []byte(";")):
		// A title line may come first (the deployed rekap CSV): any line will do.
		return append(out, Violation{Where: "body", Message: fmt.Sprintf("no line has a ';' separator (first bytes %s)", snippet(text))})
	}
	crlf, lf := bytes.Count(text, []byte("\r\n")), bytes.Count(text, []byte("\n"))
	if crlf > 0 && crlf != lf {
		out = append(out, Violation{Where: "body", Message: fmt.Sprintf("mixed line ends: %d CRLF, %d bare LF", crlf, lf-crlf)})
	}
	layout, ok := csvLayouts[op]
	if !ok {
		return out
	}
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	if lines[0] != layout.first {
		out = append(out, Violation{Where: "body", InstancePath: "line 1", Message: fmt.Sprintf("got %q, want %q", snippet([]byte(lines[0])), layout.first)})
	}
	for _, want := range layout.lines {
		if !slices.Contains(lines, want) {
			out = append(out, Violation{Where: "body", Message: fmt.Sprintf("no line %q", want)})
		}
	}
	if layout.fields > 0 {
		for i, l := range lines {
			if l == "" {
				break // the totals follow the blank line
			}
			if n := csvFields(l); n != layout.fields {
				out = append(out, Violation{Where: "body", InstancePath: fmt.Sprintf("line %d", i+1), Message: fmt.Sprintf("%d fields, want %d", n, layout.fields)})
				break
			}
		}
	}
	return out
}

// csvFields counts the ';'-separated fields of a line, quotes respected.
func csvFields(l string) int {
	n, quoted := 1, false
	for _, c := range l {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			n++
		}
	}
	return n
}

// csvQuirk names the deployed app's CSV quirk a 200 export shows
// (REAL-APP.md section 8, items 6 and 7): a byte-order mark before every
// line (the rekap), or no byte-order mark and bare LF line ends (the
// rincian). One mark at the start with CRLF line ends is the format both
// exports should share.
func csvQuirk(op string, body []byte) (id, evidence string) {
	bom := []byte("\xef\xbb\xbf")
	boms, lines := bytes.Count(body, bom), bytes.Count(body, []byte("\n"))+1
	if bytes.HasSuffix(body, []byte("\n")) {
		lines--
	}
	if boms > 1 {
		return op + ".bom-per-line", fmt.Sprintf("%d byte-order marks in %d lines", boms, lines)
	}
	crlf, lf := bytes.Count(body, []byte("\r\n")), bytes.Count(body, []byte("\n"))
	if boms == 0 && lf > 0 && crlf == 0 {
		tail := "no trailing newline"
		if bytes.HasSuffix(body, []byte("\n")) {
			tail = "a trailing newline"
		}
		return op + ".lf-no-bom", fmt.Sprintf("no byte-order mark, %d bare LF line ends, %s", lf, tail)
	}
	return "", ""
}

func verdict(vs []Violation) check.Status {
	if len(vs) > 0 {
		return check.Fail
	}
	return check.Pass
}

func wantNonEmpty(p map[string]any, key string) []Violation {
	if len(list(p, key)) == 0 {
		return []Violation{{Where: "body", InstancePath: key, Message: "empty; the script needs at least one entry"}}
	}
	return nil
}

func wantKeys(p map[string]any, keys ...string) []Violation {
	var out []Violation
	for _, k := range keys {
		if _, ok := p[k]; !ok {
			out = append(out, Violation{Where: "body", InstancePath: k, Message: "missing"})
		}
	}
	return out
}

// wantErrorPath checks that a validation error names the offending field.
func wantErrorPath(path string) func(map[string]any) []Violation {
	return func(p map[string]any) []Violation {
		var got []string
		for _, e := range list(p, "errors") {
			s, _ := get(e, "path").(string)
			if s == path {
				return nil
			}
			got = append(got, s)
		}
		return []Violation{{Where: "body", InstancePath: "errors", Message: fmt.Sprintf("no error for %q (got %q)", path, got)}}
	}
}

// The JSON readers every check here uses (shared with the other packages).
var (
	get   = jsonv.Field
	list  = jsonv.List
	intOf = jsonv.Int
)
