package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

const testPassword = "ahsp-pass"

func openSeeded(t testing.TB, users, projects int) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "ahsp.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Seed(ctx, SeedSpec{Users: users, Projects: projects, Password: testPassword}))
	return st
}

func TestSeedDeterministicAndIdempotent(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 3, 2)
	for i := 1; i <= 3; i++ {
		for _, login := range []string{SeedUserName(i), SeedEmail(i)} {
			uid, ok, err := st.Authenticate(ctx, login, testPassword)
			require.NoError(t, err)
			require.True(t, ok, login)
			require.Equal(t, int64(i), uid)
		}
		got, err := st.ProjectsOf(ctx, int64(i))
		require.NoError(t, err)
		require.Equal(t, SeedProjectIDs(i, 2), got)
	}
	_, ok, err := st.Authenticate(ctx, "user1", "wrong")
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = st.Authenticate(ctx, "nobody", testPassword)
	require.NoError(t, err)
	require.False(t, ok)

	before, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	require.Len(t, before.Klasifikasi, 1)
	require.Len(t, before.Klasifikasi[0].Sub, 2)
	n := 0
	for _, s := range before.Klasifikasi[0].Sub {
		n += len(s.Pekerjaan)
	}
	require.Equal(t, 4, n)

	require.NoError(t, st.Seed(ctx, SeedSpec{Users: 3, Projects: 2, Password: testPassword}))
	after, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	require.Equal(t, before, after)
	var users int
	require.NoError(t, st.r.QueryRow("SELECT count(*) FROM users").Scan(&users))
	require.Equal(t, 3, users)
}

func TestCatalogIsRealisticAndDeterministic(t *testing.T) {
	entries, res := buildCatalog()
	again, _ := buildCatalog()
	require.Equal(t, entries, again)
	require.GreaterOrEqual(t, len(entries), 200)
	require.LessOrEqual(t, len(entries), 600)
	require.NotEmpty(t, res)
	codes := map[string]bool{}
	for _, e := range entries {
		require.False(t, codes[e.Kode], "duplicate code %s", e.Kode)
		codes[e.Kode] = true
		require.NotEmpty(t, e.Items, e.Kode)
		kinds := map[string]bool{}
		for _, it := range e.Items {
			kinds[it.Kategori] = true
			require.True(t, it.Koefisien.IsPositive(), e.Kode)
		}
		require.True(t, kinds["TK"], "%s has no labour", e.Kode)
	}
	require.Equal(t, "Galian tanah biasa sedalam 1 m", entries[0].Nama)
}

func TestRekapWorkedExample(t *testing.T) {
	// 0.75 x 150000 + 0.025 x 200000 = 117500; markup 15 % -> G 135125; x 12.5 = 1689062.5
	r := RekapRow{
		A:         decimal.RequireFromString("0.75").Mul(decimal.NewFromInt(150000)).Add(decimal.RequireFromString("0.025").Mul(decimal.NewFromInt(200000))),
		MarkupEff: decimal.NewFromInt(15),
		Volume:    decimal.RequireFromString("12.5"),
	}
	r.Compute()
	require.Equal(t, "117500", r.EBase.String())
	require.Equal(t, "17625", r.F.String())
	require.Equal(t, "135125", r.G.String())
	require.Equal(t, "1689062.5", r.Total.String())
	require.Equal(t, "1.689.062,50", FormatID(r.Total, 2))

	// The same numbers through the database: seeded custom pekerjaan.
	st := openSeeded(t, 1, 1)
	rk, err := st.Rekap(context.Background(), 1)
	require.NoError(t, err)
	var found bool
	for _, row := range rk.Rows {
		if row.Uraian == "Pembersihan dan perataan lapangan" {
			found = true
			require.Equal(t, "117500", row.A.String())
			require.Equal(t, "135125", row.G.String())
			require.Equal(t, "1689062.5", row.Total.String())
		}
	}
	require.True(t, found)
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   any
		want string
		bad  bool
	}{
		{"12,5", "12.5", false},
		{"1.234,56", "1234.56", false},
		{"1,234.56", "1234.56", false},
		{"12.5", "12.5", false},
		{"1.234.567", "1234567", false},
		{"1.401", "1.401", false}, // one dot: a decimal point, never thousands
		{"1,401", "1.401", false},
		{"-1.234,5", "-1234.5", false},
		{" 7 ", "7", false},
		{float64(12.5), "12.5", false},
		{"abc", "", true},
		{"1,2,3.4.5", "", true},
		{"", "", true},
		{"1e5", "", true}, // exponents only in JSON numbers
		{json.Number("1e5"), "100000", false},
		{json.Number("12.5"), "12.5", false},
		{json.Number("1e999999999"), "", true}, // would need a huge power of ten
		{json.Number("1e-999999999"), "", true},
		{nil, "", true},
	}
	for _, tt := range tests {
		got, err := ParseNumber(tt.in)
		if tt.bad {
			require.Error(t, err, "%v", tt.in)
			continue
		}
		require.NoError(t, err, "%v", tt.in)
		require.Equal(t, tt.want, got.String(), "%v", tt.in)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 1, 0)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return now }
	s := st.Sessions()
	require.NoError(t, s.Set(ctx, "k1", 1, time.Hour))
	uid, ok, err := s.Get(ctx, "k1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), uid)
	now = now.Add(2 * time.Hour)
	_, ok, err = s.Get(ctx, "k1")
	require.NoError(t, err)
	require.False(t, ok, "expired session")
	require.NoError(t, s.Set(ctx, "k2", 1, time.Hour))
	require.NoError(t, s.Delete(ctx, "k2"))
	_, ok, err = s.Get(ctx, "k2")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestParseSeedSpec(t *testing.T) {
	tests := []struct {
		in   string
		want SeedSpec
		bad  bool
	}{
		{"users=50,projects=1", SeedSpec{Users: 50, Projects: 1}, false},
		{" users = 3 ", SeedSpec{Users: 3, Projects: 2}, false},
		{"", SeedSpec{Users: 20, Projects: 2}, false},
		{"users=-1", SeedSpec{}, true},
		{"people=3", SeedSpec{}, true},
		{"users", SeedSpec{}, true},
	}
	for _, tt := range tests {
		got, err := ParseSeedSpec(tt.in)
		if tt.bad {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestSearchEscapesWildcards(t *testing.T) {
	st := openSeeded(t, 0, 0)
	ctx := context.Background()
	for _, q := range []string{"%", "_", `\`} {
		res, total, err := st.SearchAHSP(ctx, q, 50)
		require.NoError(t, err)
		require.Zero(t, total, q)
		require.Empty(t, res, q)
	}
	// q matches as a whole, as icontains does (REAL-APP.md 3.8), not word by word.
	res, total, err := st.SearchAHSP(ctx, "BETON mutu FC' = 28,8 MPa (dengan MOLEN", 50)
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, "Pembuatan 1 m3 beton mutu fc' = 28,8 MPa (dengan molen)", res[0].NamaAHSP)
	_, total, err = st.SearchAHSP(ctx, "BETON 28,8 molen", 50)
	require.NoError(t, err)
	require.Zero(t, total, "the words are not matched one by one")
}

// TestSearchOrderedByKode: results come in code order (REAL-APP.md 3.8).
func TestSearchOrderedByKode(t *testing.T) {
	st := openSeeded(t, 0, 0)
	res, total, err := st.SearchAHSP(context.Background(), "beton", 50)
	require.NoError(t, err)
	require.Greater(t, total, 2)
	for i := 1; i < len(res); i++ {
		require.LessOrEqual(t, res[i-1].KodeAHSP, res[i].KodeAHSP)
	}
}

// Upsert switching source types: ref -> custom keeps the rincian as an
// editable copy with a new CUST code; custom -> ref re-clones the catalog.
func TestUpsertSourceTypeSwitch(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 1, 1)
	tr, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	k := tr.Klasifikasi[0]
	sb := k.Sub[0]
	refP, custP := sb.Pekerjaan[0], sb.Pekerjaan[1]
	refDetail, err := st.Detail(ctx, 1, refP.ID)
	require.NoError(t, err)
	newRef := int64(100)
	in := TreeInput{Klasifikasi: []KlasifikasiInput{{ID: &k.ID, Name: k.Name, Sub: []SubInput{{ID: &sb.ID, Name: sb.Name, Pekerjaan: []PekerjaanInput{
		{ID: &refP.ID, SourceType: SourceCustom, SnapshotUraian: "Galian disesuaikan", SnapshotSatuan: refP.SnapshotSatuan},
		{ID: &custP.ID, SourceType: SourceRef, RefID: &newRef},
	}}}}}}
	res, err := st.UpsertTree(ctx, 1, in)
	require.NoError(t, err)
	require.Empty(t, res.Errors)
	require.ElementsMatch(t, []int64{refP.ID, custP.ID}, res.ChangeFlags.ReloadJobIDs)

	d1, err := st.Detail(ctx, 1, refP.ID)
	require.NoError(t, err)
	require.Equal(t, "CUST-0003", d1.Pekerjaan.Kode)
	require.False(t, d1.ReadOnly)
	require.Len(t, d1.Items, len(refDetail.Items), "rincian kept as a copy")

	d2, err := st.Detail(ctx, 1, custP.ID)
	require.NoError(t, err)
	entries, _ := Catalog()
	require.Equal(t, entries[99].Kode, d2.Pekerjaan.Kode)
	require.Len(t, d2.Items, len(entries[99].Items), "catalog rincian cloned")
	require.True(t, d2.ReadOnly)
}

// A row whose insert fails inside the database (a trigger raises) is rolled
// back alone: its id never reaches id_map, its custom code is not consumed,
// and the rest of the tree is saved.
func TestSaveTreeRolledBackRowIsNeverReported(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 1, 1)
	_, err := st.w.ExecContext(ctx, `CREATE TRIGGER boom BEFORE INSERT ON pekerjaan WHEN NEW.snapshot_uraian = 'BOOM'
		BEGIN SELECT RAISE(ABORT, 'boom'); END`)
	require.NoError(t, err)
	in := TreeInput{Klasifikasi: []KlasifikasiInput{{Name: "K", TempID: "k", Sub: []SubInput{{Name: "S", TempID: "s", Pekerjaan: []PekerjaanInput{
		{TempID: "a", SourceType: SourceCustom, SnapshotUraian: "Satu", OrderingIndex: 101},
		{TempID: "b", SourceType: SourceCustom, SnapshotUraian: "BOOM", OrderingIndex: 102},
		{TempID: "c", SourceType: SourceCustom, SnapshotUraian: "Tiga", OrderingIndex: 103},
	}}}}}}
	res, err := st.SaveTree(ctx, 1, in, nil)
	require.NoError(t, err)
	require.Equal(t, []FieldError{{"klasifikasi[0].sub[0].pekerjaan[1]", rowFailedMessage}}, res.Errors)
	require.Equal(t, []string{"a", "c"}, sortedKeys(res.IDMap.Pekerjaan))
	tr, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	ps := tr.Klasifikasi[0].Sub[0].Pekerjaan
	require.Len(t, ps, 2)
	require.Equal(t, res.IDMap.Pekerjaan["a"], ps[0].ID)
	require.Equal(t, res.IDMap.Pekerjaan["c"], ps[1].ID)
	require.Equal(t, []string{"CUST-0003", "CUST-0004"}, []string{ps[0].SnapshotKode, ps[1].SnapshotKode})
	for _, e := range res.Errors {
		require.NotContains(t, e.Message, "boom", "database text stays in the server")
	}
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestLookups(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 2, 2)
	require.NoError(t, st.Ping(ctx))
	u, ok, err := st.UserByID(ctx, 2)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, User{ID: 2, Username: "user2", Email: "user2@example.test"}, u)
	_, ok, err = st.UserByID(ctx, 99)
	require.NoError(t, err)
	require.False(t, ok)
	pid, ok, err := st.FirstProject(ctx, 2)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(3), pid)
	owner, ok, err := st.ProjectOwner(ctx, 4)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(2), owner)
	_, ok, err = st.ProjectOwner(ctx, 5)
	require.NoError(t, err)
	require.False(t, ok)
}

// Upsert rows that fail: an unknown id is reported and skipped; an existing
// klasifikasi with a bad name keeps its name and whole subtree.
func TestUpsertFailedRowsKeepExistingData(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 2, 1)
	before, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	k := before.Klasifikasi[0]
	foreign := int64(2) // klasifikasi of user 2's project
	in := TreeInput{Klasifikasi: []KlasifikasiInput{
		{ID: &k.ID, Name: "   "},
		{ID: &foreign, Name: "Curian"},
	}}
	res, err := st.UpsertTree(ctx, 1, in)
	require.NoError(t, err)
	require.Equal(t, []FieldError{
		{"klasifikasi[0].name", "Nama wajib diisi"},
		{"klasifikasi[1].id", "Klasifikasi 2 tidak ditemukan di proyek ini"},
	}, res.Errors)
	require.Zero(t, res.Summary.DeletedKlasifikasi+res.Summary.DeletedSub+res.Summary.DeletedPekerjaan)
	after, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	require.Equal(t, before, after)
	other, err := st.Tree(ctx, 2, "")
	require.NoError(t, err)
	require.Equal(t, "Pekerjaan Struktur Bawah", other.Klasifikasi[0].Name, "foreign row untouched")
}

// A database written by an older catalog generator is upgraded in place:
// ids keep their entries and projects' references stay valid.
func TestCatalogUpgradeInPlace(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 1, 1)
	entries, _ := Catalog()
	_, err := st.w.ExecContext(ctx, "UPDATE meta SET value = 'old' WHERE key = 'catalog_version'")
	require.NoError(t, err)
	_, err = st.w.ExecContext(ctx, "UPDATE ref_ahsp SET nama_ahsp = 'usang' WHERE id = 8")
	require.NoError(t, err)
	_, err = st.w.ExecContext(ctx, "DELETE FROM ref_rincian WHERE ref_ahsp_id > 100")
	require.NoError(t, err)
	_, err = st.w.ExecContext(ctx, "DELETE FROM ref_ahsp WHERE id > 250")
	require.NoError(t, err)
	require.NoError(t, st.Seed(ctx, SeedSpec{Users: 1, Projects: 1, Password: testPassword}))

	res, total, err := st.SearchAHSP(ctx, "", 50)
	require.NoError(t, err)
	require.Equal(t, len(entries), total)
	first := entries[0] // results are in code order
	for _, e := range entries {
		if e.Kode < first.Kode {
			first = e
		}
	}
	require.Equal(t, first.Nama, res[0].NamaAHSP)
	var nama string
	var lines int
	require.NoError(t, st.r.QueryRow("SELECT nama_ahsp FROM ref_ahsp WHERE id = 8").Scan(&nama))
	require.Equal(t, entries[7].Nama, nama)
	require.NoError(t, st.r.QueryRow("SELECT count(*) FROM ref_rincian").Scan(&lines))
	want := 0
	for _, e := range entries {
		want += len(e.Items)
	}
	require.Equal(t, want, lines)
	tr, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	require.Equal(t, int64(8), *tr.Klasifikasi[0].Sub[0].Pekerjaan[0].RefID)
}

func TestSearchTextCutsTheNameAt80Characters(t *testing.T) {
	long := strings.Repeat("é", 79) + "xyz"
	require.Equal(t, "A.1 — "+strings.Repeat("é", 79)+"x", SearchText("A.1", long))
	require.Equal(t, "A.1 — Galian", SearchText("A.1", "Galian"))
}

// The volume list has every pekerjaan of the project in tree order, "0.000"
// where no volume is stored (REAL-APP.md 3.5): a klasifikasi saved later
// with a smaller ordering_index, and pekerjaan whose ordering runs against
// their ids, come first, so id order would differ.
func TestListVolumesTreeOrderWithZeros(t *testing.T) {
	ctx := context.Background()
	st := openSeeded(t, 1, 1)
	in := TreeInput{Klasifikasi: []KlasifikasiInput{{Name: "Awal", TempID: "k", OrderingIndex: 0, Sub: []SubInput{{Name: "S", TempID: "s", OrderingIndex: 1, Pekerjaan: []PekerjaanInput{
		{TempID: "late", SourceType: SourceCustom, SnapshotUraian: "Kedua", OrderingIndex: 902},
		{TempID: "early", SourceType: SourceCustom, SnapshotUraian: "Pertama", OrderingIndex: 901},
	}}}}}}
	res, err := st.SaveTree(ctx, 1, in, nil)
	require.NoError(t, err)
	require.Empty(t, res.Errors)
	early := res.IDMap.Pekerjaan["early"]
	_, err = st.SaveVolumes(ctx, 1, []VolumeInput{{Path: "[0]", PekerjaanID: early, Quantity: "2,5"}}, nil)
	require.NoError(t, err)

	tr, err := st.Tree(ctx, 1, "")
	require.NoError(t, err)
	var want []int64
	for _, k := range tr.Klasifikasi {
		for _, sb := range k.Sub {
			for _, p := range sb.Pekerjaan {
				want = append(want, p.ID)
			}
		}
	}
	items, err := st.ListVolumes(ctx, 1)
	require.NoError(t, err)
	var got []int64
	q := map[int64]string{}
	for _, it := range items {
		got = append(got, it.PekerjaanID)
		q[it.PekerjaanID] = it.Quantity
	}
	require.Equal(t, want, got, "every pekerjaan, in tree order")
	require.Equal(t, []int64{early, res.IDMap.Pekerjaan["late"]}, got[:2], "the new klasifikasi (ordering 0) first, its pekerjaan by ordering_index")
	require.False(t, slices.IsSorted(got), "tree order here is not id order")
	require.Equal(t, "2.500", q[early])
	require.Equal(t, "0.000", q[res.IDMap.Pekerjaan["late"]], "no volume stored: 0.000")
	seeded := got[2]
	require.NotEqual(t, "0.000", q[seeded], "seeded volumes are listed as stored")
}
