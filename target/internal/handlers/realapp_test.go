package handlers

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
)

// The legacy answers whose layout REAL-APP.md sections 3-4 pin down, key by
// key. e.do also validates each against the v1 schema, so a drift of the
// target, or of the schema, fails here.
func TestLegacyAnswersAsDeployed(t *testing.T) {
	row := `{"kategori":"TK","kode":"L.01","uraian":"Pekerja","satuan":"OH","koefisien":"0,8"}`
	badRow := `{"kategori":"XX","kode":"Z","uraian":"Z","koefisien":"1"}`
	detailKeys := []string{"errors", "ok", "pekerjaan", "saved_expanded_rows", "saved_raw_rows", "saved_rows", "success", "user_message"}
	hargaKeys := []string{"errors", "markup_percent", "ok", "pricing_saved", "project_updated_at", "updated", "user_message"}
	tests := []struct {
		name   string
		op     string
		pek    int64
		body   string
		status int
		keys   []string
		want   map[string]any // top-level values
		paths  []string
	}{
		{"detail save 200", "detail-ahsp.save", 2, `{"rows":[` + row + `]}`, 200, detailKeys,
			map[string]any{"ok": true, "success": true, "saved_raw_rows": 1.0, "saved_rows": 1.0, "saved_expanded_rows": 1.0,
				"user_message": "[OK] Data berhasil disimpan! 1 baris komponen tersimpan."}, nil},
		{"detail save 207", "detail-ahsp.save", 2, `{"rows":[` + row + `,` + badRow + `]}`, 207, detailKeys,
			map[string]any{"ok": false, "success": false, "saved_raw_rows": 1.0, "saved_rows": 1.0, "saved_expanded_rows": 1.0},
			[]string{"rows[1].kategori"}},
		{"detail save 400 every row refused", "detail-ahsp.save", 2, `{"rows":[` + badRow + `]}`, 400, detailKeys,
			map[string]any{"ok": false, "success": false, "saved_raw_rows": 0.0, "saved_rows": 0.0, "saved_expanded_rows": 0.0},
			[]string{"rows[0].kategori"}},
		{"detail save 207 row messages", "detail-ahsp.save", 2, `{"rows":[` + row + `,` + badRow + `,` + row + `]}`, 207, detailKeys,
			map[string]any{"errors": []any{map[string]any{"path": "rows[1].kategori", "message": "Kategori tidak valid"},
				map[string]any{"path": "rows[2].kode", "message": "Kode duplikat dalam pekerjaan ini"}}}, []string{"rows[1].kategori", "rows[2].kode"}},
		{"detail save 400 reference pekerjaan", "detail-ahsp.save", 1, `{"rows":[` + row + `]}`, 400,
			[]string{"errors", "ok", "user_message"}, map[string]any{"ok": false}, []string{"source_type"}},
		{"detail save 400 reference before the body", "detail-ahsp.save", 1, `{"rows":[`, 400,
			[]string{"errors", "ok", "user_message"}, map[string]any{"ok": false}, []string{"source_type"}},
		{"detail save 400 bad JSON", "detail-ahsp.save", 2, `{"rows":[`, 400,
			[]string{"errors", "ok", "user_message"}, map[string]any{"ok": false, "user_message": "Payload JSON tidak valid"}, []string{"$"}},
		{"detail save 409", "detail-ahsp.save", 2, `{"rows":[` + row + `],"client_updated_at":"2020-01-01T00:00:00Z"}`, 409,
			[]string{"conflict", "errors", "ok", "server_updated_at", "user_message"}, map[string]any{"ok": false, "conflict": true,
				"errors": []any{map[string]any{"path": "updated_at", "message": "Data telah berubah sejak Anda membukanya"}}}, []string{"updated_at"}},
		// The kode is the project's item: L.01 is its TK, so as BHN the save
		// is refused whole with only ok, user_message and errors.
		{"detail save 400 kategori clash", "detail-ahsp.save", 2, `{"rows":[` + row + `,{"kategori":"BHN","kode":"L.01","uraian":"Pekerja","koefisien":"1"}]}`, 400,
			[]string{"errors", "ok", "user_message"}, map[string]any{"ok": false}, []string{"kategori"}},
		{"detail save 200 blank kode", "detail-ahsp.save", 2, `{"rows":[{"kategori":"TK","kode":"","uraian":"Pekerja lepas","koefisien":"1"}]}`, 200, detailKeys,
			map[string]any{"ok": true, "success": true, "saved_rows": 1.0}, nil},
		{"detail save 404 pekerjaan", "detail-ahsp.save", 99999, `{"rows":[]}`, 404,
			[]string{"errors", "ok", "user_message"}, map[string]any{"ok": false,
				"errors": []any{map[string]any{"path": "pekerjaan", "message": "Tidak ditemukan"}}}, []string{"pekerjaan"}},
		{"harga save 200 with markup", "harga-items.save", 0, `{"items":[{"id":1,"harga_satuan":"1500"}],"markup_percent":"15"}`, 200, hargaKeys,
			map[string]any{"ok": true, "updated": 1.0, "pricing_saved": true, "markup_percent": "15.00",
				"user_message": "\u2705 Berhasil menyimpan 1 perubahan harga dan profit/margin!"}, nil},
		{"harga save 200 without markup", "harga-items.save", 0, `{"items":[{"id":1,"harga_satuan":"1500"}]}`, 200, hargaKeys,
			map[string]any{"ok": true, "updated": 1.0, "pricing_saved": false, "markup_percent": "10.00"}, nil},
		{"harga save 207", "harga-items.save", 0, `{"items":[{"id":1,"harga_satuan":"1500"},{"id":99999,"harga_satuan":"1"}]}`, 207, hargaKeys,
			map[string]any{"ok": false, "updated": 1.0, "pricing_saved": false}, []string{"items[1].id"}},
		{"harga save 400 nothing saved", "harga-items.save", 0, `{"items":[{"id":99999,"harga_satuan":"1"}],"markup_percent":"-3"}`, 400, hargaKeys,
			map[string]any{"ok": false, "updated": 0.0, "pricing_saved": false, "markup_percent": "10.00"}, []string{"markup_percent", "items[0].id"}},
		{"harga save 200 unparsable client_updated_at", "harga-items.save", 0, `{"items":[{"id":1,"harga_satuan":"1500"}],"client_updated_at":"kemarin"}`, 200, hargaKeys,
			map[string]any{"ok": true, "updated": 1.0}, nil},
		{"harga save 400 unknown id", "harga-items.save", 0, `{"items":[{"id":99999,"harga_satuan":"1"}]}`, 400, hargaKeys,
			map[string]any{"ok": false, "errors": []any{map[string]any{"path": "items[0].id", "message": "Item ini tidak digunakan di Detail AHSP proyek"}}}, []string{"items[0].id"}},
		{"harga save 400 bad JSON", "harga-items.save", 0, `[{`, 400, []string{"errors", "ok", "user_message"},
			map[string]any{"ok": false}, []string{"$"}},
		{"upsert preflight", "list-pekerjaan.upsert", 0, `{"klasifikasi":[{"id":"abc","name":"K"},{"name":"L","sub":"x"}]}`, 400,
			[]string{"errors", "message", "ok", "success"}, map[string]any{"ok": false, "success": false, "message": "2 kesalahan validasi ditemukan."},
			[]string{"klasifikasi[0].id", "klasifikasi[1].sub"}},
		{"volume save 400 bad JSON", "volume-pekerjaan.save", 0, `{"items":[`, 400, []string{"errors", "ok"},
			map[string]any{"ok": false}, []string{"$"}},
		{"volume save 400 wrong shape", "volume-pekerjaan.save", 0, `{"rows":[]}`, 400, []string{"errors", "ok"},
			map[string]any{"ok": false, "errors": []any{map[string]any{"path": "$", "message": "Harus array of objek atau {items:[...]}"}}}, []string{"$"}},
		{"volume save 400 nothing sent", "volume-pekerjaan.save", 0, `{"items":[]}`, 400, []string{"decimal_places", "errors", "ok", "saved"},
			map[string]any{"ok": false, "saved": 0.0, "decimal_places": 3.0, "errors": []any{}}, nil},
	}
	for _, v := range []api.Version{api.Legacy, api.V1} {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				w := e.do(req{op: tt.op, v: v, pek: tt.pek, body: tt.body})
				require.Equal(t, tt.status, w.Code, w.Body.String())
				require.Equal(t, "application/json", w.Header().Get("Content-Type"))
				var m map[string]any
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m))
				require.Equal(t, tt.keys, slices.Sorted(maps.Keys(m)), w.Body.String())
				for k, want := range tt.want {
					require.Equal(t, want, m[k], k)
				}
				require.Equal(t, tt.paths, errorPaths(m))
			})
		}
	}
}

// The harga save hands out the project's version as project_updated_at,
// and a save sent with it is not a conflict.
func TestHargaSaveProjectUpdatedAt(t *testing.T) {
	e := newEnv(t, nil)
	list := payload(t, api.Legacy, e.do(req{op: "harga-items.list"}))
	v0 := list["meta"].(map[string]any)["project_updated_at"].(string)
	w := e.do(req{op: "harga-items.save", body: `{"items":[{"id":1,"harga_satuan":"1"}],"client_updated_at":"` + v0 + `"}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	v1 := payload(t, api.Legacy, w)["project_updated_at"].(string)
	require.Greater(t, v1, v0)
	w = e.do(req{op: "harga-items.save", body: `{"items":[{"id":1,"harga_satuan":"2"}],"client_updated_at":"` + v1 + `"}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	_, meta, err := e.st.HargaList(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, meta.UpdatedAt, payload(t, api.Legacy, w)["project_updated_at"])
}

// search-total-returned is the deployed search: total is the number of
// results returned. The correct target counts every match.
func TestSearchTotalReturned(t *testing.T) {
	for _, on := range []bool{false, true} {
		e := newEnv(t, defects.Set{"search-total-returned": on})
		m := payload(t, api.Legacy, e.do(req{op: "search-ahsp", query: "q=bata+merah&limit=2"}))
		require.Len(t, m["results"], 2)
		if on {
			require.Equal(t, 2.0, m["total"])
		} else {
			require.Equal(t, 12.0, m["total"], "every match")
		}
	}
}

// A blank kode on a TK, BHN or ALT row is stored as the project's next
// Unit-NNNN (REAL-APP.md 3.7; the numbering is the reference's: one past
// the highest the project's items use, zero-padded to 4, so a generated
// kode is never reused); LAIN keeps its kode required. The kategori may be
// sent as its label.
func TestDetailSaveUnitKode(t *testing.T) {
	e := newEnv(t, nil)
	kodes := func(pid, pek int64) []string {
		d, err := e.st.Detail(context.Background(), pid, pek)
		require.NoError(t, err)
		var out []string
		for _, it := range d.Items {
			out = append(out, it.Kategori+" "+it.Kode)
		}
		return out
	}
	w := e.do(req{op: "detail-ahsp.save", pek: 2, body: `{"rows":[
		{"kategori":"TK","kode":"","uraian":"Pekerja lepas","koefisien":"1"},
		{"kategori":"Bahan","kode":" ","uraian":"Pasir urug","koefisien":"2"},
		{"kategori":"ALT","uraian":"Stamper","koefisien":"0.5"},
		{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"0.75"}]}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	// Numbered in row order; listed by kategori, then id (REAL-APP.md 3.6).
	require.Equal(t, []string{"ALT Unit-0003", "BHN Unit-0002", "TK Unit-0001", "TK L.01"}, kodes(1, 2))
	// Saved again without them: the items stay in the price list, so the
	// next blank kode goes on from there, in any pekerjaan of the project.
	w = e.do(req{op: "detail-ahsp.save", pek: 4, body: `{"rows":[{"kategori":"BHN","kode":"","uraian":"Semen","koefisien":"1"}]}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	require.Equal(t, []string{"BHN Unit-0004"}, kodes(1, 4))
	// Another project has its own sequence.
	w = e.do(req{op: "detail-ahsp.save", user: 2, project: 2, pek: 6, body: `{"rows":[{"kategori":"ALT","kode":"","uraian":"Molen","koefisien":"1"}]}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	require.Equal(t, []string{"ALT Unit-0001"}, kodes(2, 6))
	// A generated kode keeps its kategori: sent back as another, it clashes.
	w = e.do(req{op: "detail-ahsp.save", pek: 2, body: `{"rows":[{"kategori":"TK","kode":"Unit-0002","uraian":"Pasir urug","koefisien":"2"}]}`})
	require.Equal(t, 400, w.Code, w.Body.String())
	m := payload(t, api.Legacy, w)
	require.Equal(t, []string{"errors", "ok", "user_message"}, slices.Sorted(maps.Keys(m)))
	require.Equal(t, []any{map[string]any{"path": "kategori",
		"message": `Kode "Unit-0002" sudah terdaftar di proyek ini dengan kategori BHN; tidak dapat dipakai untuk TK`}}, m["errors"])
	require.Contains(t, m["user_message"], "Kategori bentrok")
	// LAIN needs its kode.
	w = e.do(req{op: "detail-ahsp.save", pek: 2, body: `{"rows":[{"kategori":"LAIN","kode":"","uraian":"Lain","koefisien":"1"}]}`})
	require.Equal(t, 400, w.Code, w.Body.String())
	require.Equal(t, []string{"rows[0].kode"}, errorPaths(payload(t, api.Legacy, w)))
}

// The kategori-clash 400 as the target sends it passes the v1 schema, and
// its twins in the other 400 layouts fail it: the every-row-refused keys
// half there, no user_message, or no error.
func TestKategoriClashShape(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(req{op: "detail-ahsp.save", pek: 2, body: `{"rows":[{"kategori":"ALT","kode":"L.04","uraian":"Mandor","koefisien":"1"}]}`})
	require.Equal(t, 400, w.Code, w.Body.String())
	set, err := loadContracts()
	require.NoError(t, err)
	entry, ok := set.Response("v1", "detail-ahsp.save", 400)
	require.True(t, ok)
	var m map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m))
	require.Empty(t, entry.ValidateBody(w.Body.Bytes()))
	for name, change := range map[string]func(map[string]any){
		"with success alone":   func(m map[string]any) { m["success"] = false },
		"with saved_rows":      func(m map[string]any) { m["saved_rows"] = 0 },
		"without user_message": func(m map[string]any) { delete(m, "user_message") },
		"with no error":        func(m map[string]any) { m["errors"] = []any{} },
		"with a message key":   func(m map[string]any) { m["message"] = m["user_message"] },
	} {
		twin := maps.Clone(m)
		change(twin)
		b, err := json.Marshal(twin)
		require.NoError(t, err)
		require.NotEmpty(t, entry.ValidateBody(b), "%s must fail the schema: %s", name, b)
	}
}
