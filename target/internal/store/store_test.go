package store

import (
	"context"
	"encoding/json"
	"path/filepath"
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
