package scan

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	const L = 20
	run := func(sent, acc, lim, max int, closed bool) counterRun {
		return counterRun{sent: sent, acc: acc, lim: lim, max: max, closed: closed}
	}
	within1 := run(40, 20, 20, 20, false)
	for _, tc := range []struct {
		name                   string
		seqOne, seqFresh, conc counterRun
		cause                  string
	}{
		{"non-atomic: only concurrency overshoots", within1, run(100, 20, 80, 20, false), run(100, 37, 63, 20, false), CauseNonAtomic},
		{"per process: fresh connections overshoot with 429s", within1, run(100, 80, 20, 20, false), run(100, 81, 19, 20, false), CausePerProcess},
		{"per process and non-atomic", within1, run(100, 80, 20, 20, false), run(100, 95, 5, 20, false), CausePerProcess + " and " + CauseNonAtomic},
		{"per process, atomic: more concurrently but no worker over its limit", within1, counterRun{sent: 160, acc: 70, lim: 90, max: 20, accPerWorker: map[string]int{"1-1": 20, "2-2": 20, "3-3": 15, "4-4": 15}, workersIdentified: true},
			counterRun{sent: 160, acc: 80, lim: 80, max: 20, accPerWorker: map[string]int{"1-1": 20, "2-2": 20, "3-3": 20, "4-4": 20}, workersIdentified: true}, CausePerProcess},
		{"per process, one worker over its limit: also non-atomic", within1, counterRun{sent: 160, acc: 80, lim: 80, max: 20, accPerWorker: map[string]int{"1-1": 20, "2-2": 20, "3-3": 20, "4-4": 20}, workersIdentified: true},
			counterRun{sent: 160, acc: 84, lim: 76, max: 20, accPerWorker: map[string]int{"1-1": 24, "2-2": 20, "3-3": 20, "4-4": 20}, workersIdentified: true}, CausePerProcess + " and " + CauseNonAtomic},
		{"connection in the key", within1, run(100, 100, 0, 20, false), run(100, 100, 0, 20, false), CauseConnectionKey},
		{"not limited at all", run(40, 40, 0, 20, false), run(100, 100, 0, 20, false), run(100, 100, 0, 20, false), CauseNotLimited},
		{"one connection overshoots: the declared limit is wrong", run(40, 30, 10, 20, false), run(100, 30, 70, 20, false), run(100, 30, 70, 20, false), CauseDeclaredPolicy},
		{"Connection: close makes one connection many", run(40, 35, 5, 20, true), run(100, 80, 20, 20, true), run(100, 80, 20, 20, true), CausePerProcess},
		{"controls bounced: unconfirmed", within1, run(100, 10, 5, 20, false), run(100, 30, 0, 20, false), CauseUnconfirmed},
		{"sessions bounce: unconfirmed", within1, counterRun{sent: 160, acc: 20, lim: 20, max: 20, status: map[int]int{302: 120, 200: 20, 429: 20}}, run(160, 30, 10, 20, false), CauseUnconfirmed},
		{"controls within: unconfirmed", within1, run(100, 20, 80, 20, false), run(100, 20, 80, 20, false), CauseUnconfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := classify(L, tc.seqOne, tc.seqFresh, tc.conc)
			require.Equal(t, tc.cause, d.Cause, d.Detail)
		})
	}
}
