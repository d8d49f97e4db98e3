package treeread

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/client"
)

// fake is a deployment whose unsearched tree answers served while the
// database holds truth; searches, the volume list and detail get read truth.
type fake struct {
	truth, served string
	searches      []string
}

func (f *fake) get(_ context.Context, path string) (int, []byte, error) {
	u, err := url.Parse(path)
	if err != nil {
		return 0, nil, err
	}
	var truth map[string]any
	dec := json.NewDecoder(strings.NewReader(f.truth))
	dec.UseNumber()
	if err := dec.Decode(&truth); err != nil {
		return 0, nil, err
	}
	switch {
	case strings.HasSuffix(u.Path, "/list-pekerjaan/tree/") && u.Query().Get("q") == "":
		return 200, []byte(f.served), nil
	case strings.HasSuffix(u.Path, "/list-pekerjaan/tree/"):
		q := strings.ToLower(u.Query().Get("q"))
		f.searches = append(f.searches, q)
		var ks []any
		for _, k := range list(truth, "klasifikasi") {
			var ss []any
			for _, s := range list(k, "sub") {
				var ps []any
				for _, p := range list(s, "pekerjaan") {
					if strings.Contains(strings.ToLower(get(p, "snapshot_kode").(string)+" "+get(p, "snapshot_uraian").(string)), q) {
						ps = append(ps, p)
					}
				}
				if len(ps) > 0 {
					sc := without(s.(map[string]any))
					sc["pekerjaan"] = ps
					ss = append(ss, sc)
				}
			}
			if len(ss) > 0 {
				kc := without(k.(map[string]any))
				kc["sub"] = ss
				ks = append(ks, kc)
			}
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "klasifikasi": ks, "search_active": true})
		return 200, b, nil
	case strings.HasSuffix(u.Path, "/volume-pekerjaan/list/"):
		var items []any
		for id := range places(truth) {
			items = append(items, map[string]any{"pekerjaan_id": id, "quantity": "0.000"})
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "items": items})
		return 200, b, nil
	case strings.Contains(u.Path, "/detail-ahsp/"):
		for id, pl := range places(truth) {
			if strings.HasSuffix(u.Path, fmt.Sprintf("/detail-ahsp/%d/", id)) {
				b, _ := json.Marshal(map[string]any{"ok": true, "pekerjaan": map[string]any{"id": id, "kode": pl.p["snapshot_kode"], "uraian": pl.p["snapshot_uraian"]}})
				return 200, b, nil
			}
		}
	}
	return 404, []byte("not found"), nil
}

func pek(id, ord int, kode, ur string) string {
	return fmt.Sprintf(`{"id": %d, "source_type": "custom", "ordering_index": %d, "snapshot_kode": %q, "snapshot_uraian": %q, "snapshot_satuan": "m2", "ref_id": null, "budgeted_cost": 0.0}`, id, ord, kode, ur)
}

// tree is a project in the app's order (ordering_index, id).
func tree(name string, ord1 int, extra string) string {
	peks := pek(10, ord1, "CUST-0001", "Galian") + `, ` + pek(11, 2, "CUST-0002", "Urugan") + `, ` + pek(12, 3, "A.2.2.1", "Beton")
	if ord1 > 3 {
		peks = pek(11, 2, "CUST-0002", "Urugan") + `, ` + pek(12, 3, "A.2.2.1", "Beton") + `, ` + pek(10, ord1, "CUST-0001", "Galian")
	}
	return `{"ok": true, "klasifikasi": [{"id": 1, "name": "` + name + `", "ordering_index": 1, "sub": [{"id": 2, "name": "S", "ordering_index": 1, "pekerjaan": [` +
		peks + `]}]}` + extra + `]}`
}

func TestRead(t *testing.T) {
	shell := `, {"id": 5, "name": "Kosong", "ordering_index": 9, "sub": []}`
	for _, tc := range []struct {
		name          string
		truth, served string
		stale         bool
		shells        int
		confirmed     bool
		diff          string
	}{
		{"fresh", tree("K", 1, ""), tree("K", 1, ""), false, 0, true, ""},
		{"fresh with an empty klasifikasi", tree("K", 1, shell), tree("K", 1, shell), false, 1, true, ""},
		{"renamed, served stale", tree("K baru", 1, ""), tree("K", 1, ""), true, 0, true, `klasifikasi 1.name: served "K", now "K baru"`},
		{"temporary ordering, served stale", tree("K", 1000001, ""), tree("K", 1, ""), true, 0, true, "pekerjaan 10.ordering_index: served 1, now 1000001"},
		{"stale and an empty klasifikasi only it shows", tree("K baru", 1, ""), tree("K", 1, shell), true, 1, false, "klasifikasi 1.name"},
		{"a pekerjaan the served tree lacks", strings.Replace(tree("K", 1, ""), pek(11, 2, "CUST-0002", "Urugan"), pek(13, 2, "CUST-0003", "Pasangan"), 1), tree("K", 1, ""),
			true, 0, true, "pekerjaan 13: not served, present now"},
		{"a deleted pekerjaan the served tree still lists (detail get 404)", strings.Replace(tree("K", 1, ""), `, `+pek(11, 2, "CUST-0002", "Urugan"), "", 1), tree("K", 1, ""),
			true, 0, true, "pekerjaan 11: served, gone now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{truth: tc.truth, served: tc.served}
			got, err := Read(context.Background(), f.get, 7)
			require.NoError(t, err)
			require.Equal(t, tc.stale, got.Stale, "%v", got.Differences)
			require.Equal(t, tc.shells, got.Shells)
			require.Equal(t, tc.confirmed, got.Confirmed())
			if tc.diff != "" {
				require.Contains(t, strings.Join(got.Differences, "\n"), tc.diff)
			}
			var want map[string]any
			dec := json.NewDecoder(strings.NewReader(tc.truth))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&want))
			if tc.confirmed {
				require.Equal(t, enc(want["klasifikasi"]), enc(got.Payload["klasifikasi"]), "the uncached tree")
			}
			require.LessOrEqual(t, len(f.searches), 4, "needles cover several pekerjaan: %v", f.searches)
		})
	}
}

// A pekerjaan no search finds leaves the read unconfirmed, never guessed.
func TestReadUnconfirmed(t *testing.T) {
	f := &fake{truth: tree("K", 1, ""), served: tree("K", 1, "")}
	get := func(ctx context.Context, path string) (int, []byte, error) {
		if strings.Contains(path, "?q=") {
			return 200, []byte(`{"ok": true, "klasifikasi": [], "search_active": true, "match_count": 0}`), nil
		}
		return f.get(ctx, path)
	}
	_, err := Read(context.Background(), get, 7)
	require.ErrorIs(t, err, ErrUnconfirmed)
	require.Contains(t, err.Error(), "which no uncached tree search found")
}

// Rows without pekerjaan that only a stale answer lists are dropped where
// the caller knows them gone; a klasifikasi goes with its subs.
func TestWithoutShells(t *testing.T) {
	shells := `, {"id": 5, "name": "Kosong", "ordering_index": 9, "sub": [{"id": 6, "name": "S kosong", "ordering_index": 1, "pekerjaan": []}]}`
	f := &fake{truth: tree("K baru", 1, ""), served: tree("K", 1, shells)}
	got, err := Read(context.Background(), f.get, 7)
	require.NoError(t, err)
	require.False(t, got.Confirmed())
	require.Equal(t, map[int]bool{5: true}, got.ShellKlasifikasi)
	require.Equal(t, map[int]bool{6: true}, got.ShellSub)
	require.Contains(t, got.Note(), "2 klasifikasi/sub rows without pekerjaan are known only from it")
	var asked []string
	p := got.WithoutShells(func(level string, id int) bool {
		asked = append(asked, fmt.Sprintf("%s %d", level, id))
		return true
	})
	require.Equal(t, []string{"klasifikasi 5"}, asked)
	require.Len(t, list(p, "klasifikasi"), 1)
	kept := got.WithoutShells(func(string, int) bool { return false })
	require.Len(t, list(kept, "klasifikasi"), 2)
}

// TestReadWaitsOutAShortLimit: a read answered 429 or 503 for a moment is
// sent again (bounded); one that stays limited fails with its status.
func TestReadWaitsOutAShortLimit(t *testing.T) {
	defer func(b client.Backoff) { readBackoff = b }(readBackoff)
	readBackoff.Wait, readBackoff.Max = time.Millisecond, time.Millisecond
	for _, tc := range []struct {
		name    string
		refuse  int // answers refused before the app answers
		status  int
		wantErr bool
	}{
		{"429 twice", 2, 429, false},
		{"503 once", 1, 503, false},
		{"429 throughout", 100, 429, true},
		{"404 is not waited out", 1, 404, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{truth: tree("K", 1, ""), served: tree("K", 1, "")}
			left := tc.refuse
			get := func(ctx context.Context, path string) (int, []byte, error) {
				if left > 0 {
					left--
					return tc.status, []byte(`{"ok":false}`), nil
				}
				return f.get(ctx, path)
			}
			tr, err := Read(context.Background(), get, 7)
			if tc.wantErr {
				require.Error(t, err)
				require.Equal(t, tc.status, client.StatusOf(err))
				return
			}
			require.NoError(t, err)
			require.False(t, tr.Stale)
		})
	}
}
