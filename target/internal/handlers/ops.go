package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/store"
)

func partialStatus(errs []store.FieldError) int {
	if len(errs) > 0 {
		return http.StatusMultiStatus
	}
	return http.StatusOK
}

func (c *call) saveTree() reply {
	v, bad, ok := c.body()
	if !ok {
		return bad
	}
	in, pre := decodeTree(v)
	in.AllowBlankNames = c.h.d.Has("blank-name-accepted")
	in.KeepEmptyGroups = c.h.d.Has("save-keeps-empty-groups")
	res, err := c.h.st.SaveTree(c.r.Context(), c.p.ProjectID, in, pre)
	if _, isVE := asValidation(err); isVE && len(in.Klasifikasi) > 0 {
		// Rows were tried and none created: the deployed 400 adds the empty
		// id_map (REAL-APP.md 3.1); a body without a list of rows has none.
		r := c.fail(err)
		r.data = map[string]any{"id_map": map[string]any{"klasifikasi": map[string]int64{}, "sub": map[string]int64{}, "pekerjaan": map[string]int64{}}}
		return r
	}
	if err != nil {
		return c.fail(err)
	}
	msg := "Daftar pekerjaan tersimpan"
	if len(res.Errors) > 0 {
		msg = fmt.Sprintf("Sebagian tersimpan: %d baris bermasalah", len(res.Errors))
	}
	return reply{status: partialStatus(res.Errors), ok: len(res.Errors) == 0, message: msg,
		data: map[string]any{"id_map": res.IDMap, "summary": res.Summary}, errors: res.Errors}
}

func (c *call) upsertTree() reply {
	v, bad, ok := c.body()
	if !ok {
		// Every upsert error answer has the preflight shape.
		bad.legacyExtra = map[string]any{"success": false, "message": bad.message}
		return bad
	}
	if c.h.d.Has("upsert-unknown-id-wipes") {
		dropNonPositiveIDs(v)
	}
	if m, isObj := v.(map[string]any); isObj && !c.h.d.Has("upsert-empty-wipes") {
		if l, isList := m["klasifikasi"].([]any); isList && len(l) == 0 {
			// Replace-all with nothing would delete the whole tree: refuse it.
			return preflight([]store.FieldError{{Path: "klasifikasi", Message: "Daftar kosong: kirim pohon lengkap; tidak ada yang dihapus"}})
		}
	}
	in, pre := decodeTree(v)
	if len(pre) > 0 {
		return preflight(pre)
	}
	in.OrderingTakeover = c.h.d.Has("upsert-ordering-takeover")
	in.FailedRowTempOrdering = c.h.d.Has("upsert-failed-row-temp-ordering")
	in.KeepStamps = c.h.d.Has("tree-cache-stale")
	res, err := c.h.st.UpsertTree(c.r.Context(), c.p.ProjectID, in)
	if ve, isVE := asValidation(err); isVE {
		return preflight(ve.Errors)
	}
	if err != nil {
		return c.fail(err)
	}
	msg := "Daftar pekerjaan diperbarui"
	if len(res.Errors) > 0 {
		msg = fmt.Sprintf("Sebagian diperbarui: %d baris bermasalah", len(res.Errors))
	}
	return reply{status: partialStatus(res.Errors), ok: len(res.Errors) == 0, message: msg,
		data:   map[string]any{"summary": res.Summary, "change_flags": res.ChangeFlags, "id_map": res.IDMap},
		errors: res.Errors}
}

// dropNonPositiveIDs is the upsert-unknown-id-wipes defect: like the real
// app, a row whose id matches nothing (here: id <= 0) is taken as a new row,
// so the replace-all deletes every existing row the body does not list.
func dropNonPositiveIDs(v any) {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["id"]; ok {
			if n, isNum := id.(json.Number); isNum {
				if f, err := n.Float64(); err == nil && f <= 0 {
					delete(x, "id")
				}
			}
		}
		for _, c := range x {
			dropNonPositiveIDs(c)
		}
	case []any:
		for _, c := range x {
			dropNonPositiveIDs(c)
		}
	}
}

// preflight is the upsert's 400 before anything is written; the real app
// mixes both envelopes in this one answer.
func preflight(errs []store.FieldError) reply {
	msg := fmt.Sprintf("%d kesalahan validasi ditemukan.", len(errs))
	return reply{status: http.StatusBadRequest, message: msg, code: CodeValidation, errors: errs,
		legacyExtra: map[string]any{"success": false, "message": msg}}
}

func (c *call) tree() reply {
	// The deployed view takes ?search= or ?q= (REAL-APP.md 3.3).
	q := c.r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		q = c.r.URL.Query().Get("search")
	}
	var res store.TreeResult
	var err error
	if strings.TrimSpace(q) == "" && c.h.d.Has("tree-cache-stale") {
		res, err = c.h.cachedTree(c.r.Context(), c.p.ProjectID)
	} else {
		res, err = c.h.st.Tree(c.r.Context(), c.p.ProjectID, q)
	}
	if err != nil {
		return c.fail(err)
	}
	data := map[string]any{"klasifikasi": res.Klasifikasi}
	if res.SearchActive {
		data["search_active"] = true
		data["match_count"] = res.MatchCount
	}
	return reply{status: http.StatusOK, ok: true, data: data}
}

func (c *call) saveVolumes() reply {
	v, bad, ok := c.body()
	if !ok {
		// The deployed app answers a body it cannot parse, or of the wrong
		// shape, without "saved" and "decimal_places" (REAL-APP.md 3.4).
		return bad
	}
	if !volumeShape(v) {
		msg := "Harus array of objek atau {items:[...]}"
		return reply{status: http.StatusBadRequest, message: msg, code: CodeValidation,
			errors: []store.FieldError{{Path: "$", Message: msg}}}
	}
	rows, pre := decodeVolumes(v)
	pre = c.quantityNotation(rows, pre)
	if len(rows) == 0 && len(pre) == 0 && c.v != api.V2 {
		// {"items": []}: nothing saved and nothing wrong with a row.
		return reply{status: http.StatusBadRequest, message: "Tidak ada data volume yang dikirim", code: CodeValidation,
			data: map[string]any{"saved": 0, "decimal_places": store.QuantityPlaces}, errors: []store.FieldError{}}
	}
	if c.h.d.Has("lost-writes") && len(pre) == 0 && len(rows) > 0 {
		// Acknowledged as saved, never stored.
		return reply{status: http.StatusOK, ok: true, message: fmt.Sprintf("%d volume tersimpan", len(rows)),
			data: map[string]any{"saved": len(rows), "decimal_places": store.QuantityPlaces}, errors: nil}
	}
	res, err := c.h.st.SaveVolumes(c.r.Context(), c.p.ProjectID, rows, pre)
	if ve, isVE := asValidation(err); isVE {
		return reply{status: http.StatusBadRequest, message: ve.Message, code: CodeValidation,
			data: map[string]any{"saved": 0, "decimal_places": store.QuantityPlaces}, errors: ve.Errors}
	}
	if err != nil {
		return c.fail(err)
	}
	// The real app answers 200 as soon as one row saved, errors or not.
	return reply{status: http.StatusOK, ok: true, message: fmt.Sprintf("%d volume tersimpan", res.Saved),
		data: map[string]any{"saved": res.Saved, "decimal_places": store.QuantityPlaces}, errors: res.Errors}
}

// volumeShape: a list, or an object whose "items" (else "volumes") is a list.
func volumeShape(v any) bool {
	switch x := v.(type) {
	case []any:
		return true
	case map[string]any:
		for _, key := range []string{"items", "volumes"} {
			if lv, ok := x[key]; ok {
				_, isList := lv.([]any)
				return isList
			}
		}
	}
	return false
}

func (c *call) listVolumes() reply {
	items, err := c.h.st.ListVolumes(c.r.Context(), c.p.ProjectID)
	if err != nil {
		return c.fail(err)
	}
	return reply{status: http.StatusOK, ok: true, data: map[string]any{"items": items, "decimal_places": store.QuantityPlaces}}
}

func (c *call) detail() reply {
	d, err := c.h.st.Detail(c.r.Context(), c.p.ProjectID, c.p.PekerjaanID)
	if err != nil {
		return c.fail(err)
	}
	var items any = d.Items
	if c.v == api.V2 && c.h.d.Has("v2-drift") {
		items = driftItems(d.Items)
	}
	return reply{status: http.StatusOK, ok: true, data: map[string]any{
		"pekerjaan": d.Pekerjaan,
		"items":     items,
		"meta":      map[string]any{"kategori_opts": store.KategoriOptions, "read_only": d.ReadOnly},
	}}
}

// driftItems is the v2-drift defect: detail items rename koefisien to
// coefficient and lose satuan, as an unreviewed serializer change would.
func driftItems(items []store.DetailItem) []map[string]any {
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = map[string]any{
			"id": it.ID, "kategori": it.Kategori, "kode": it.Kode, "uraian": it.Uraian,
			"coefficient": it.Koefisien, "ref_ahsp_id": it.RefAHSPID, "ref_pekerjaan_id": it.RefPekerjaanID,
			"harga_satuan": it.HargaSatuan,
		}
	}
	return out
}

// Detail save checks in the deployed app's order (REAL-APP.md 3.7): the
// pekerjaan (404 JSON), its source type (400), then the body.
func (c *call) saveDetail() reply {
	d, err := c.h.st.Detail(c.r.Context(), c.p.ProjectID, c.p.PekerjaanID)
	if errors.Is(err, store.ErrNotFound) {
		// JSON in every version (the deployed detail GET answers HTML).
		msg := "Pekerjaan tidak ditemukan. Muat ulang halaman lalu coba lagi."
		return reply{status: http.StatusNotFound, message: msg, code: CodeNotFound,
			data:   map[string]any{"user_message": msg},
			errors: []store.FieldError{{Path: "pekerjaan", Message: "Tidak ditemukan"}}}
	}
	if err != nil {
		return c.fail(err)
	}
	var res store.DetailSaveResult
	if d.ReadOnly {
		err = store.ReadOnlyRef()
	} else {
		v, bad, ok := c.body()
		if !ok {
			bad.data = map[string]any{"user_message": bad.message}
			return bad
		}
		in, pre := decodeDetail(v)
		pre = c.koefisienNotation(in.Rows, pre)
		if c.naiveStamp(in.ClientUpdatedAt) {
			return reply{written: true}
		}
		in.LockOnProject = c.h.d.Has("detail-lock-project-stamp")
		res, err = c.h.st.SaveDetail(c.r.Context(), c.p.ProjectID, c.p.PekerjaanID, in, pre)
	}
	if ve, isVE := asValidation(err); isVE {
		data := map[string]any{"user_message": ve.Message}
		var extra map[string]any
		if rowErrors(ve.Errors) {
			// Every row refused: the save's own keys with the counts at 0.
			data = detailSaved(ve.Message, 0, d.Pekerjaan.ID, d.Pekerjaan.UpdatedAt)
			extra = map[string]any{"success": false}
		}
		return reply{status: http.StatusBadRequest, message: ve.Message, code: CodeValidation,
			data: data, errors: ve.Errors, legacyExtra: extra}
	}
	if err != nil {
		return c.fail(err)
	}
	msg := fmt.Sprintf("[OK] Data berhasil disimpan! %d baris komponen tersimpan.", res.SavedRows)
	if len(res.Errors) > 0 {
		msg = fmt.Sprintf("Sebagian rincian tersimpan (%d baris); %d masalah", res.SavedRows, len(res.Errors))
	}
	return reply{status: partialStatus(res.Errors), ok: len(res.Errors) == 0, message: msg,
		data:        detailSaved(msg, res.SavedRows, res.ID, res.UpdatedAt),
		errors:      res.Errors,
		legacyExtra: map[string]any{"success": len(res.Errors) == 0},
	}
}

// detailSaved is detail save's payload. The reference has no bundles, so
// the raw rows, the saved rows and their expansion are the same count.
func detailSaved(msg string, n int, id int64, updatedAt string) map[string]any {
	return map[string]any{
		"user_message": msg, "saved_raw_rows": n, "saved_rows": n, "saved_expanded_rows": n,
		"pekerjaan": map[string]any{"id": id, "updated_at": updatedAt},
	}
}

// rowErrors: some error is about a row (rows[i]...), so the rows were read.
func rowErrors(errs []store.FieldError) bool {
	for _, e := range errs {
		if strings.HasPrefix(e.Path, "rows[") {
			return true
		}
	}
	return false
}

func (c *call) searchAHSP() reply {
	q := c.r.URL.Query()
	limit, err := strconv.Atoi(strings.TrimSpace(q.Get("limit")))
	limit = store.ClampLimit(limit, q.Has("limit") && err == nil)
	results, total, err := c.h.st.SearchAHSP(c.r.Context(), q.Get("q"), limit)
	if err != nil {
		return c.fail(err)
	}
	if c.h.d.Has("search-total-returned") {
		total = len(results)
	}
	return reply{status: http.StatusOK, ok: true, data: map[string]any{"results": results, "total": total}}
}

func (c *call) hargaList() reply {
	items, meta, err := c.h.st.HargaList(c.r.Context(), c.p.ProjectID)
	if err != nil {
		return c.fail(err)
	}
	return reply{status: http.StatusOK, ok: true, data: map[string]any{
		"items": items,
		"meta": map[string]any{
			"markup_percent": meta.MarkupPercent.StringFixed(2), "ppn_percent": meta.PPNPercent.StringFixed(2),
			"rounding_base": meta.RoundingBase, "updated_at": meta.UpdatedAt,
		},
	}}
}

func (c *call) hargaSave() reply {
	v, bad, ok := c.body()
	if !ok {
		bad.data = map[string]any{"user_message": bad.message}
		return bad
	}
	in, pre := decodeHarga(v)
	pre = c.hargaNotation(&in, pre)
	if c.naiveStamp(in.ClientUpdatedAt) {
		return reply{written: true}
	}
	if c.h.d.Has("harga-string-id-refused") {
		pre = refuseStringIDs(v, &in, pre)
	}
	res, err := c.h.st.HargaSave(c.r.Context(), c.p.ProjectID, in, pre)
	if ve, isVE := asValidation(err); isVE {
		// Nothing saved: every key of the 200, as the deployed app answers
		// (whose message still speaks of a partial save: the
		// harga-string-id-refused defect).
		_, meta, merr := c.h.st.HargaList(c.r.Context(), c.p.ProjectID)
		if merr != nil {
			return c.fail(merr)
		}
		msg := "\u26a0\ufe0f Tidak ada yang tersimpan. Periksa kembali isian yang ditandai."
		if c.h.d.Has("harga-string-id-refused") {
			msg = "\u26a0\ufe0f Data tersimpan sebagian. Periksa kembali isian yang ditandai."
		}
		return reply{status: http.StatusBadRequest, message: ve.Message, code: CodeValidation,
			data:   hargaSaved(msg, 0, false, meta.MarkupPercent.StringFixed(2), meta.UpdatedAt),
			errors: ve.Errors}
	}
	if err != nil {
		return c.fail(err)
	}
	what := "perubahan harga"
	if res.PricingSaved {
		what += " dan profit/margin"
	}
	msg := fmt.Sprintf("\u2705 Berhasil menyimpan %d %s!", res.Updated, what)
	if len(res.Errors) > 0 {
		msg = fmt.Sprintf("Sebagian harga tersimpan (%d item); %d masalah", res.Updated, len(res.Errors))
	}
	return reply{status: partialStatus(res.Errors), ok: len(res.Errors) == 0, message: msg,
		data:   hargaSaved(msg, res.Updated, res.PricingSaved, res.MarkupPercent, res.UpdatedAt),
		errors: res.Errors}
}

// refuseStringIDs is the harga-string-id-refused defect: an item whose id
// is a JSON string ("7") is refused as not used in the project, as the
// deployed app does (REAL-APP.md 3.10).
func refuseStringIDs(v any, in *store.HargaInput, pre []store.FieldError) []store.FieldError {
	root, _ := v.(map[string]any)
	items, _ := root["items"].([]any)
	for i, it := range items {
		m, _ := it.(map[string]any)
		if _, isString := m["id"].(string); !isString || i >= len(in.Items) || in.Items[i].Invalid {
			continue
		}
		in.Items[i].Invalid = true
		pre = append(pre, store.FieldError{Path: at("items", i) + ".id", Message: "Item ini tidak digunakan di Detail AHSP proyek"})
	}
	return pre
}

// commaThousands is a number a reader cannot tell apart: "1,000" is 1.0
// with a decimal comma and 1000 with a thousands comma.
var commaThousands = regexp.MustCompile(`^[+-]?[1-9][0-9]{0,2},[0-9]{3}$`)

// stringExponent is a number string in exponent notation ("1e3").
var stringExponent = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]{1,2}$`)

// quantityNotation judges the volume quantities' notation (the
// lax-number-parser defect reads them as deployed).
func (c *call) quantityNotation(rows []store.VolumeInput, pre []store.FieldError) []store.FieldError {
	lax := c.h.d.Has("lax-number-parser")
	for i := range rows {
		if rows[i].Invalid {
			continue
		}
		var msg string
		if rows[i].Quantity, msg = numberNotation(rows[i].Quantity, lax); msg != "" {
			rows[i].Invalid = true
			pre = append(pre, store.FieldError{Path: rows[i].Path + ".quantity", Message: msg})
		}
	}
	return pre
}

// koefisienNotation judges the detail rows' koefisien notation (the
// lax-number-parser-detail defect reads them as deployed).
func (c *call) koefisienNotation(rows []store.DetailRowInput, pre []store.FieldError) []store.FieldError {
	lax := c.h.d.Has("lax-number-parser-detail")
	for i := range rows {
		if rows[i].Invalid {
			continue
		}
		var msg string
		if rows[i].Koefisien, msg = numberNotation(rows[i].Koefisien, lax); msg != "" {
			rows[i].Invalid = true
			pre = append(pre, store.FieldError{Path: at("rows", i) + ".koefisien", Message: msg})
		}
	}
	return pre
}

// hargaNotation judges the notation of the prices and the markup (the
// lax-number-parser-harga defect reads them as deployed).
func (c *call) hargaNotation(in *store.HargaInput, pre []store.FieldError) []store.FieldError {
	lax := c.h.d.Has("lax-number-parser-harga")
	var msg string
	if in.MarkupPercent, msg = numberNotation(in.MarkupPercent, lax); msg != "" {
		in.MarkupPercent = nil
		pre = append(pre, store.FieldError{Path: "markup_percent", Message: msg})
	}
	for i := range in.Items {
		if in.Items[i].Invalid {
			continue
		}
		if in.Items[i].Harga, msg = numberNotation(in.Items[i].Harga, lax); msg != "" {
			in.Items[i].Invalid = true
			pre = append(pre, store.FieldError{Path: in.Items[i].Path + ".harga_satuan", Message: msg})
		}
	}
	return pre
}

// numberNotation judges a number sent as a string before the store parses
// it. "1,000" is refused (msg): a reader cannot tell one from a thousand; a
// string in exponent notation ("1e3") is left to the store, which refuses
// it. lax is the deployed parser (REAL-APP.md 1, section 8 item 24):
// "1,000" goes through (the store reads a lone comma as decimal: 1.0) and
// "1e3" is taken as the number 1000.
func numberNotation(v any, lax bool) (out any, msg string) {
	s, ok := v.(string)
	if !ok {
		return v, ""
	}
	s = strings.TrimSpace(s)
	switch {
	case lax && stringExponent.MatchString(s):
		return json.Number(s), ""
	case !lax && commaThousands.MatchString(s):
		return v, fmt.Sprintf("Angka ambigu %q: tulis \"1000\" atau \"1.000,0\" untuk seribu, \"1,0\" untuk satu", s)
	}
	return v, ""
}

// naiveStamp answers the naive-timestamp-500 defect's 500 (written) for a
// client_updated_at without a time zone: the deployed lock compares it with
// an aware datetime and raises (REAL-APP.md 3.7).
func (c *call) naiveStamp(v string) bool {
	if !c.h.d.Has("naive-timestamp-500") || !store.NaiveTime(v) {
		return false
	}
	c.serverError(fmt.Errorf("TypeError: can't compare offset-naive and offset-aware datetimes (client_updated_at %q)", v))
	return true
}

// hargaSaved is harga save's payload (legacy renames updated_at to
// project_updated_at).
func hargaSaved(msg string, updated int, pricing bool, markup, updatedAt string) map[string]any {
	return map[string]any{"updated": updated, "pricing_saved": pricing, "markup_percent": markup,
		"updated_at": updatedAt, "user_message": msg}
}

// RekapRowJSON is a rekap row as the API sends it: floats, converted from
// the decimals only here.
type RekapRowJSON struct {
	PekerjaanID   int64   `json:"pekerjaan_id"`
	Kode          string  `json:"kode"`
	Uraian        string  `json:"uraian"`
	Satuan        string  `json:"satuan"`
	SourceType    string  `json:"source_type"`
	A             float64 `json:"A"`
	B             float64 `json:"B"`
	C             float64 `json:"C"`
	D             float64 `json:"D"`
	LAIN          float64 `json:"LAIN"`
	EBase         float64 `json:"E_base"`
	E             float64 `json:"E"`
	F             float64 `json:"F"`
	G             float64 `json:"G"`
	HSP           float64 `json:"HSP"`
	UnitPrice     float64 `json:"unit_price"`
	MarkupEff     float64 `json:"markup_eff"`
	Volume        float64 `json:"volume"`
	Total         float64 `json:"total"`
	BiayaLangsung float64 `json:"biaya_langsung"`
}

func fl(d decimal.Decimal) float64 { return d.InexactFloat64() }

func (c *call) rekap() reply {
	rk, err := c.h.st.Rekap(c.r.Context(), c.p.ProjectID)
	if err != nil {
		return c.fail(err)
	}
	rows := make([]RekapRowJSON, len(rk.Rows))
	for i, r := range rk.Rows {
		rows[i] = RekapRowJSON{
			PekerjaanID: r.PekerjaanID, Kode: r.Kode, Uraian: r.Uraian, Satuan: r.Satuan, SourceType: r.SourceType,
			A: fl(r.A), B: fl(r.B), C: fl(r.C), D: fl(r.D), LAIN: fl(r.LAIN), EBase: fl(r.EBase), E: fl(r.E), F: fl(r.F),
			G: fl(r.G), HSP: fl(r.G), UnitPrice: fl(r.G), MarkupEff: fl(r.MarkupEff), Volume: fl(r.Volume),
			Total: fl(r.Total), BiayaLangsung: fl(r.BiayaLangsung),
		}
	}
	return reply{status: http.StatusOK, ok: true, data: map[string]any{
		"rows":   rows,
		"meta":   map[string]any{"markup_percent": fl(rk.Meta.MarkupPercent), "ppn_percent": fl(rk.Meta.PPNPercent), "rounding_base": rk.Meta.RoundingBase},
		"totals": map[string]any{"jumlah": fl(rk.Jumlah), "ppn": fl(rk.PPN), "grand_total": fl(rk.Grand), "dibulatkan": fl(rk.Rounded)},
	}}
}

func (c *call) exportRekap() reply {
	b, err := c.h.st.RekapCSV(c.r.Context(), c.p.ProjectID, c.p.CacheDown && c.h.d.Has("rekap-csv-blank-cache-down"))
	if err != nil {
		return c.fail(err)
	}
	if c.h.d.Has("rekap-csv-bom-per-line") {
		b = bomPerLine(b)
	}
	// As deployed: a utf-8-sig StreamingHttpResponse, dated file name, chunked.
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8-sig")
	h.Set("Content-Disposition", `attachment; filename="REKAPITULASI_RENCANA_ANGGARAN_BIAYA_`+time.Now().UTC().Format("20060102")+`.csv"`)
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_ = http.NewResponseController(c.w).Flush() // no Content-Length: chunked, as the app streams
		_, _ = c.w.Write(b)
	}
	return reply{written: true}
}

// bomPerLine is the deployed app's rekap CSV: the utf-8-sig codec writes a
// byte-order mark before every line, and the first line carries three
// (REAL-APP.md 3.12: 40 BOMs in 38 lines).
func bomPerLine(b []byte) []byte {
	const bom = "\xef\xbb\xbf"
	lines := strings.SplitAfter(strings.TrimPrefix(string(b), bom), "\n")
	var sb strings.Builder
	sb.WriteString(bom + bom)
	for _, l := range lines {
		if l == "" {
			continue
		}
		sb.WriteString(bom)
		sb.WriteString(l)
	}
	return []byte(sb.String())
}

func (c *call) exportRincian() reply {
	b, err := c.h.st.RincianCSV(c.r.Context(), c.p.ProjectID, c.h.d.Has("rincian-csv-lf"))
	if err != nil {
		return c.fail(err)
	}
	c.csv(fmt.Sprintf("rincian_rab_%d.csv", c.p.ProjectID), b)
	return reply{written: true}
}

func (c *call) csv(name string, b []byte) {
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(b)
	}
}
