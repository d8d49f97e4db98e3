package contracts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
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
}

// Defaults of Options.
const (
	DefaultSearchTerm        = "beton"
	DefaultMaxRateLimitCalls = 200
	DefaultRequestTimeout    = 15 * time.Second
)

// rateLimitedOp is the operation exhausted to see a 429: export has a small
// limit (10/60 s) and the script calls it only twice before.
var rateLimitedOp = "export.rekap-rab-csv"

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

// Run drives the scripted sequence against t once through v1 and once
// through v2, each as a different seeded user on its own project, validates
// every response, compares the two versions and runs the breaking-change
// analyses. The error is for setup failures only (no usable credentials,
// login refused); everything found is in the Report.
func Run(ctx context.Context, t Target, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	creds := withProjects(t.Credentials())
	if len(creds) < 2 {
		return nil, fmt.Errorf("contracts need two users that own a project (v1 and v2 run apart so rate limits do not mix); got %d", len(creds))
	}
	rep := &Report{Target: t.BaseURL(), Started: time.Now()}
	v1, err := newRunner(ctx, t.BaseURL(), api.V1, creds[0], creds[1].Projects[0], opts)
	if err != nil {
		return nil, err
	}
	v2, err := newRunner(ctx, t.BaseURL(), api.V2, creds[1], creds[0].Projects[0], opts)
	if err != nil {
		return nil, err
	}
	for _, r := range []*runner{v1, v2} {
		fmt.Fprintf(opts.Progress, "contracts: %s script as %s on project %d\n", r.version, r.cred.User, r.pid)
		r.script(ctx)
	}
	fmt.Fprintf(opts.Progress, "contracts: project %d through v1 and v2, partial saves, rate limits\n", v2.pid)
	same := samePairs(ctx, v2)
	// Rate limits last: they use up the operation's quota for the window.
	for _, r := range []*runner{v1, v2} {
		r.partialSave(ctx)
		r.rateLimited(ctx)
		if opts.Cache != nil {
			r.failClosed(ctx)
		}
	}
	if opts.Cache == nil {
		rep.Notes = append(rep.Notes, "503 fail-closed contract not exercised at runtime: the deployment gives no cache control (external mode or locmem); the Sampler checks it under load")
	}
	rep.Results = append(v1.results, v2.results...)
	rep.Equivalence = append(crossPairs(opts.Mapping, v1, v2), same...)
	rep.Breaking = staticComparisons(opts)
	rep.Breaking = append(rep.Breaking, runtimeComparison(opts, v2))
	rep.Duration = time.Since(rep.Started)
	rep.finish()
	return rep, nil
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
}

func newRunner(ctx context.Context, base string, v api.Version, cred client.Credential, foreign int, opts Options) (*runner, error) {
	c, err := client.New(base, client.WithHTTPClient(&http.Client{Timeout: opts.Timeout}))
	if err != nil {
		return nil, err
	}
	if err := c.Login(ctx, cred.User, cred.Password); err != nil {
		return nil, fmt.Errorf("log in for the %s contract run: %w", v, err)
	}
	return &runner{version: v, schema: string(v), cred: cred, pid: cred.Projects[0], foreign: foreign, c: c, base: base,
		opts: opts, calls: map[string]exchange{}}, nil
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
}

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
	res := Result{Version: string(v), Step: cs.step, Operation: op.Name, Method: op.Method, Path: path, WantStatus: cs.want}
	if e, ok := r.opts.Set.Response(r.schema, op.Name, cs.want); ok {
		res.Schema = e.File
	}
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	resp, err := r.c.Do(rctx, op.Method, path, cs.body)
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
	res.Violations = append(res.Violations, CheckResponse(r.opts.Set, op.Name, r.schema, resp.Status, resp.Header, resp.Body)...)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") && resp.Status == http.StatusOK {
		res.Violations = append(res.Violations, CheckCSV(resp.Body)...)
	}
	payload := r.payload(resp.Body)
	if cs.extra != nil && resp.Status == cs.want {
		res.Violations = append(res.Violations, cs.extra(payload)...)
	}
	res.Verdict = check.Pass
	if len(res.Violations) > 0 {
		res.Verdict = check.Fail
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

func (r *runner) skip(step, op, reason string) {
	r.results = append(r.results, Result{Version: string(r.version), Step: step, Operation: op, Verdict: check.Skip, Reason: reason})
}

// script is the scripted sequence; every step has the same name in both
// versions so the responses can be paired.
func (r *runner) script(ctx context.Context) {
	r.call(ctx, callSpec{step: "tree.initial", op: "list-pekerjaan.tree", want: 200})
	_, p := r.call(ctx, callSpec{step: "search", op: "search-ahsp", query: "?q=" + url.QueryEscape(r.opts.SearchTerm) + "&limit=5", want: 200,
		extra: func(p map[string]any) []Violation { return wantNonEmpty(p, "results") }})
	if res := list(p, "results"); len(res) > 0 {
		r.refID = intOf(get(res[0], "id"))
	}
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
	r.call(ctx, callSpec{step: "export.rekap-rab", op: "export.rekap-rab-csv", want: 200})
	r.call(ctx, callSpec{step: "export.rincian-rab", op: "export.rincian-rab-csv", want: 200})
	r.badInputs(ctx)
	r.call(ctx, callSpec{step: "not-found.pekerjaan", op: "detail-ahsp.get", pekID: 999999999, want: 404})
	r.call(ctx, callSpec{step: "not-found.foreign-project", op: "list-pekerjaan.tree", project: r.foreign, want: 404})
	if r.version == api.V1 {
		// The legacy paths share the v1 handlers and contracts.
		r.call(ctx, callSpec{step: "legacy.tree", op: "list-pekerjaan.tree", version: api.Legacy, want: 200, noStore: true})
	}
	r.unauthenticated(ctx)
}

func (r *runner) createTree(ctx context.Context) {
	pek := []map[string]any{
		{"source_type": "custom", "snapshot_uraian": "Pekerjaan kontrak uji", "snapshot_satuan": "m3", "ordering_index": 1, "temp_id": "p-custom"},
	}
	if r.refID != 0 {
		pek = append(pek, map[string]any{"source_type": "ref", "ref_id": r.refID, "ordering_index": 2, "temp_id": "p-ref"})
	}
	body := map[string]any{"klasifikasi": []map[string]any{{
		"name": "Klasifikasi kontrak", "ordering_index": 90, "temp_id": "k-1",
		"sub": []map[string]any{{"name": "Sub kontrak", "ordering_index": 1, "temp_id": "s-1", "pekerjaan": pek}},
	}}}
	r.checkRequest("list-pekerjaan.save", body)
	_, p := r.call(ctx, callSpec{step: "save.tree", op: "list-pekerjaan.save", body: body, want: 200})
	ids := get(get(p, "id_map"), "pekerjaan")
	r.customID = intOf(get(ids, "p-custom"))
	r.refPekID = intOf(get(ids, "p-ref"))
}

// upsert sends back the whole current tree with one new custom pekerjaan.
func (r *runner) upsert(ctx context.Context) {
	ex, ok := r.calls["tree.after-save"]
	if !ok || ex.status != 200 {
		r.skip("upsert", "list-pekerjaan.upsert", "no tree to send back")
		return
	}
	var klas []any
	for _, k := range list(r.payload(ex.body), "klasifikasi") {
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
					"ordering_index": len(peks) + 1, "temp_id": "p-upsert"})
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
	r.call(ctx, callSpec{step: "harga.save", op: "harga-items.save", body: body, want: 200})
}

func (r *runner) badInputs(ctx context.Context) {
	// Nothing is saved by any of these (the tree save rolls back when no row
	// is valid; the upsert preflight and the volume check write nothing).
	emptyName := map[string]any{"klasifikasi": []map[string]any{{"name": " ", "ordering_index": 1}}}
	r.call(ctx, callSpec{step: "bad.save.empty-name", op: "list-pekerjaan.save", body: emptyName, want: 400,
		extra: wantErrorPath("klasifikasi[0].name")})
	r.call(ctx, callSpec{step: "bad.save.malformed-json", op: "list-pekerjaan.save", body: []byte(`{"klasifikasi": [`), want: 400,
		extra: wantErrorPath("body")})
	badID := map[string]any{"klasifikasi": []map[string]any{{"id": -5, "name": "X", "ordering_index": 1}}}
	r.call(ctx, callSpec{step: "bad.upsert.preflight", op: "list-pekerjaan.upsert", body: badID, want: 400,
		extra: wantErrorPath("klasifikasi[0].id")})
	r.call(ctx, callSpec{step: "bad.volume.quantity", op: "volume-pekerjaan.save",
		body: map[string]any{"items": []map[string]any{{"pekerjaan_id": r.customID, "quantity": "dua belas"}}}, want: 400,
		extra: wantErrorPath("items[0].quantity")})
	r.call(ctx, callSpec{step: "bad.detail.kategori", op: "detail-ahsp.save", pekID: r.customID,
		body: map[string]any{"rows": []map[string]any{{"kategori": "XYZ", "kode": "X", "uraian": "X", "satuan": "OH", "koefisien": "1"}}}, want: 400,
		extra: wantErrorPath("rows[0].kategori")})
}

// partialSave replaces the tree with one valid and one invalid pekerjaan:
// 207 with the invalid row located. It replaces the whole tree, so it runs
// after everything that reads the script's rows.
func (r *runner) partialSave(ctx context.Context) {
	body := map[string]any{"klasifikasi": []map[string]any{{"name": "Klasifikasi parsial", "ordering_index": 1, "temp_id": "k-p",
		"sub": []map[string]any{{"name": "Sub parsial", "ordering_index": 1, "temp_id": "s-p", "pekerjaan": []map[string]any{
			{"source_type": "custom", "snapshot_uraian": "Baris sah", "snapshot_satuan": "m2", "ordering_index": 1, "temp_id": "p-ok"},
			{"source_type": "bogus", "ordering_index": 2, "temp_id": "p-bad"},
		}}}}}}
	r.call(ctx, callSpec{step: "save.partial", op: "list-pekerjaan.save", body: body, want: 207,
		extra: wantErrorPath("klasifikasi[0].sub[0].pekerjaan[1].source_type")})
}

// unauthenticated: an anonymous API call is redirected to the login page (Django's 302, not 401).
func (r *runner) unauthenticated(ctx context.Context) {
	op, _ := api.Lookup("list-pekerjaan.tree")
	path := op.URLPath(r.version, r.pid, 0)
	res := Result{Version: string(r.version), Step: "unauthenticated", Operation: op.Name, Method: op.Method, Path: path, WantStatus: 302}
	anon, err := client.New(r.base, client.WithHTTPClient(&http.Client{Timeout: r.opts.Timeout}))
	if err == nil {
		var resp *client.Response
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

// rateLimited exhausts one operation's quota and checks the 429 contract:
// schema, Retry-After, and the body's retry_after agreeing with the header.
func (r *runner) rateLimited(ctx context.Context) {
	op, _ := api.Lookup(rateLimitedOp)
	path := op.URLPath(r.version, r.pid, 0)
	var resp *client.Response
	calls := 0
	for calls < r.opts.MaxRateLimitCalls {
		calls++
		rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		var err error
		resp, err = r.c.Do(rctx, op.Method, path, nil)
		cancel()
		if err != nil {
			r.results = append(r.results, Result{Version: string(r.version), Step: "rate-limited", Operation: op.Name, Method: op.Method, Path: path,
				WantStatus: 429, Verdict: check.Fail, Violations: []Violation{{Where: "transport", Message: err.Error()}}})
			return
		}
		if resp.Status != http.StatusOK {
			break
		}
		if n, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Limit")); err == nil && n >= r.opts.MaxRateLimitCalls {
			r.skip("rate-limited", op.Name, fmt.Sprintf("the deployment's limit for %s is %d requests, more than the %d calls this check may spend", op.Name, n, r.opts.MaxRateLimitCalls))
			return
		}
	}
	res := Result{Version: string(r.version), Step: "rate-limited", Operation: op.Name, Method: op.Method, Path: path, WantStatus: 429,
		Status: resp.Status, Elapsed: resp.Elapsed}
	if e, ok := r.opts.Set.Response(r.schema, op.Name, 429); ok {
		res.Schema = e.File
	}
	if resp.Status != http.StatusTooManyRequests {
		res.Violations = append(res.Violations, Violation{Where: "status", InstancePath: strconv.Itoa(resp.Status),
			Message: fmt.Sprintf("after %d calls got %d, want 429 (body %s)", calls, resp.Status, snippet(resp.Body))})
	} else {
		res.Reason = fmt.Sprintf("429 after %d calls", calls)
		res.Violations = append(res.Violations, CheckResponse(r.opts.Set, op.Name, r.schema, resp.Status, resp.Header, resp.Body)...)
		var body struct {
			RetryAfter *int `json:"retry_after"`
		}
		if json.Unmarshal(resp.Body, &body) == nil && body.RetryAfter != nil {
			if h, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && h != *body.RetryAfter {
				res.Violations = append(res.Violations, Violation{Where: "header", InstancePath: "Retry-After",
					Message: fmt.Sprintf("header says %d s, body retry_after %d s", h, *body.RetryAfter)})
			}
		}
	}
	res.Verdict = verdict(res.Violations)
	r.results = append(r.results, res)
	r.calls["rate-limited"] = exchange{op: op.Name, status: resp.Status, header: resp.Header, body: resp.Body}
	r.order = append(r.order, "rate-limited")
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
	v1 := &runner{version: api.V1, schema: "v1", cred: r.cred, pid: r.pid, c: r.c, base: r.base, opts: r.opts, calls: map[string]exchange{}}
	for _, rd := range reads {
		step := "same-project." + rd.op
		a, _ := v1.call(ctx, callSpec{step: step, op: rd.op, pekID: rd.pekID, query: rd.query, want: 200})
		b, _ := r.call(ctx, callSpec{step: step, op: rd.op, pekID: rd.pekID, query: rd.query, want: 200, noStore: true})
		out = append(out, equivalence(r.opts.Mapping, step, rd.op, a, b, true))
	}
	r.results = append(r.results, v1.results...)
	return out
}

// crossSkip are steps whose responses depend on the project's seed data
// (seeded trees and price lists differ between projects; after save.tree
// the trees match) or on the other user.
var crossSkip = map[string]bool{"tree.initial": true, "harga.list": true, "not-found.foreign-project": true, "rate-limited": true}

// crossPairs compares the two runs step by step (different projects).
func crossPairs(m *Mapping, v1, v2 *runner) []Equivalence {
	var out []Equivalence
	for _, step := range v1.order {
		if crossSkip[step] {
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

// CheckCSV checks an export: at most one byte-order mark and only at the
// start, ';' as the separator, and at least a header line.
func CheckCSV(body []byte) []Violation {
	var out []Violation
	bom := []byte("\xef\xbb\xbf")
	if n := bytes.Count(body, bom); n > 1 {
		out = append(out, Violation{Where: "body", Message: fmt.Sprintf("%d byte-order marks, want at most one", n)})
	} else if n == 1 && !bytes.HasPrefix(body, bom) {
		out = append(out, Violation{Where: "body", Message: "byte-order mark in the middle of the file"})
	}
	text := bytes.TrimPrefix(body, bom)
	first, _, _ := bytes.Cut(text, []byte("\n"))
	switch {
	case len(bytes.TrimSpace(text)) == 0:
		out = append(out, Violation{Where: "body", Message: "empty export"})
	case !bytes.Contains(first, []byte(";")):
		out = append(out, Violation{Where: "body", Message: fmt.Sprintf("first line %s has no ';' separator", snippet(first))})
	}
	return out
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

func get(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

func list(v any, key string) []any {
	l, _ := get(v, key).([]any)
	return l
}

func intOf(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := strconv.Atoi(x.String())
		return n
	case float64:
		return int(x)
	case int:
		return x
	}
	return 0
}
