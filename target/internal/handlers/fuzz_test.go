package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/store"
)

// The seed corpus lives in testdata/fuzz/<Name>/ and runs in every
// `go test`; `go test -fuzz FuzzDecodeTree ./target/internal/handlers` explores further.

func checkErrs(t *testing.T, errs []store.FieldError) {
	for _, e := range errs {
		if e.Path == "" || e.Message == "" {
			t.Fatalf("error without path or message: %+v", e)
		}
	}
}

func FuzzDecodeTree(f *testing.F) {
	f.Add([]byte(treeBody))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := parseJSON(raw)
		if err != nil {
			return
		}
		in, errs := decodeTree(v)
		checkErrs(t, errs)
		invalid := 0
		for _, k := range in.Klasifikasi {
			if k.Invalid {
				invalid++
			}
			for _, s := range k.Sub {
				if s.Invalid {
					invalid++
				}
				for _, p := range s.Pekerjaan {
					if p.Invalid {
						invalid++
					}
				}
			}
		}
		if invalid > 0 && len(errs) == 0 {
			t.Fatalf("%d rows marked invalid without an error", invalid)
		}
	})
}

func FuzzDecodeVolumes(f *testing.F) {
	f.Add([]byte(`{"items":[{"pekerjaan_id":1,"quantity":"1.234,56"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := parseJSON(raw)
		if err != nil {
			return
		}
		rows, errs := decodeVolumes(v)
		checkErrs(t, errs)
		for _, r := range rows {
			if r.Invalid {
				found := false
				for _, e := range errs {
					found = found || strings.HasPrefix(e.Path, r.Path)
				}
				if !found {
					t.Fatalf("row %s invalid without an error at its path", r.Path)
				}
				continue
			}
			// Valid rows carry a quantity the store's parser can try.
			_, _ = store.ParseNumber(r.Quantity)
		}
	})
}

func FuzzDecodeDetail(f *testing.F) {
	f.Add([]byte(`{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","satuan":"OH","koefisien":"0,75"}],"client_updated_at":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := parseJSON(raw)
		if err != nil {
			return
		}
		in, errs := decodeDetail(v)
		checkErrs(t, errs)
		for _, r := range in.Rows {
			if r.Invalid && len(errs) == 0 {
				t.Fatal("invalid row without an error")
			}
		}
	})
}

func FuzzDecodeHarga(f *testing.F) {
	f.Add([]byte(`{"items":[{"id":1,"harga_satuan":"150.000,00"}],"markup_percent":"15"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := parseJSON(raw)
		if err != nil {
			return
		}
		in, errs := decodeHarga(v)
		checkErrs(t, errs)
		for _, it := range in.Items {
			if it.Invalid && len(errs) == 0 {
				t.Fatal("invalid item without an error")
			}
		}
	})
}

// FuzzServeBodies sends each input to every body-taking operation of a real
// store: whatever the body, the answer is a well-formed envelope with a
// client-error or success status, never a 500.
func FuzzServeBodies(f *testing.F) {
	f.Add([]byte(treeBody))
	f.Add([]byte(`[{"pekerjaan_id":2,"quantity":"12,5"}]`))
	e := newEnv(f, nil)
	var ops []api.Operation
	for _, op := range api.Operations {
		if op.Body {
			ops = append(ops, op)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, op := range ops {
			for _, v := range []api.Version{api.V1, api.V2} {
				hr := httptest.NewRequest(http.MethodPost, op.URLPath(v, 1, 2), strings.NewReader(string(raw)))
				w := httptest.NewRecorder()
				e.h.Serve(w, hr, op, v, Params{UserID: 1, ProjectID: 1, PekerjaanID: 2})
				switch w.Code {
				case 200, 207, 400, 409:
				case 404:
					// A tree save in an earlier input may have removed pekerjaan 2.
					if _, err := e.st.Detail(t.Context(), 1, 2); op.Name == "detail-ahsp.save" && errors.Is(err, store.ErrNotFound) {
						continue
					}
					t.Fatalf("%s %s: 404 for an existing pekerjaan", v, op.Name)
				default:
					t.Fatalf("%s %s: status %d: %s", v, op.Name, w.Code, w.Body.String())
				}
				var m map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
					t.Fatalf("%s %s: body is not JSON: %v", v, op.Name, err)
				}
				if _, ok := m["ok"]; v != api.V2 && !ok {
					t.Fatalf("%s %s: no ok flag", v, op.Name)
				}
				if _, ok := m["success"]; v == api.V2 && !ok {
					t.Fatalf("%s %s: no success flag", v, op.Name)
				}
			}
		}
	})
}
