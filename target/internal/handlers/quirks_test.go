package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/internal/defects"
)

// The deployed app's quirks 18, 20, 21 and 24 (REAL-APP.md section 8): each
// request answers one way on the correct target and the deployed way with
// its defect (the detail lock, quirk 17, needs a custom pekerjaan's saves:
// contracts.TestIntegrationQuirkDefectAlone proves it).
func TestDeployedQuirks(t *testing.T) {
	list := newEnv(t, defects.Set{}).do(req{op: "harga-items.list"})
	var hl struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(list.Body.Bytes(), &hl))
	require.NotEmpty(t, hl.Items)
	stringID := fmt.Sprintf(`{"items":[{"id":"%d","harga_satuan":"150000"}]}`, hl.Items[0].ID)
	tests := []struct {
		name, defect string
		r            req
		correct      int
		deployed     int
		deployedBody string // a fragment of the deployed answer
	}{
		{"naive client_updated_at", "naive-timestamp-500",
			req{op: "harga-items.save", body: `{"markup_percent":"15","client_updated_at":"2099-01-01T00:00:00.000000"}`}, 200, 500, "Server Error (500)"},
		{"string item id", "harga-string-id-refused", req{op: "harga-items.save", body: stringID}, 200, 400,
			`Item ini tidak digunakan di Detail AHSP proyek`},
		{"POST to rekap", "read-method-quirks", req{op: "rekap", method: http.MethodPost}, 405, 200, `"rows"`},
		{"HEAD on the tree", "read-method-quirks", req{op: "list-pekerjaan.tree", method: http.MethodHead}, 200, 405, ""},
		{"quantity 1,000", "lax-number-parser", req{op: "volume-pekerjaan.save", body: `[{"pekerjaan_id":1,"quantity":"1,000"}]`}, 400, 200, `"saved":1`},
		{"quantity 1e3", "lax-number-parser", req{op: "volume-pekerjaan.save", body: `[{"pekerjaan_id":1,"quantity":"1e3"}]`}, 400, 200, `"saved":1`},
		{"koefisien 1,000", "lax-number-parser-detail", req{op: "detail-ahsp.save", pek: 2,
			body: `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1,000"}]}`}, 400, 200, `"saved_rows":1`},
		{"koefisien 1e3", "lax-number-parser-detail", req{op: "detail-ahsp.save", pek: 2,
			body: `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1e3"}]}`}, 400, 200, `"saved_rows":1`},
		{"harga_satuan 1,000", "lax-number-parser-harga", req{op: "harga-items.save",
			body: fmt.Sprintf(`{"items":[{"id":%d,"harga_satuan":"1,000"}]}`, hl.Items[0].ID)}, 400, 200, `"updated":1`},
		{"harga_satuan 1e3", "lax-number-parser-harga", req{op: "harga-items.save",
			body: fmt.Sprintf(`{"items":[{"id":%d,"harga_satuan":"1e3"}]}`, hl.Items[0].ID)}, 400, 200, `"updated":1`},
		{"markup_percent 1,000", "lax-number-parser-harga", req{op: "harga-items.save", body: `{"markup_percent":"1,000"}`}, 400, 200, `"markup_percent":"1.00"`},
		{"markup_percent 1e1", "lax-number-parser-harga", req{op: "harga-items.save", body: `{"markup_percent":"1e1"}`}, 400, 200, `"markup_percent":"10.00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newEnv(t, defects.Set{}).do(tt.r)
			require.Equal(t, tt.correct, w.Code, w.Body.String())
			w = newEnv(t, defects.Set{tt.defect: true}).do(tt.r)
			require.Equal(t, tt.deployed, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tt.deployedBody)
		})
	}
}

// Quirk 24 on koefisien, harga_satuan and markup_percent: the correct
// target refuses "1,000" and "1e3" on the field that carried them; the
// deployed parser stores 1.0 and 1000 (read back).
func TestNumberNotationOtherFields(t *testing.T) {
	for _, tc := range []struct {
		name, defect, body, path string
		stored                   func(e *env) string
		want                     string
	}{
		{"koefisien 1,000", "lax-number-parser-detail", `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1,000"}]}`,
			"rows[0].koefisien", koefisienOf, "1.000000"},
		{"koefisien 1e3", "lax-number-parser-detail", `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1e3"}]}`,
			"rows[0].koefisien", koefisienOf, "1000.000000"},
		{"harga_satuan 1,000", "lax-number-parser-harga", `{"items":[{"id":%d,"harga_satuan":"1,000"}]}`, "items[0].harga_satuan", hargaOf, "1.00"},
		{"harga_satuan 1e3", "lax-number-parser-harga", `{"items":[{"id":%d,"harga_satuan":"1e3"}]}`, "items[0].harga_satuan", hargaOf, "1000.00"},
		{"markup_percent 1,000", "lax-number-parser-harga", `{"markup_percent":"1,000"}`, "markup_percent", markupOf, "1.00"},
		{"markup_percent 1e1", "lax-number-parser-harga", `{"markup_percent":"1e1"}`, "markup_percent", markupOf, "10.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, pek := "harga-items.save", int64(0)
			if tc.path == "rows[0].koefisien" {
				op, pek = "detail-ahsp.save", 2
			}
			for _, lax := range []bool{false, true} {
				e := newEnv(t, defects.Set{tc.defect: lax})
				before := tc.stored(e)
				body := tc.body
				if strings.Contains(body, "%d") {
					body = fmt.Sprintf(tc.body, firstHargaID(e))
				}
				w := e.do(req{op: op, pek: pek, body: body})
				if !lax {
					require.Equal(t, 400, w.Code, w.Body.String())
					require.Equal(t, []string{tc.path}, errorPaths(payload(t, "", w)))
					refusal := "Harus berupa angka" // the store cannot parse "1e3"
					if strings.Contains(body, ",000") {
						refusal = "Angka ambigu"
					}
					require.Contains(t, w.Body.String(), refusal)
					require.Equal(t, before, tc.stored(e), "nothing stored")
					continue
				}
				require.Equal(t, 200, w.Code, w.Body.String())
				require.Equal(t, tc.want, tc.stored(e))
			}
		})
	}
}

func firstHargaID(e *env) int64 {
	items, _, err := e.st.HargaList(context.Background(), 1)
	require.NoError(e.t, err)
	require.NotEmpty(e.t, items)
	return items[0].ID
}

func koefisienOf(e *env) string {
	d, err := e.st.Detail(context.Background(), 1, 2)
	require.NoError(e.t, err)
	return d.Items[0].Koefisien
}

func hargaOf(e *env) string {
	items, _, err := e.st.HargaList(context.Background(), 1)
	require.NoError(e.t, err)
	if items[0].HargaSatuan == nil {
		return "null"
	}
	return *items[0].HargaSatuan
}

func markupOf(e *env) string {
	_, meta, err := e.st.HargaList(context.Background(), 1)
	require.NoError(e.t, err)
	return meta.MarkupPercent.StringFixed(2)
}
