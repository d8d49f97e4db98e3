package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A project's items are one per kode (the price list's kode_item): detail
// save fills a blank kode and refuses a kode the project has under another
// kategori (REAL-APP.md 3.7).

// kodeItem is a detail row's kategori and kode.
type kodeItem struct{ kategori, kode string }

// kategoriCode reads a row's kategori as its code; the label ("Tenaga
// Kerja", "Bahan", ...) is accepted too, as the deployed save does.
func kategoriCode(v string) string {
	v = strings.TrimSpace(v)
	for _, o := range KategoriOptions {
		if strings.EqualFold(v, o.Label) {
			return o.Value
		}
	}
	return strings.ToUpper(v)
}

// autoKode: a blank kode of this kategori is generated (TK, BHN, ALT); a
// LAIN row names what it refers to, so its kode stays required.
func autoKode(kategori string) bool {
	return kategori == "TK" || kategori == "BHN" || kategori == "ALT"
}

// UnitKodePrefix starts a generated kode: Unit-0001, Unit-0002, ... per
// project. REAL-APP.md shows only "Unit-NNNN"; the per-project sequence
// (one past the highest Unit-N the project's items or this save use,
// zero-padded to 4) is the reference's choice.
const UnitKodePrefix = "Unit-"

// fillUnitKode gives every item with a blank kode the project's next
// Unit-NNNN, in row order.
func fillUnitKode(ctx context.Context, tx *sql.Tx, pid int64, items []kodeItem) error {
	blank := false
	for _, it := range items {
		blank = blank || it.kode == ""
	}
	if !blank {
		return nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT kode FROM harga_items WHERE project_id = ? AND kode LIKE ?", pid, UnitKodePrefix+"%")
	if err != nil {
		return fmt.Errorf("read generated kode: %w", err)
	}
	next := 1
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("read generated kode: %w", err)
		}
		next = max(next, unitNumber(k)+1)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read generated kode: %w", err)
	}
	for _, it := range items {
		next = max(next, unitNumber(it.kode)+1)
	}
	for i := range items {
		if items[i].kode == "" {
			items[i].kode = fmt.Sprintf("%s%04d", UnitKodePrefix, next)
			next++
		}
	}
	return nil
}

// unitNumber is N of a kode "Unit-N" (0 for any other kode).
func unitNumber(kode string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(kode, UnitKodePrefix))
	if !strings.HasPrefix(kode, UnitKodePrefix) || err != nil || n < 0 {
		return 0
	}
	return n
}

// kategoriClash refuses the save (400, nothing written) when a row's kode
// is already the project's item of another kategori, or an earlier row's
// of this save. REAL-APP.md gives the shape ({ok, user_message, errors:
// [{path: "kategori"}]}), not the words: the messages are the reference's.
func kategoriClash(ctx context.Context, tx *sql.Tx, pid int64, items []kodeItem) error {
	var errs []FieldError
	first := ""
	inSave := map[string]string{}
	for _, it := range items {
		other, ok := inSave[it.kode]
		if !ok {
			err := tx.QueryRowContext(ctx, "SELECT kategori FROM harga_items WHERE project_id = ? AND kode = ? AND kategori <> ? ORDER BY id LIMIT 1",
				pid, it.kode, it.kategori).Scan(&other)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("check kode %s: %w", it.kode, err)
			}
			ok = err == nil
		}
		if !ok || other == it.kategori {
			inSave[it.kode] = it.kategori
			continue
		}
		msg := fmt.Sprintf("Kode %q sudah terdaftar di proyek ini dengan kategori %s; tidak dapat dipakai untuk %s", it.kode, other, it.kategori)
		if first == "" {
			first = msg
		}
		errs = append(errs, FieldError{"kategori", msg})
	}
	if len(errs) == 0 {
		return nil
	}
	return invalid("\u26a0\ufe0f Kategori bentrok: "+first+". Gunakan kode lain atau kategori yang sama. Tidak ada yang disimpan.", errs...)
}
