package contracts

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
)

// Restore is the proof that a scratch project was left as the suite found it.
type Restore struct {
	Project int          `json:"project"`
	User    string       `json:"user"`
	Status  check.Status `json:"status"`
	Reason  string       `json:"reason"`
	// Differences between the snapshot and the read-back after the restore.
	Differences []string `json:"differences,omitempty"`
	// Lost are values of deleted rows no operation can write back.
	Lost []string `json:"lost,omitempty"`
}

// snapshot is a project read through the legacy family's read API.
type snapshot struct {
	tree    map[string]any   // tree payload
	volumes map[string]any   // volume list payload
	harga   map[string]any   // harga list payload
	details []map[string]any // detail payload per pekerjaan, tree order
	pekIDs  []int
}

func (r *runner) readJSON(ctx context.Context, step string, pekID int) (map[string]any, error) {
	op, _ := api.Lookup(planned(step).Operation)
	path := op.URLPath(api.Legacy, r.pid, pekID)
	resp, err := r.do(ctx, op.Method, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != 200 || !isJSON(resp.Header) {
		return nil, fmt.Errorf("%s %s answered %d %s", op.Method, path, resp.Status, snippet(resp.Body))
	}
	var p map[string]any
	if p = (&runner{version: api.Legacy}).payload(resp.Body); p == nil {
		return nil, fmt.Errorf("%s %s: body is not a JSON object", op.Method, path)
	}
	return p, nil
}

// takeSnapshot reads the project's tree, volumes, prices and every
// pekerjaan's rincian (read-only steps).
func (r *runner) takeSnapshot(ctx context.Context) (*snapshot, error) {
	s := &snapshot{}
	var err error
	_ = planned("snapshot.tree")
	if s.tree, err = r.confirmedTree(ctx); err != nil {
		return nil, err
	}
	if s.volumes, err = r.readJSON(ctx, "snapshot.volumes", 0); err != nil {
		return nil, err
	}
	if s.harga, err = r.readJSON(ctx, "snapshot.harga", 0); err != nil {
		return nil, err
	}
	s.pekIDs = treePekerjaanIDs(s.tree)
	if len(s.pekIDs) > maxSnapshotPekerjaan {
		return nil, fmt.Errorf("the project has %d pekerjaan; the snapshot reads at most %d", len(s.pekIDs), maxSnapshotPekerjaan)
	}
	for _, id := range s.pekIDs {
		d, err := r.readJSON(ctx, "snapshot.detail", id)
		if err != nil {
			return nil, err
		}
		s.details = append(s.details, d)
	}
	return s, nil
}

// maxSnapshotPekerjaan bounds the reads of one snapshot.
const maxSnapshotPekerjaan = 200

func treePekerjaanIDs(tree map[string]any) []int {
	var out []int
	for _, k := range list(tree, "klasifikasi") {
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				out = append(out, intOf(get(p, "id")))
			}
		}
	}
	return out
}

func treeRows(tree map[string]any) (klas, subs, peks map[int]bool) {
	klas, subs, peks = map[int]bool{}, map[int]bool{}, map[int]bool{}
	for _, k := range list(tree, "klasifikasi") {
		klas[intOf(get(k, "id"))] = true
		for _, s := range list(k, "sub") {
			subs[intOf(get(s, "id"))] = true
			for _, p := range list(s, "pekerjaan") {
				peks[intOf(get(p, "id"))] = true
			}
		}
	}
	return
}

// restore writes the snapshot back through the legacy API and proves it
// with a read-back diff.
func (r *runner) restore(ctx context.Context, s *snapshot) Restore {
	out := Restore{Project: r.pid, User: r.cred.User}
	fail := func(format string, a ...any) Restore {
		out.Status, out.Reason = check.Fail, fmt.Sprintf(format, a...)
		return out
	}
	// The rows that still exist keep their ids. Rows without pekerjaan that
	// only a stale unsearched tree lists may be gone: they are recreated
	// instead (new ids), and the replace-all deletes them if they were not.
	ct, err := r.readTree(ctx)
	if err != nil {
		return fail("read the tree before restoring: %v", err)
	}
	cur := ct.Payload
	if !ct.Confirmed() {
		cur = ct.WithoutShells(func(string, int) bool { return true })
	}
	if len(list(s.tree, "klasifikasi")) == 0 {
		return fail("the snapshot's tree is empty; an empty tree cannot be written back through the API")
	}
	klas, subs, peks := treeRows(cur)
	recreated := 0
	sent := map[string]bool{} // "klasifikasi 3", "sub 5": rows the replace-all keeps
	keep := func(level string, set map[int]bool, row map[string]any, v any) {
		if id := intOf(v); id > 0 && set[id] {
			row["id"] = id
			sent[fmt.Sprintf("%s %d", level, id)] = true
		} else {
			recreated++
		}
	}
	var body []any
	for _, k := range list(s.tree, "klasifikasi") {
		kr := map[string]any{"name": get(k, "name"), "ordering_index": get(k, "ordering_index")}
		keep("klasifikasi", klas, kr, get(k, "id"))
		var sb []any
		for _, sub := range list(k, "sub") {
			sr := map[string]any{"name": get(sub, "name"), "ordering_index": get(sub, "ordering_index")}
			keep("sub", subs, sr, get(sub, "id"))
			var pb []any
			for _, p := range list(sub, "pekerjaan") {
				pr := map[string]any{"source_type": get(p, "source_type"), "ordering_index": get(p, "ordering_index"),
					"snapshot_uraian": get(p, "snapshot_uraian"), "snapshot_satuan": get(p, "snapshot_satuan")}
				if ref := get(p, "ref_id"); ref != nil {
					pr["ref_id"] = ref
				}
				keep("pekerjaan", peks, pr, get(p, "id"))
				pb = append(pb, pr)
			}
			sr["pekerjaan"] = pb
			sb = append(sb, sr)
		}
		kr["sub"] = sb
		body = append(body, kr)
	}
	if ex := r.sendServed(ctx, "restore.upsert", 0, map[string]any{"klasifikasi": body}); ex.status != 200 {
		return fail("upsert of the snapshot's tree answered %d %s", ex.status, snippet(ex.body))
	}
	// Pekerjaan are always confirmed by uncached reads: their ids are true.
	nt, err := r.readTree(ctx)
	if err != nil {
		return fail("read the tree after the upsert: %v", err)
	}
	now := nt.Payload
	newIDs := treePekerjaanIDs(now)
	if len(newIDs) != len(s.pekIDs) {
		return fail("after the upsert the tree has %d pekerjaan, the snapshot %d", len(newIDs), len(s.pekIDs))
	}
	newID := map[int]int{}
	for i, id := range s.pekIDs {
		newID[id] = newIDs[i]
	}
	var vols []any
	for _, it := range list(s.volumes, "items") {
		vols = append(vols, map[string]any{"pekerjaan_id": newID[intOf(get(it, "pekerjaan_id"))], "quantity": get(it, "quantity")})
	}
	if len(vols) > 0 {
		if ex := r.sendServed(ctx, "restore.volumes", 0, map[string]any{"items": vols}); ex.status != 200 {
			return fail("volume save answered %d %s", ex.status, snippet(ex.body))
		}
	}
	for i, d := range s.details {
		if ro, _ := get(get(d, "meta"), "read_only").(bool); ro {
			continue // a reference pekerjaan's rincian comes from the catalog
		}
		var rows []any
		for _, it := range list(d, "items") {
			rows = append(rows, map[string]any{"kategori": get(it, "kategori"), "kode": get(it, "kode"), "uraian": get(it, "uraian"),
				"satuan": get(it, "satuan"), "koefisien": get(it, "koefisien")})
		}
		if rows == nil {
			rows = []any{}
		}
		if ex := r.sendServed(ctx, "restore.detail", newIDs[i], map[string]any{"rows": rows}); ex.status != 200 {
			return fail("detail save of pekerjaan %d answered %d %s", newIDs[i], ex.status, snippet(ex.body))
		}
	}
	var prices []any
	for _, it := range list(s.harga, "items") {
		if hs := get(it, "harga_satuan"); hs != nil {
			prices = append(prices, map[string]any{"id": get(it, "id"), "harga_satuan": hs})
		}
	}
	hb := map[string]any{"items": prices}
	if m := get(get(s.harga, "meta"), "markup_percent"); m != nil {
		hb["markup_percent"] = m
	}
	if ex := r.sendServed(ctx, "restore.harga", 0, hb); ex.status != 200 {
		return fail("harga save answered %d %s", ex.status, snippet(ex.body))
	}
	r.forget(ct.Payload, sent)
	after, err := r.takeSnapshotAs(ctx, "restore.read-back")
	dropped := r.dropped
	if unconfirmed(err) {
		out.Status, out.Reason = check.Inconclusive, "the restore was written, but its read-back could not be confirmed: "+err.Error()
		return out
	}
	if err != nil {
		return fail("read back: %v", err)
	}
	var leftovers int
	out.Differences, out.Lost, leftovers = diffSnapshots(s, after, recreated > 0)
	if len(out.Differences) > 0 {
		return fail("the read-back differs from the snapshot in %d places", len(out.Differences))
	}
	out.Status = check.Pass
	out.Reason = fmt.Sprintf("snapshot of %d pekerjaan written back and read back equal", len(s.pekIDs))
	if recreated > 0 {
		out.Reason += fmt.Sprintf("; %d rows had been deleted and were recreated (new ids and generated codes, not compared)", recreated)
	}
	if dropped > 0 {
		out.Reason += fmt.Sprintf("; the unsearched tree was served from a cache: %d klasifikasi/sub rows without pekerjaan it still lists were left out of the replace-all upsert (200) and taken as deleted (no uncached read lists rows without pekerjaan)", dropped)
	}
	if len(out.Lost) > 0 {
		out.Reason += fmt.Sprintf("; %d values no operation writes could not come back: %s", len(out.Lost), strings.Join(out.Lost, ", "))
	}
	if leftovers > 0 {
		out.Reason += fmt.Sprintf("; %d price-list rows the script created remain (no operation deletes them)", leftovers)
	}
	return out
}

// takeSnapshotAs reads the project again under another planned step.
func (r *runner) takeSnapshotAs(ctx context.Context, step string) (*snapshot, error) {
	s := &snapshot{}
	var err error
	read := func(op string, pek int) (map[string]any, error) {
		o, _ := api.Lookup(op)
		resp, err := r.do(ctx, o.Method, o.URLPath(api.Legacy, r.pid, pek), nil)
		if err != nil {
			return nil, err
		}
		if resp.Status != 200 {
			return nil, fmt.Errorf("%s answered %d", op, resp.Status)
		}
		return (&runner{version: api.Legacy}).payload(resp.Body), nil
	}
	_ = planned(step)
	if s.tree, err = r.confirmedTree(ctx); err != nil {
		return nil, err
	}
	if s.volumes, err = read("volume-pekerjaan.list", 0); err != nil {
		return nil, err
	}
	if s.harga, err = read("harga-items.list", 0); err != nil {
		return nil, err
	}
	s.pekIDs = treePekerjaanIDs(s.tree)
	for _, id := range s.pekIDs {
		d, err := read("detail-ahsp.get", id)
		if err != nil {
			return nil, err
		}
		s.details = append(s.details, d)
	}
	return s, nil
}

// snapshotIgnored are keys a restore cannot bring back and that say
// nothing about the content: clocks, and the ids of rincian rows (a detail
// save replaces them).
var snapshotIgnored = map[string]bool{"updated_at": true, "project_updated_at": true, "server_updated_at": true}

// recreatedIgnored are generated values of rows that had been deleted and
// were created again.
var recreatedIgnored = map[string]bool{"id": true, "pekerjaan_id": true, "snapshot_kode": true, "kode": true, "ref_pekerjaan_id": true}

// diffSnapshots compares a snapshot with the read-back. Price-list rows
// are matched by id: rows the script created remain (no operation deletes
// them) and are counted in leftovers. Values no operation writes (a
// pekerjaan's budgeted_cost) cannot come back once the row was deleted:
// they are listed in lost, not in the differences.
func diffSnapshots(a, b *snapshot, recreated bool) (diffs, lost []string, leftovers int) {
	flat := func(name string, v any, out map[string]string, rincian bool) {
		var walk func(string, any, string)
		walk = func(p string, v any, key string) {
			if snapshotIgnored[key] || (recreated && recreatedIgnored[key]) || (rincian && key == "id" && strings.Contains(p, "items[")) {
				return
			}
			switch x := v.(type) {
			case map[string]any:
				for k, c := range x {
					walk(join(p, k), c, k)
				}
			case []any:
				for i, c := range x {
					walk(fmt.Sprintf("%s[%d]", p, i), c, key)
				}
			default:
				out[p] = encode(x)
			}
		}
		walk(name, v, "")
	}
	side := func(s *snapshot) map[string]string {
		m := map[string]string{}
		flat("tree", s.tree, m, false)
		flat("volumes", inTreeOrder(s), m, false)
		flat("harga.meta", get(s.harga, "meta"), m, false)
		for i, d := range s.details {
			flat(fmt.Sprintf("detail[%d]", i), d, m, true)
		}
		return m
	}
	x, y := side(a), side(b)
	for p, v := range x {
		w, ok := y[p]
		if recreated && strings.HasSuffix(p, ".budgeted_cost") {
			if v != w && v != "null" && v != "0" && v != "0.0" {
				lost = append(lost, fmt.Sprintf("%s was %s", p, v))
			}
			continue
		}
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %s before, missing after", p, v))
		} else if w != v {
			diffs = append(diffs, fmt.Sprintf("%s: %s before, %s after", p, v, w))
		}
	}
	for p, w := range y {
		if _, ok := x[p]; !ok && !(recreated && strings.HasSuffix(p, ".budgeted_cost")) {
			diffs = append(diffs, fmt.Sprintf("%s: missing before, %s after", p, w))
		}
	}
	after := map[string]map[string]any{}
	for _, it := range list(b.harga, "items") {
		m, _ := it.(map[string]any)
		after[encode(get(it, "id"))] = m
	}
	for _, it := range list(a.harga, "items") {
		id := encode(get(it, "id"))
		m, _ := it.(map[string]any)
		got, ok := after[id]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("harga item id %s: present before, missing after", id))
			continue
		}
		for k, v := range m {
			if encode(v) != encode(got[k]) {
				diffs = append(diffs, fmt.Sprintf("harga item id %s %s: %s before, %s after", id, k, encode(v), encode(got[k])))
			}
		}
		delete(after, id)
	}
	leftovers = len(after)
	sort.Strings(diffs)
	sort.Strings(lost)
	if len(diffs) > 50 {
		diffs = append(diffs[:50], fmt.Sprintf("... %d more", len(diffs)-50))
	}
	return diffs, lost, leftovers
}

// restoreWithin bounds how long a restore waits out 429s: the restore puts
// a user's data back, so it outlasts one full window of the app's longest
// default limit (bulk, 300 s) rather than give up after the first 429.
const restoreWithin = 6 * time.Minute

// sendServed is send for the restore: a 429 is waited out (Retry-After,
// else the body's retry_after or window, else 60 s) and the step sent again,
// within restoreWithin; any other answer is returned as it is.
// limitWait is how long a 429 asks to wait: Retry-After, else the body's
// retry_after, else its window, else a minute; plus a margin.
func limitWait(h http.Header, body []byte) time.Duration {
	wait := 60 * time.Second
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && v >= 0 {
		wait = time.Duration(v) * time.Second
	} else if v, ok := retryAfter(body); ok && v >= 0 {
		wait = time.Duration(v) * time.Second
	} else if w := windowSeconds(body); w > 0 {
		wait = time.Duration(w) * time.Second
	}
	return wait + 200*time.Millisecond
}

func (r *runner) sendServed(ctx context.Context, step string, pekID int, body any) exchange {
	deadline := time.Now().Add(restoreWithin)
	for {
		ex := r.send(ctx, step, pekID, body)
		if ex.status != http.StatusTooManyRequests {
			return ex
		}
		wait := limitWait(ex.header, ex.body)
		if time.Now().Add(wait).After(deadline) {
			return ex
		}
		fmt.Fprintf(r.opts.Progress, "contracts: %s on project %d answered 429; waiting %s to restore\n", step, r.pid, wait.Round(time.Second/10))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ex
		case <-t.C:
		}
	}
}

// inTreeOrder is the snapshot's volume list with its items in tree order:
// a deployment may list them by id, and a restore that recreated rows (or
// an upsert that matched them by ordering_index, REAL-APP.md 3.2) gives
// ids in another order, so the list's own order says nothing.
func inTreeOrder(s *snapshot) map[string]any {
	pos := map[int]int{}
	for i, id := range s.pekIDs {
		pos[id] = i
	}
	items := append([]any(nil), list(s.volumes, "items")...)
	at := func(it any) int {
		if i, ok := pos[intOf(get(it, "pekerjaan_id"))]; ok {
			return i
		}
		return len(pos) + intOf(get(it, "pekerjaan_id")) // not in the tree: after, by id
	}
	sort.SliceStable(items, func(i, j int) bool { return at(items[i]) < at(items[j]) })
	out := map[string]any{}
	for k, v := range s.volumes {
		out[k] = v
	}
	out["items"] = items
	return out
}
