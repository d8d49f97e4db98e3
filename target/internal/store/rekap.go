package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// HargaItem is one row of the project's price list.
type HargaItem struct {
	ID          int64   `json:"id"`
	Kategori    string  `json:"kategori"`
	Kode        string  `json:"kode"`
	Uraian      string  `json:"uraian"`
	Satuan      string  `json:"satuan"`
	HargaSatuan *string `json:"harga_satuan"`
}

// ProjectMeta is the project's pricing settings.
type ProjectMeta struct {
	MarkupPercent decimal.Decimal
	PPNPercent    decimal.Decimal
	RoundingBase  int64
	UpdatedAt     string
}

const projectMetaQuery = "SELECT markup_percent, ppn_percent, rounding_base, updated_at FROM projects WHERE id = ?"

// readMeta is projectMeta inside a read transaction, with the cached statement.
func (s *Store) readMeta(ctx context.Context, tx *sql.Tx, pid int64) (ProjectMeta, error) {
	st, err := s.stmt(ctx, projectMetaQuery)
	if err != nil {
		return ProjectMeta{}, err
	}
	return scanMeta(tx.StmtContext(ctx, st).QueryRowContext(ctx, pid), pid)
}

func projectMeta(ctx context.Context, tx *sql.Tx, pid int64) (ProjectMeta, error) {
	return scanMeta(tx.QueryRowContext(ctx, projectMetaQuery, pid), pid)
}

func scanMeta(row *sql.Row, pid int64) (ProjectMeta, error) {
	var (
		m       ProjectMeta
		mk, ppn string
	)
	err := row.Scan(&mk, &ppn, &m.RoundingBase, &m.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("read project %d: %w", pid, err)
	}
	m.MarkupPercent, m.PPNPercent = dec(mk), dec(ppn)
	return m, nil
}

// HargaList returns the project's price list (by kategori, then code) and its settings.
func (s *Store) HargaList(ctx context.Context, pid int64) ([]HargaItem, ProjectMeta, error) {
	var (
		items []HargaItem
		meta  ProjectMeta
	)
	err := s.rtx(ctx, func(tx *sql.Tx) error {
		var err error
		if meta, err = s.readMeta(ctx, tx, pid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT id, kategori, kode, uraian, satuan, harga_satuan FROM harga_items WHERE project_id = ?
			ORDER BY CASE kategori WHEN 'TK' THEN 0 WHEN 'BHN' THEN 1 WHEN 'ALT' THEN 2 ELSE 3 END, kode`, pid)
		if err != nil {
			return fmt.Errorf("list prices: %w", err)
		}
		defer rows.Close()
		items = []HargaItem{}
		for rows.Next() {
			var (
				it HargaItem
				h  sql.NullString
			)
			if err := rows.Scan(&it.ID, &it.Kategori, &it.Kode, &it.Uraian, &it.Satuan, &h); err != nil {
				return fmt.Errorf("list prices: %w", err)
			}
			if h.Valid {
				v := dec(h.String).StringFixed(HargaPlaces)
				it.HargaSatuan = &v
			}
			items = append(items, it)
		}
		return rows.Err()
	})
	return items, meta, err
}

// HargaItemInput is one decoded price update; Harga nil clears the price.
type HargaItemInput struct {
	Path    string
	ID      int64
	Harga   any
	Invalid bool
}

// HargaInput is a decoded harga-items save body.
type HargaInput struct {
	Items           []HargaItemInput
	MarkupPercent   any
	ClientUpdatedAt string
}

// HargaSaveResult is the outcome of HargaSave.
type HargaSaveResult struct {
	Updated       int          `json:"updated"`
	Errors        []FieldError `json:"errors"`
	MarkupPercent string       `json:"markup_percent"`
	UpdatedAt     string       `json:"updated_at"`
	// PricingSaved: the body's markup_percent was saved (the deployed
	// app's pricing_saved).
	PricingSaved bool `json:"pricing_saved"`
}

// HargaSave updates prices and the project markup. A client_updated_at
// older than the project's is a *ConflictError; rows that fail are reported
// (partial); nothing saved while something failed is a *ValidationError.
func (s *Store) HargaSave(ctx context.Context, pid int64, in HargaInput, pre []FieldError) (HargaSaveResult, error) {
	res := HargaSaveResult{Errors: append([]FieldError{}, pre...)}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		meta, err := projectMeta(ctx, tx, pid)
		if err != nil {
			return err
		}
		// An unparsable client_updated_at is ignored (REAL-APP.md 3.7, 3.10).
		if ct, err := ParseTime(in.ClientUpdatedAt); in.ClientUpdatedAt != "" && err == nil {
			if st, err := ParseTime(meta.UpdatedAt); err == nil && ct.Before(st) {
				return &ConflictError{ServerUpdatedAt: meta.UpdatedAt}
			}
		}
		owned, err := idSet(ctx, tx, "SELECT id FROM harga_items WHERE project_id = ?", pid)
		if err != nil {
			return err
		}
		changed := 0
		markup := meta.MarkupPercent
		if in.MarkupPercent != nil {
			m, msg := parseAmount(in.MarkupPercent, 2)
			if msg == "" && m.GreaterThan(decimal.NewFromInt(100)) {
				msg = "Markup maksimal 100%"
			}
			if msg != "" {
				res.Errors = append(res.Errors, FieldError{"markup_percent", msg})
			} else {
				markup = m
				res.PricingSaved = true
				if _, err := tx.ExecContext(ctx, "UPDATE projects SET markup_percent = ? WHERE id = ?", m.String(), pid); err != nil {
					return fmt.Errorf("save markup: %w", err)
				}
				changed++
			}
		}
		for _, it := range in.Items {
			if it.Invalid {
				continue
			}
			if !owned[it.ID] {
				res.Errors = append(res.Errors, FieldError{field(it.Path, "id"), "Item ini tidak digunakan di Detail AHSP proyek"})
				continue
			}
			var price *string
			if it.Harga != nil {
				h, msg := parseAmount(it.Harga, HargaPlaces)
				if msg != "" {
					res.Errors = append(res.Errors, FieldError{field(it.Path, "harga_satuan"), msg})
					continue
				}
				v := h.StringFixed(HargaPlaces)
				price = &v
			}
			if _, err := tx.ExecContext(ctx, "UPDATE harga_items SET harga_satuan = ? WHERE id = ?", price, it.ID); err != nil {
				return fmt.Errorf("save price: %w", err)
			}
			res.Updated++
			changed++
		}
		if changed == 0 && len(res.Errors) > 0 {
			return invalid("Tidak ada perubahan yang tersimpan", res.Errors...)
		}
		res.MarkupPercent = markup.StringFixed(2)
		res.UpdatedAt = s.nextStamp(meta.UpdatedAt)
		if _, err := tx.ExecContext(ctx, "UPDATE projects SET updated_at = ? WHERE id = ?", res.UpdatedAt, pid); err != nil {
			return fmt.Errorf("touch project: %w", err)
		}
		return nil
	})
	if err != nil {
		return HargaSaveResult{}, err
	}
	return res, nil
}

// RekapRow is one pekerjaan's unit-price analysis, in decimals.
type RekapRow struct {
	PekerjaanID   int64
	Klasifikasi   string
	Sub           string
	Kode          string
	Uraian        string
	Satuan        string
	SourceType    string
	A, B, C, LAIN decimal.Decimal
	D, EBase      decimal.Decimal
	E, F, G       decimal.Decimal
	MarkupEff     decimal.Decimal
	Volume        decimal.Decimal
	Total         decimal.Decimal
	BiayaLangsung decimal.Decimal
}

// Rekap is the project's cost summary.
type Rekap struct {
	Rows []RekapRow
	Meta ProjectMeta
	// Jumlah is Σ total; PPN = Jumlah × ppn/100; Grand = Jumlah + PPN;
	// Rounded is Grand rounded half-up to RoundingBase.
	Jumlah, PPN, Grand, Rounded decimal.Decimal
}

var hundred = decimal.NewFromInt(100)

// Compute fills the derived columns from A, B, C, LAIN, MarkupEff and Volume:
// D = A+B+C, E_base = D+LAIN, F = E = E_base×markup/100, G = E_base+F,
// total = G×volume, biaya_langsung = E_base×volume.
func (r *RekapRow) Compute() {
	r.D = r.A.Add(r.B).Add(r.C)
	r.EBase = r.D.Add(r.LAIN)
	r.F = r.EBase.Mul(r.MarkupEff).Div(hundred)
	r.E = r.F
	r.G = r.EBase.Add(r.F)
	r.Total = r.G.Mul(r.Volume)
	r.BiayaLangsung = r.EBase.Mul(r.Volume)
}

// Rekap computes every pekerjaan's A..G and totals in tree order. A missing
// price counts as 0; a missing volume as 0.
func (s *Store) Rekap(ctx context.Context, pid int64) (Rekap, error) {
	var out Rekap
	err := s.rtx(ctx, func(tx *sql.Tx) error {
		var err error
		if out.Meta, err = s.readMeta(ctx, tx, pid); err != nil {
			return err
		}
		rows, err := s.txQuery(ctx, tx, `
			SELECT p.id, k.name, s.name, p.snapshot_kode, p.snapshot_uraian, p.snapshot_satuan, p.source_type,
			       p.markup_override, v.quantity, r.kategori, r.koefisien, h.harga_satuan
			FROM pekerjaan p
			JOIN sub s ON s.id = p.sub_id
			JOIN klasifikasi k ON k.id = s.klasifikasi_id
			LEFT JOIN volume v ON v.pekerjaan_id = p.id
			LEFT JOIN rincian r ON r.pekerjaan_id = p.id
			LEFT JOIN harga_items h ON h.id = r.harga_item_id
			WHERE p.project_id = ?
			ORDER BY k.ordering_index, k.id, s.ordering_index, s.id, p.ordering_index, p.id`, pid)
		if err != nil {
			return fmt.Errorf("read rekap: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id                        int64
				kn, sn, kode, ur, sat, st string
				markup, qty, kat, koef    sql.NullString
				harga                     sql.NullString
			)
			if err := rows.Scan(&id, &kn, &sn, &kode, &ur, &sat, &st, &markup, &qty, &kat, &koef, &harga); err != nil {
				return fmt.Errorf("read rekap: %w", err)
			}
			n := len(out.Rows)
			if n == 0 || out.Rows[n-1].PekerjaanID != id {
				row := RekapRow{PekerjaanID: id, Klasifikasi: kn, Sub: sn, Kode: kode, Uraian: ur, Satuan: sat, SourceType: st,
					MarkupEff: out.Meta.MarkupPercent}
				if markup.Valid {
					row.MarkupEff = dec(markup.String)
				}
				if qty.Valid {
					row.Volume = dec(qty.String)
				}
				out.Rows = append(out.Rows, row)
				n++
			}
			if !kat.Valid {
				continue
			}
			r := &out.Rows[n-1]
			amount := dec(koef.String).Mul(dec(harga.String)) // NULL price -> dec("") = 0
			switch kat.String {
			case "TK":
				r.A = r.A.Add(amount)
			case "BHN":
				r.B = r.B.Add(amount)
			case "ALT":
				r.C = r.C.Add(amount)
			default:
				r.LAIN = r.LAIN.Add(amount)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Rekap{}, err
	}
	for i := range out.Rows {
		out.Rows[i].Compute()
		out.Jumlah = out.Jumlah.Add(out.Rows[i].Total)
	}
	out.PPN = out.Jumlah.Mul(out.Meta.PPNPercent).Div(hundred)
	out.Grand = out.Jumlah.Add(out.PPN)
	out.Rounded = RoundTo(out.Grand, out.Meta.RoundingBase)
	return out, nil
}

// RoundTo rounds d half-up to a multiple of base (base <= 1 rounds to units).
func RoundTo(d decimal.Decimal, base int64) decimal.Decimal {
	if base <= 1 {
		return d.Round(0)
	}
	b := decimal.NewFromInt(base)
	return d.Div(b).Round(0).Mul(b)
}
