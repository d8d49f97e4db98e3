// Package treeread reads a project's list-pekerjaan tree so that a
// decision made on it is true even where the deployment serves the
// unsearched tree from a cache.
//
// The deployed app caches each unsearched tree answer 300 s per worker,
// keyed by the project's max(updated_at), and its upsert does not move that
// key (REAL-APP.md 3.3, section 8 item 16): right after an upsert a worker
// can answer the tree as it was. Read compares that answer with reads the
// app does not cache: the volume list (every pekerjaan, in tree order) and tree
// searches (?q=, non-blank: never cached) that together find every
// pekerjaan with its klasifikasi and sub. The tree it returns is built from
// the uncached reads; klasifikasi and sub rows without pekerjaan appear in
// no search, so those come from the unsearched answer alone and are
// counted as Shells.
package treeread

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/internal/jsonv"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// Get sends GET path (a legacy-family path with its query) and returns the
// status and body.
type Get func(ctx context.Context, path string) (status int, body []byte, err error)

// Tree is one read of a project's tree.
type Tree struct {
	// Payload is the tree as the uncached reads show it, in the legacy
	// shape ({"ok": true, "klasifikasi": [...]}), numbers as json.Number.
	Payload map[string]any
	// Served is the unsearched tree answer as the deployment served it.
	Served map[string]any
	// Stale: the served tree disagreed with the uncached reads (Differences
	// says where, at most 10).
	Stale       bool
	Differences []string
	// Shells are klasifikasi and sub rows without pekerjaan: only the
	// unsearched answer lists them, so when it is Stale they are not
	// confirmed.
	Shells int
	// ShellKlasifikasi and ShellSub are the ids of those rows.
	ShellKlasifikasi, ShellSub map[int]bool
	// Reads is how many requests the read took.
	Reads int
}

// ErrUnconfirmed is returned (wrapped) when the uncached reads could not
// find every pekerjaan the volume list names.
var ErrUnconfirmed = errors.New("tree served from a cache; read-back could not be confirmed")

// Confirmed reports whether every row of Payload was confirmed by an
// uncached read, or the served tree agreed with them all (then its rows
// without pekerjaan are taken as served).
func (t *Tree) Confirmed() bool { return !t.Stale || t.Shells == 0 }

// Note says in one line what the read found, for evidence.
func (t *Tree) Note() string {
	switch {
	case !t.Stale:
		return fmt.Sprintf("the unsearched tree agreed with the uncached reads (%d requests)", t.Reads)
	case t.Shells > 0:
		return fmt.Sprintf("tree served from a cache (%s); %d klasifikasi/sub rows without pekerjaan are known only from it", strings.Join(t.Differences, "; "), t.Shells)
	default:
		return fmt.Sprintf("tree served from a cache (%s); the uncached reads were used", strings.Join(t.Differences, "; "))
	}
}

// readBackoff bounds the waits of one read on 429 and 503 (a read window of
// a minute is not waited out: the read fails and says so).
var readBackoff = client.Backoff{Tries: 6, Wait: 250 * time.Millisecond, Max: 4 * time.Second, Within: 15 * time.Second,
	Retry: client.OnStatus(http.StatusTooManyRequests, http.StatusServiceUnavailable)}

// MaxPekerjaan bounds the pekerjaan one read confirms.
const MaxPekerjaan = 200

// Read reads project pid's tree, the volume list and as many tree searches
// as it takes to find every pekerjaan (at most 2 per pekerjaan plus 4),
// through fetch.
func Read(ctx context.Context, fetch Get, pid int) (*Tree, error) {
	treeOp, _ := api.Lookup("list-pekerjaan.tree")
	volOp, _ := api.Lookup("volume-pekerjaan.list")
	detOp, _ := api.Lookup("detail-ahsp.get")
	treePath := treeOp.URLPath(api.Legacy, pid, 0)
	t := &Tree{}
	read := func(path string) (map[string]any, error) {
		var status int
		var body []byte
		// A read-back is several reads in a row: a deployment that limits
		// reads may answer 429 (or a fail-closed limiter 503) for a moment;
		// wait that out, bounded, rather than lose the read-back.
		err := client.Retry(ctx, readBackoff, func(ctx context.Context) error {
			t.Reads++
			var err error
			if status, body, err = fetch(ctx, path); err != nil {
				return err
			}
			if status != 200 {
				return client.StatusErrorf(status, "GET %s answered %d %.120s", path, status, body)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil {
			return nil, fmt.Errorf("GET %s: body is not a JSON object", path)
		}
		return m, nil
	}
	var err error
	if t.Served, err = read(treePath); err != nil {
		return nil, err
	}
	vols, err := read(volOp.URLPath(api.Legacy, pid, 0))
	if err != nil {
		return nil, err
	}
	// Every pekerjaan the volume list names (all of them, REAL-APP.md 3.5)
	// and every one the served tree names: a deployment whose volume list
	// leaves some out still has them found, and one the served tree still
	// lists after it was deleted is proven gone by detail get's 404.
	var want []int
	seen := map[int]bool{}
	for _, it := range list(vols, "items") {
		if id := intOf(get(it, "pekerjaan_id")); !seen[id] {
			seen[id] = true
			want = append(want, id)
		}
	}
	for id := range places(t.Served) {
		if !seen[id] {
			seen[id] = true
			want = append(want, id)
		}
	}
	sort.Ints(want)
	gone := map[int]bool{}
	if len(want) > MaxPekerjaan {
		return nil, fmt.Errorf("the project has %d pekerjaan; a tree read confirms at most %d", len(want), MaxPekerjaan)
	}
	found := map[int]place{}
	served := places(t.Served)
	tried := map[string]bool{}
	for budget := 2*len(want) + 4; ; budget-- {
		var missing []int
		for _, id := range want {
			if _, ok := found[id]; !ok && !gone[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		needle := bestNeedle(missing, served, tried)
		if needle == "" {
			// The served tree offers nothing new: ask the pekerjaan itself
			// (detail get is not cached) for its current kode and uraian;
			// a 404 proves it is gone.
			path := detOp.URLPath(api.Legacy, pid, missing[0])
			t.Reads++
			status, body, err := fetch(ctx, path)
			if err == nil && status == 404 {
				gone[missing[0]] = true
				continue
			}
			var d map[string]any
			if err == nil && status == 200 {
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.UseNumber()
				err = dec.Decode(&d)
			} else if err == nil {
				err = fmt.Errorf("GET %s answered %d %.120s", path, status, body)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnconfirmed, err)
			}
			for _, k := range []string{"kode", "uraian"} {
				if s, _ := get(get(d, "pekerjaan"), k).(string); strings.TrimSpace(s) != "" && !tried[s] {
					needle = s
					break
				}
			}
		}
		if needle == "" || budget <= 0 {
			return nil, fmt.Errorf("%w: the volume list names pekerjaan %v, which no uncached tree search found (%d searches)", ErrUnconfirmed, missing, len(tried))
		}
		tried[needle] = true
		res, err := read(treePath + "?q=" + url.QueryEscape(needle))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnconfirmed, err)
		}
		for id, p := range places(res) {
			found[id] = p
		}
	}
	t.Payload, t.ShellKlasifikasi, t.ShellSub = build(found, t.Served)
	t.Shells = len(t.ShellKlasifikasi) + len(t.ShellSub)
	t.Differences = differ(t.Served, t.Payload)
	t.Stale = len(t.Differences) > 0
	return t, nil
}

// place is one pekerjaan with the klasifikasi and sub it sits in.
type place struct {
	k, s, p map[string]any
}

func places(tree map[string]any) map[int]place {
	out := map[int]place{}
	for _, k := range list(tree, "klasifikasi") {
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				km, _ := k.(map[string]any)
				sm, _ := s.(map[string]any)
				pm, _ := p.(map[string]any)
				out[intOf(get(p, "id"))] = place{k: km, s: sm, p: pm}
			}
		}
	}
	return out
}

// bestNeedle is the untried search term that the served tree says finds
// the most missing pekerjaan: a kode, or a prefix of one up to a
// separator ("CUST-", "A.2."), at least 2 characters.
func bestNeedle(missing []int, served map[int]place, tried map[string]bool) string {
	texts := map[int]string{}
	var cands []string
	for _, id := range missing {
		pl, ok := served[id]
		if !ok {
			continue
		}
		kode, _ := get(pl.p, "snapshot_kode").(string)
		ur, _ := get(pl.p, "snapshot_uraian").(string)
		texts[id] = strings.ToLower(kode + "\x00" + ur)
		for i, c := range kode {
			if i >= 1 && strings.ContainsRune("-._/ ", c) {
				cands = append(cands, kode[:i+1])
			}
		}
		cands = append(cands, kode, ur)
	}
	best, score := "", 0
	for _, c := range cands {
		if len(strings.TrimSpace(c)) < 2 || tried[c] {
			continue
		}
		n := 0
		for _, t := range texts {
			if strings.Contains(t, strings.ToLower(c)) {
				n++
			}
		}
		if n > score || n == score && len(c) < len(best) {
			best, score = c, n
		}
	}
	return best
}

// build makes the tree from the pekerjaan the searches found, ordered as
// the app orders it (ordering_index, id), and adds the served tree's
// klasifikasi and sub rows that hold none of them (shells).
func build(found map[int]place, served map[string]any) (tree map[string]any, shellK, shellS map[int]bool) {
	type subN struct {
		row  map[string]any
		peks []any
	}
	type klasN struct {
		row  map[string]any
		subs map[int]*subN
	}
	klas := map[int]*klasN{}
	addK := func(k map[string]any) *klasN {
		id := intOf(k["id"])
		if n, ok := klas[id]; ok {
			return n
		}
		n := &klasN{row: without(k, "sub"), subs: map[int]*subN{}}
		klas[id] = n
		return n
	}
	addS := func(kn *klasN, s map[string]any) *subN {
		id := intOf(s["id"])
		if n, ok := kn.subs[id]; ok {
			return n
		}
		n := &subN{row: without(s, "pekerjaan")}
		kn.subs[id] = n
		return n
	}
	for _, pl := range found {
		sn := addS(addK(pl.k), pl.s)
		sn.peks = append(sn.peks, pl.p)
	}
	shellK, shellS = map[int]bool{}, map[int]bool{}
	inFound := map[int]bool{}
	for _, kn := range klas {
		for id := range kn.subs {
			inFound[id] = true
		}
	}
	for _, k := range list(served, "klasifikasi") {
		km, _ := k.(map[string]any)
		if km == nil {
			continue
		}
		if _, ok := klas[intOf(km["id"])]; !ok {
			shellK[intOf(km["id"])] = true
		}
		kn := addK(km)
		for _, s := range list(k, "sub") {
			sm, _ := s.(map[string]any)
			if sm == nil || inFound[intOf(sm["id"])] {
				continue
			}
			if _, ok := kn.subs[intOf(sm["id"])]; !ok {
				shellS[intOf(sm["id"])] = true
			}
			addS(kn, sm)
		}
	}
	order := func(rows []map[string]any) {
		sort.SliceStable(rows, func(i, j int) bool {
			oi, oj := intOf(rows[i]["ordering_index"]), intOf(rows[j]["ordering_index"])
			if oi != oj {
				return oi < oj
			}
			return intOf(rows[i]["id"]) < intOf(rows[j]["id"])
		})
	}
	var ks []map[string]any
	for _, kn := range klas {
		var ss []map[string]any
		for _, sn := range kn.subs {
			var ps []map[string]any
			for _, p := range sn.peks {
				ps = append(ps, p.(map[string]any))
			}
			order(ps)
			row := without(sn.row)
			row["pekerjaan"] = anys(ps)
			ss = append(ss, row)
		}
		order(ss)
		row := without(kn.row)
		row["sub"] = anys(ss)
		ks = append(ks, row)
	}
	order(ks)
	return map[string]any{"ok": true, "klasifikasi": anys(ks)}, shellK, shellS
}

// WithoutShells is Payload without the shell rows whose ids gone says are
// gone (a klasifikasi goes with its subs).
func (t *Tree) WithoutShells(gone func(level string, id int) bool) map[string]any {
	var ks []any
	for _, k := range list(t.Payload, "klasifikasi") {
		km, _ := k.(map[string]any)
		if t.ShellKlasifikasi[intOf(km["id"])] && gone("klasifikasi", intOf(km["id"])) {
			continue
		}
		var ss []any
		for _, s := range list(k, "sub") {
			sm, _ := s.(map[string]any)
			if t.ShellSub[intOf(sm["id"])] && gone("sub", intOf(sm["id"])) {
				continue
			}
			ss = append(ss, s)
		}
		row := without(km)
		row["sub"] = append([]any{}, ss...)
		ks = append(ks, row)
	}
	return map[string]any{"ok": true, "klasifikasi": append([]any{}, ks...)}
}

// differ lists where the served tree differs from the uncached one, by row
// id (at most 10 lines).
func differ(served, truth map[string]any) []string {
	a, b := flat(served), flat(truth)
	rows := func(m map[string]string) map[string]bool {
		out := map[string]bool{}
		for k := range m {
			if i := strings.LastIndex(k, "."); i > 0 {
				out[k[:i]] = true
			}
		}
		return out
	}
	ra, rb := rows(a), rows(b)
	var out []string
	for r := range rb {
		if !ra[r] {
			out = append(out, r+": not served, present now")
		}
	}
	for r := range ra {
		if !rb[r] {
			out = append(out, r+": served, gone now")
		}
	}
	for k, v := range b {
		r := k[:max(strings.LastIndex(k, "."), 0)]
		if w, ok := a[k]; ok && w != v {
			out = append(out, fmt.Sprintf("%s: served %s, now %s", k, w, v))
		} else if !ok && ra[r] {
			out = append(out, fmt.Sprintf("%s: served none, now %s", k, v))
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... %d more", len(out)-10))
	}
	return out
}

// flat maps "klasifikasi 3.name", "pekerjaan 12.sub", ... to encoded values,
// plus each level's order.
func flat(tree map[string]any) map[string]string {
	out := map[string]string{}
	put := func(prefix string, row map[string]any, skip string) {
		for k, v := range row {
			if k != skip {
				out[prefix+"."+k] = enc(v)
			}
		}
	}
	var korder []string
	for _, k := range list(tree, "klasifikasi") {
		km, _ := k.(map[string]any)
		kid := fmt.Sprintf("klasifikasi %d", intOf(km["id"]))
		korder = append(korder, strconv.Itoa(intOf(km["id"])))
		put(kid, km, "sub")
		var sorder []string
		for _, s := range list(k, "sub") {
			sm, _ := s.(map[string]any)
			sid := fmt.Sprintf("sub %d", intOf(sm["id"]))
			sorder = append(sorder, strconv.Itoa(intOf(sm["id"])))
			put(sid, sm, "pekerjaan")
			out[sid+".klasifikasi"] = strconv.Itoa(intOf(km["id"]))
			var porder []string
			for _, p := range list(s, "pekerjaan") {
				pm, _ := p.(map[string]any)
				pid := fmt.Sprintf("pekerjaan %d", intOf(pm["id"]))
				porder = append(porder, strconv.Itoa(intOf(pm["id"])))
				put(pid, pm, "")
				out[pid+".sub"] = strconv.Itoa(intOf(sm["id"]))
			}
			out[sid+".pekerjaan order"] = strings.Join(porder, ",")
		}
		out[kid+".sub order"] = strings.Join(sorder, ",")
	}
	out["klasifikasi order"] = strings.Join(korder, ",")
	return out
}

func without(m map[string]any, drop ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(drop, k) {
			out[k] = v
		}
	}
	return out
}

func anys(rows []map[string]any) []any {
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	return out
}

func enc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// The JSON readers every check here uses (shared with the other packages).
var (
	get   = jsonv.Field
	list  = jsonv.List
	intOf = jsonv.Int
)
