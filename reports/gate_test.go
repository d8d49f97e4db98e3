package reports

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		expr    string
		want    Threshold
		wantErr string
	}{
		{expr: "p95 < 250ms", want: Threshold{Expr: "p95 < 250ms", Metric: "p95", Op: "<", Value: 250}},
		{expr: "p99{endpoint=rekap} <= 1.5s", want: Threshold{Expr: "p99{endpoint=rekap} <= 1.5s", Metric: "p99", Op: "<=", Value: 1500, Selector: map[string]string{"endpoint": "rekap"}}},
		{expr: "error_rate{scenario=read-mix, endpoint=rekap} < 1%", want: Threshold{Expr: "error_rate{scenario=read-mix, endpoint=rekap} < 1%", Metric: "error_rate", Op: "<", Value: 1, Selector: map[string]string{"scenario": "read-mix", "endpoint": "rekap"}}},
		{expr: "throughput >= 50/s", want: Threshold{Expr: "throughput >= 50/s", Metric: "throughput", Op: ">=", Value: 50}},
		{expr: "overshoot == 0", want: Threshold{Expr: "overshoot == 0", Metric: "overshoot", Op: "==", Value: 0}},
		{expr: "p95 250ms", wantErr: "want METRIC"},
		{expr: "p42 < 1ms", wantErr: `unknown metric "p42"; allowed:`},
		{expr: "p95 < 250", wantErr: "not a duration"},
		{expr: "error_rate < 1", wantErr: "not a percentage"},
		{expr: "p95{user=x} < 1s", wantErr: "bad selector"},
		{expr: "overshoot{scenario=a} == 0", wantErr: "takes no selector"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := ParseThreshold(tc.expr)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestEvalThreshold(t *testing.T) {
	subjects := []Subject{
		{Scenario: "read-mix", Kind: "constant", Requests: 100, Values: map[string]float64{"p95": 120, "error_rate": 0, "achieved_ratio": 95, "requests": 100}},
		{Scenario: "read-mix", Endpoint: "rekap", Kind: "constant", Requests: 40, Values: map[string]float64{"p95": 300, "requests": 40}},
		{Scenario: "write-mix", Kind: "burst", Requests: 50, Values: map[string]float64{"p95": 260, "error_rate": 2, "requests": 50}},
		{Scenario: "empty", Kind: "constant", Requests: 0, Values: map[string]float64{"requests": 0}},
		// A producer that filled zeros for a scenario with no requests: p95 0
		// is not a measurement.
		{Scenario: "zeroed", Kind: "constant", Requests: 0, Values: map[string]float64{"requests": 0, "p95": 0, "error_rate": 0}},
	}
	ran := Overshoot{Scanned: true, Probes: 3, Ran: 2}
	found := Overshoot{Scanned: true, Probes: 3, Ran: 3, Sum: 3}
	allSkipped := Overshoot{Scanned: true, Probes: 3, Ran: 0}
	type want struct {
		st       check.Status
		blocking bool
	}
	P, F := want{check.Pass, false}, want{check.Fail, true}
	I := want{check.Inconclusive, true}
	tests := []struct {
		name      string
		expr      string
		subjects  []Subject
		overshoot Overshoot
		allowed   bool
		want      []want
	}{
		{"every scenario, zero requests inconclusive", "p95 < 250ms", subjects, ran, false, []want{P, F, I, I}},
		{"zeros over zero requests are no data", "p95{scenario=zeroed} < 250ms", subjects, ran, false, []want{I}},
		{"one scenario", "p95{scenario=read-mix} < 250ms", subjects, ran, false, []want{P}},
		{"one endpoint", "p95{endpoint=rekap} < 250ms", subjects, ran, false, []want{F}},
		{"typo selects nothing", "p95{scenario=raed-mix} < 250ms", subjects, ran, false, []want{F}},
		{"error rate of zero requests is no data", "error_rate{scenario=empty} < 1%", subjects, ran, false, []want{I}},
		{"requests of zero requests is a measurement", "requests{scenario=empty} > 10", subjects, ran, false, []want{F}},
		{"zero requests allowed to skip does not block", "p95{scenario=empty} < 1s", subjects, ran, true, []want{{check.Inconclusive, false}}},
		{"achieved ratio does not apply to a burst", "achieved_ratio{scenario=write-mix} >= 90%", subjects, ran, false, []want{{check.Skip, false}}},
		{"no load ran", "p95 < 250ms", nil, ran, false, []want{I}},
		{"no load ran, allowed", "p95 < 250ms", nil, ran, true, []want{{check.Skip, false}}},
		{"overshoot zero over the probes that ran", "overshoot == 0", nil, ran, false, []want{P}},
		{"overshoot found", "overshoot == 0", nil, found, false, []want{F}},
		{"every probe skipped", "overshoot == 0", nil, allSkipped, false, []want{I}},
		{"no scan ran", "overshoot == 0", nil, Overshoot{}, false, []want{I}},
		{"no scan ran, allowed", "overshoot == 0", nil, Overshoot{}, true, []want{{check.Skip, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			require.NoError(t, err)
			var got []want
			for _, r := range evalThreshold(th, tc.subjects, tc.overshoot, tc.allowed) {
				got = append(got, want{r.Status, r.Blocking})
			}
			require.Equal(t, tc.want, got)
		})
	}
}
