package scan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
)

// TestJudgeBypass: a variant accepted while the plain request stays limited
// is a finding; a variant refused or limited passes only when it was
// measured (bounces to the login page measure nothing).
func TestJudgeBypass(t *testing.T) {
	op := mustOp("list-pekerjaan.save")
	limitedCtl := func(b bypassResult) bypassResult {
		b.controlSent, b.controlLim, b.controlStatuses = 3, 3, map[int]int{429: 3}
		return b
	}
	for _, tc := range []struct {
		name   string
		b      bypassResult
		status check.Status
		want   string
	}{
		{"bypass", limitedCtl(bypassResult{name: "X-Real-IP", sent: 3, accepted: 3, measured: 3, statuses: map[int]int{200: 3}}), check.Fail, "X-Real-IP (3 of 3 accepted)"},
		{"shared quota", limitedCtl(bypassResult{name: "X-Real-IP", sent: 3, measured: 3, statuses: map[int]int{429: 3}}), check.Pass, "shared the spent quota"},
		{"refused", limitedCtl(bypassResult{name: "PUT", sent: 3, measured: 3, statuses: map[int]int{405: 3}}), check.Pass, "or were refused"},
		{"bounced to login", limitedCtl(bypassResult{name: "a new session", sent: 3, measured: 0, statuses: map[int]int{302: 3}}), check.Inconclusive, "variant answered 0 of 3"},
		{"plain request not limited", bypassResult{name: "PUT", sent: 3, measured: 3, statuses: map[int]int{405: 3}, controlSent: 3, controlAcc: 3, controlStatuses: map[int]int{200: 3}}, check.Inconclusive, "plain request limited 0 of 3"},
		{"accepted like the plain request", bypassResult{name: "PUT", sent: 3, accepted: 3, measured: 3, statuses: map[int]int{200: 3}, controlSent: 3, controlAcc: 3, controlStatuses: map[int]int{200: 3}}, check.Inconclusive, "plain request limited 0 of 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := judgeBypass(Evidence{}, op, "variants", []bypassResult{tc.b})
			require.Equal(t, tc.status, r.Status, r.Reason)
			require.Contains(t, r.Reason, tc.want)
		})
	}
}
