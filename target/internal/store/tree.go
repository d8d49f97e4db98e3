package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Source types of a pekerjaan.
const (
	SourceRef         = "ref"
	SourceCustom      = "custom"
	SourceRefModified = "ref_modified"
)

// TreeInput is a decoded list-pekerjaan save/upsert body. Rows the decoder
// already rejected carry Invalid and are skipped (with their children).
type TreeInput struct {
	Klasifikasi []KlasifikasiInput
	// AllowBlankNames stores a blank klasifikasi or sub name as "" (the
	// blank-name-accepted defect: the deployed app's save does).
	AllowBlankNames bool
	// KeepEmptyGroups commits a save's klasifikasi and sub rows although
	// every pekerjaan it sent failed (the save-keeps-empty-groups defect:
	// the deployed app answers 207).
	KeepEmptyGroups bool
	// OrderingTakeover lets a new upsert pekerjaan take over the existing
	// one at its ordering_index (the upsert-ordering-takeover defect, the
	// deployed app's quirk 14): that one's volume is deleted, and when it is
	// listed in the body too the new row is dropped.
	OrderingTakeover bool
	// FailedRowTempOrdering leaves an existing upsert pekerjaan that fails
	// at the temporary ordering_index 1000000+n, n its place in the body
	// (the upsert-failed-row-temp-ordering defect, the deployed app's quirk 15).
	FailedRowTempOrdering bool
	// KeepStamps leaves an existing pekerjaan's updated_at as it was when the
	// upsert updates it (the tree-cache-stale defect: the deployed upsert
	// writes its rows without touching updated_at, so the tree cache's key,
	// the project's max(updated_at), does not move). Rows it creates are
	// stamped as any created row is.
	KeepStamps bool
}

// KlasifikasiInput is one top-level group.
type KlasifikasiInput struct {
	ID            *int64
	TempID        string
	Name          string
	OrderingIndex int
	NoOrdering    bool // ordering_index absent: the save takes the list position
	Sub           []SubInput
	Invalid       bool
}

// SubInput is one sub-group.
type SubInput struct {
	ID            *int64
	TempID        string
	Name          string
	OrderingIndex int
	Pekerjaan     []PekerjaanInput
	Invalid       bool
}

// PekerjaanInput is one work item.
type PekerjaanInput struct {
	ID             *int64
	TempID         string
	SourceType     string
	RefID          *int64
	SnapshotKode   string
	SnapshotUraian string
	SnapshotSatuan string
	OrderingIndex  int
	NoOrdering     bool
	Invalid        bool
}

// IDMap maps client temp ids (or row paths when no temp_id was sent) to the
// ids of rows that were committed.
type IDMap struct {
	Klasifikasi map[string]int64 `json:"klasifikasi"`
	Sub         map[string]int64 `json:"sub"`
	Pekerjaan   map[string]int64 `json:"pekerjaan"`
}

// TreeSummary counts saved rows.
type TreeSummary struct {
	Klasifikasi int `json:"klasifikasi"`
	Sub         int `json:"sub"`
	Pekerjaan   int `json:"pekerjaan"`
}

// SaveTreeResult is the outcome of SaveTree. Errors lists rows that were
// skipped or rolled back; when non-empty the save was partial.
type SaveTreeResult struct {
	IDMap   IDMap        `json:"id_map"`
	Summary TreeSummary  `json:"summary"`
	Errors  []FieldError `json:"errors"`
}

// ChangeFlags tells the client which pekerjaan need their detail reloaded
// and which lost their volume because the unit changed.
type ChangeFlags struct {
	ReloadJobIDs      []int64 `json:"reload_job_ids"`
	VolumeResetJobIDs []int64 `json:"volume_reset_job_ids"`
}

// UpsertSummary counts rows written and deleted.
type UpsertSummary struct {
	Klasifikasi        int `json:"klasifikasi"`
	Sub                int `json:"sub"`
	Pekerjaan          int `json:"pekerjaan"`
	DeletedKlasifikasi int `json:"deleted_klasifikasi"`
	DeletedSub         int `json:"deleted_sub"`
	DeletedPekerjaan   int `json:"deleted_pekerjaan"`
}

// UpsertResult is the outcome of UpsertTree.
type UpsertResult struct {
	IDMap       IDMap         `json:"id_map"`
	Summary     UpsertSummary `json:"summary"`
	ChangeFlags ChangeFlags   `json:"change_flags"`
	Errors      []FieldError  `json:"errors"`
}

func newIDMap() IDMap {
	return IDMap{Klasifikasi: map[string]int64{}, Sub: map[string]int64{}, Pekerjaan: map[string]int64{}}
}

func mapKey(temp, path string) string {
	if temp != "" {
		return temp
	}
	return path
}

type refInfo struct {
	kode, nama, satuan string
}

func lookupRef(ctx context.Context, tx *sql.Tx, id int64) (refInfo, bool, error) {
	var r refInfo
	err := tx.QueryRowContext(ctx, "SELECT kode_ahsp, nama_ahsp, satuan FROM ref_ahsp WHERE id = ?", id).Scan(&r.kode, &r.nama, &r.satuan)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("look up reference %d: %w", id, err)
	}
	return r, true, nil
}

// ensureHarga returns the project's price-list row for a resource, creating
// it (with price, which may be nil) when missing.
func ensureHarga(ctx context.Context, tx *sql.Tx, pid int64, kat, kode, uraian, satuan string, price *string) (int64, error) {
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO harga_items(project_id, kategori, kode, uraian, satuan, harga_satuan) VALUES(?,?,?,?,?,?) ON CONFLICT(project_id, kategori, kode) DO NOTHING",
		pid, kat, kode, uraian, satuan, price); err != nil {
		return 0, fmt.Errorf("add price item %s: %w", kode, err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, "SELECT id FROM harga_items WHERE project_id = ? AND kategori = ? AND kode = ?", pid, kat, kode).Scan(&id); err != nil {
		return 0, fmt.Errorf("find price item %s: %w", kode, err)
	}
	return id, nil
}

// cloneRef replaces the pekerjaan's rincian with the catalog entry's.
func cloneRef(ctx context.Context, tx *sql.Tx, pid, pekID, refID int64, prices map[string]Resource) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM rincian WHERE pekerjaan_id = ?", pekID); err != nil {
		return fmt.Errorf("clear rincian: %w", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT kategori, kode, uraian, satuan, koefisien FROM ref_rincian WHERE ref_ahsp_id = ? ORDER BY ordering", refID)
	if err != nil {
		return fmt.Errorf("read reference rincian: %w", err)
	}
	type rr struct{ kat, kode, uraian, satuan, koef string }
	var items []rr
	for rows.Next() {
		var x rr
		if err := rows.Scan(&x.kat, &x.kode, &x.uraian, &x.satuan, &x.koef); err != nil {
			rows.Close()
			return fmt.Errorf("read reference rincian: %w", err)
		}
		items = append(items, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read reference rincian: %w", err)
	}
	for i, x := range items {
		var price *string
		if r, ok := prices[x.kat+"|"+x.kode]; ok {
			p := r.Harga.String()
			price = &p
		}
		hid, err := ensureHarga(ctx, tx, pid, x.kat, x.kode, x.uraian, x.satuan, price)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO rincian(pekerjaan_id, ordering, kategori, kode, uraian, satuan, koefisien, harga_item_id, ref_ahsp_id) VALUES(?,?,?,?,?,?,?,?,?)",
			pekID, i+1, x.kat, x.kode, x.uraian, x.satuan, x.koef, hid, refID); err != nil {
			return fmt.Errorf("copy reference rincian: %w", err)
		}
	}
	return nil
}

func nextCustomCode(ctx context.Context, tx *sql.Tx, pid int64) (string, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, "UPDATE projects SET cust_seq = cust_seq + 1 WHERE id = ? RETURNING cust_seq", pid).Scan(&n); err != nil {
		return "", fmt.Errorf("next custom code: %w", err)
	}
	return fmt.Sprintf("CUST-%04d", n), nil
}

// pekerjaanRow is the resolved content of a pekerjaan input.
type pekerjaanRow struct {
	sourceType, kode, uraian, satuan string
	refID                            *int64
}

// resolvePekerjaan validates one pekerjaan input against the catalog.
func resolvePekerjaan(ctx context.Context, tx *sql.Tx, p PekerjaanInput, path string) (pekerjaanRow, []FieldError, error) {
	row := pekerjaanRow{sourceType: p.SourceType}
	var errs []FieldError
	switch p.SourceType {
	case SourceRef, SourceRefModified:
		if p.RefID == nil {
			errs = append(errs, FieldError{field(path, "ref_id"), "Wajib diisi untuk pekerjaan referensi"})
			break
		}
		ref, ok, err := lookupRef(ctx, tx, *p.RefID)
		if err != nil {
			return row, nil, err
		}
		if !ok {
			errs = append(errs, FieldError{field(path, "ref_id"), fmt.Sprintf("AHSP referensi %d tidak ditemukan", *p.RefID)})
			break
		}
		row.refID = p.RefID
		row.kode, row.uraian, row.satuan = ref.kode, ref.nama, ref.satuan
		if p.SourceType == SourceRefModified {
			if u := strings.TrimSpace(p.SnapshotUraian); u != "" {
				row.uraian = u
			}
			if s := strings.TrimSpace(p.SnapshotSatuan); s != "" {
				row.satuan = s
			}
		}
	case SourceCustom:
		row.uraian = strings.TrimSpace(p.SnapshotUraian)
		row.satuan = strings.TrimSpace(p.SnapshotSatuan)
		if row.uraian == "" {
			errs = append(errs, FieldError{field(path, "snapshot_uraian"), "Uraian pekerjaan custom wajib diisi"})
		}
		if row.satuan == "" {
			row.satuan = "ls"
		}
	default:
		errs = append(errs, FieldError{field(path, "source_type"), fmt.Sprintf("Nilai %q tidak dikenal: gunakan ref, custom atau ref_modified", p.SourceType)})
	}
	if len(row.uraian) > 500 {
		errs = append(errs, FieldError{field(path, "snapshot_uraian"), "Maksimal 500 karakter"})
	}
	return row, errs, nil
}

func checkName(name, path string) (string, []FieldError) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return n, []FieldError{{field(path, "name"), "Nama wajib diisi"}}
	case len(n) > 255:
		return n, []FieldError{{field(path, "name"), "Maksimal 255 karakter"}}
	}
	return n, nil
}

// savepoint runs fn inside a SAVEPOINT: on error only fn's writes are undone.
func savepoint(ctx context.Context, tx *sql.Tx, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT row_sp"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO row_sp"); rerr != nil {
			return fmt.Errorf("roll back row: %w", rerr)
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE row_sp"); rerr != nil {
			return fmt.Errorf("release savepoint: %w", rerr)
		}
		return &rowFailed{err}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE row_sp"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// rowFailed is a row's write that was rolled back to its savepoint; the rest
// of the transaction continues.
type rowFailed struct{ err error }

func (r *rowFailed) Error() string { return "row failed: " + r.err.Error() }

const rowFailedMessage = "Baris gagal disimpan dan dibatalkan; baris lain tetap tersimpan"

func (s *Store) insertPekerjaan(ctx context.Context, tx *sql.Tx, pid, subID int64, row pekerjaanRow, ordering int, stamp string, prices map[string]Resource) (int64, error) {
	kode := row.kode
	if row.sourceType == SourceCustom {
		c, err := nextCustomCode(ctx, tx, pid)
		if err != nil {
			return 0, err
		}
		kode = c
	}
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO pekerjaan(project_id, sub_id, source_type, ref_id, snapshot_kode, snapshot_uraian, snapshot_satuan, ordering_index, updated_at)
		 VALUES(?,?,?,?,?,?,?,?,?) RETURNING id`,
		pid, subID, row.sourceType, row.refID, kode, row.uraian, row.satuan, ordering, stamp).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert pekerjaan: %w", err)
	}
	if row.refID != nil {
		if err := cloneRef(ctx, tx, pid, id, *row.refID, prices); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// uniqueFailed is the deployed app's row error when a save's
// ordering_index is taken: ordering_index is unique per project for
// klasifikasi and for pekerjaan (REAL-APP.md 3.1), and the row's INSERT
// fails with the database's message.
func uniqueFailed(what, table string) string {
	return fmt.Sprintf("Gagal membuat %s: UNIQUE constraint failed: detail_project_%s.project_id, detail_project_%s.ordering_index", what, table, table)
}

// orderingTaken reports whether the project already has a row of table
// (klasifikasi or pekerjaan) at ordering.
func orderingTaken(ctx context.Context, tx *sql.Tx, table string, pid int64, ordering int) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE project_id = ? AND ordering_index = ?", pid, ordering).Scan(&n); err != nil {
		return false, fmt.Errorf("check %s ordering: %w", table, err)
	}
	return n > 0, nil
}

// SaveTree adds in to the project's klasifikasi > sub > pekerjaan tree: it
// is append-only, as the deployed app's save is (REAL-APP.md 3.1): rows are
// created, nothing is updated or deleted (the upsert is what deletes). A
// missing ordering_index is the row's list position; an ordering_index the
// project already has (klasifikasi, or pekerjaan project-wide) fails that
// row. Invalid rows (and their children) are skipped and reported; the rest
// is saved (a partial save). When nothing could be saved and there were
// errors, nothing changes and a *ValidationError is returned; so too, unless
// in.KeepEmptyGroups, when pekerjaan were sent and none was saved (the
// groups alone are not the save the client asked for). pre are errors the
// decoder already found (their rows carry Invalid).
func (s *Store) SaveTree(ctx context.Context, pid int64, in TreeInput, pre []FieldError) (SaveTreeResult, error) {
	res := SaveTreeResult{IDMap: newIDMap(), Errors: append([]FieldError{}, pre...)}
	sentPekerjaan := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stamp := s.nextStamp("")
		for ki, k := range in.Klasifikasi {
			kp := idx("klasifikasi", ki)
			if k.Invalid {
				continue
			}
			name, errs := checkName(k.Name, kp)
			if in.AllowBlankNames && strings.TrimSpace(k.Name) == "" {
				name, errs = "", nil
			}
			if len(errs) > 0 {
				res.Errors = append(res.Errors, errs...)
				continue
			}
			kord := k.OrderingIndex
			if k.NoOrdering {
				kord = ki
			}
			if taken, err := orderingTaken(ctx, tx, "klasifikasi", pid, kord); err != nil {
				return err
			} else if taken {
				res.Errors = append(res.Errors, FieldError{kp, uniqueFailed("klasifikasi", "klasifikasi")})
				continue
			}
			var kid int64
			if err := tx.QueryRowContext(ctx, "INSERT INTO klasifikasi(project_id, name, ordering_index) VALUES(?,?,?) RETURNING id", pid, name, kord).Scan(&kid); err != nil {
				return fmt.Errorf("insert klasifikasi: %w", err)
			}
			res.IDMap.Klasifikasi[mapKey(k.TempID, fmt.Sprintf("k%d", ki))] = kid
			res.Summary.Klasifikasi++
			for si, sb := range k.Sub {
				sp := idx(field(kp, "sub"), si)
				if sb.Invalid {
					continue
				}
				name, errs := checkName(sb.Name, sp)
				if in.AllowBlankNames && strings.TrimSpace(sb.Name) == "" {
					name, errs = "", nil
				}
				if len(errs) > 0 {
					res.Errors = append(res.Errors, errs...)
					continue
				}
				var sid int64
				if err := tx.QueryRowContext(ctx, "INSERT INTO sub(klasifikasi_id, project_id, name, ordering_index) VALUES(?,?,?,?) RETURNING id", kid, pid, name, sb.OrderingIndex).Scan(&sid); err != nil {
					return fmt.Errorf("insert sub: %w", err)
				}
				res.IDMap.Sub[mapKey(sb.TempID, fmt.Sprintf("s%d_%d", ki, si))] = sid
				res.Summary.Sub++
				for pi, p := range sb.Pekerjaan {
					sentPekerjaan = true
					pp := idx(field(sp, "pekerjaan"), pi)
					if p.Invalid {
						continue
					}
					row, errs, err := resolvePekerjaan(ctx, tx, p, pp)
					if err != nil {
						return err
					}
					if len(errs) > 0 {
						res.Errors = append(res.Errors, errs...)
						continue
					}
					pord := p.OrderingIndex
					if p.NoOrdering {
						pord = pi
					}
					if taken, err := orderingTaken(ctx, tx, "pekerjaan", pid, pord); err != nil {
						return err
					} else if taken {
						res.Errors = append(res.Errors, FieldError{pp, uniqueFailed("pekerjaan", "pekerjaan")})
						continue
					}
					var id int64
					err = savepoint(ctx, tx, func() error {
						var err error
						id, err = s.insertPekerjaan(ctx, tx, pid, sid, row, pord, stamp, nil)
						return err
					})
					var rf *rowFailed
					if errors.As(err, &rf) {
						res.Errors = append(res.Errors, FieldError{pp, rowFailedMessage})
						continue
					}
					if err != nil {
						return err
					}
					// temp_id defaults as deployed: k0, s0_0, p0_0_0 (REAL-APP.md 3.1).
					res.IDMap.Pekerjaan[mapKey(p.TempID, fmt.Sprintf("p%d_%d_%d", ki, si, pi))] = id
					res.Summary.Pekerjaan++
				}
			}
		}
		saved := res.Summary.Klasifikasi + res.Summary.Sub + res.Summary.Pekerjaan
		if saved == 0 && len(res.Errors) > 0 {
			return invalid("Tidak ada data yang tersimpan", res.Errors...)
		}
		if sentPekerjaan && res.Summary.Pekerjaan == 0 && len(res.Errors) > 0 && !in.KeepEmptyGroups {
			return invalid("Tidak ada pekerjaan yang tersimpan; tidak ada yang disimpan", res.Errors...)
		}
		return nil
	})
	if err != nil {
		return SaveTreeResult{}, err
	}
	return res, nil
}

type existingPek struct {
	sourceType, satuan, kode string
	refID                    *int64
	ordering                 int
}

// UpsertTree applies in to the project's tree: rows with an id are updated
// (and may move), rows without one are created, and existing rows the body
// does not mention are deleted. Rows that fail validation are reported and
// skipped; an existing row that fails keeps its current content and children.
func (s *Store) UpsertTree(ctx context.Context, pid int64, in TreeInput) (UpsertResult, error) {
	res := UpsertResult{IDMap: newIDMap(), Errors: []FieldError{},
		ChangeFlags: ChangeFlags{ReloadJobIDs: []int64{}, VolumeResetJobIDs: []int64{}}}
	if errs := duplicateIDs(in); len(errs) > 0 {
		return res, invalid("Data tidak valid", errs...)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		klas, err := idSet(ctx, tx, "SELECT id FROM klasifikasi WHERE project_id = ?", pid)
		if err != nil {
			return err
		}
		subs, err := idSet(ctx, tx, "SELECT id FROM sub WHERE project_id = ?", pid)
		if err != nil {
			return err
		}
		peks := map[int64]existingPek{}
		rows, err := tx.QueryContext(ctx, "SELECT id, source_type, snapshot_satuan, snapshot_kode, ref_id, ordering_index FROM pekerjaan WHERE project_id = ?", pid)
		if err != nil {
			return fmt.Errorf("read pekerjaan: %w", err)
		}
		for rows.Next() {
			var (
				id int64
				e  existingPek
			)
			if err := rows.Scan(&id, &e.sourceType, &e.satuan, &e.kode, &e.refID, &e.ordering); err != nil {
				rows.Close()
				return fmt.Errorf("read pekerjaan: %w", err)
			}
			peks[id] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read pekerjaan: %w", err)
		}
		keepK, keepS, keepP := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
		// keepTree marks an existing row's whole subtree as kept.
		keepTree := func(table string, id int64) error {
			q := map[string]string{
				"klasifikasi": "SELECT s.id, p.id FROM sub s LEFT JOIN pekerjaan p ON p.sub_id = s.id WHERE s.klasifikasi_id = ?",
				"sub":         "SELECT s.id, p.id FROM sub s LEFT JOIN pekerjaan p ON p.sub_id = s.id WHERE s.id = ?",
			}[table]
			rows, err := tx.QueryContext(ctx, q, id)
			if err != nil {
				return fmt.Errorf("keep subtree: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var sid int64
				var p sql.NullInt64
				if err := rows.Scan(&sid, &p); err != nil {
					return fmt.Errorf("keep subtree: %w", err)
				}
				keepS[sid] = true
				if p.Valid {
					keepP[p.Int64] = true
				}
			}
			return rows.Err()
		}
		stamp := s.nextStamp("")
		// The deployed quirks 14 and 15 need the existing rows by
		// ordering_index and the ids the body lists.
		byOrdering, listed := map[int]int64{}, map[int64]bool{}
		for id, e := range peks {
			if cur, ok := byOrdering[e.ordering]; !ok || id < cur {
				byOrdering[e.ordering] = id
			}
		}
		for _, k := range in.Klasifikasi {
			for _, sb := range k.Sub {
				for _, p := range sb.Pekerjaan {
					if p.ID != nil {
						listed[*p.ID] = true
					}
				}
			}
		}
		nth := 0 // the pekerjaan's place in the body, 1-based
		tempOrdering := func(p PekerjaanInput) error {
			if !in.FailedRowTempOrdering || p.ID == nil {
				return nil
			}
			if _, err := tx.ExecContext(ctx, "UPDATE pekerjaan SET ordering_index = ? WHERE id = ?", 1000000+nth, *p.ID); err != nil {
				return fmt.Errorf("temporary ordering: %w", err)
			}
			return nil
		}
		for ki, k := range in.Klasifikasi {
			kp := idx("klasifikasi", ki)
			if k.Invalid {
				continue
			}
			if k.ID != nil && !klas[*k.ID] {
				res.Errors = append(res.Errors, FieldError{field(kp, "id"), fmt.Sprintf("Klasifikasi %d tidak ditemukan di proyek ini", *k.ID)})
				continue
			}
			name, errs := checkName(k.Name, kp)
			if len(errs) > 0 {
				res.Errors = append(res.Errors, errs...)
				if k.ID != nil {
					keepK[*k.ID] = true
					if err := keepTree("klasifikasi", *k.ID); err != nil {
						return err
					}
				}
				continue
			}
			var kid int64
			if k.ID != nil {
				kid = *k.ID
				if _, err := tx.ExecContext(ctx, "UPDATE klasifikasi SET name = ?, ordering_index = ? WHERE id = ?", name, k.OrderingIndex, kid); err != nil {
					return fmt.Errorf("update klasifikasi: %w", err)
				}
			} else if err := tx.QueryRowContext(ctx, "INSERT INTO klasifikasi(project_id, name, ordering_index) VALUES(?,?,?) RETURNING id", pid, name, k.OrderingIndex).Scan(&kid); err != nil {
				return fmt.Errorf("insert klasifikasi: %w", err)
			}
			keepK[kid] = true
			res.IDMap.Klasifikasi[mapKey(k.TempID, kp)] = kid
			res.Summary.Klasifikasi++
			for si, sb := range k.Sub {
				sp := idx(field(kp, "sub"), si)
				if sb.Invalid {
					continue
				}
				if sb.ID != nil && !subs[*sb.ID] {
					res.Errors = append(res.Errors, FieldError{field(sp, "id"), fmt.Sprintf("Sub-klasifikasi %d tidak ditemukan di proyek ini", *sb.ID)})
					continue
				}
				name, errs := checkName(sb.Name, sp)
				if len(errs) > 0 {
					res.Errors = append(res.Errors, errs...)
					if sb.ID != nil {
						if err := keepTree("sub", *sb.ID); err != nil {
							return err
						}
					}
					continue
				}
				var sid int64
				if sb.ID != nil {
					sid = *sb.ID
					if _, err := tx.ExecContext(ctx, "UPDATE sub SET klasifikasi_id = ?, name = ?, ordering_index = ? WHERE id = ?", kid, name, sb.OrderingIndex, sid); err != nil {
						return fmt.Errorf("update sub: %w", err)
					}
				} else if err := tx.QueryRowContext(ctx, "INSERT INTO sub(klasifikasi_id, project_id, name, ordering_index) VALUES(?,?,?,?) RETURNING id", kid, pid, name, sb.OrderingIndex).Scan(&sid); err != nil {
					return fmt.Errorf("insert sub: %w", err)
				}
				keepS[sid] = true
				res.IDMap.Sub[mapKey(sb.TempID, sp)] = sid
				res.Summary.Sub++
				for pi, p := range sb.Pekerjaan {
					pp := idx(field(sp, "pekerjaan"), pi)
					nth++
					if x, taken := byOrdering[p.OrderingIndex]; in.OrderingTakeover && p.ID == nil && !p.Invalid && taken {
						// The deployed upsert matches a new pekerjaan to the
						// existing one at its ordering_index.
						if _, err := tx.ExecContext(ctx, "DELETE FROM volume WHERE pekerjaan_id = ?", x); err != nil {
							return fmt.Errorf("takeover volume: %w", err)
						}
						if listed[x] {
							continue // the body's own row for x wins: the new row vanishes
						}
						p.ID = &x
					}
					if p.Invalid {
						if p.ID != nil && peks[*p.ID].sourceType != "" {
							keepP[*p.ID] = true
						}
						continue
					}
					var old existingPek
					if p.ID != nil {
						var ok bool
						if old, ok = peks[*p.ID]; !ok {
							res.Errors = append(res.Errors, FieldError{field(pp, "id"), fmt.Sprintf("Pekerjaan %d tidak ditemukan di proyek ini", *p.ID)})
							continue
						}
					}
					row, errs, err := resolvePekerjaan(ctx, tx, p, pp)
					if err != nil {
						return err
					}
					if len(errs) > 0 {
						res.Errors = append(res.Errors, errs...)
						if p.ID != nil {
							keepP[*p.ID] = true
						}
						if err := tempOrdering(p); err != nil {
							return err
						}
						continue
					}
					var id int64
					err = savepoint(ctx, tx, func() error {
						if p.ID == nil {
							var err error
							id, err = s.insertPekerjaan(ctx, tx, pid, sid, row, p.OrderingIndex, stamp, nil)
							return err
						}
						id = *p.ID
						upd := stamp
						if in.KeepStamps {
							upd = ""
						}
						return s.updatePekerjaan(ctx, tx, pid, sid, id, old, row, p.OrderingIndex, upd, &res.ChangeFlags)
					})
					var rf *rowFailed
					if errors.As(err, &rf) {
						res.Errors = append(res.Errors, FieldError{pp, rowFailedMessage})
						if p.ID != nil {
							keepP[*p.ID] = true
						}
						if err := tempOrdering(p); err != nil {
							return err
						}
						continue
					}
					if err != nil {
						return err
					}
					keepP[id] = true
					res.IDMap.Pekerjaan[mapKey(p.TempID, pp)] = id
					res.Summary.Pekerjaan++
				}
			}
		}
		// A kept sub or pekerjaan whose parent was deleted would go with the
		// cascade; move nothing, just delete what nobody kept.
		for id := range peks {
			if !keepP[id] {
				if _, err := tx.ExecContext(ctx, "DELETE FROM pekerjaan WHERE id = ?", id); err != nil {
					return fmt.Errorf("delete pekerjaan: %w", err)
				}
				res.Summary.DeletedPekerjaan++
			}
		}
		for id := range subs {
			if !keepS[id] {
				if _, err := tx.ExecContext(ctx, "DELETE FROM sub WHERE id = ?", id); err != nil {
					return fmt.Errorf("delete sub: %w", err)
				}
				res.Summary.DeletedSub++
			}
		}
		for id := range klas {
			if !keepK[id] {
				if _, err := tx.ExecContext(ctx, "DELETE FROM klasifikasi WHERE id = ?", id); err != nil {
					return fmt.Errorf("delete klasifikasi: %w", err)
				}
				res.Summary.DeletedKlasifikasi++
			}
		}
		return nil
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return res, nil
}

func (s *Store) updatePekerjaan(ctx context.Context, tx *sql.Tx, pid, subID, id int64, old existingPek, row pekerjaanRow, ordering int, stamp string, flags *ChangeFlags) error {
	kode := row.kode
	refChanged := old.sourceType != row.sourceType || !sameID(old.refID, row.refID)
	if row.sourceType == SourceCustom {
		kode = old.kode
		if old.sourceType != SourceCustom {
			c, err := nextCustomCode(ctx, tx, pid)
			if err != nil {
				return err
			}
			kode = c
		}
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE pekerjaan SET sub_id = ?, source_type = ?, ref_id = ?, snapshot_kode = ?, snapshot_uraian = ?, snapshot_satuan = ?, ordering_index = ?, updated_at = COALESCE(NULLIF(?, ''), updated_at) WHERE id = ?`,
		subID, row.sourceType, row.refID, kode, row.uraian, row.satuan, ordering, stamp, id); err != nil {
		return fmt.Errorf("update pekerjaan: %w", err)
	}
	if refChanged {
		// ref -> custom keeps the rows as an editable copy; a new reference replaces them.
		if row.refID != nil && !sameID(old.refID, row.refID) {
			if err := cloneRef(ctx, tx, pid, id, *row.refID, nil); err != nil {
				return err
			}
		}
		flags.ReloadJobIDs = append(flags.ReloadJobIDs, id)
	}
	if old.satuan != row.satuan {
		if _, err := tx.ExecContext(ctx, "DELETE FROM volume WHERE pekerjaan_id = ?", id); err != nil {
			return fmt.Errorf("reset volume: %w", err)
		}
		flags.VolumeResetJobIDs = append(flags.VolumeResetJobIDs, id)
	}
	return nil
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func idSet(ctx context.Context, tx *sql.Tx, q string, args ...any) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read ids: %w", err)
	}
	defer rows.Close()
	m := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read ids: %w", err)
		}
		m[id] = true
	}
	return m, rows.Err()
}

// duplicateIDs is the upsert preflight: one id may appear only once per level.
func duplicateIDs(in TreeInput) []FieldError {
	var errs []FieldError
	seen := map[string]bool{}
	check := func(kind string, id *int64, path string) {
		if id == nil {
			return
		}
		k := fmt.Sprintf("%s/%d", kind, *id)
		if seen[k] {
			errs = append(errs, FieldError{field(path, "id"), fmt.Sprintf("id %d muncul lebih dari sekali", *id)})
		}
		seen[k] = true
	}
	for ki, k := range in.Klasifikasi {
		kp := idx("klasifikasi", ki)
		check("k", k.ID, kp)
		for si, sb := range k.Sub {
			sp := idx(field(kp, "sub"), si)
			check("s", sb.ID, sp)
			for pi, p := range sb.Pekerjaan {
				check("p", p.ID, idx(field(sp, "pekerjaan"), pi))
			}
		}
	}
	return errs
}

// TreePekerjaan is one work item in the tree listing.
type TreePekerjaan struct {
	ID             int64   `json:"id"`
	SourceType     string  `json:"source_type"`
	OrderingIndex  int     `json:"ordering_index"`
	SnapshotKode   string  `json:"snapshot_kode"`
	SnapshotUraian string  `json:"snapshot_uraian"`
	SnapshotSatuan string  `json:"snapshot_satuan"`
	RefID          *int64  `json:"ref_id"`
	BudgetedCost   *string `json:"budgeted_cost"`
}

// TreeSub is a sub-group in the listing.
type TreeSub struct {
	ID            int64           `json:"id"`
	Name          string          `json:"name"`
	OrderingIndex int             `json:"ordering_index"`
	Pekerjaan     []TreePekerjaan `json:"pekerjaan"`
}

// TreeKlasifikasi is a top-level group in the listing.
type TreeKlasifikasi struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	OrderingIndex int       `json:"ordering_index"`
	Sub           []TreeSub `json:"sub"`
}

// TreeResult is the project's tree; with a search only matching pekerjaan
// (and the groups that hold them) are listed.
type TreeResult struct {
	Klasifikasi  []TreeKlasifikasi `json:"klasifikasi"`
	SearchActive bool              `json:"-"`
	MatchCount   int               `json:"-"`
}

// TreeStamp is the project's max(updated_at) over its pekerjaan ("" when
// it has none): the key the deployed app caches unsearched trees under.
func (s *Store) TreeStamp(ctx context.Context, pid int64) (string, error) {
	var v sql.NullString
	if err := s.r.QueryRowContext(ctx, "SELECT max(updated_at) FROM pekerjaan WHERE project_id = ?", pid).Scan(&v); err != nil {
		return "", fmt.Errorf("tree stamp: %w", err)
	}
	return v.String, nil
}

const treeQuery = `
	SELECT k.id, k.name, k.ordering_index, s.id, s.name, s.ordering_index,
	       p.id, p.source_type, p.ordering_index, p.snapshot_kode, p.snapshot_uraian, p.snapshot_satuan, p.ref_id, p.budgeted_cost
	FROM klasifikasi k
	LEFT JOIN sub s ON s.klasifikasi_id = k.id
	LEFT JOIN pekerjaan p ON p.sub_id = s.id
	WHERE k.project_id = ?
	ORDER BY k.ordering_index, k.id, s.ordering_index, s.id, p.ordering_index, p.id`

// Tree lists the project's tree ordered by ordering_index then id. A
// non-empty q keeps only pekerjaan whose code or description contains it.
func (s *Store) Tree(ctx context.Context, pid int64, q string) (TreeResult, error) {
	q = strings.TrimSpace(q)
	res := TreeResult{Klasifikasi: []TreeKlasifikasi{}, SearchActive: q != ""}
	// One statement reads one snapshot: no transaction needed.
	err := func() error {
		st, err := s.stmt(ctx, treeQuery)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, pid)
		if err != nil {
			return fmt.Errorf("read tree: %w", err)
		}
		defer rows.Close()
		needle := strings.ToLower(q)
		for rows.Next() {
			var (
				kid                   int64
				kname                 string
				kord                  int
				sid, sord, pid2, pord sql.NullInt64
				sname                 sql.NullString
				st, kode, ur, sat     sql.NullString
				ref                   sql.NullInt64
				bc                    sql.NullString
			)
			if err := rows.Scan(&kid, &kname, &kord, &sid, &sname, &sord, &pid2, &st, &pord, &kode, &ur, &sat, &ref, &bc); err != nil {
				return fmt.Errorf("read tree: %w", err)
			}
			match := pid2.Valid && (needle == "" || strings.Contains(strings.ToLower(kode.String), needle) || strings.Contains(strings.ToLower(ur.String), needle))
			if res.SearchActive && !match {
				continue
			}
			n := len(res.Klasifikasi)
			if n == 0 || res.Klasifikasi[n-1].ID != kid {
				res.Klasifikasi = append(res.Klasifikasi, TreeKlasifikasi{ID: kid, Name: kname, OrderingIndex: kord, Sub: []TreeSub{}})
				n++
			}
			k := &res.Klasifikasi[n-1]
			if !sid.Valid {
				continue
			}
			m := len(k.Sub)
			if m == 0 || k.Sub[m-1].ID != sid.Int64 {
				k.Sub = append(k.Sub, TreeSub{ID: sid.Int64, Name: sname.String, OrderingIndex: int(sord.Int64), Pekerjaan: []TreePekerjaan{}})
				m++
			}
			sb := &k.Sub[m-1]
			if !pid2.Valid {
				continue
			}
			tp := TreePekerjaan{ID: pid2.Int64, SourceType: st.String, OrderingIndex: int(pord.Int64),
				SnapshotKode: kode.String, SnapshotUraian: ur.String, SnapshotSatuan: sat.String}
			if ref.Valid {
				r := ref.Int64
				tp.RefID = &r
			}
			if bc.Valid {
				v := dec(bc.String).StringFixed(HargaPlaces)
				tp.BudgetedCost = &v
			}
			sb.Pekerjaan = append(sb.Pekerjaan, tp)
			if match {
				res.MatchCount++
			}
		}
		return rows.Err()
	}()
	return res, err
}
