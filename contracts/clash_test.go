package contracts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// TestKategoriClashJudges: the clash step passes only when the save is
// refused with 400 on path kategori and the rincian read before and after
// agree; a 400 that changed the rows, or a 200, fails it.
func TestKategoriClashJudges(t *testing.T) {
	const item = `{"id": 1, "kategori": "TK", "kode": "L.01", "uraian": "Pekerja", "satuan": "OH", "koefisien": "%s", "ref_ahsp_id": null, "ref_pekerjaan_id": null, "harga_satuan": "150000.00"}`
	detail := func(koef string) string {
		return `{"ok": true, "pekerjaan": {"id": 9, "kode": null, "uraian": "Uji", "satuan": "m3", "source_type": "custom", "detail_ready": true, "budgeted_cost": 0.0, "updated_at": "2026-12-02T00:32:05.890020+00:00"}, "items": [` +
			strings.Replace(item, "%s", koef, 1) + `], "meta": {"kategori_opts": [{"code": "TK", "label": "Tenaga Kerja"}], "read_only": false}}`
	}
	clash := `{"ok": false, "user_message": "Kategori bentrok", "errors": [{"path": "kategori", "message": "Kode L.01 sudah terdaftar"}]}`
	saved := `{"ok": true, "success": true, "user_message": "ok", "saved_raw_rows": 1, "saved_rows": 1, "saved_expanded_rows": 1, "errors": [], "pekerjaan": {"id": 9, "updated_at": "2026-12-02T00:32:05.890020+00:00"}}`
	tests := []struct {
		name      string
		status    int
		body      string
		writes    bool
		want      check.Status
		violation string
	}{
		{"refused, nothing written", 400, clash, false, check.Pass, ""},
		{"refused but the rows changed", 400, clash, true, check.Fail, "answered 400 and the rincian changed: [TK L.01 0.750000] -> [TK L.01 1.000000]"},
		{"accepted", 200, saved, true, check.Fail, "got 200, want 400"},
	}
	set, err := LoadEmbedded()
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			koef := "0.750000"
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodPost {
					if tc.writes {
						koef = "1.000000"
					}
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, tc.body)
					return
				}
				_, _ = io.WriteString(w, detail(koef))
			}))
			defer srv.Close()
			c, err := client.New(srv.URL)
			require.NoError(t, err)
			r := &runner{version: api.Legacy, schema: "v1", pid: 1, customID: 9, c: c, base: srv.URL, scratch: true,
				opts: Options{Set: set, Timeout: 5 * time.Second, Progress: io.Discard}, calls: map[string]exchange{}}
			r.kategoriClash(context.Background(), map[string]any{"kategori": "TK", "kode": "L.01", "uraian": "Pekerja", "satuan": "OH"})
			res := r.last("detail.save.kategori-clash")
			require.Equal(t, tc.want, res.Verdict, "%v", res.Violations)
			if tc.violation != "" {
				var msgs []string
				for _, v := range res.Violations {
					msgs = append(msgs, v.Message)
				}
				require.Contains(t, strings.Join(msgs, "\n"), tc.violation)
			}
			for _, step := range []string{"detail.save.kategori-clash.before", "detail.save.kategori-clash.after"} {
				require.Equal(t, check.Pass, r.last(step).Verdict, "%s: %v", step, r.last(step).Violations)
			}
		})
	}
}
