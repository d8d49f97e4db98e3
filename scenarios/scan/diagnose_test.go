package scan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
)

func TestClassify(t *testing.T) {
	const L = 20
	run := func(sent, acc, lim, max int, closed bool) counterRun {
		return counterRun{sent: sent, acc: acc, lim: lim, max: max, closed: closed}
	}
	perWorker := func(sent, acc, lim int, w map[string]int) counterRun {
		return counterRun{sent: sent, acc: acc, lim: lim, max: 20, accPerWorker: w, workersIdentified: true}
	}
	within1 := run(40, 20, 20, 20, false)
	// The as-deployed profile: 4 workers with their own counters, each
	// non-atomic, no X-Worker-Id, Connection: close.
	deployedSeqOne, deployedSeqFresh, deployedConc := run(40, 35, 5, 20, true), run(160, 78, 82, 20, true), run(160, 131, 29, 20, true)
	for _, tc := range []struct {
		name                   string
		probe                  string
		seqOne, seqFresh, conc counterRun
		cause                  string
	}{
		{"non-atomic: only concurrency overshoots", Race, within1, run(100, 20, 80, 20, false), run(100, 37, 63, 20, false), CauseNonAtomic},
		{"multi-worker over, controls show only a race: not its cause", MultiWorker, within1, run(100, 20, 80, 20, false), run(100, 37, 63, 20, false), CauseUnconfirmed},
		{"per process: fresh connections overshoot with 429s", MultiWorker, within1, run(100, 80, 20, 20, false), run(100, 81, 19, 20, false), CausePerProcess},
		{"race over only because the burst spread over processes", Race, within1, run(100, 80, 20, 20, false), run(100, 81, 19, 20, false), CausePerProcess},
		{"per process and non-atomic: multi-worker names the process", MultiWorker, within1, run(100, 80, 20, 20, false), run(100, 95, 5, 20, false), CausePerProcess},
		{"per process and non-atomic: race names the race", Race, within1, run(100, 80, 20, 20, false), run(100, 95, 5, 20, false), CauseNonAtomic},
		{"as deployed: multi-worker is a counter per process", MultiWorker, deployedSeqOne, deployedSeqFresh, deployedConc, CausePerProcess},
		{"as deployed: race is the non-atomic counter", Race, deployedSeqOne, deployedSeqFresh, deployedConc, CauseNonAtomic},
		{"per process, atomic: no worker over its limit concurrently", Race, within1,
			perWorker(160, 70, 90, map[string]int{"1-1": 20, "2-2": 20, "3-3": 15, "4-4": 15}),
			perWorker(160, 80, 80, map[string]int{"1-1": 20, "2-2": 20, "3-3": 20, "4-4": 20}), CausePerProcess},
		{"per process, one worker over its limit: race names the race", Race, within1,
			perWorker(160, 80, 80, map[string]int{"1-1": 20, "2-2": 20, "3-3": 20, "4-4": 20}),
			perWorker(160, 84, 76, map[string]int{"1-1": 24, "2-2": 20, "3-3": 20, "4-4": 20}), CauseNonAtomic},
		{"per process, one worker over its limit: multi-worker names the process", MultiWorker, within1,
			perWorker(160, 80, 80, map[string]int{"1-1": 20, "2-2": 20, "3-3": 20, "4-4": 20}),
			perWorker(160, 84, 76, map[string]int{"1-1": 24, "2-2": 20, "3-3": 20, "4-4": 20}), CausePerProcess},
		{"connection in the key", MultiWorker, within1, run(100, 100, 0, 20, false), run(100, 100, 0, 20, false), CauseConnectionKey},
		{"connection in the key, race", Race, within1, run(100, 100, 0, 20, false), run(100, 100, 0, 20, false), CauseConnectionKey},
		{"not limited at all", MultiWorker, run(40, 40, 0, 20, false), run(100, 100, 0, 20, false), run(100, 100, 0, 20, false), CauseNotLimited},
		{"one connection overshoots: the declared limit is wrong", Race, run(40, 30, 10, 20, false), run(100, 30, 70, 20, false), run(100, 30, 70, 20, false), CauseDeclaredPolicy},
		{"Connection: close makes one connection many", MultiWorker, run(40, 35, 5, 20, true), run(100, 80, 20, 20, true), run(100, 80, 20, 20, true), CausePerProcess},
		{"controls bounced: unconfirmed", MultiWorker, within1, run(100, 10, 5, 20, false), run(100, 30, 0, 20, false), CauseUnconfirmed},
		{"sessions bounce: unconfirmed", Race, within1, counterRun{sent: 160, acc: 20, lim: 20, max: 20, status: map[int]int{302: 120, 200: 20, 429: 20}}, run(160, 30, 10, 20, false), CauseUnconfirmed},
		{"controls within: unconfirmed", Race, within1, run(100, 20, 80, 20, false), run(100, 20, 80, 20, false), CauseUnconfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := classify(tc.probe, L, tc.seqOne, tc.seqFresh, tc.conc)
			require.Equal(t, tc.cause, d.Cause, d.Detail)
			require.NotContains(t, d.Cause, " and ", "one cause per FAIL")
		})
	}
}

// TestDiagnoseNamesOneCause: a FAIL's reason names the controls' cause and
// drops the probe's own hypothesis when the controls name another one.
func TestDiagnoseNamesOneCause(t *testing.T) {
	within1 := counterRun{sent: 40, acc: 20, lim: 20, max: 20}
	perProcess := &controlRuns{limit: 20, seqOne: within1,
		seqFresh: counterRun{sent: 160, acc: 80, lim: 80, max: 20}, conc: counterRun{sent: 160, acc: 81, lim: 79, max: 20}}
	raceOnly := &controlRuns{limit: 20, seqOne: within1,
		seqFresh: counterRun{sent: 160, acc: 20, lim: 140, max: 20}, conc: counterRun{sent: 160, acc: 60, lim: 100, max: 20}}
	for _, tc := range []struct {
		name, probe, reason string
		controls            *controlRuns
		want, notWant       string
	}{
		{"race spread over processes", Race, "accepted 70 of 60 concurrent requests on list-pekerjaan.save: " + raceClause, perProcess, "most likely cause: " + CausePerProcess, "non-atomic"},
		{"race confirmed", Race, "accepted 70 of 60 concurrent requests on list-pekerjaan.save: " + raceClause, raceOnly, "most likely cause: " + CauseNonAtomic, CausePerProcess},
		{"multi-worker confirmed", MultiWorker, "accepted 80 of 100 from one user; " + oneAtATimeClause, perProcess, "most likely cause: " + CausePerProcess, "non-atomic"},
		{"multi-worker over, controls only race: its own reason stands", MultiWorker, "accepted 80 of 100 from one user; " + perWorkerClause, raceOnly, perWorkerClause, "most likely cause: " + CauseNonAtomic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scanner{diagnoses: map[string]*diagnosisOnce{}}
			once := &diagnosisOnce{c: tc.controls}
			once.Do(func() {})
			s.diagnoses["list-pekerjaan.save"] = once
			res := Result{Probe: tc.probe, Status: check.Fail, Reason: tc.reason, Evidence: Evidence{Operation: "list-pekerjaan.save", Overshoot: 10}}
			s.diagnose(t.Context(), &res)
			require.Equal(t, check.Fail, res.Status)
			require.Contains(t, res.Reason, tc.want)
			require.NotContains(t, res.Reason, tc.notWant)
			require.Equal(t, 1, strings.Count(res.Reason, "most likely cause: "))
		})
	}
}
