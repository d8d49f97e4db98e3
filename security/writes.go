package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/treeread"
)

// projectData is what the writing checks learn about a project by reading it.
type projectData struct {
	pid int
	// tree is the list-pekerjaan tree as returned.
	tree map[string]any
	// pekerjaan ids in the tree; custom is one whose detail may be edited.
	pekerjaan []int
	custom    int
}

// tree reads project pid's tree so that a write built on it, or a
// read-back compared with it, holds where the deployment serves the
// unsearched tree from a cache an upsert does not invalidate (REAL-APP.md
// 3.3): target/treeread checks that answer against reads the app does not
// cache. A tree it cannot confirm is an error that says so.
func (s *session) tree(ctx context.Context, pid int) (map[string]any, error) {
	t, err := treeread.Read(ctx, func(ctx context.Context, path string) (int, []byte, error) {
		r, err := s.do(ctx, req{method: http.MethodGet, path: path})
		if err != nil {
			return 0, nil, err
		}
		return r.Status, r.Body, nil
	}, pid)
	if err != nil {
		return nil, fmt.Errorf("read tree of project %d as %s: %w", pid, s.cred.User, err)
	}
	if !t.Confirmed() {
		return nil, fmt.Errorf("read tree of project %d as %s: %w: %s", pid, s.cred.User, treeread.ErrUnconfirmed, t.Note())
	}
	// Plain JSON numbers, as the rest of the package reads them.
	raw, err := json.Marshal(t.Payload)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}

func (s *session) read(ctx context.Context, pid int) (*projectData, error) {
	tree, err := s.tree(ctx, pid)
	if err != nil {
		return nil, err
	}
	d := &projectData{pid: pid, tree: tree}
	for _, k := range list(d.tree["klasifikasi"]) {
		for _, sub := range list(obj(k)["sub"]) {
			for _, p := range list(obj(sub)["pekerjaan"]) {
				pm := obj(p)
				id := num(pm["id"])
				if id == 0 {
					continue
				}
				d.pekerjaan = append(d.pekerjaan, id)
				if pm["source_type"] == "custom" && d.custom == 0 {
					d.custom = id
				}
			}
		}
	}
	return d, nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// write is one effective write: its operation, a body that changes the
// project when accepted, and the read that shows the change.
type write struct {
	op   api.Operation
	pek  int
	body []byte
	// readOp is read back before and after (same project, same pekerjaan).
	readOp api.Operation
}

// writes builds one effective write per unsafe operation of project d. tag
// makes the written values new, so an accepted write always shows.
func writes(d *projectData, tag string) []write {
	look := func(n string) api.Operation { op, _ := api.Lookup(n); return op }
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	n := rand.IntN(800) + 100
	ord := 700000 + rand.IntN(100000)
	out := []write{
		// With a pekerjaan: a klasifikasi alone shows in no uncached read.
		{op: look("list-pekerjaan.save"), readOp: look("list-pekerjaan.tree"), body: enc(map[string]any{
			"klasifikasi": []any{map[string]any{"name": "security probe " + tag, "ordering_index": ord, "sub": []any{map[string]any{
				"name": "security probe " + tag, "ordering_index": 1, "pekerjaan": []any{map[string]any{
					"source_type": "custom", "snapshot_uraian": "security probe " + tag, "snapshot_satuan": "ls", "ordering_index": ord}}}}}}})},
		{op: look("list-pekerjaan.upsert"), readOp: look("list-pekerjaan.tree"), body: enc(renamedTree(d.tree, tag))},
		{op: look("harga-items.save"), readOp: look("harga-items.list"), body: enc(map[string]any{"markup_percent": fmt.Sprintf("%d.%02d", n%90+1, n%100)})},
	}
	if len(d.pekerjaan) > 0 {
		out = append(out, write{op: look("volume-pekerjaan.save"), readOp: look("volume-pekerjaan.list"),
			body: enc([]any{map[string]any{"pekerjaan_id": d.pekerjaan[0], "quantity": fmt.Sprintf("%d.125", n)}})})
	}
	if d.custom != 0 {
		out = append(out, write{op: look("detail-ahsp.save"), pek: d.custom, readOp: look("detail-ahsp.get"),
			body: enc(map[string]any{"rows": []any{map[string]any{"kategori": "TK", "kode": fmt.Sprintf("SEC.%d", n), "uraian": "security probe " + tag, "satuan": "OH", "koefisien": "0.5"}}})})
	}
	return out
}

// renamedTree is the upsert body that keeps the tree and renames its first
// klasifikasi (an upsert replaces the whole tree).
func renamedTree(tree map[string]any, tag string) map[string]any {
	var ks []any
	for i, k := range list(tree["klasifikasi"]) {
		km := obj(k)
		name, _ := km["name"].(string)
		if i == 0 {
			name += " [" + tag + "]"
		}
		var subs []any
		for _, sub := range list(km["sub"]) {
			sm := obj(sub)
			var peks []any
			for _, p := range list(sm["pekerjaan"]) {
				pm := obj(p)
				peks = append(peks, map[string]any{"id": pm["id"], "source_type": pm["source_type"], "ref_id": pm["ref_id"],
					"snapshot_uraian": pm["snapshot_uraian"], "snapshot_satuan": pm["snapshot_satuan"], "ordering_index": pm["ordering_index"]})
			}
			subs = append(subs, map[string]any{"id": sm["id"], "name": sm["name"], "ordering_index": sm["ordering_index"], "pekerjaan": peks})
		}
		ks = append(ks, map[string]any{"id": km["id"], "name": name, "ordering_index": km["ordering_index"], "sub": subs})
	}
	if ks == nil {
		ks = []any{map[string]any{"name": "security probe " + tag, "ordering_index": 1}}
	}
	return map[string]any{"klasifikasi": ks}
}

// state reads w's read-back as s and returns a digest of status and body.
func (s *session) state(ctx context.Context, pid int, w write) (string, error) {
	if w.readOp.Name == "list-pekerjaan.tree" {
		tree, err := s.tree(ctx, pid)
		if err != nil {
			return "", err
		}
		raw, _ := json.Marshal(tree)
		sum := sha256.Sum256(raw)
		return hex.EncodeToString(sum[:8]), nil
	}
	r, err := s.do(ctx, req{method: http.MethodGet, path: opPath(w.readOp, pid, w.pek)})
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("read back %s of project %d: status %d", w.readOp.Name, pid, r.Status)
	}
	sum := sha256.Sum256(r.Body)
	return hex.EncodeToString(sum[:8]), nil
}
