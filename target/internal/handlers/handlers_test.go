package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// env is a seeded database (users 1 and 2, one project each: project 1 is
// user 1's) with handlers over it.
type env struct {
	t  testing.TB
	st *store.Store
	h  *Handlers
	d  defects.Set
}

// seededDB is the bytes of a freshly seeded database file: copying it is
// much faster than seeding (fsyncs) for each of the many table rows.
var seededDB = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "handlers-seed-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ahsp.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := st.Seed(ctx, store.SeedSpec{Users: 2, Projects: 1, Password: "pw"}); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil { // the last close checkpoints the WAL into the file
		return nil, err
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return nil, errors.New("seeded database left a WAL file behind")
	}
	return os.ReadFile(path)
})

func newEnv(t testing.TB, d defects.Set) *env {
	t.Helper()
	ctx := context.Background()
	img, err := seededDB()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "ahsp.db")
	require.NoError(t, os.WriteFile(path, img, 0o600))
	st, err := store.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	h := New(st, d)
	h.SetLogger(discardLogger())
	return &env{t: t, st: st, h: h, d: d}
}

type req struct {
	op      string
	v       api.Version
	user    int64
	project int64
	pek     int64
	query   string
	body    string
	method  string
	header  map[string]string
	// cacheDown is the server's word that the cache did not answer.
	cacheDown bool
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	op, ok := api.Lookup(r.op)
	require.True(e.t, ok, r.op)
	if r.user == 0 {
		r.user = 1
	}
	if r.project == 0 {
		r.project = 1
	}
	if r.v == "" {
		r.v = api.Legacy
	}
	method := op.Method
	if r.method != "" {
		method = r.method
	}
	target := op.URLPath(r.v, int(r.project), int(r.pek))
	if r.query != "" {
		target += "?" + r.query
	}
	hr := httptest.NewRequest(method, target, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.Serve(w, hr, op, r.v, Params{UserID: r.user, ProjectID: r.project, PekerjaanID: r.pek, CacheDown: r.cacheDown})
	if !e.d.Has("v2-drift") {
		require.Empty(e.t, contractViolations(e.t, r.v, r.op, w), "%s %s %d: %s", r.v, r.op, w.Code, w.Body.String())
	}
	return w
}

// payload decodes a JSON answer and returns the operation's payload: the
// top level for legacy/v1, data (or details on errors) for v2, after
// checking the envelope.
func payload(t testing.TB, v api.Version, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, "application/json", w.Header().Get("Content-Type"), w.Body.String())
	var m map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), w.Body.String())
	if v != api.V2 {
		require.Contains(t, m, "ok")
		switch {
		case w.Code >= 300 || w.Code == http.StatusMultiStatus:
			require.Equal(t, false, m["ok"], w.Body.String())
		case !hasErrors(m):
			require.Equal(t, true, m["ok"], w.Body.String())
		}
		return m
	}
	require.NotContains(t, m, "ok")
	require.IsType(t, "", m["message"])
	if w.Code < 400 {
		require.Equal(t, true, m["success"])
		require.IsType(t, map[string]any{}, m["data"])
		return m["data"].(map[string]any)
	}
	require.Equal(t, false, m["success"])
	require.IsType(t, "", m["code"])
	require.IsType(t, map[string]any{}, m["details"])
	d := m["details"].(map[string]any)
	d["_code"] = m["code"]
	return d
}

func hasErrors(m map[string]any) bool {
	l, _ := m["errors"].([]any)
	return len(l) > 0
}

func errorPaths(m map[string]any) []string {
	var out []string
	l, _ := m["errors"].([]any)
	for _, e := range l {
		out = append(out, e.(map[string]any)["path"].(string))
	}
	return out
}

func TestVersionHeaders(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			t.Run(string(v)+"/"+op.Name, func(t *testing.T) {
				body := ""
				if op.Body {
					body = "{}"
				}
				w := e.do(req{op: op.Name, v: v, pek: 2, body: body})
				require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
				dep, sun, link := w.Header().Get("Deprecation"), w.Header().Get("Sunset"), strings.Join(w.Header().Values("Link"), ", ")
				if v == api.V2 {
					require.Empty(t, dep)
					require.Empty(t, sun)
					require.Empty(t, link)
					return
				}
				require.Regexp(t, `^@\d+$`, dep)
				st, err := http.ParseTime(sun)
				require.NoError(t, err)
				require.True(t, st.After(DeprecatedAt), "sunset after deprecation")
				require.Contains(t, link, `rel="deprecation"`)
				require.Contains(t, link, api.ProjectPrefix(api.V2, 1))
			})
		}
	}
}

// The server sets the deprecation headers before it may answer early, then
// Serve sets them again: the second call changes nothing.
func TestSetDeprecationHeadersIsIdempotent(t *testing.T) {
	op, ok := api.Lookup("detail-ahsp.get")
	require.True(t, ok)
	for _, v := range api.Versions {
		t.Run(string(v), func(t *testing.T) {
			once := http.Header{}
			SetDeprecationHeaders(once, op, v, 7, 9)
			twice := once.Clone()
			SetDeprecationHeaders(twice, op, v, 7, 9)
			require.Equal(t, once, twice)
			if v == api.V2 {
				require.Empty(t, once)
				return
			}
			require.Equal(t, []string{
				`<` + DeprecationDoc + `>; rel="deprecation"; type="text/html"`,
				`<` + op.URLPath(api.V2, 7, 9) + `>; rel="successor-version"`,
			}, once.Values("Link"))
			require.Equal(t, []string{"@1767225600"}, once.Values("Deprecation"))
			require.Equal(t, []string{"Thu, 01 Jul 2027 00:00:00 GMT"}, once.Values("Sunset"))
		})
	}
}

func TestForeignAndMissingProjectIs404HTML(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			for _, tc := range []struct {
				name          string
				user, project int64
			}{{"foreign", 2, 1}, {"missing", 1, 999}} {
				t.Run(string(v)+"/"+op.Name+"/"+tc.name, func(t *testing.T) {
					w := e.do(req{op: op.Name, v: v, user: tc.user, project: tc.project, pek: 2, body: `{"klasifikasi":[]}`})
					require.Equal(t, http.StatusNotFound, w.Code)
					require.Contains(t, w.Header().Get("Content-Type"), "text/html")
					require.Contains(t, w.Body.String(), "Not Found")
				})
			}
		}
	}
	// The foreign write changed nothing.
	tr, err := e.st.Tree(context.Background(), 1, "")
	require.NoError(t, err)
	require.Len(t, tr.Klasifikasi, 1)
}

func TestMalformedJSON(t *testing.T) {
	e := newEnv(t, nil)
	bodies := []string{`{"klasifikasi":`, `not json`, ``, `{} {}`, `[1,]`}
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			if !op.Body {
				continue
			}
			for _, b := range bodies {
				t.Run(string(v)+"/"+op.Name+"/"+b, func(t *testing.T) {
					w := e.do(req{op: op.Name, v: v, pek: 2, body: b})
					require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
					m := payload(t, v, w)
					require.Equal(t, []string{"$"}, errorPaths(m))
					if v == api.V2 {
						require.Equal(t, CodeValidation, m["_code"])
					}
				})
			}
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range api.Versions {
		op, _ := api.Lookup("list-pekerjaan.save")
		hr := httptest.NewRequest(http.MethodPost, op.URLPath(v, 1, 0), strings.NewReader(`{"klasifikasi":[`+strings.Repeat(`{"name":"x"},`, 100)+`]}`))
		w := httptest.NewRecorder()
		hr.Body = http.MaxBytesReader(w, hr.Body, 64)
		e.h.Serve(w, hr, op, v, Params{UserID: 1, ProjectID: 1})
		require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		var m map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m))
		require.Equal(t, map[string]any{"success": false, "code": CodeTooLarge, "message": "Ukuran permintaan melebihi batas 64 byte."}, m)
	}
}

func TestTreeGet(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range api.Versions {
		t.Run(string(v), func(t *testing.T) {
			w := e.do(req{op: "list-pekerjaan.tree", v: v})
			require.Equal(t, http.StatusOK, w.Code)
			m := payload(t, v, w)
			require.NotContains(t, m, "search_active")
			kl := m["klasifikasi"].([]any)
			require.Len(t, kl, 1)
			subs := kl[0].(map[string]any)["sub"].([]any)
			require.Len(t, subs, 2)
			p := subs[0].(map[string]any)["pekerjaan"].([]any)[0].(map[string]any)
			for _, k := range []string{"id", "source_type", "ordering_index", "snapshot_kode", "snapshot_uraian", "snapshot_satuan", "ref_id", "budgeted_cost"} {
				require.Contains(t, p, k)
			}

			w = e.do(req{op: "list-pekerjaan.tree", v: v, query: "q=bouwplank"})
			m = payload(t, v, w)
			require.Equal(t, true, m["search_active"])
			require.Equal(t, float64(1), m["match_count"])
			w = e.do(req{op: "list-pekerjaan.tree", v: v, query: "q=zzz-nothing"})
			m = payload(t, v, w)
			require.Equal(t, float64(0), m["match_count"])
			require.Empty(t, m["klasifikasi"])
		})
	}
}

// treeBody adds a klasifikasi > sub > 3 pekerjaan at ordering indexes the
// seeded project does not use (a save is append-only; taken ones fail).
const treeBody = `{"klasifikasi":[{"name":"Pekerjaan Persiapan","ordering_index":5,"temp_id":"k1","sub":[
 {"name":"Persiapan Lahan","ordering_index":1,"temp_id":"s1","pekerjaan":[
   {"source_type":"ref","ref_id":1,"ordering_index":11,"temp_id":"p1"},
   {"source_type":"custom","snapshot_uraian":"Mobilisasi alat","snapshot_satuan":"ls","ordering_index":12,"temp_id":"p2"},
   {"source_type":"ref_modified","ref_id":3,"snapshot_uraian":"Galian khusus","ordering_index":13,"temp_id":"p3"}]}]}]}`

// The save is append-only (REAL-APP.md 3.1): the seeded tree stays, the
// body's rows are added, an ordering_index the project has fails its row,
// and pekerjaan that all failed leave nothing behind (but 207 with the
// groups committed under save-keeps-empty-groups, as deployed).
func TestSaveTree(t *testing.T) {
	pekTaken := strings.NewReplacer(`"ordering_index":11,`, `"ordering_index":1,`, `"ordering_index":12,`, `"ordering_index":2,`, `"ordering_index":13,`, `"ordering_index":3,`).Replace(treeBody)
	unique := func(what string) string {
		return "Gagal membuat " + what + ": UNIQUE constraint failed: detail_project_" + what + ".project_id, detail_project_" + what + ".ordering_index"
	}
	tests := []struct {
		name      string
		defect    string
		body      string
		status    int
		errPaths  []string
		pekerjaan []string // temp ids expected in id_map.pekerjaan
		groups    int      // klasifikasi+sub rows added
		message   string   // the first error's message, when set
	}{
		{"ok", "", treeBody, 200, nil, []string{"p1", "p2", "p3"}, 2, ""},
		{"partial bad ref", "", strings.Replace(treeBody, `"ref_id":3`, `"ref_id":999999`, 1), 207,
			[]string{"klasifikasi[0].sub[0].pekerjaan[2].ref_id"}, []string{"p1", "p2"}, 2, ""},
		{"partial bad types", "", strings.Replace(treeBody, `"ordering_index":12,`, `"ordering_index":"dua",`, 1), 207,
			[]string{"klasifikasi[0].sub[0].pekerjaan[1].ordering_index"}, []string{"p1", "p3"}, 2, ""},
		{"partial bad source", "", strings.Replace(treeBody, `"source_type":"custom"`, `"source_type":"magic"`, 1), 207,
			[]string{"klasifikasi[0].sub[0].pekerjaan[1].source_type"}, []string{"p1", "p3"}, 2, ""},
		{"nothing valid", "", `{"klasifikasi":[{"name":""},{"name":"  "}]}`, 400,
			[]string{"klasifikasi[0].name", "klasifikasi[1].name"}, nil, 0, ""},
		{"not a list", "", `{"klasifikasi":{}}`, 400, []string{"klasifikasi"}, nil, 0, ""},
		{"missing key", "", `{}`, 400, []string{"klasifikasi"}, nil, 0, ""},
		{"empty list adds nothing", "", `{"klasifikasi":[]}`, 200, nil, []string{}, 0, ""},
		{"klasifikasi ordering taken", "", strings.Replace(treeBody, `"ordering_index":5,`, `"ordering_index":1,`, 1), 400,
			[]string{"klasifikasi[0]"}, nil, 0, unique("klasifikasi")},
		{"default ordering is the list position", "", `{"klasifikasi":[{"name":"A"},{"name":"B"},{"name":"C"}]}`, 207,
			[]string{"klasifikasi[1]"}, []string{}, 2, unique("klasifikasi")}, // 0 and 2 are free, 1 is seeded
		{"every pekerjaan ordering taken", "", pekTaken, 400,
			[]string{"klasifikasi[0].sub[0].pekerjaan[0]", "klasifikasi[0].sub[0].pekerjaan[1]", "klasifikasi[0].sub[0].pekerjaan[2]"}, nil, 0, unique("pekerjaan")},
		{"every pekerjaan failed, groups kept", "save-keeps-empty-groups", pekTaken, 207,
			[]string{"klasifikasi[0].sub[0].pekerjaan[0]", "klasifikasi[0].sub[0].pekerjaan[1]", "klasifikasi[0].sub[0].pekerjaan[2]"}, []string{}, 2, unique("pekerjaan")},
	}
	for _, v := range api.Versions {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.name, func(t *testing.T) {
				d := defects.Set{}
				if tt.defect != "" {
					d[tt.defect] = true
				}
				e := newEnv(t, d)
				before, err := e.st.Tree(context.Background(), 1, "")
				require.NoError(t, err)
				w := e.do(req{op: "list-pekerjaan.save", v: v, body: tt.body})
				require.Equal(t, tt.status, w.Code, w.Body.String())
				m := payload(t, v, w)
				require.Equal(t, tt.errPaths, errorPaths(m))
				if tt.message != "" {
					require.Equal(t, tt.message, m["errors"].([]any)[0].(map[string]any)["message"])
				}
				after, err := e.st.Tree(context.Background(), 1, "")
				require.NoError(t, err)
				if tt.status == 400 {
					require.Equal(t, before, after, "a rejected save changes nothing")
					// Rows tried, none created: the empty id_map, as deployed;
					// a body without a list of rows has none.
					_, hasIDMap := m["id_map"]
					require.Equal(t, strings.Contains(tt.body, `"klasifikasi":[{`), hasIDMap, "id_map in %v", m)
					return
				}
				// Append-only: every row of before is still there, unchanged.
				for _, k := range before.Klasifikasi {
					require.Contains(t, after.Klasifikasi, k, "nothing is deleted or changed")
				}
				old, added := map[int64]bool{}, map[int64]bool{}
				groups := 0
				for _, k := range before.Klasifikasi {
					for _, s := range k.Sub {
						for _, p := range s.Pekerjaan {
							old[p.ID] = true
						}
					}
				}
				for _, k := range after.Klasifikasi {
					if !slices.ContainsFunc(before.Klasifikasi, func(b store.TreeKlasifikasi) bool { return b.ID == k.ID }) {
						groups += 1 + len(k.Sub)
					} else {
						require.Contains(t, before.Klasifikasi, k, "an existing klasifikasi is left as it was")
					}
					for _, s := range k.Sub {
						for _, p := range s.Pekerjaan {
							if !old[p.ID] {
								added[p.ID] = true
							}
						}
					}
				}
				require.Equal(t, tt.groups, groups)
				idm := m["id_map"].(map[string]any)["pekerjaan"].(map[string]any)
				require.Len(t, idm, len(tt.pekerjaan))
				require.Len(t, added, len(tt.pekerjaan), "the tree gained exactly the reported rows")
				for _, temp := range tt.pekerjaan {
					require.True(t, added[int64(idm[temp].(float64))], "id_map.%s points at a committed row", temp)
				}
				if v != api.V2 && tt.status == 207 {
					require.NotContains(t, m, "summary", "the deployed 207 has no summary")
					return
				}
				require.Equal(t, float64(len(tt.pekerjaan)), m["summary"].(map[string]any)["pekerjaan"])
			})
		}
	}
	// Rows without temp_id are keyed as deployed: k0, s0_0, p0_0_0.
	e := newEnv(t, nil)
	w := e.do(req{op: "list-pekerjaan.save", body: `{"klasifikasi":[{"name":"A","ordering_index":70,"sub":[{"name":"S","pekerjaan":[{"source_type":"custom","snapshot_uraian":"U","ordering_index":70}]}]}]}`})
	require.Equal(t, 200, w.Code, w.Body.String())
	idm := payload(t, api.Legacy, w)["id_map"].(map[string]any)
	require.Contains(t, idm["klasifikasi"], "k0")
	require.Contains(t, idm["sub"], "s0_0")
	require.Contains(t, idm["pekerjaan"], "p0_0_0")
	// A resent body is refused: its ordering indexes are taken now.
	e = newEnv(t, nil)
	require.Equal(t, 200, e.do(req{op: "list-pekerjaan.save", body: treeBody}).Code)
	w = e.do(req{op: "list-pekerjaan.save", body: treeBody})
	require.Equal(t, 400, w.Code, w.Body.String())
}

func TestSaveTreeClonesReferenceAndNumbersCustom(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(req{op: "list-pekerjaan.save", body: treeBody})
	require.Equal(t, 200, w.Code, w.Body.String())
	tr, err := e.st.Tree(context.Background(), 1, "")
	require.NoError(t, err)
	ps := tr.Klasifikasi[len(tr.Klasifikasi)-1].Sub[0].Pekerjaan // appended after the seeded klasifikasi
	require.Equal(t, "2.2.1.1", ps[0].SnapshotKode)
	require.Equal(t, "Galian tanah biasa sedalam 1 m", ps[0].SnapshotUraian)
	require.Equal(t, "CUST-0003", ps[1].SnapshotKode, "seed used CUST-0001 and 0002")
	require.Equal(t, "Galian khusus", ps[2].SnapshotUraian)
	d, err := e.st.Detail(context.Background(), 1, ps[0].ID)
	require.NoError(t, err)
	require.NotEmpty(t, d.Items, "reference rincian cloned")
	require.True(t, d.ReadOnly)
	require.Equal(t, "0.750000", d.Items[0].Koefisien)
}

func TestUpsertTree(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tr, err := e.st.Tree(ctx, 1, "")
	require.NoError(t, err)
	k := tr.Klasifikasi[0]
	s0, s1 := k.Sub[0], k.Sub[1]
	refP, custP := s0.Pekerjaan[0], s0.Pekerjaan[1]
	body := map[string]any{"klasifikasi": []any{map[string]any{
		"id": k.ID, "name": "Struktur (ubah)", "ordering_index": 1,
		"sub": []any{map[string]any{"id": s0.ID, "name": s0.Name, "ordering_index": 1, "pekerjaan": []any{
			// ref -> another reference with a different unit: reload + volume reset.
			map[string]any{"id": refP.ID, "source_type": "ref", "ref_id": 150, "ordering_index": 1},
			map[string]any{"id": custP.ID, "source_type": "custom", "snapshot_uraian": "Pembersihan lapangan", "snapshot_satuan": custP.SnapshotSatuan, "ordering_index": 2},
			map[string]any{"source_type": "custom", "snapshot_uraian": "Baru", "temp_id": "n1", "ordering_index": 3},
			map[string]any{"id": 999999, "source_type": "custom", "snapshot_uraian": "Hilang"},
		}}},
	}}}
	raw, _ := json.Marshal(body)
	w := e.do(req{op: "list-pekerjaan.upsert", body: string(raw)})
	require.Equal(t, http.StatusMultiStatus, w.Code, w.Body.String())
	m := payload(t, api.Legacy, w)
	require.Equal(t, []string{"klasifikasi[0].sub[0].pekerjaan[3].id"}, errorPaths(m))
	flags := m["change_flags"].(map[string]any)
	require.Equal(t, []any{float64(refP.ID)}, flags["reload_job_ids"])
	entries, _ := store.Catalog()
	if entries[149].Satuan != refP.SnapshotSatuan {
		require.Equal(t, []any{float64(refP.ID)}, flags["volume_reset_job_ids"])
	}
	require.NotContains(t, m, "id_map", "the deployed upsert answers no id_map")
	sum := m["summary"].(map[string]any)
	require.NotContains(t, sum, "deleted_sub", "nor deleted_* counts")
	w2 := e.do(req{op: "list-pekerjaan.tree", v: api.V2})
	require.Equal(t, http.StatusOK, w2.Code)

	after, err := e.st.Tree(ctx, 1, "")
	require.NoError(t, err)
	require.Equal(t, "Struktur (ubah)", after.Klasifikasi[0].Name)
	require.Len(t, after.Klasifikasi[0].Sub, 1)
	ps := after.Klasifikasi[0].Sub[0].Pekerjaan
	require.Len(t, ps, 3)
	require.Equal(t, entries[149].Kode, ps[0].SnapshotKode)
	require.Equal(t, custP.SnapshotKode, ps[1].SnapshotKode, "custom keeps its code")
	require.Equal(t, "CUST-0003", ps[2].SnapshotKode)
	require.NotContains(t, []int64{ps[0].ID, ps[1].ID, ps[2].ID}, s1.Pekerjaan[0].ID)
	require.NotContains(t, m, "id_map")
}

func TestUpsertPreflight(t *testing.T) {
	tests := []struct {
		name, body string
		paths      []string
	}{
		{"bad id type", `{"klasifikasi":[{"id":"abc","name":"K"}]}`, []string{"klasifikasi[0].id"}},
		{"duplicate id", `{"klasifikasi":[{"id":1,"name":"K"},{"id":1,"name":"L"}]}`, []string{"klasifikasi[1].id"}},
		{"sub not array", `{"klasifikasi":[{"name":"K","sub":"x"}]}`, []string{"klasifikasi[0].sub"}},
	}
	for _, v := range api.Versions {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				before, _ := e.st.Tree(context.Background(), 1, "")
				w := e.do(req{op: "list-pekerjaan.upsert", v: v, body: tt.body})
				require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
				m := payload(t, v, w)
				require.Equal(t, tt.paths, errorPaths(m))
				if v != api.V2 {
					require.Equal(t, false, m["success"])
					require.NotEmpty(t, m["message"])
				}
				after, _ := e.st.Tree(context.Background(), 1, "")
				require.Equal(t, before, after)
			})
		}
	}
}

func TestVolumes(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		saved  float64
		paths  []string
		want   map[float64]string // pekerjaan id -> quantity after
	}{
		{"list form", `[{"pekerjaan_id":1,"quantity":"12,5"}]`, 200, 1, nil, map[float64]string{1: "12.500"}},
		{"items form", `{"items":[{"pekerjaan_id":1,"quantity":"1.234,56"},{"pekerjaan_id":2,"quantity":12.5}]}`, 200, 2, nil,
			map[float64]string{1: "1234.560", 2: "12.500"}},
		{"volumes form, rounding", `{"volumes":[{"pekerjaan_id":3,"quantity":"0,0005"}]}`, 200, 1, nil, map[float64]string{3: "0.001"}},
		{"partial", `{"items":[{"pekerjaan_id":1,"quantity":"7"},{"pekerjaan_id":1000,"quantity":"1"},{"pekerjaan_id":2,"quantity":"abc"},{"pekerjaan_id":3,"quantity":"-1"}]}`,
			200, 1, []string{"items[1].pekerjaan_id", "items[2].quantity", "items[3].quantity"}, map[float64]string{1: "7.000"}},
		{"none saved", `{"items":[{"pekerjaan_id":1000,"quantity":"1"},{"quantity":"1"}]}`, 400, 0,
			[]string{"items[1].pekerjaan_id", "items[0].pekerjaan_id"}, nil},
		{"empty", `[]`, 400, 0, []string{"items"}, nil},
		{"wrong shape", `{"rows":[]}`, 400, -1, []string{"$"}, nil},
		{"items not a list", `{"items":{"pekerjaan_id":1}}`, 400, -1, []string{"$"}, nil},
		{"foreign pekerjaan", `[{"pekerjaan_id":5,"quantity":"1"}]`, 400, 0, []string{"[0].pekerjaan_id"}, nil},
	}
	for _, v := range api.Versions {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				w := e.do(req{op: "volume-pekerjaan.save", v: v, body: tt.body})
				require.Equal(t, tt.status, w.Code, w.Body.String())
				m := payload(t, v, w)
				paths := tt.paths
				switch {
				case tt.saved < 0:
					// A body of the wrong shape: no saved, no decimal_places (REAL-APP.md 3.4).
					require.NotContains(t, m, "saved")
					require.NotContains(t, m, "decimal_places")
				case tt.name == "empty" && v != api.V2:
					// Nothing sent: the deployed app's 400 lists no error.
					paths = []string{}
					require.Equal(t, []any{}, m["errors"])
					fallthrough
				default:
					require.Equal(t, tt.saved, m["saved"])
					require.Equal(t, float64(3), m["decimal_places"])
				}
				require.ElementsMatch(t, paths, errorPaths(m))
				if v != api.V2 && tt.status == 200 {
					require.Equal(t, true, m["ok"], "the real app says ok as soon as one row saved")
				}
				w = e.do(req{op: "volume-pekerjaan.list", v: v})
				require.Equal(t, 200, w.Code)
				lm := payload(t, v, w)
				got := map[float64]string{}
				for _, it := range lm["items"].([]any) {
					x := it.(map[string]any)
					got[x["pekerjaan_id"].(float64)] = x["quantity"].(string)
				}
				for id, q := range tt.want {
					require.Equal(t, q, got[id])
				}
				require.Len(t, got, 4, "seeded volumes of project 1")
			})
		}
	}
}

// TestVolumeListTreeOrder: every pekerjaan in tree order, "0.000" without a
// volume (REAL-APP.md 3.5), in every family and whatever the defects (the
// as-deployed profile's included).
func TestVolumeListTreeOrder(t *testing.T) {
	deployed, err := defects.Parse(defects.Profiles["as-deployed"].Defects)
	require.NoError(t, err)
	for name, d := range map[string]defects.Set{"correct": {}, "as-deployed": deployed} {
		e := newEnv(t, d)
		w := e.do(req{op: "list-pekerjaan.save", body: `{"klasifikasi":[{"name":"Awal","ordering_index":0,"sub":[{"name":"S","pekerjaan":[` +
			`{"source_type":"custom","snapshot_uraian":"Baru","ordering_index":950,"temp_id":"p"}]}]}]}`})
		require.Equal(t, 200, w.Code, w.Body.String())
		for _, v := range api.Versions {
			if v != api.Legacy && d.Has("no-api-versions") {
				continue
			}
			t.Run(string(v)+"/"+name, func(t *testing.T) {
				tree := payload(t, v, e.do(req{op: "list-pekerjaan.tree", v: v}))
				var want []float64
				for _, k := range tree["klasifikasi"].([]any) {
					for _, sb := range k.(map[string]any)["sub"].([]any) {
						for _, p := range sb.(map[string]any)["pekerjaan"].([]any) {
							want = append(want, p.(map[string]any)["id"].(float64))
						}
					}
				}
				w := e.do(req{op: "volume-pekerjaan.list", v: v})
				require.Equal(t, 200, w.Code)
				var got []float64
				var qs []string
				for _, it := range payload(t, v, w)["items"].([]any) {
					x := it.(map[string]any)
					got, qs = append(got, x["pekerjaan_id"].(float64)), append(qs, x["quantity"].(string))
				}
				require.Equal(t, want, got, "every pekerjaan in tree order")
				require.Len(t, got, 5)
				require.Equal(t, "0.000", qs[0], "the new pekerjaan (first in the tree) has no volume")
				require.Greater(t, got[0], got[1], "tree order, not id order")
			})
		}
	}
}

func TestDetailGet(t *testing.T) {
	for _, drift := range []bool{false, true} {
		d := defects.Set{}
		if drift {
			d["v2-drift"] = true
		}
		e := newEnv(t, d)
		for _, v := range api.Versions {
			t.Run(string(v)+map[bool]string{true: "/drift"}[drift], func(t *testing.T) {
				w := e.do(req{op: "detail-ahsp.get", v: v, pek: 2})
				require.Equal(t, 200, w.Code)
				m := payload(t, v, w)
				p := m["pekerjaan"].(map[string]any)
				for _, k := range []string{"id", "kode", "uraian", "satuan", "source_type", "detail_ready", "budgeted_cost", "updated_at"} {
					require.Contains(t, p, k)
				}
				require.Equal(t, "custom", p["source_type"])
				if v == api.V2 {
					require.Equal(t, "2000000.00", p["budgeted_cost"])
				} else {
					require.Equal(t, 2000000.0, p["budgeted_cost"], "the deployed app sends a float")
				}
				meta := m["meta"].(map[string]any)
				require.Equal(t, false, meta["read_only"])
				require.Len(t, meta["kategori_opts"], 4)
				it := m["items"].([]any)[0].(map[string]any)
				require.Equal(t, "150000.00", it["harga_satuan"])
				if drift && v == api.V2 {
					require.Equal(t, "0.750000", it["coefficient"])
					require.NotContains(t, it, "koefisien")
					require.NotContains(t, it, "satuan")
					return
				}
				require.Equal(t, "0.750000", it["koefisien"])
				require.Equal(t, "OH", it["satuan"])
				for _, k := range []string{"id", "kategori", "kode", "uraian", "ref_ahsp_id", "ref_pekerjaan_id"} {
					require.Contains(t, it, k)
				}
			})
		}
		w := e.do(req{op: "detail-ahsp.get", pek: 1})
		require.Equal(t, true, payload(t, api.Legacy, w)["meta"].(map[string]any)["read_only"])
	}
}

func TestDetailMissingPekerjaan(t *testing.T) {
	e := newEnv(t, nil)
	for _, op := range []string{"detail-ahsp.get", "detail-ahsp.save"} {
		// pekerjaan 5 exists but belongs to user 2's project.
		for _, pek := range []int64{5, 99999} {
			w := e.do(req{op: op, v: api.V1, pek: pek, body: `{"rows":[]}`})
			require.Equal(t, 404, w.Code)
			if op == "detail-ahsp.get" {
				require.Contains(t, w.Body.String(), "Not Found")
			} else {
				// The deployed save answers JSON (REAL-APP.md 3.7), even before
				// it reads a body it could not parse.
				m := payload(t, api.V1, w)
				require.Equal(t, []string{"pekerjaan"}, errorPaths(m))
				require.Equal(t, "Tidak ditemukan", m["errors"].([]any)[0].(map[string]any)["message"])
				require.Contains(t, m["user_message"], "Pekerjaan tidak ditemukan.")
				w = e.do(req{op: op, v: api.V1, pek: pek, body: `{"rows":[`})
				require.Equal(t, 404, w.Code, w.Body.String())
			}
			w = e.do(req{op: op, v: api.V2, pek: pek, body: `{"rows":[]}`})
			require.Equal(t, 404, w.Code)
			require.Equal(t, CodeNotFound, payload(t, api.V2, w)["_code"])
		}
	}
}

func TestDetailSave(t *testing.T) {
	row := `{"kategori":"TK","kode":"L.01","uraian":"Pekerja","satuan":"OH","koefisien":"0,8"}`
	tests := []struct {
		name   string
		pek    int64
		body   func(updatedAt string) string
		status int
		paths  []string
		saved  float64
	}{
		{"ok", 2, func(u string) string { return `{"rows":[` + row + `],"client_updated_at":"` + u + `"}` }, 200, nil, 1},
		{"ok without lock", 2, func(string) string { return `{"rows":[` + row + `]}` }, 200, nil, 1},
		{"partial", 2, func(string) string {
			return `{"rows":[` + row + `,{"kategori":"XX","kode":"Z","uraian":"Z","koefisien":"1"},` + row + `]}`
		}, 207, []string{"rows[1].kategori", "rows[2].kode"}, 1},
		// A blank kode is generated on TK/BHN/ALT rows only: LAIN needs one.
		{"none valid", 2, func(string) string { return `{"rows":[{"kategori":"LAIN","kode":"","uraian":"x","koefisien":"-1"}]}` }, 400,
			[]string{"rows[0].kode", "rows[0].koefisien"}, 0},
		// L.01 is the project's TK item: as BHN it clashes, nothing is saved.
		{"kategori clash", 2, func(string) string {
			return `{"rows":[{"kategori":"BHN","kode":"L.01","uraian":"Pekerja","koefisien":"1"}]}`
		}, 400, []string{"kategori"}, 0},
		{"read-only ref", 1, func(string) string { return `{"rows":[` + row + `]}` }, 400, []string{"source_type"}, 0},
		{"stale", 2, func(u string) string { return `{"rows":[` + row + `],"client_updated_at":"2020-01-01T00:00:00Z"}` }, 409,
			[]string{"updated_at"}, 0},
		// An unparsable client_updated_at is ignored, as deployed (REAL-APP.md 3.7).
		{"bad time ignored", 2, func(string) string { return `{"rows":[` + row + `],"client_updated_at":"kemarin"}` }, 200, nil, 1},
		{"time not a string", 2, func(string) string { return `{"rows":[` + row + `],"client_updated_at":5}` }, 207,
			[]string{"client_updated_at"}, 1},
		{"rows missing", 2, func(string) string { return `{}` }, 400, []string{"rows"}, 0},
		{"clear all", 2, func(string) string { return `{"rows":[]}` }, 200, nil, 0},
	}
	for _, v := range api.Versions {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				before, err := e.st.Detail(context.Background(), 1, tt.pek)
				require.NoError(t, err)
				w := e.do(req{op: "detail-ahsp.save", v: v, pek: tt.pek, body: tt.body(before.Pekerjaan.UpdatedAt)})
				require.Equal(t, tt.status, w.Code, w.Body.String())
				m := payload(t, v, w)
				require.Equal(t, tt.paths, errorPaths(m))
				after, err := e.st.Detail(context.Background(), 1, tt.pek)
				require.NoError(t, err)
				switch tt.status {
				case 409:
					require.Equal(t, true, m["conflict"])
					require.Equal(t, before.Pekerjaan.UpdatedAt, m["server_updated_at"])
					require.NotEmpty(t, m["user_message"])
					if v == api.V2 {
						require.Equal(t, CodeConflict, m["_code"])
					}
					fallthrough
				case 400:
					require.Equal(t, before, after, "rejected save changes nothing")
					return
				}
				require.Equal(t, tt.saved, m["saved_rows"])
				require.NotEmpty(t, m["user_message"])
				p := m["pekerjaan"].(map[string]any)
				require.Equal(t, after.Pekerjaan.UpdatedAt, p["updated_at"])
				require.Greater(t, after.Pekerjaan.UpdatedAt, before.Pekerjaan.UpdatedAt)
				require.Len(t, after.Items, int(tt.saved))
				if v != api.V2 {
					require.Equal(t, tt.status == 200, m["success"], "207 says success: false")
				}
			})
		}
	}
}

func TestDetailSaveSecondWriterConflicts(t *testing.T) {
	e := newEnv(t, nil)
	d, err := e.st.Detail(context.Background(), 1, 2)
	require.NoError(t, err)
	body := `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1"}],"client_updated_at":"` + d.Pekerjaan.UpdatedAt + `"}`
	require.Equal(t, 200, e.do(req{op: "detail-ahsp.save", pek: 2, body: body}).Code)
	require.Equal(t, 409, e.do(req{op: "detail-ahsp.save", pek: 2, body: body}).Code, "same base version again")
}

func TestSearchAHSP(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		query string
		n     int
	}{
		{"", 20}, {"limit=0", 1}, {"limit=-5", 1}, {"limit=500", 50}, {"limit=abc", 20}, {"limit=3", 3},
		{"q=bata+merah&limit=50", 12}, {"q=zzzz", 0},
	}
	for _, v := range api.Versions {
		for _, tt := range tests {
			t.Run(string(v)+"/"+tt.query, func(t *testing.T) {
				w := e.do(req{op: "search-ahsp", v: v, query: tt.query})
				require.Equal(t, 200, w.Code)
				m := payload(t, v, w)
				res := m["results"].([]any)
				require.Len(t, res, tt.n)
				require.GreaterOrEqual(t, m["total"].(float64), float64(tt.n))
				if tt.n > 0 {
					r := res[0].(map[string]any)
					require.Equal(t, store.SearchText(r["kode_ahsp"].(string), r["nama_ahsp"].(string)), r["text"])
					for _, k := range []string{"id", "satuan", "sumber"} {
						require.Contains(t, r, k)
					}
				}
			})
		}
	}
}

func TestHarga(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(req{op: "harga-items.list"})
	require.Equal(t, 200, w.Code)
	m := payload(t, api.Legacy, w)
	meta := m["meta"].(map[string]any)
	require.Equal(t, "10.00", meta["markup_percent"])
	items := m["items"].([]any)
	require.NotEmpty(t, items)
	first := items[0].(map[string]any)
	require.Equal(t, "TK", first["kategori"])
	id := first["id"].(float64)
	updated := meta["project_updated_at"].(string)
	require.Contains(t, first, "kode_item")
	// Tree edits do not move the price list's version.
	require.Equal(t, 200, e.do(req{op: "list-pekerjaan.save", body: treeBody}).Code)

	tests := []struct {
		name   string
		body   string
		status int
		paths  []string
	}{
		{"ok", `{"items":[{"id":` + ftoa(id) + `,"harga_satuan":"175.000,50"}],"markup_percent":"15","client_updated_at":"` + updated + `"}`, 200, nil},
		{"stale", `{"items":[{"id":` + ftoa(id) + `,"harga_satuan":"1"}],"client_updated_at":"` + updated + `"}`, 409, []string{"updated_at"}},
		{"partial", `{"items":[{"id":` + ftoa(id) + `,"harga_satuan":null},{"id":99999,"harga_satuan":"1"},{"id":` + ftoa(id) + `,"harga_satuan":"x"}]}`, 207,
			[]string{"items[1].id", "items[2].harga_satuan"}},
		{"nothing", `{"items":[{"id":99999,"harga_satuan":"1"}],"markup_percent":"-3"}`, 400, []string{"markup_percent", "items[0].id"}},
		{"empty", `{}`, 400, []string{"items"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(req{op: "harga-items.save", body: tt.body})
			require.Equal(t, tt.status, w.Code, w.Body.String())
			m := payload(t, api.Legacy, w)
			require.Equal(t, tt.paths, errorPaths(m))
		})
	}
	w = e.do(req{op: "harga-items.list", v: api.V2})
	m = payload(t, api.V2, w)
	require.Equal(t, "15.00", m["meta"].(map[string]any)["markup_percent"])
	require.Nil(t, m["items"].([]any)[0].(map[string]any)["harga_satuan"], "set to null by the partial save")
}

func ftoa(f float64) string { b, _ := json.Marshal(f); return string(b) }

func TestRekapWorkedExample(t *testing.T) {
	e := newEnv(t, nil)
	for _, v := range api.Versions {
		w := e.do(req{op: "rekap", v: v})
		require.Equal(t, 200, w.Code)
		m := payload(t, v, w)
		meta := m["meta"].(map[string]any)
		if v == api.V2 {
			require.Equal(t, float64(10), meta["markup_percent"])
			require.Equal(t, float64(11), meta["ppn_percent"])
		} else {
			// The deployed app: percents as strings, no totals.
			require.Equal(t, "10.00", meta["markup_percent"])
			require.Equal(t, "11.00", meta["ppn_percent"])
			require.NotContains(t, m, "totals")
		}
		require.Equal(t, float64(10000), meta["rounding_base"])
		var row map[string]any
		for _, r := range m["rows"].([]any) {
			if r.(map[string]any)["pekerjaan_id"] == float64(2) {
				row = r.(map[string]any)
			}
		}
		require.NotNil(t, row)
		want := map[string]float64{"A": 117500, "B": 0, "C": 0, "D": 117500, "LAIN": 0, "E_base": 117500, "E": 17625, "F": 17625,
			"G": 135125, "HSP": 135125, "unit_price": 135125, "markup_eff": 15, "volume": 12.5, "total": 1689062.5, "biaya_langsung": 1468750}
		for k, x := range want {
			require.Equal(t, x, row[k], k)
		}
	}
}

// The exports in the deployed layout (REAL-APP.md 3.12, 3.13), byte for
// byte: the correct target and the as-deployed quirks each have a golden file.
func TestCSVExports(t *testing.T) {
	for _, tc := range []struct {
		op, golden, defect, ctype, file string
		boms                            int
		eol                             string
		trailing, length                bool
	}{
		{"export.rekap-rab-csv", "rekap-rab.golden.csv", "", "text/csv; charset=utf-8-sig", `filename="REKAPITULASI_RENCANA_ANGGARAN_BIAYA_2`, 1, "\r\n", true, false},
		{"export.rekap-rab-csv", "rekap-rab.bom-per-line.golden.csv", "rekap-csv-bom-per-line", "text/csv; charset=utf-8-sig", `filename="REKAPITULASI_RENCANA_ANGGARAN_BIAYA_2`, -1, "\r\n", true, false},
		{"export.rincian-rab-csv", "rincian-rab.golden.csv", "", "text/csv; charset=utf-8", `filename="rincian_rab_1.csv"`, 1, "\r\n", true, true},
		{"export.rincian-rab-csv", "rincian-rab.lf.golden.csv", "rincian-csv-lf", "text/csv; charset=utf-8", `filename="rincian_rab_1.csv"`, 0, "\n", false, true},
	} {
		d := defects.Set{}
		if tc.defect != "" {
			d[tc.defect] = true
		}
		e := newEnv(t, d)
		for _, v := range api.Versions {
			t.Run(tc.golden+"/"+string(v), func(t *testing.T) {
				w := e.do(req{op: tc.op, v: v})
				require.Equal(t, 200, w.Code)
				require.Equal(t, tc.ctype, w.Header().Get("Content-Type"))
				require.Contains(t, w.Header().Get("Content-Disposition"), "attachment; "+tc.file)
				require.Equal(t, tc.length, w.Header().Get("Content-Length") != "", "Content-Length (the rekap is streamed)")
				b := w.Body.Bytes()
				if tc.boms < 0 { // one per line plus two more at the start: 40 in 38 lines on the app
					require.Equal(t, bytes.Count(b, []byte("\n"))+2, bytes.Count(b, []byte(store.BOM)))
					require.True(t, bytes.HasPrefix(b, []byte(store.BOM+store.BOM+store.BOM+"RENCANA")))
				} else {
					require.Equal(t, tc.boms, bytes.Count(b, []byte(store.BOM)))
				}
				require.Equal(t, tc.trailing, bytes.HasSuffix(b, []byte("\n")), "trailing newline")
				if tc.eol == "\n" {
					require.NotContains(t, string(b), "\r")
				} else {
					require.Equal(t, bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")), "CRLF only")
				}
				golden(t, tc.golden, b)
			})
		}
	}
	e := newEnv(t, nil)
	s := e.do(req{op: "export.rekap-rab-csv"}).Body.String()
	require.True(t, strings.HasPrefix(s, store.BOM+"RENCANA ANGGARAN BIAYA\r\nProyek;"), "title line first")
	require.Contains(t, s, "\r\nUraian Pekerjaan;Kode AHSP;Satuan;Volume;Harga Satuan (Rp);Jumlah Harga (Rp)\r\n")
	require.Contains(t, s, "\r\n    Pembersihan dan perataan lapangan;CUST-0001;m2;12,500;135.125;1.689.062\r\n", "worked example, half to even")
	require.Contains(t, s, "\r\nREKAPITULASI RENCANA ANGGARAN BIAYA\r\n")
	require.Contains(t, s, "\r\nNo;Uraian Klasifikasi;Jumlah Harga (Rp)\r\n    1;Pekerjaan Struktur Bawah;")
	require.Equal(t, 2, strings.Count(s, "\r\nPPN 11.00%;"))
	r := e.do(req{op: "export.rincian-rab-csv"}).Body.String()
	require.True(t, strings.HasPrefix(r, store.BOM+"pekerjaan_kode;pekerjaan_uraian;kategori;kode;uraian;satuan;koefisien;volume;harga_satuan;subtotal\r\n"))
	require.Contains(t, r, "\r\nCUST-0001;Pembersihan dan perataan lapangan;TK;L.01;Pekerja;OH;0.750000;12.500;150000.00;1406250.00\r\n")
	require.Contains(t, r, "\r\n\r\nTOTAL LANGSUNG (D);")
}

// TestRekapCSVBlankWhenCacheDown: the deployed rekap CSV with its cache
// down (rekap-csv-blank-cache-down) keeps every line and volume and leaves
// every amount blank; without the defect, or with the cache up, the CSV is
// the correct one.
func TestRekapCSVBlankWhenCacheDown(t *testing.T) {
	e := newEnv(t, defects.Set{"rekap-csv-blank-cache-down": true})
	w := e.do(req{op: "export.rekap-rab-csv", cacheDown: true})
	require.Equal(t, 200, w.Code)
	s := w.Body.String()
	require.Contains(t, s, "\r\n    Pembersihan dan perataan lapangan;CUST-0001;m2;12,500;;\r\n")
	require.Contains(t, s, "\r\nTOTAL BIAYA LANGSUNG;\r\n")
	require.Contains(t, s, "\r\nNo;Uraian Klasifikasi;Jumlah Harga (Rp)\r\n    1;Pekerjaan Struktur Bawah;\r\n")
	golden(t, "rekap-rab.blank-cache-down.golden.csv", w.Body.Bytes())

	want, err := os.ReadFile(filepath.Join("testdata", "rekap-rab.golden.csv"))
	require.NoError(t, err)
	require.Equal(t, string(want), e.do(req{op: "export.rekap-rab-csv"}).Body.String(), "cache up")
	correct := newEnv(t, nil)
	require.Equal(t, string(want), correct.do(req{op: "export.rekap-rab-csv", cacheDown: true}).Body.String(), "the correct target never blanks")
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

func TestServerErrorLeaksNothing(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.st.Close())
	for _, v := range api.Versions {
		for _, accept := range []string{"application/json", "text/html"} {
			w := e.do(req{op: "list-pekerjaan.tree", v: v, header: map[string]string{"Accept": accept}})
			require.Equal(t, http.StatusInternalServerError, w.Code)
			body := strings.ToLower(w.Body.String())
			for _, leak := range []string{"sql", "select", "database", "goroutine", ".go:"} {
				require.NotContains(t, body, leak)
			}
			if accept == "application/json" {
				var m map[string]any
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m))
				require.Equal(t, CodeServer, m["error"].(map[string]any)["code"])
			}
		}
	}
}

func TestWrongMethod(t *testing.T) {
	e := newEnv(t, nil)
	w := e.do(req{op: "rekap", method: http.MethodPost})
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Empty(t, w.Body.String())
}

func TestUpdatedAtIsMonotonic(t *testing.T) {
	// Two saves inside one clock tick must still differ for the lock to work.
	e := newEnv(t, nil)
	var prev string
	for range 5 {
		w := e.do(req{op: "detail-ahsp.save", pek: 2, body: `{"rows":[]}`})
		require.Equal(t, 200, w.Code)
		u := payload(t, api.Legacy, w)["pekerjaan"].(map[string]any)["updated_at"].(string)
		_, err := time.Parse(store.TimeLayout, u)
		require.NoError(t, err)
		require.Greater(t, u, prev)
		prev = u
	}
}

func TestEveryOperationIsRouted(t *testing.T) {
	for _, op := range api.Operations {
		require.Contains(t, routes, op.Name)
	}
	require.Len(t, routes, len(api.Operations))
}
