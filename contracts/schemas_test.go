package contracts

import (
	"testing"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedSchemasCoverEveryOperation(t *testing.T) {
	set, err := LoadEmbedded()
	require.NoError(t, err)
	for _, v := range []string{"v1", "v2"} {
		for _, op := range api.Operations {
			st := set.Statuses(v, op.Name)
			require.Contains(t, st, 200, "%s %s", v, op.Name)
			require.Contains(t, st, 429, "%s %s", v, op.Name)
			require.Contains(t, st, 503, "%s %s", v, op.Name)
			_, hasReq := set.Get(Key{Version: v, Operation: op.Name, Kind: Request})
			require.Equal(t, op.Body, hasReq, "%s %s request schema", v, op.Name)
		}
	}
}

func TestValidateBody(t *testing.T) {
	set, err := LoadEmbedded()
	require.NoError(t, err)
	cases := []struct {
		name      string
		version   string
		op        string
		status    int
		body      string
		wantPaths []string // instance paths of the violations; empty = valid
	}{
		{"volume list ok", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":"12.500"}],"decimal_places":3}`, nil},
		{"quantity as float", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":12.5}],"decimal_places":3}`, []string{"/items/0/quantity"}},
		{"quantity two places", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":"12.50"}],"decimal_places":3}`, []string{"/items/0/quantity"}},
		{"unknown field", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[],"decimal_places":3,"extra":1}`, []string{"/"}},
		{"missing field", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"decimal_places":3}`, []string{"/"}},
		{"v2 envelope", "v2", "volume-pekerjaan.list", 200, `{"success":true,"message":"OK","data":{"items":[],"decimal_places":3}}`, nil},
		{"v1 body on v2", "v2", "volume-pekerjaan.list", 200, `{"ok":true,"items":[],"decimal_places":3}`, []string{"/"}},
		{"429", "v1", "rekap", 429, `{"success":false,"message":"Terlalu banyak permintaan. Silakan coba lagi dalam 60 detik.","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":20,"window_seconds":60,"current_count":20,"category":"write"},"retry_after":60}`, nil},
		{"429 bad category", "v1", "rekap", 429, `{"success":false,"message":"x","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":20,"window_seconds":60,"current_count":20,"category":"slow"},"retry_after":60}`, []string{"/details/category"}},
		{"not json", "v1", "rekap", 429, `<html>500</html>`, []string{""}},
		{"fail-closed 503", "v1", "rekap", 503, `{"success":false,"message":"Layanan pembatas permintaan sedang tidak tersedia.","code":"RATE_LIMIT_UNAVAILABLE","details":{"category":"read","failure_policy":"fail-closed","retry_after":5}}`, nil},
		{"session 503", "v2", "rekap", 503, `{"success":false,"message":"Penyimpanan sesi tidak tersedia.","code":"SESSION_UNAVAILABLE"}`, nil},
		{"503 unknown code", "v2", "rekap", 503, `{"success":false,"message":"x","code":"DOWN"}`, []string{"/code"}},
		// REAL-APP.md sections 3-4, verbatim where it prints a body; the
		// earlier layouts must fail.
		{"harga save 200 as deployed", "v1", "harga-items.save", 200, `{"ok": true, "user_message": "\u2705 Berhasil menyimpan 1 perubahan harga dan profit/margin!", "updated": 1, "pricing_saved": true, "markup_percent": "15.00", "project_updated_at": "2026-12-02T00:32:06.053637+00:00", "errors": []}`, nil},
		{"harga save 200 with updated_at", "v1", "harga-items.save", 200, `{"ok": true, "user_message": "x", "updated": 1, "markup_percent": "15.00", "updated_at": "2026-12-02T00:32:06.053637+00:00", "errors": []}`, []string{"/"}},
		{"harga save 400 bad JSON", "v1", "harga-items.save", 400, `{"ok": false, "user_message": "x", "errors": [{"path": "$", "message": "Payload JSON tidak valid"}]}`, nil},
		{"harga save 400 half the keys", "v1", "harga-items.save", 400, `{"ok": false, "user_message": "x", "updated": 0, "errors": [{"path": "markup_percent", "message": "x"}]}`, []string{"/"}},
		{"detail save 200 as deployed", "v1", "detail-ahsp.save", 200, `{"ok": true, "success": true, "user_message": "[OK] Data berhasil disimpan! 2 baris komponen tersimpan.", "saved_raw_rows": 2, "saved_rows": 2, "saved_expanded_rows": 2, "errors": [], "pekerjaan": {"id": 2, "updated_at": "2026-12-02T00:32:05.890020+00:00"}}`, nil},
		{"detail save 200 without raw and expanded", "v1", "detail-ahsp.save", 200, `{"ok": true, "success": true, "user_message": "x", "saved_rows": 2, "errors": [], "pekerjaan": {"id": 2, "updated_at": "2026-12-02T00:32:05.890020+00:00"}}`, []string{"/"}},
		{"detail save 207 success true", "v1", "detail-ahsp.save", 207, `{"ok": false, "success": true, "user_message": "x", "saved_raw_rows": 1, "saved_rows": 1, "saved_expanded_rows": 1, "errors": [{"path": "rows[1].kategori", "message": "Kategori tidak valid"}], "pekerjaan": {"id": 2, "updated_at": "2026-12-02T00:32:05.890020+00:00"}}`, []string{"/success"}},
		{"detail save 400 without user_message", "v1", "detail-ahsp.save", 400, `{"ok": false, "errors": [{"path": "$", "message": "Payload JSON tidak valid"}]}`, []string{"/"}},
		{"detail save 409 as deployed", "v1", "detail-ahsp.save", 409, `{"ok": false, "conflict": true, "user_message": "x", "server_updated_at": "2026-12-02T00:32:05.890020+00:00", "errors": [{"path": "updated_at", "message": "Data telah berubah sejak Anda membukanya"}]}`, nil},
		{"detail save 409 other path", "v1", "detail-ahsp.save", 409, `{"ok": false, "conflict": true, "user_message": "x", "server_updated_at": "2026-12-02T00:32:05.890020+00:00", "errors": [{"path": "client_updated_at", "message": "x"}]}`, []string{"/errors/0/path"}},
		{"detail save 400 kategori clash", "v1", "detail-ahsp.save", 400, `{"ok": false, "user_message": "x", "errors": [{"path": "kategori", "message": "x"}]}`, nil},
		{"detail save 400 kategori clash with success alone", "v1", "detail-ahsp.save", 400, `{"ok": false, "success": false, "user_message": "x", "errors": [{"path": "kategori", "message": "x"}]}`, []string{"/"}},
		{"detail save 400 kategori clash without an error", "v1", "detail-ahsp.save", 400, `{"ok": false, "user_message": "x", "errors": []}`, []string{"/errors"}},
		{"detail save 404 JSON", "v1", "detail-ahsp.save", 404, `{"ok": false, "user_message": "Pekerjaan tidak ditemukan.", "errors": [{"path": "pekerjaan", "message": "Tidak ditemukan"}]}`, nil},
		{"volume save 400 bad JSON", "v1", "volume-pekerjaan.save", 400, `{"ok": false, "errors": [{"path": "$", "message": "Payload JSON tidak valid"}]}`, nil},
		{"volume save 400 items []", "v1", "volume-pekerjaan.save", 400, `{"ok": false, "saved": 0, "errors": [], "decimal_places": 3}`, nil},
		{"volume save 400 saved alone", "v1", "volume-pekerjaan.save", 400, `{"ok": false, "saved": 0, "errors": []}`, []string{"/"}},
		{"search as deployed", "v1", "search-ahsp", 200, `{"ok": true, "results": [{"id": 2, "text": "A.4.1.1.4 \u2014 Membuat 1 m3 beton", "kode_ahsp": "A.4.1.1.4", "nama_ahsp": "Membuat 1 m3 beton", "satuan": null, "sumber": "AHSP SNI 2025"}], "total": 1}`, nil},
		{"error with severity", "v1", "volume-pekerjaan.save", 200, `{"ok": true, "saved": 1, "errors": [{"path": "items[1].quantity", "message": "x", "severity": "warning"}], "decimal_places": 3}`, nil},
		{"list save 400 with an empty id_map", "v1", "list-pekerjaan.save", 400, `{"ok": false, "errors": [{"path": "klasifikasi[0]", "message": "Gagal membuat klasifikasi: UNIQUE constraint failed"}], "id_map": {"klasifikasi": {}, "sub": {}, "pekerjaan": {}}}`, nil},
		{"detail get reference fallback", "v1", "detail-ahsp.get", 200, `{"ok": true, "pekerjaan": {"id": 1, "kode": "A.2.2.1", "uraian": "Galian", "satuan": "m3", "source_type": "ref", "detail_ready": true, "budgeted_cost": 0.0, "updated_at": null}, "items": [{"id": null, "kategori": "TK", "kode": "L.01", "uraian": "Pekerja", "satuan": "OH", "koefisien": "0.750000", "ref_ahsp_id": null}], "meta": {"kategori_opts": [{"code": "TK", "label": "Tenaga Kerja"}], "read_only": true}}`, nil},
		{"413", "v2", "detail-ahsp.save", 413, `{"success":false,"message":"Ukuran permintaan melebihi batas 1048576 byte.","code":"PAYLOAD_TOO_LARGE"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := set.Response(tc.version, tc.op, tc.status)
			require.True(t, ok)
			vs := e.ValidateBody([]byte(tc.body))
			var paths []string
			for _, v := range vs {
				paths = append(paths, v.InstancePath)
				require.NotEmpty(t, v.Message)
				t.Log(v)
			}
			if len(tc.wantPaths) == 0 {
				require.Empty(t, vs)
				return
			}
			require.Subset(t, paths, tc.wantPaths)
		})
	}
}

// The shipped schemas, mapping and compat file agree: every v1 -> v2
// difference is either non-breaking or accepted with a reason.
func TestStaticEmbeddedV1V2Passes(t *testing.T) {
	rep, err := Static(Options{})
	require.NoError(t, err)
	require.Len(t, rep.Breaking, 1)
	c := rep.Breaking[0]
	require.Equal(t, ScopeV1V2, c.Name)
	for _, ch := range c.Changes {
		if ch.Breaking {
			require.True(t, ch.Accepted, "%s %s %s", ch.Where(), ch.Change, ch.Path)
			require.NotEmpty(t, ch.Reason)
		}
	}
	require.Equal(t, "pass", string(rep.Status))
}
