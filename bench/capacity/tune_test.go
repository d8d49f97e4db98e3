package capacity

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

func TestCheckUsers(t *testing.T) {
	readMix, err := scenarios.Builtin("read-mix") // tree 4 of 13 is the most frequent read
	require.NoError(t, err)
	declared := Policy{Source: "declared (--limits)", Limits: map[api.Category]api.Limit{api.Read: {Requests: 100, WindowSeconds: 60}}}
	asDeployed := Policy{Source: "declared (--limits)", Limits: map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}}, Operations: []string{"list-pekerjaan.save"}}
	for _, tc := range []struct {
		name       string
		p          Policy
		distinct   int
		wantRate   float64
		wantNeed   int
		wantFew    bool
		wantInNote string
	}{
		// 4 users × 0.8 × 100/60 per user / (4/13) = 17.33/s; 1600/s needs
		// ceil(1600 × 4/13 / (0.8 × 100/60)) = 370 users.
		{"declared read limits, 4 users", declared, 4, 17.3, 370, true, "to measure up to 1600/s give at least 370 users"},
		{"enough users", declared, 400, 1733.3, 370, false, "above the search's maximum"},
		{"only list save limited: read-mix is not", asDeployed, 4, 0, 0, false, "no operation of read-mix is limited"},
		{"unknown policy", Policy{Source: "unknown"}, 4, -1, 0, false, "give --limits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := CheckUsers(readMix, tc.p, tc.distinct, tc.distinct, 1600)
			require.InDelta(t, tc.wantRate, u.SupportedRate, 0.05)
			require.Equal(t, tc.wantNeed, u.Needed)
			require.Equal(t, tc.wantFew, u.TooFew)
			require.Contains(t, u.Note, tc.wantInNote)
		})
	}
}

func TestPoissonTail(t *testing.T) {
	// 1 - CDF(20; λ=12) = 0.011594 (tables); a large λ must not underflow.
	require.InDelta(t, 0.011594, poissonTail(12, 20), 5e-6)
	require.InDelta(t, 0.5, poissonTail(5000, 5000), 0.01)
	require.Less(t, poissonTail(5000, 5400), 1e-7)
	require.Zero(t, poissonTail(0, 3))
}

// TestTune: the numbers of the tuning section for a known capacity and
// profile, recomputed by hand.
func TestTune(t *testing.T) {
	rep := &Report{
		SLO:    DefaultSLO(),
		Policy: Policy{Source: "declared (--limits)", Limits: map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}, api.Read: {Requests: 100, WindowSeconds: 60}}},
		Results: []*Result{
			{Config: Config{Mix: "read-mix", Cache: AsDeployed}, Outcome: &Outcome{MaxRate: 300}},
			{Config: Config{Mix: "write-mix", Cache: AsDeployed}, Outcome: &Outcome{MaxRate: 450}},
		},
	}
	usage, err := ParseUsage("read=60,write=12")
	require.NoError(t, err)
	tu, err := Tune(rep, usage)
	require.NoError(t, err)
	require.Equal(t, 300.0, tu.Capacity, "the lowest sustainable rate is the conservative one")
	require.EqualValues(t, 250, tu.SaturationUsers, "300/s ÷ (72/min ÷ 60)")
	require.Len(t, tu.Configs, 3)

	declared := tu.Configs[0]
	require.Equal(t, "declared (--limits)", declared.Name)
	// write: λ = 12 per 60 s; P(X > 20) = 0.011594 → 429s from 87 users, before N_sat = 250.
	require.EqualValues(t, 87, declared.Onset[api.Write])
	require.True(t, declared.BeforeSaturation)
	// 6 read operations × 100/60 + 4 write operations × 20/60 = 11.33/s per user at every limit.
	require.Equal(t, 26, declared.AtLimitUsers)

	for _, r := range tu.Recommended {
		n := float64(tu.SaturationUsers)
		require.Less(t, n*poissonTail(r.Mean, r.Limit.Requests), 1.0, "%s: no 429 expected before saturation", r.Category)
		require.GreaterOrEqual(t, n*poissonTail(r.Mean, r.Limit.Requests-1), 1.0, "%s: the smallest such limit", r.Category)
		require.Equal(t, 60, r.Limit.WindowSeconds, "the declared window is kept")
		require.Contains(t, r.Formula, "smallest L >= λ")
	}
	rec := tu.Configs[2]
	require.Equal(t, "recommended", rec.Name)
	require.False(t, rec.BeforeSaturation)
	require.Greater(t, rec.FirstOnset, tu.SaturationUsers)

	var b bytes.Buffer
	tu.WriteText(&b)
	require.Contains(t, b.String(), "N_sat = floor(300 × 60 / 72) = 250")
	require.Contains(t, b.String(), "recommend write=")

	_, err = ParseUsage("reads=3")
	require.ErrorContains(t, err, "category of bulk, write, read, export")
	sc, err := scenarios.Builtin("read-mix")
	require.NoError(t, err)
	u, err := UsageFromScenario(sc) // 40/s over 4 users = 600/min, all reads
	require.NoError(t, err)
	require.InDelta(t, 600, u.PerMinute[api.Read], 1e-9)
	require.False(t, math.IsNaN(u.total()))
}
