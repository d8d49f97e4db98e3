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
		{Scenario: "read-mix", Values: map[string]float64{"p95": 120, "error_rate": 0}},
		{Scenario: "read-mix", Endpoint: "rekap", Values: map[string]float64{"p95": 300}},
		{Scenario: "write-mix", Values: map[string]float64{"p95": 260, "error_rate": 2}},
	}
	zero, three := 0.0, 3.0
	tests := []struct {
		name      string
		expr      string
		overshoot *float64
		want      []check.Status
	}{
		{"every scenario", "p95 < 250ms", nil, []check.Status{check.Pass, check.Fail}},
		{"one scenario", "p95{scenario=read-mix} < 250ms", nil, []check.Status{check.Pass}},
		{"one endpoint", "p95{endpoint=rekap} < 250ms", nil, []check.Status{check.Fail}},
		{"typo selects nothing", "p95{scenario=raed-mix} < 250ms", nil, []check.Status{check.Fail}},
		{"overshoot zero", "overshoot == 0", &zero, []check.Status{check.Pass}},
		{"overshoot found", "overshoot == 0", &three, []check.Status{check.Fail}},
		{"no scan ran", "overshoot == 0", nil, []check.Status{check.Skip}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			require.NoError(t, err)
			var got []check.Status
			for _, r := range evalThreshold(th, subjects, tc.overshoot) {
				got = append(got, r.Status)
			}
			require.Equal(t, tc.want, got)
		})
	}
}
