package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
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
