package capacity

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./bench/capacity -run TestAlertTable -update")
	require.Equal(t, string(want), string(got), "output differs from %s; if intended run go test ./bench/capacity -run TestAlertTable -update", path)
}

// TestExcess: E[(X − L)+] for X ~ Poisson(λ) against the sum written out.
func TestExcess(t *testing.T) {
	for _, tc := range []struct {
		lambda float64
		l      int
	}{{15, 20}, {0.5, 1}, {45, 100}, {3, 2}} {
		var want float64
		p := math.Exp(-tc.lambda) // P(X = 0)
		for k := 1; k < 400; k++ {
			p *= tc.lambda / float64(k)
			if k > tc.l {
				want += float64(k-tc.l) * p
			}
		}
		require.InDelta(t, want, excess(tc.lambda, tc.l), 1e-9, "λ=%v L=%d", tc.lambda, tc.l)
	}
	require.Zero(t, excess(0, 5))
}

// TestAlertTable: at C = 400/s with 45 reads and 15 writes per user per
// minute (N_sat = 400), the app's default write limit (20/60 s) already
// rejects writes at capacity above the alert's threshold, the read limit
// (100/60 s) practically never; rendered as text, Markdown and JSON.
func TestAlertTable(t *testing.T) {
	rep := alertReport(t)
	rep.Results[0].Observed = []Observed{{Operation: "list-pekerjaan.save", Category: "write", Limit: api.Limit{Requests: 20, WindowSeconds: 60}, Count: 7}}
	rules, err := AlertRules(rep, DefaultAlertMetrics)
	require.NoError(t, err)
	tab, err := NewAlertTable(rep, rules, DefaultAlertMetrics)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 2)
	read, write := tab.Rows[0], tab.Rows[1]
	require.Equal(t, api.Read, read.Category)
	require.Equal(t, api.Write, write.Category)
	require.EqualValues(t, 400, tab.Users)
	require.InDelta(t, 400*15, write.RequestsPerMin, 1e-9)
	require.InDelta(t, 400*excess(15, 20), write.ExpectedHitsPerMin, 1e-9)
	require.InDelta(t, 60, write.ThresholdPerMin, 1e-9, "1 % of 400/s × 0.25, per minute")
	require.True(t, write.FiresAtCapacity, "%v hits/min expected", write.ExpectedHitsPerMin)
	require.False(t, read.FiresAtCapacity)
	require.Less(t, read.ExpectedHitsPerMin, 0.001)
	require.EqualValues(t, 7, write.SeenInRun)
	require.Equal(t, `sum(rate(ahsp_rate_limit_hits_total{category="write"}[5m])) > 1`, write.Expr, "the alerts.yml rule")
	rep.Alerts = tab

	var txt, md bytes.Buffer
	tab.WriteText(&txt)
	golden(t, "alert-table.txt", txt.Bytes())
	tab.WriteMarkdown(&md)
	golden(t, "alert-table.md", md.Bytes())
	js, err := json.MarshalIndent(tab, "", "  ")
	require.NoError(t, err)
	golden(t, "alert-table.json", append(js, '\n'))

	// A declared limit replaces the defaults: write=100/60 s never fires.
	rep.Policy = Policy{Source: "declared (--limits write=100/60)", Limits: map[api.Category]api.Limit{api.Write: {Requests: 100, WindowSeconds: 60}}}
	tab, err = NewAlertTable(rep, rules, DefaultAlertMetrics)
	require.NoError(t, err)
	require.False(t, tab.Rows[1].FiresAtCapacity)
	require.Equal(t, "declared (--limits write=100/60)", tab.Rows[1].LimitFrom)
	require.Zero(t, tab.Rows[0].Limit.Requests, "read is not limited by that policy")

	// Series without a category label: one rule, one row summing both.
	rep.Policy = Policy{}
	m := DefaultAlertMetrics
	m.CategoryLabel = ""
	one, err := AlertRules(rep, m)
	require.NoError(t, err)
	tab, err = NewAlertTable(rep, one, m)
	require.NoError(t, err)
	require.Len(t, tab.Rows, 1)
	all := tab.Rows[0]
	require.Equal(t, AllCategories, all.Category)
	require.Equal(t, "per category", all.LimitText())
	require.InDelta(t, 400*excess(15, 20)+400*excess(45, 100), all.ExpectedHitsPerMin, 1e-9)
	require.InDelta(t, 400*60, all.RequestsPerMin, 1e-9)
	require.InDelta(t, 240, all.ThresholdPerMin, 1e-9, "1 % of 400/s, per minute")
	require.EqualValues(t, 7, all.SeenInRun)
	require.False(t, all.FiresAtCapacity)

	_, err = NewAlertTable(&Report{}, rules, DefaultAlertMetrics)
	require.ErrorContains(t, err, "no tuning")
}
