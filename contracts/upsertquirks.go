package contracts

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// treePek is one pekerjaan of a tree payload with where it sits.
type treePek struct {
	id, ordering int
	sourceType   string
	row          map[string]any
}

// sendBack builds an upsert body that sends the whole tree back unchanged
// (the upsert replaces the tree: a row the body omits is deleted), with
// edit applied to each pekerjaan row and add's rows appended to the sub
// with id addTo.
func sendBack(tree map[string]any, edit func(id int, row map[string]any), addTo int, add ...map[string]any) (map[string]any, []treePek) {
	var klas []any
	var peks []treePek
	for _, k := range list(tree, "klasifikasi") {
		var subs []any
		for _, s := range list(k, "sub") {
			var rows []any
			for _, p := range list(s, "pekerjaan") {
				row := map[string]any{"id": get(p, "id"), "source_type": get(p, "source_type"), "ordering_index": get(p, "ordering_index"),
					"snapshot_uraian": get(p, "snapshot_uraian"), "snapshot_satuan": get(p, "snapshot_satuan")}
				if ref := get(p, "ref_id"); ref != nil {
					row["ref_id"] = ref
				}
				id := intOf(get(p, "id"))
				st, _ := get(p, "source_type").(string)
				peks = append(peks, treePek{id: id, ordering: intOf(get(p, "ordering_index")), sourceType: st, row: row})
				if edit != nil {
					edit(id, row)
				}
				rows = append(rows, row)
			}
			if addTo != 0 && intOf(get(s, "id")) == addTo {
				for _, a := range add {
					rows = append(rows, a)
				}
			}
			subs = append(subs, map[string]any{"id": get(s, "id"), "name": get(s, "name"), "ordering_index": get(s, "ordering_index"), "pekerjaan": rows})
		}
		klas = append(klas, map[string]any{"id": get(k, "id"), "name": get(k, "name"), "ordering_index": get(k, "ordering_index"), "sub": subs})
	}
	return map[string]any{"klasifikasi": klas}, peks
}

// firstPek is the tree's first pekerjaan and the id of its sub.
func firstPek(tree map[string]any) (treePek, int, bool) {
	for _, k := range list(tree, "klasifikasi") {
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				st, _ := get(p, "source_type").(string)
				return treePek{id: intOf(get(p, "id")), ordering: intOf(get(p, "ordering_index")), sourceType: st}, intOf(get(s, "id")), true
			}
		}
	}
	return treePek{}, 0, false
}

func pekOrdering(tree map[string]any, id int) (int, bool) {
	for _, k := range list(tree, "klasifikasi") {
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				if intOf(get(p, "id")) == id {
					return intOf(get(p, "ordering_index")), true
				}
			}
		}
	}
	return 0, false
}

// limited turns a 429 on a quirk group's step into inconclusive: the
// deployment limits the operation and the quirk was not measured.
func (r *runner) limited(step string, ex exchange) bool {
	if ex.status != http.StatusTooManyRequests {
		return false
	}
	res := r.last(step)
	res.Verdict, res.Violations = check.Inconclusive, nil
	res.Reason = "the deployment answered 429 (it limits this operation): the quirk was not measured"
	return true
}

func rowCount(tree map[string]any) int {
	k, s, p := treeRows(tree)
	return len(k) + len(s) + len(p)
}

// stopGroup ends a group that showed a finding: the project is put back
// from the snapshot before anything else runs (false when that failed).
func (r *runner) stopGroup(ctx context.Context, step string) bool {
	r.customID, r.refPekID = 0, 0
	if r.snap == nil {
		return true
	}
	if rs := r.restore(ctx, r.snap); rs.Status != check.Pass {
		r.results = append(r.results, Result{Version: string(r.version), Step: step + ".restore", Verdict: rs.Status,
			Reason: "restore after the finding: " + rs.Reason, Violations: stringViolations(rs.Differences)})
		return false
	}
	return true
}

// upsertQuirks runs the upsert's two natural-key groups on whatever tree
// the project holds (REAL-APP.md 3.2, section 8 items 14 and 15). Each is
// its own group: a finding stops it and restores the project.
func (r *runner) upsertQuirks(ctx context.Context) {
	if !r.scratch {
		for _, s := range []struct{ step, op string }{{"upsert.takeover.volume", "volume-pekerjaan.save"}, {"upsert.takeover", "list-pekerjaan.upsert"}, {"upsert.failed-row", "list-pekerjaan.upsert"}} {
			r.call(ctx, callSpec{step: s.step, op: s.op, want: 200}) // recorded as a skip
		}
		r.skip(staleStep, "list-pekerjaan.tree", fmt.Sprintf("rides on upsert.failed-row, a writing step: project %d is not declared scratch", r.pid))
		return
	}
	if r.upsertTakeover(ctx) {
		r.upsertFailedRow(ctx)
	}
}

// treeUnreadable records that step could not start: the tree read failed
// (an error), or a stale cache left it unconfirmed (inconclusive).
func (r *runner) treeUnreadable(step string, err error) {
	v := check.Error
	if unconfirmed(err) {
		v = check.Inconclusive
	}
	r.results = append(r.results, Result{Version: string(r.version), Step: step, Operation: "list-pekerjaan.upsert", Class: Writing,
		Verdict: v, Reason: "cannot read the tree: " + err.Error()})
}

// upsertTakeover sends the tree back plus a new pekerjaan at an existing
// one's ordering_index. Accepted, it must be one more row and leave the
// existing one's volume alone; the deployed upsert matches the new row to
// the existing one instead (item 14): when that one is in the body too the
// new row vanishes and the volume is deleted.
func (r *runner) upsertTakeover(ctx context.Context) bool {
	_ = planned("upsert.read-back")
	tree, err := r.confirmedTree(ctx)
	if err != nil {
		r.treeUnreadable("upsert.takeover", err)
		return true
	}
	target, sub, ok := firstPek(tree)
	if !ok {
		r.skip("upsert.takeover", "list-pekerjaan.upsert", "the project holds no pekerjaan to aim at")
		return true
	}
	vol := map[string]any{"items": []map[string]any{{"pekerjaan_id": target.id, "quantity": "7"}}}
	r.checkRequest("volume-pekerjaan.save", vol)
	if ex, _ := r.call(ctx, callSpec{step: "upsert.takeover.volume", op: "volume-pekerjaan.save", body: vol, want: 200, noStore: true, waitLimited: true}); ex.status != http.StatusOK {
		r.limited("upsert.takeover.volume", ex)
		return true
	}
	before := rowCount(tree)
	add := map[string]any{"source_type": "custom", "snapshot_uraian": "Pekerjaan urutan kembar uji", "snapshot_satuan": "m2",
		"ordering_index": target.ordering, "temp_id": "p-twin"}
	body, _ := sendBack(tree, nil, sub, add)
	r.checkRequest("list-pekerjaan.upsert", body)
	ex, _ := r.call(ctx, callSpec{step: "upsert.takeover", op: "list-pekerjaan.upsert", body: body, want: 200, noStore: true, waitLimited: true})
	if r.limited("upsert.takeover", ex) || ex.status < 200 || ex.status > 299 {
		return true
	}
	after, errT := r.confirmedTree(ctx)
	vols, errV := r.readJSON(ctx, "upsert.volumes", 0)
	if unconfirmed(errT) {
		res := r.last("upsert.takeover")
		res.Verdict, res.Violations, res.Reason = check.Inconclusive, nil, "the upsert answered, but the tree read-back could not be confirmed: "+errT.Error()
		return true
	}
	if errT != nil || errV != nil {
		res := r.last("upsert.takeover")
		res.Verdict, res.Reason = check.Error, fmt.Sprintf("cannot read the project back: %v %v", errT, errV)
		return true
	}
	var problems []string
	if n := rowCount(after); n != before+1 {
		problems = append(problems, fmt.Sprintf("%d rows created, want 1 (%d -> %d klasifikasi+sub+pekerjaan: the new row vanished into pekerjaan %d)", n-before, before, n, target.id))
	}
	quantity := "none"
	for _, it := range list(vols, "items") {
		if intOf(get(it, "pekerjaan_id")) == target.id {
			quantity = fmt.Sprint(get(it, "quantity"))
		}
	}
	if quantity != "7.000" {
		problems = append(problems, fmt.Sprintf("pekerjaan %d's volume 7.000 deleted (listed %s)", target.id, quantity))
	}
	if len(problems) == 0 {
		return true
	}
	r.finding(r.last("upsert.takeover"), "list-pekerjaan.upsert.ordering-takeover",
		fmt.Sprintf("input new pekerjaan at ordering_index %d (pekerjaan %d's, also in the body) accepted with %d; %s",
			target.ordering, target.id, ex.status, strings.Join(problems, "; ")))
	return r.stopGroup(ctx, "upsert.takeover")
}

// upsertFailedRow sends the tree back with one existing pekerjaan switched
// to a reference without ref_id: the row fails (207) and must keep its
// place; the deployed upsert leaves it at a temporary ordering_index
// 1000000+n (item 15).
func (r *runner) upsertFailedRow(ctx context.Context) {
	_ = planned("upsert.read-back")
	tree, err := r.confirmedTree(ctx)
	if err != nil {
		r.treeUnreadable("upsert.failed-row", err)
		return
	}
	target, _, ok := firstPek(tree)
	if !ok {
		r.skip("upsert.failed-row", "list-pekerjaan.upsert", "the project holds no pekerjaan to aim at")
		r.skip(staleStep, "list-pekerjaan.tree", "the project holds no pekerjaan: no uncached read could show a rename")
		return
	}
	sp := r.staleWarm(ctx, tree)
	switchTo := "ref"
	if target.sourceType != "custom" {
		switchTo = "ref_modified"
	}
	body, _ := sendBack(tree, func(id int, row map[string]any) {
		if id == target.id {
			row["source_type"] = switchTo
			delete(row, "ref_id")
		}
	}, 0)
	sp.rename(body)
	ex, _ := r.call(ctx, callSpec{step: "upsert.failed-row", op: "list-pekerjaan.upsert", body: body, want: 207, noStore: true, waitLimited: true,
		extra: func(p map[string]any) []Violation { return wantNonEmpty(p, "errors") }})
	if r.limited("upsert.failed-row", ex) || (ex.status != http.StatusMultiStatus && (ex.status < 200 || ex.status > 299)) {
		sp.check(ctx, r, ex.status)
		return
	}
	// Quirk 16 first: the reads right after the upsert are the ones a cache
	// answers. A finding there restores the project once the row is judged.
	staleFound := sp.check(ctx, r, ex.status)
	restored := false
	defer func() {
		if staleFound && !restored {
			r.stopGroup(ctx, staleStep)
		}
	}()
	// A pekerjaan's ordering_index is always confirmed by uncached reads.
	at, err := r.readTree(ctx)
	var after map[string]any
	if err == nil {
		after = at.Payload
	}
	if err != nil {
		res := r.last("upsert.failed-row")
		res.Verdict, res.Reason = check.Error, "cannot read the tree back: "+err.Error()
		return
	}
	got, found := pekOrdering(after, target.id)
	if !found || got == target.ordering {
		return
	}
	r.finding(r.last("upsert.failed-row"), "list-pekerjaan.upsert.failed-row-temp-ordering",
		fmt.Sprintf("input pekerjaan %d switched from %s to %s without ref_id answered %d; the failed row was left at ordering_index %d (was %d)",
			target.id, target.sourceType, switchTo, ex.status, got, target.ordering))
	restored = true
	r.stopGroup(ctx, "upsert.failed-row")
}

// healthSession reads /health/ anonymously and with the suite's session.
// Anonymous, it checks the database and the cache; a deployment that
// answers a logged-in caller the simple form without checking them
// (REAL-APP.md section 7, section 8 item 26) misleads any health probe that
// sends a session cookie: it sees "ok" while the cache is down.
func (r *runner) healthSession(ctx context.Context) {
	res := Result{Version: string(r.version), Step: "health.session", Operation: "health", Method: http.MethodGet, Path: api.HealthPath, WantStatus: 200, Class: ReadOnly}
	fetch := func(c *client.Client) (*client.Response, map[string]any, error) {
		rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
		defer cancel()
		resp, err := c.Do(rctx, http.MethodGet, api.HealthPath, nil)
		if err != nil {
			return nil, nil, err
		}
		return resp, (&runner{version: api.Legacy}).payload(resp.Body), nil
	}
	deep := func(p map[string]any) bool { return get(p, "checks") != nil && get(get(p, "checks"), "cache") != nil }
	anon, err := client.New(r.base, client.WithHTTPClient(&http.Client{Timeout: r.opts.Timeout}))
	var resp *client.Response
	var p map[string]any
	if err == nil {
		resp, p, err = fetch(anon)
	}
	switch {
	case err != nil:
		res.Verdict, res.Reason = check.Error, "anonymous GET /health/: "+err.Error()
	case resp.Status == http.StatusNotFound:
		res.Verdict, res.Reason = check.Skip, "the deployment has no /health/ (404)"
	case !deep(p):
		res.Status, res.Verdict, res.Reason = resp.Status, check.Inconclusive, "anonymous /health/ answered without a cache check ("+snippet(resp.Body)+"): whether a session changes it cannot be told"
	}
	if res.Verdict != "" {
		r.results = append(r.results, res)
		return
	}
	// Sessions kept per worker: the cookie counts only on its own worker,
	// so a few calls (bounded) give the quirk a chance to show.
	for i := 0; i <= maxSpacers; i++ {
		resp, p, err = fetch(r.c)
		if err != nil {
			res.Verdict, res.Reason = check.Error, "GET /health/ with the session: "+err.Error()
			r.results = append(r.results, res)
			return
		}
		res.Status = resp.Status
		if !deep(p) {
			res.Verdict = check.Pass
			r.finding(&res, "health.session-skips-checks", fmt.Sprintf(
				"GET /health/ with a session cookie answered %d %s without checking the database or cache (anonymous /health/ checks both): a health probe that sends a session cookie reports ok while the cache is down; probe anonymously or with ?mode=deep",
				resp.Status, snippet(resp.Body)))
			r.results = append(r.results, res)
			return
		}
	}
	res.Verdict, res.Reason = check.Pass, fmt.Sprintf("anonymous and logged-in /health/ both checked the cache (%d calls with the session)", maxSpacers+1)
	r.results = append(r.results, res)
}
