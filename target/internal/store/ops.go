package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// VolumeInput is one decoded volume row; Quantity is the raw JSON value.
type VolumeInput struct {
	Path        string
	PekerjaanID int64
	Quantity    any
	Invalid     bool
}

// VolumeResult is the outcome of SaveVolumes.
type VolumeResult struct {
	Saved  int          `json:"saved"`
	Errors []FieldError `json:"errors"`
}

// SaveVolumes stores each valid row's quantity (rounded to 3 places) and
// reports the others. When no row could be saved it returns a
// *ValidationError and changes nothing.
func (s *Store) SaveVolumes(ctx context.Context, pid int64, rows []VolumeInput, pre []FieldError) (VolumeResult, error) {
	res := VolumeResult{Errors: append([]FieldError{}, pre...)}
	if len(rows) == 0 && len(res.Errors) == 0 {
		res.Errors = append(res.Errors, FieldError{"items", "Tidak ada data volume yang dikirim"})
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		owned, err := idSet(ctx, tx, "SELECT id FROM pekerjaan WHERE project_id = ?", pid)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Invalid {
				continue
			}
			if !owned[r.PekerjaanID] {
				res.Errors = append(res.Errors, FieldError{field(r.Path, "pekerjaan_id"), fmt.Sprintf("Pekerjaan %d tidak ditemukan di proyek ini", r.PekerjaanID)})
				continue
			}
			q, msg := parseAmount(r.Quantity, QuantityPlaces)
			if msg != "" {
				res.Errors = append(res.Errors, FieldError{field(r.Path, "quantity"), msg})
				continue
			}
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO volume(pekerjaan_id, quantity) VALUES(?,?) ON CONFLICT(pekerjaan_id) DO UPDATE SET quantity = excluded.quantity",
				r.PekerjaanID, q.StringFixed(QuantityPlaces)); err != nil {
				return fmt.Errorf("save volume: %w", err)
			}
			res.Saved++
		}
		if res.Saved == 0 {
			return invalid("Tidak ada volume yang tersimpan", res.Errors...)
		}
		return nil
	})
	if err != nil {
		return VolumeResult{}, err
	}
	return res, nil
}

// VolumeItem is one stored volume.
type VolumeItem struct {
	PekerjaanID int64  `json:"pekerjaan_id"`
	Quantity    string `json:"quantity"`
}

// ListVolumes returns every pekerjaan of the project in tree order
// (klasifikasi, sub, pekerjaan, each by ordering_index then id), with
// quantity "0.000" where none is stored (REAL-APP.md 3.5).
func (s *Store) ListVolumes(ctx context.Context, pid int64) ([]VolumeItem, error) {
	st, err := s.stmt(ctx, `SELECT p.id, COALESCE(v.quantity, '0') FROM pekerjaan p
		JOIN sub s ON s.id = p.sub_id JOIN klasifikasi k ON k.id = s.klasifikasi_id
		LEFT JOIN volume v ON v.pekerjaan_id = p.id
		WHERE p.project_id = ?
		ORDER BY k.ordering_index, k.id, s.ordering_index, s.id, p.ordering_index, p.id`)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	defer rows.Close()
	out := []VolumeItem{}
	for rows.Next() {
		var it VolumeItem
		if err := rows.Scan(&it.PekerjaanID, &it.Quantity); err != nil {
			return nil, fmt.Errorf("list volumes: %w", err)
		}
		it.Quantity = dec(it.Quantity).StringFixed(QuantityPlaces)
		out = append(out, it)
	}
	return out, rows.Err()
}

// Kategori codes of rincian and their labels.
var KategoriOptions = []KategoriOption{
	{"TK", "Tenaga Kerja"}, {"BHN", "Bahan"}, {"ALT", "Alat"}, {"LAIN", "Lain-lain"},
}

// KategoriOption is one selectable kategori.
type KategoriOption struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

func validKategori(k string) bool {
	for _, o := range KategoriOptions {
		if o.Value == k {
			return true
		}
	}
	return false
}

// DetailPekerjaan is the header of a detail-ahsp answer.
type DetailPekerjaan struct {
	ID           int64   `json:"id"`
	Kode         string  `json:"kode"`
	Uraian       string  `json:"uraian"`
	Satuan       string  `json:"satuan"`
	SourceType   string  `json:"source_type"`
	DetailReady  bool    `json:"detail_ready"`
	BudgetedCost *string `json:"budgeted_cost"`
	UpdatedAt    string  `json:"updated_at"`
}

// DetailItem is one rincian line.
type DetailItem struct {
	ID             int64   `json:"id"`
	Kategori       string  `json:"kategori"`
	Kode           string  `json:"kode"`
	Uraian         string  `json:"uraian"`
	Satuan         string  `json:"satuan"`
	Koefisien      string  `json:"koefisien"`
	RefAHSPID      *int64  `json:"ref_ahsp_id"`
	RefPekerjaanID *int64  `json:"ref_pekerjaan_id"`
	HargaSatuan    *string `json:"harga_satuan"`
}

// Detail is a pekerjaan with its rincian.
type Detail struct {
	Pekerjaan DetailPekerjaan `json:"pekerjaan"`
	Items     []DetailItem    `json:"items"`
	ReadOnly  bool            `json:"-"`
}

// Detail returns a pekerjaan of the project with its rincian, or ErrNotFound.
func (s *Store) Detail(ctx context.Context, pid, pekID int64) (Detail, error) {
	var d Detail
	err := s.rtx(ctx, func(tx *sql.Tx) error {
		var bc sql.NullString
		err := tx.QueryRowContext(ctx,
			"SELECT id, snapshot_kode, snapshot_uraian, snapshot_satuan, source_type, budgeted_cost, updated_at FROM pekerjaan WHERE id = ? AND project_id = ?",
			pekID, pid).Scan(&d.Pekerjaan.ID, &d.Pekerjaan.Kode, &d.Pekerjaan.Uraian, &d.Pekerjaan.Satuan, &d.Pekerjaan.SourceType, &bc, &d.Pekerjaan.UpdatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read pekerjaan %d: %w", pekID, err)
		}
		if bc.Valid {
			v := dec(bc.String).StringFixed(HargaPlaces)
			d.Pekerjaan.BudgetedCost = &v
		}
		rows, err := s.txQuery(ctx, tx, `
			SELECT r.id, r.kategori, r.kode, r.uraian, r.satuan, r.koefisien, r.ref_ahsp_id, r.ref_pekerjaan_id, h.harga_satuan
			FROM rincian r LEFT JOIN harga_items h ON h.id = r.harga_item_id
			WHERE r.pekerjaan_id = ? ORDER BY r.kategori, r.id`, pekID)
		if err != nil {
			return fmt.Errorf("read rincian: %w", err)
		}
		defer rows.Close()
		d.Items = []DetailItem{}
		for rows.Next() {
			var (
				it     DetailItem
				ra, rp sql.NullInt64
				harga  sql.NullString
			)
			if err := rows.Scan(&it.ID, &it.Kategori, &it.Kode, &it.Uraian, &it.Satuan, &it.Koefisien, &ra, &rp, &harga); err != nil {
				return fmt.Errorf("read rincian: %w", err)
			}
			it.Koefisien = dec(it.Koefisien).StringFixed(KoefisienPlaces)
			if ra.Valid {
				it.RefAHSPID = &ra.Int64
			}
			if rp.Valid {
				it.RefPekerjaanID = &rp.Int64
			}
			if harga.Valid {
				v := dec(harga.String).StringFixed(HargaPlaces)
				it.HargaSatuan = &v
			}
			d.Items = append(d.Items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return Detail{}, err
	}
	d.Pekerjaan.DetailReady = len(d.Items) > 0
	d.ReadOnly = d.Pekerjaan.SourceType == SourceRef
	return d, nil
}

// DetailRowInput is one decoded rincian row; Koefisien is the raw JSON value.
type DetailRowInput struct {
	Kategori, Kode, Uraian, Satuan string
	Koefisien                      any
	Invalid                        bool
}

// DetailInput is a decoded detail save body.
type DetailInput struct {
	Rows            []DetailRowInput
	ClientUpdatedAt string
	// LockOnProject: the lock compares the project's updated_at and a save
	// bumps it, the pekerjaan's never changes (the detail-lock-project-stamp
	// defect: the deployed app hands out one stamp and checks another).
	LockOnProject bool
}

// DetailSaveResult is the outcome of SaveDetail.
type DetailSaveResult struct {
	SavedRows int          `json:"saved_rows"`
	Errors    []FieldError `json:"errors"`
	ID        int64        `json:"-"`
	UpdatedAt string       `json:"-"`
}

// ReadOnlyRef is the refusal of a rincian save on a reference pekerjaan.
func ReadOnlyRef() *ValidationError {
	return invalid("Pekerjaan referensi bersifat read-only; ubah menjadi ref_modified atau custom untuk mengedit rincian",
		FieldError{"source_type", "Pekerjaan referensi (ref) tidak dapat diubah rinciannya"})
}

// SaveDetail replaces a custom pekerjaan's rincian with the valid rows of in
// (invalid ones are reported: a partial save). Reference pekerjaan are
// read-only (*ValidationError); a client_updated_at older than the
// pekerjaan's updated_at is a *ConflictError; nothing saved while rows were
// rejected is a *ValidationError.
func (s *Store) SaveDetail(ctx context.Context, pid, pekID int64, in DetailInput, pre []FieldError) (DetailSaveResult, error) {
	res := DetailSaveResult{Errors: append([]FieldError{}, pre...), ID: pekID}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var st, updated string
		err := tx.QueryRowContext(ctx, "SELECT source_type, updated_at FROM pekerjaan WHERE id = ? AND project_id = ?", pekID, pid).Scan(&st, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read pekerjaan %d: %w", pekID, err)
		}
		if st == SourceRef {
			return ReadOnlyRef()
		}
		// An unparsable client_updated_at is ignored, as the deployed app does
		// (REAL-APP.md 3.7): no lock for that save.
		lockStamp := updated
		if in.LockOnProject {
			if err := tx.QueryRowContext(ctx, "SELECT updated_at FROM projects WHERE id = ?", pid).Scan(&lockStamp); err != nil {
				return fmt.Errorf("read project %d: %w", pid, err)
			}
		}
		if ct, err := ParseTime(in.ClientUpdatedAt); in.ClientUpdatedAt != "" && err == nil {
			stime, err := ParseTime(lockStamp)
			if err == nil && ct.Before(stime) {
				return &ConflictError{ServerUpdatedAt: lockStamp}
			}
		}
		type okRow struct {
			DetailRowInput
			koef decimal.Decimal
		}
		var good []okRow
		seen := map[string]int{}
		for i, r := range in.Rows {
			p := idx("rows", i)
			if r.Invalid {
				continue
			}
			r.Kategori = kategoriCode(r.Kategori)
			r.Kode, r.Uraian, r.Satuan = strings.TrimSpace(r.Kode), strings.TrimSpace(r.Uraian), strings.TrimSpace(r.Satuan)
			var errs []FieldError
			if !validKategori(r.Kategori) {
				errs = append(errs, FieldError{field(p, "kategori"), "Kategori tidak valid"})
			}
			switch {
			case r.Kode == "" && autoKode(r.Kategori):
				// Filled in below with the project's next Unit-NNNN.
			case r.Kode == "":
				errs = append(errs, FieldError{field(p, "kode"), "Kode wajib diisi"})
			}
			if _, dup := seen[r.Kategori+"|"+r.Kode]; dup && r.Kode != "" {
				errs = append(errs, FieldError{field(p, "kode"), "Kode duplikat dalam pekerjaan ini"})
			}
			if r.Uraian == "" {
				errs = append(errs, FieldError{field(p, "uraian"), "Uraian wajib diisi"})
			}
			if len(r.Kode) > 64 || len(r.Uraian) > 500 || len(r.Satuan) > 32 {
				errs = append(errs, FieldError{p, "Teks terlalu panjang (kode 64, uraian 500, satuan 32 karakter)"})
			}
			var k decimal.Decimal
			if r.Koefisien == nil {
				errs = append(errs, FieldError{field(p, "koefisien"), "Koefisien wajib diisi"})
			} else {
				var msg string
				if k, msg = parseAmount(r.Koefisien, KoefisienPlaces); msg != "" {
					errs = append(errs, FieldError{field(p, "koefisien"), msg})
				}
			}
			if len(errs) > 0 {
				res.Errors = append(res.Errors, errs...)
				continue
			}
			seen[r.Kategori+"|"+r.Kode] = i
			good = append(good, okRow{r, k})
		}
		if len(good) == 0 && len(res.Errors) > 0 {
			return invalid("Tidak ada baris yang tersimpan", res.Errors...)
		}
		items := make([]kodeItem, len(good))
		for i, r := range good {
			items[i] = kodeItem{r.Kategori, r.Kode}
		}
		if err := fillUnitKode(ctx, tx, pid, items); err != nil {
			return err
		}
		if err := kategoriClash(ctx, tx, pid, items); err != nil {
			return err
		}
		for i := range good {
			good[i].Kode = items[i].kode
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM rincian WHERE pekerjaan_id = ?", pekID); err != nil {
			return fmt.Errorf("clear rincian: %w", err)
		}
		for i, r := range good {
			hid, err := ensureHarga(ctx, tx, pid, r.Kategori, r.Kode, r.Uraian, r.Satuan, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO rincian(pekerjaan_id, ordering, kategori, kode, uraian, satuan, koefisien, harga_item_id) VALUES(?,?,?,?,?,?,?,?)",
				pekID, i+1, r.Kategori, r.Kode, r.Uraian, r.Satuan, r.koef.String(), hid); err != nil {
				return fmt.Errorf("insert rincian: %w", err)
			}
		}
		res.SavedRows = len(good)
		if in.LockOnProject {
			res.UpdatedAt = updated
			if _, err := tx.ExecContext(ctx, "UPDATE projects SET updated_at = ? WHERE id = ?", s.nextStamp(lockStamp), pid); err != nil {
				return fmt.Errorf("touch project: %w", err)
			}
			return nil
		}
		res.UpdatedAt = s.nextStamp(updated)
		if _, err := tx.ExecContext(ctx, "UPDATE pekerjaan SET updated_at = ? WHERE id = ?", res.UpdatedAt, pekID); err != nil {
			return fmt.Errorf("touch pekerjaan: %w", err)
		}
		return nil
	})
	if err != nil {
		return DetailSaveResult{}, err
	}
	return res, nil
}

// SearchResult is one catalog hit.
type SearchResult struct {
	ID       int64  `json:"id"`
	Text     string `json:"text"`
	KodeAHSP string `json:"kode_ahsp"`
	NamaAHSP string `json:"nama_ahsp"`
	Satuan   string `json:"satuan"`
	Sumber   string `json:"sumber"`
}

// SearchText is a result's label: kode, " — ", the first 80 characters of
// the name (the deployed app's nama[:80], REAL-APP.md 3.8).
func SearchText(kode, nama string) string {
	if r := []rune(nama); len(r) > 80 {
		nama = string(r[:80])
	}
	return kode + " — " + nama
}

// Search limits.
const (
	SearchDefaultLimit = 20
	SearchMaxLimit     = 50
)

// ClampLimit applies search-ahsp's limit rule: default 20, clamped to 1..50.
func ClampLimit(limit int, given bool) int {
	switch {
	case !given:
		return SearchDefaultLimit
	case limit < 1:
		return 1
	case limit > SearchMaxLimit:
		return SearchMaxLimit
	}
	return limit
}

// SearchAHSP finds catalog entries whose code or name contains q as a whole
// (case-insensitive, as Django's icontains), ordered by code (REAL-APP.md
// 3.8); total counts all matches, results holds at most limit.
func (s *Store) SearchAHSP(ctx context.Context, q string, limit int) ([]SearchResult, int, error) {
	var args []any
	where := ""
	if q = strings.TrimSpace(q); q != "" {
		pat := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
		where = ` WHERE (lower(kode_ahsp) LIKE ? ESCAPE '\' OR lower(nama_ahsp) LIKE ? ESCAPE '\')`
		args = append(args, pat, pat)
	}
	var total int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM ref_ahsp"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("search catalog: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, kode_ahsp, nama_ahsp, satuan, sumber FROM ref_ahsp"+where+" ORDER BY kode_ahsp, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search catalog: %w", err)
	}
	defer rows.Close()
	out := []SearchResult{}
	for rows.Next() {
		var r SearchResult
		if err := rows.Scan(&r.ID, &r.KodeAHSP, &r.NamaAHSP, &r.Satuan, &r.Sumber); err != nil {
			return nil, 0, fmt.Errorf("search catalog: %w", err)
		}
		r.Text = SearchText(r.KodeAHSP, r.NamaAHSP)
		out = append(out, r)
	}
	return out, total, rows.Err()
}
