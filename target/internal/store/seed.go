package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SeedSpec sizes the seed data: Users users owning Projects projects each.
type SeedSpec struct {
	Users    int
	Projects int
	Password string
}

// ParseSeedSpec reads the --seed flag form "users=20,projects=2".
func ParseSeedSpec(v string) (SeedSpec, error) {
	spec := SeedSpec{Users: 20, Projects: 2}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || n < 0 {
			return spec, fmt.Errorf("seed %q: want users=N,projects=M with N, M >= 0", v)
		}
		switch strings.TrimSpace(k) {
		case "users":
			spec.Users = n
		case "projects":
			spec.Projects = n
		default:
			return spec, fmt.Errorf("seed %q: unknown key %q (allowed: users, projects)", v, k)
		}
	}
	return spec, nil
}

// SeedUserName is the username of seeded user i (from 1).
func SeedUserName(i int) string { return fmt.Sprintf("user%d", i) }

// SeedEmail is the email of seeded user i (from 1).
func SeedEmail(i int) string { return fmt.Sprintf("user%d@example.test", i) }

// SeedProjectIDs are the projects seeded user i (from 1) owns.
func SeedProjectIDs(i, projectsPerUser int) []int64 {
	out := make([]int64, 0, projectsPerUser)
	for k := 1; k <= projectsPerUser; k++ {
		out = append(out, int64((i-1)*projectsPerUser+k))
	}
	return out
}

// Seed writes the reference catalog (once) and the seed users and projects.
// It is idempotent: existing users keep their id (their password is reset
// to spec.Password when it differs) and existing projects are left as they
// are, so reseeding never discards work done through the API.
func (s *Store) Seed(ctx context.Context, spec SeedSpec) error {
	if spec.Users < 0 || spec.Projects < 0 {
		return errors.New("seed: users and projects must be >= 0")
	}
	if spec.Password == "" && spec.Users > 0 {
		return errors.New("seed: empty password (set --seed-password)")
	}
	if err := s.tx(ctx, func(tx *sql.Tx) error { return s.ensureCatalog(ctx, tx) }); err != nil {
		return fmt.Errorf("seed catalog: %w", err)
	}
	prices := basePrices()
	for i := 1; i <= spec.Users; i++ {
		// Hash outside the write transaction: it is the slow part.
		var (
			uid  int64
			hash string
		)
		err := s.r.QueryRowContext(ctx, "SELECT id, password FROM users WHERE username = ?", SeedUserName(i)).Scan(&uid, &hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("seed user %d: %w", i, err)
		}
		newHash := ""
		if errors.Is(err, sql.ErrNoRows) || !CheckPassword(spec.Password, hash) {
			if newHash, err = HashPassword(spec.Password); err != nil {
				return fmt.Errorf("seed user %d: %w", i, err)
			}
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if newHash != "" {
				if err := tx.QueryRowContext(ctx,
					`INSERT INTO users(id, username, email, password) VALUES(?,?,?,?)
					 ON CONFLICT(username) DO UPDATE SET password = excluded.password RETURNING id`,
					i, SeedUserName(i), SeedEmail(i), newHash).Scan(&uid); err != nil {
					return fmt.Errorf("write user: %w", err)
				}
			}
			for _, pid := range SeedProjectIDs(i, spec.Projects) {
				if err := s.seedProject(ctx, tx, uid, pid, prices); err != nil {
					return fmt.Errorf("project %d: %w", pid, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed user %d: %w", i, err)
		}
	}
	return nil
}

// seedProject creates project pid with its small tree unless it exists.
func (s *Store) seedProject(ctx context.Context, tx *sql.Tx, owner, pid int64, prices map[string]Resource) error {
	var exists int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM projects WHERE id = ?", pid).Scan(&exists); err != nil {
		return fmt.Errorf("check project: %w", err)
	}
	if exists > 0 {
		return nil
	}
	stamp := fmtTime(s.stamp())
	if _, err := tx.ExecContext(ctx, "INSERT INTO projects(id, owner_id, name, updated_at) VALUES(?,?,?,?)",
		pid, owner, fmt.Sprintf("Proyek %d: Gedung Serbaguna Blok %c", pid, 'A'+rune((pid-1)%26)), stamp); err != nil {
		return fmt.Errorf("insert project: %w", err)
	}
	var kid int64
	if err := tx.QueryRowContext(ctx, "INSERT INTO klasifikasi(project_id, name, ordering_index) VALUES(?,?,1) RETURNING id",
		pid, "Pekerjaan Struktur Bawah").Scan(&kid); err != nil {
		return fmt.Errorf("insert klasifikasi: %w", err)
	}
	entries, _ := Catalog()
	n := int64(len(entries))
	// Spread the seeded references over the catalog, deterministically.
	refA := 1 + (pid*7)%n
	refB := 1 + (pid*13+5)%n
	type seedPek struct {
		row     pekerjaanRow
		volume  string
		markup  *string
		budget  *string
		rincian [][3]string // kategori, kode, koefisien
	}
	m15 := "15"
	budget := "2000000"
	subs := []struct {
		name string
		peks []seedPek
	}{
		{"Pekerjaan Tanah", []seedPek{
			{row: pekerjaanRow{sourceType: SourceRef, refID: &refA}, volume: fmt.Sprintf("%d.250", 10+pid%40)},
			// The worked example of the rekap: 0.75 x 150000 + 0.025 x 200000,
			// markup 15 %, volume 12.5 -> total 1,689,062.50.
			{row: pekerjaanRow{sourceType: SourceCustom, uraian: "Pembersihan dan perataan lapangan", satuan: "m2"}, volume: "12.5", markup: &m15, budget: &budget,
				rincian: [][3]string{{"TK", "L.01", "0.75"}, {"TK", "L.04", "0.025"}}},
		}},
		{"Pekerjaan Pasangan", []seedPek{
			{row: pekerjaanRow{sourceType: SourceRef, refID: &refB}, volume: fmt.Sprintf("%d.500", 5+pid%25)},
			{row: pekerjaanRow{sourceType: SourceCustom, uraian: "Pemasangan bouwplank", satuan: "m'"}, volume: "40",
				rincian: [][3]string{{"TK", "L.01", "0.1"}, {"TK", "L.03", "0.1"}, {"BHN", "M.10", "0.012"}, {"BHN", "M.11", "0.02"}, {"LAIN", "X.01", "0.05"}}},
		}},
	}
	pord := 0 // pekerjaan ordering_index is unique project-wide, as in the app
	for si, sb := range subs {
		var sid int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO sub(klasifikasi_id, project_id, name, ordering_index) VALUES(?,?,?,?) RETURNING id",
			kid, pid, sb.name, si+1).Scan(&sid); err != nil {
			return fmt.Errorf("insert sub: %w", err)
		}
		for _, sp := range sb.peks {
			pord++
			row := sp.row
			if row.refID != nil {
				ref, ok, err := lookupRef(ctx, tx, *row.refID)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("reference %d missing from the catalog", *row.refID)
				}
				row.kode, row.uraian, row.satuan = ref.kode, ref.nama, ref.satuan
			}
			id, err := s.insertPekerjaan(ctx, tx, pid, sid, row, pord, stamp, prices)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE pekerjaan SET markup_override = ?, budgeted_cost = ? WHERE id = ?", sp.markup, sp.budget, id); err != nil {
				return fmt.Errorf("set pekerjaan options: %w", err)
			}
			for ri, r := range sp.rincian {
				res := prices[r[0]+"|"+r[1]]
				p := res.Harga.String()
				hid, err := ensureHarga(ctx, tx, pid, r[0], r[1], res.Uraian, res.Satuan, &p)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx,
					"INSERT INTO rincian(pekerjaan_id, ordering, kategori, kode, uraian, satuan, koefisien, harga_item_id) VALUES(?,?,?,?,?,?,?,?)",
					id, ri+1, r[0], r[1], res.Uraian, res.Satuan, r[2], hid); err != nil {
					return fmt.Errorf("insert rincian: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO volume(pekerjaan_id, quantity) VALUES(?,?)", id, dec(sp.volume).StringFixed(QuantityPlaces)); err != nil {
				return fmt.Errorf("insert volume: %w", err)
			}
		}
	}
	return nil
}
