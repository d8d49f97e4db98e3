package handlers

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/internal/defects"
)

// treeDoc is the part of a tree answer the cache tests read.
type treeDoc struct {
	Klasifikasi []map[string]any `json:"klasifikasi"`
}

func (e *env) treeNow(query string) treeDoc {
	e.t.Helper()
	w := e.do(req{op: "list-pekerjaan.tree", query: query})
	require.Equal(e.t, 200, w.Code, w.Body.String())
	var d treeDoc
	require.NoError(e.t, json.Unmarshal(w.Body.Bytes(), &d))
	return d
}

// renameFirst sends the tree back (ids kept) with its first klasifikasi
// renamed: an upsert that creates no row.
func (e *env) renameFirst(d treeDoc, name string) {
	e.t.Helper()
	ks := make([]map[string]any, len(d.Klasifikasi))
	for i, k := range d.Klasifikasi {
		c := map[string]any{}
		for key, v := range k {
			c[key] = v
		}
		if i == 0 {
			c["name"] = name
		}
		ks[i] = c
	}
	raw, err := json.Marshal(map[string]any{"klasifikasi": ks})
	require.NoError(e.t, err)
	w := e.do(req{op: "list-pekerjaan.upsert", body: string(raw)})
	require.Equal(e.t, 200, w.Code, w.Body.String())
}

// The deployed app's quirk 16 (REAL-APP.md 3.3): an unsearched tree is
// cached 300 s per worker under the project's max(updated_at), which the
// upsert does not move. The correct target never serves a stale tree.
func TestTreeCacheStale(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     defects.Set
		stale bool
	}{
		{"correct", defects.Set{}, false},
		{"tree-cache-stale", defects.Set{"tree-cache-stale": true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.d)
			now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
			e.h.SetClock(func() time.Time { return now })
			before := e.treeNow("")
			require.NotEmpty(t, before.Klasifikasi)
			old := before.Klasifikasi[0]["name"]

			e.renameFirst(before, "Diganti uji")
			want := "Diganti uji"
			if tc.stale {
				want = old.(string)
			}
			require.Equal(t, want, e.treeNow("").Klasifikasi[0]["name"], "unsearched tree right after the upsert")
			// A non-blank search is never cached (either spelling).
			kode := before.Klasifikasi[0]["sub"].([]any)[0].(map[string]any)["pekerjaan"].([]any)[0].(map[string]any)["snapshot_kode"].(string)
			require.Equal(t, "Diganti uji", e.treeNow("q=" + kode).Klasifikasi[0]["name"])
			require.Equal(t, "Diganti uji", e.treeNow("search=" + kode).Klasifikasi[0]["name"])

			now = now.Add(TreeCacheTTL - time.Second)
			require.Equal(t, want, e.treeNow("").Klasifikasi[0]["name"], "still inside the 300 s")
			now = now.Add(time.Second)
			require.Equal(t, "Diganti uji", e.treeNow("").Klasifikasi[0]["name"], "the entry expired at 300 s")

			// A save that creates a pekerjaan moves the key: the next read is fresh.
			e.renameFirst(e.treeNow(""), "Kedua")
			if tc.stale {
				require.Equal(t, "Diganti uji", e.treeNow("").Klasifikasi[0]["name"])
			}
			w := e.do(req{op: "list-pekerjaan.save", body: `{"klasifikasi":[{"name":"Baru","ordering_index":900,"sub":[{"name":"S","ordering_index":1,"pekerjaan":[{"source_type":"custom","snapshot_uraian":"Baru","ordering_index":900}]}]}]}`})
			require.Equal(t, 200, w.Code, w.Body.String())
			after := e.treeNow("")
			require.Equal(t, "Kedua", after.Klasifikasi[0]["name"])
			require.Equal(t, "Baru", after.Klasifikasi[len(after.Klasifikasi)-1]["name"])
		})
	}
}
