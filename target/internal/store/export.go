package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// The CSV exports in the deployed app's layout (REAL-APP.md 3.12, 3.13).

// BOM is the UTF-8 byte-order mark Excel needs to read the CSV as UTF-8.
const BOM = "\ufeff"

// csvField quotes a field for ';'-separated CSV when needed.
func csvField(s string) string {
	if strings.ContainsAny(s, ";\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// csvWriter joins ';'-separated lines with a fixed line end.
type csvWriter struct {
	b   bytes.Buffer
	eol string
}

func (w *csvWriter) line(fields ...string) {
	for i, f := range fields {
		if i > 0 {
			w.b.WriteByte(';')
		}
		w.b.WriteString(csvField(f))
	}
	w.b.WriteString(w.eol)
}

// money is the rekap CSV's Indonesian integer rupiah: 1689062.5 -> "1.689.062".
// The app formats a float with Python's "{:,.0f}", which rounds half to even.
func money(d decimal.Decimal) string { return FormatID(d.RoundBank(0), 0) }

// Identity is the project header block of the rekap CSV.
type Identity struct {
	Project, Owner string
}

func (s *Store) identity(ctx context.Context, pid int64) (Identity, error) {
	var id Identity
	err := s.r.QueryRowContext(ctx, `SELECT p.name, u.username FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = ?`, pid).
		Scan(&id.Project, &id.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return id, ErrNotFound
	}
	if err != nil {
		return id, fmt.Errorf("read project %d: %w", pid, err)
	}
	return id, nil
}

// treeIDs maps every pekerjaan of the project to its klasifikasi and sub ids.
func (s *Store) treeIDs(ctx context.Context, pid int64) (map[int64][2]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.id, s.klasifikasi_id, p.sub_id FROM pekerjaan p JOIN sub s ON s.id = p.sub_id WHERE p.project_id = ?`, pid)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	defer rows.Close()
	out := map[int64][2]int64{}
	for rows.Next() {
		var p, k, sb int64
		if err := rows.Scan(&p, &k, &sb); err != nil {
			return nil, fmt.Errorf("read tree: %w", err)
		}
		out[p] = [2]int64{k, sb}
	}
	return out, rows.Err()
}

// RekapCSV reads the project and renders its rekap CSV (RenderRekapCSV);
// blankAmounts leaves every money cell empty (RenderRekapCSV).
func (s *Store) RekapCSV(ctx context.Context, pid int64, blankAmounts bool) ([]byte, error) {
	id, err := s.identity(ctx, pid)
	if err != nil {
		return nil, err
	}
	rk, err := s.Rekap(ctx, pid)
	if err != nil {
		return nil, err
	}
	ids, err := s.treeIDs(ctx, pid)
	if err != nil {
		return nil, err
	}
	return RenderRekapCSV(rk, id, ids, blankAmounts), nil
}

// RenderRekapCSV is the deployed rekap CSV with one leading BOM and CRLF
// line ends: block 1 "RENCANA ANGGARAN BIAYA" (identity, blank line, the
// tree indented 0/2/4 spaces, four totals), a blank line, block 2
// "REKAPITULASI RENCANA ANGGARAN BIAYA" (identity, blank line, one row per
// klasifikasi, the same totals). Amounts are integer rupiah, volumes three
// places, both in Indonesian notation. ids maps pekerjaan to [klasifikasi,
// sub] ids (two rows may share a name); the as-deployed BOM before every
// line is the handler's defect, not this layout. blankAmounts is the
// deployed export with its cache down (rekap-csv-blank-cache-down): the same
// lines with every money cell empty (volumes stay).
func RenderRekapCSV(rk Rekap, id Identity, ids map[int64][2]int64, blankAmounts bool) []byte {
	w := &csvWriter{eol: "\r\n"}
	money := money
	if blankAmounts {
		money = func(decimal.Decimal) string { return "" }
	}
	w.b.WriteString(BOM)
	ident := func(title string) {
		w.line(title)
		w.line("Proyek", id.Project)
		w.line("Pemilik Project", id.Owner)
		// The target stores no year, fund source, location or budget: the
		// app prints "-" for an empty one.
		w.line("Tahun", "-")
		w.line("Sumber Dana", "-")
		w.line("Lokasi", "-")
		w.line("Project Anggaran", "-")
		w.line("")
	}
	totals := func() {
		w.line("TOTAL BIAYA LANGSUNG", money(rk.Jumlah))
		w.line("PPN "+rk.Meta.PPNPercent.StringFixed(2)+"%", money(rk.PPN))
		w.line("GRAND TOTAL", money(rk.Grand))
		w.line("PEMBULATAN", money(rk.Rounded))
	}
	type group struct {
		name  string
		total decimal.Decimal
	}
	var groups []group
	ident("RENCANA ANGGARAN BIAYA")
	w.line("Uraian Pekerjaan", "Kode AHSP", "Satuan", "Volume", "Harga Satuan (Rp)", "Jumlah Harga (Rp)")
	lastK, lastS := int64(-1), int64(-1)
	for _, r := range rk.Rows {
		ks := ids[r.PekerjaanID]
		if ks[0] != lastK || len(groups) == 0 {
			w.line(r.Klasifikasi, "", "", "", "", "")
			groups = append(groups, group{name: r.Klasifikasi})
			lastK, lastS = ks[0], -1
		}
		if ks[1] != lastS {
			w.line("  "+r.Sub, "", "", "", "", "")
			lastS = ks[1]
		}
		w.line("    "+r.Uraian, r.Kode, r.Satuan, FormatID(r.Volume, QuantityPlaces), money(r.G), money(r.Total))
		groups[len(groups)-1].total = groups[len(groups)-1].total.Add(r.Total)
	}
	totals()
	w.line("")
	ident("REKAPITULASI RENCANA ANGGARAN BIAYA")
	w.line("No", "Uraian Klasifikasi", "Jumlah Harga (Rp)")
	for i, g := range groups {
		w.line(fmt.Sprintf("    %d", i+1), g.name, money(g.total))
	}
	totals()
	return w.b.Bytes()
}

// RincianCSV renders every detail row as stored (REAL-APP.md 3.13): a
// header, the rows with the stored decimals, a blank line and four totals.
// lf is the deployed format (LF, no BOM, no trailing newline); otherwise
// one leading BOM and CRLF after every line, as the rekap CSV has.
func (s *Store) RincianCSV(ctx context.Context, pid int64, lf bool) ([]byte, error) {
	w := &csvWriter{eol: "\r\n"}
	if lf {
		w.eol = "\n"
	} else {
		w.b.WriteString(BOM)
	}
	w.line("pekerjaan_kode", "pekerjaan_uraian", "kategori", "kode", "uraian", "satuan", "koefisien", "volume", "harga_satuan", "subtotal")
	var (
		direct decimal.Decimal
		meta   ProjectMeta
	)
	err := s.rtx(ctx, func(tx *sql.Tx) error {
		var err error
		if meta, err = s.readMeta(ctx, tx, pid); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT p.snapshot_kode, p.snapshot_uraian, r.kategori, r.kode, r.uraian, r.satuan, r.koefisien, v.quantity, h.harga_satuan
			FROM pekerjaan p
			JOIN sub s ON s.id = p.sub_id
			JOIN klasifikasi k ON k.id = s.klasifikasi_id
			JOIN rincian r ON r.pekerjaan_id = p.id
			LEFT JOIN volume v ON v.pekerjaan_id = p.id
			LEFT JOIN harga_items h ON h.id = r.harga_item_id
			WHERE p.project_id = ?
			ORDER BY k.ordering_index, k.id, s.ordering_index, s.id, p.ordering_index, p.id, r.ordering, r.id`, pid)
		if err != nil {
			return fmt.Errorf("read rincian: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				pk, pu, kat, kode, ur, sat, koef string
				qty, harga                       sql.NullString
			)
			if err := rows.Scan(&pk, &pu, &kat, &kode, &ur, &sat, &koef, &qty, &harga); err != nil {
				return fmt.Errorf("read rincian: %w", err)
			}
			k, v, h := dec(koef), dec(qty.String), dec(harga.String)
			sub := k.Mul(v).Mul(h)
			direct = direct.Add(sub)
			price := ""
			if harga.Valid {
				price = h.StringFixed(HargaPlaces)
			}
			w.line(pk, pu, kat, kode, ur, sat, k.StringFixed(KoefisienPlaces), v.StringFixed(QuantityPlaces), price, sub.StringFixed(HargaPlaces))
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	e := direct.Mul(meta.MarkupPercent).Div(hundred).Round(HargaPlaces)
	direct = direct.Round(HargaPlaces)
	w.line("")
	w.line("TOTAL LANGSUNG (D)", direct.StringFixed(HargaPlaces))
	w.line("Profit/Margin %", meta.MarkupPercent.StringFixed(2))
	w.line("Profit/Margin (E)", e.StringFixed(HargaPlaces))
	w.line("GRAND TOTAL (D+E)", direct.Add(e).StringFixed(HargaPlaces))
	out := w.b.Bytes()
	if lf {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	return out, nil
}
