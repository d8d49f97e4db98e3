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

func (s *session) read(ctx context.Context, pid int) (*projectData, error) {
	tree, _ := api.Lookup("list-pekerjaan.tree")
	r, err := s.do(ctx, req{method: http.MethodGet, path: opPath(tree, pid, 0)})
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusOK {
		return nil, fmt.Errorf("read tree of project %d as %s: status %d %s", pid, s.cred.User, r.Status, short(r.Body))
	}
	d := &projectData{pid: pid}
	if err := r.JSON(&d.tree); err != nil {
		return nil, err
	}
	if v2, ok := d.tree["data"].(map[string]any); ok { // a v2 envelope
		d.tree = v2
	}
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
	out := []write{
		{op: look("list-pekerjaan.save"), readOp: look("list-pekerjaan.tree"), body: enc(map[string]any{
			"klasifikasi": []any{map[string]any{"name": "security probe " + tag, "ordering_index": 700000 + rand.IntN(100000), "sub": []any{}}}})},
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
