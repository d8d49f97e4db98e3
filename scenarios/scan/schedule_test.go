package scan

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
)

// TestRunJobsOverlapsDisjointAndSerializesConflicts runs the scheduler in a
// synctest bubble: each job records when it runs (fake time); a job that
// waits for a partner gives up after an hour of fake time, so a scheduler
// that does not overlap them shows as a wait, never as a hang.
func TestRunJobsOverlapsDisjointAndSerializesConflicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running := map[string]bool{}
		var overlaps [][2]string
		started := map[string]chan struct{}{}
		for _, n := range []string{"window", "headers", "race", "race2", "cache-down", "xff"} {
			started[n] = make(chan struct{})
		}
		startedAt := map[string]time.Duration{}
		t0 := time.Now()
		work := func(name string, waitFor string, d time.Duration) func(context.Context) Result {
			return func(ctx context.Context) Result {
				if name == "window" || name == "headers" {
					// Logging in takes a while; the others wait for it.
					time.Sleep(5 * time.Second)
					setupDone(ctx)
				}
				mu.Lock()
				startedAt[name] = time.Since(t0)
				for other := range running {
					overlaps = append(overlaps, [2]string{other, name})
				}
				running[name] = true
				mu.Unlock()
				close(started[name])
				if waitFor != "" {
					select {
					case <-started[waitFor]:
					case <-time.After(time.Hour):
					}
				}
				time.Sleep(d)
				mu.Lock()
				delete(running, name)
				mu.Unlock()
				return Result{Probe: name, Status: check.Pass}
			}
		}
		jobs := []job{
			{name: "race", claims: []string{"bucket:a"}, run: work("race", "", time.Second)},
			// Window-bound: started first although listed later.
			{name: "window", claims: []string{"bucket:b", "bucket:c"}, long: true, run: work("window", "headers", 90*time.Second)},
			{name: "headers", claims: []string{"bucket:d"}, long: true, run: work("headers", "window", 60*time.Second)},
			// Conflicts with race: must wait for it, never overtake it.
			{name: "race2", claims: []string{"bucket:a"}, run: work("race2", "", time.Second)},
			{name: "cache-down", claims: []string{claimAll}, run: work("cache-down", "", time.Second)},
			{name: "xff", claims: []string{claimAll}, run: work("xff", "", time.Second)},
		}
		res := runJobs(t.Context(), jobs, 4)
		elapsed := time.Since(t0)

		var names []string
		for _, r := range res {
			names = append(names, r.Probe)
		}
		require.Equal(t, []string{"race", "window", "headers", "race2", "cache-down", "xff"}, names, "results in the jobs' order")
		has := func(a, b string) bool {
			for _, o := range overlaps {
				if (o[0] == a && o[1] == b) || (o[0] == b && o[1] == a) {
					return true
				}
			}
			return false
		}
		require.True(t, has("window", "headers"), "disjoint window-bound probes overlap: %v", overlaps)
		require.True(t, has("window", "race"), "a disjoint probe runs beside the window probe: %v", overlaps)
		require.False(t, has("race", "race2"), "probes on one bucket never overlap: %v", overlaps)
		for _, o := range overlaps {
			require.NotContains(t, o, "cache-down", "a probe holding everything runs alone: %v", overlaps)
			require.NotContains(t, o, "xff", "a probe holding everything runs alone: %v", overlaps)
		}
		// The window-bound probes log in first (5 s each, one after the
		// other), then the rest start; window runs 90 s once headers has
		// started (t=10 s) beside it and the races, then the two exclusive
		// ones take 1 s each.
		require.Equal(t, 5*time.Second, startedAt["window"])
		require.Equal(t, 10*time.Second, startedAt["headers"], "started after window's setup")
		require.Equal(t, 10*time.Second, startedAt["race"], "started after headers' setup")
		require.Equal(t, 102*time.Second, elapsed, "not the 164 s of a sequence")
	})
}

func TestRunJobsSetupWaitIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var otherStarted time.Duration
		t0 := time.Now()
		jobs := []job{
			{name: "window", claims: []string{"bucket:a"}, long: true, run: func(context.Context) Result {
				time.Sleep(10 * time.Minute) // never signals its setup
				return Result{}
			}},
			{name: "race", claims: []string{"bucket:b"}, run: func(context.Context) Result {
				otherStarted = time.Since(t0)
				return Result{}
			}},
		}
		runJobs(t.Context(), jobs, 4)
		require.Equal(t, setupWait, otherStarted)
	})
}

func TestRunJobsRespectsParallelLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		now, peak := 0, 0
		var jobs []job
		for i := range 6 {
			jobs = append(jobs, job{name: string(rune('a' + i)), claims: []string{"bucket:" + string(rune('a'+i))}, run: func(context.Context) Result {
				mu.Lock()
				now++
				peak = max(peak, now)
				mu.Unlock()
				time.Sleep(time.Second)
				mu.Lock()
				now--
				mu.Unlock()
				return Result{Status: check.Pass}
			}})
		}
		t0 := time.Now()
		runJobs(t.Context(), jobs, 4)
		require.Equal(t, 4, peak)
		require.Equal(t, 2*time.Second, time.Since(t0))
	})
}

func TestClaimsFollowSharedBuckets(t *testing.T) {
	m := &PolicyMap{Ops: []OpPolicy{
		{Operation: "list-pekerjaan.save", Version: "legacy", State: OpLimited, Limit: 20, SharesWith: []string{"volume-pekerjaan.save"}},
		{Operation: "volume-pekerjaan.save", Version: "legacy", State: OpLimited, Limit: 20, SharesWith: []string{"list-pekerjaan.save", "harga-items.save"}},
		{Operation: "harga-items.save", Version: "legacy", State: OpLimited, Limit: 20, SharesWith: []string{"volume-pekerjaan.save"}},
		{Operation: "rekap", Version: "legacy", State: OpLimited, Limit: 100},
	}}
	require.Equal(t, "bucket:list-pekerjaan.save", m.bucket("harga-items.save"), "sharing is transitive")
	require.Equal(t, "bucket:list-pekerjaan.save", m.bucket("volume-pekerjaan.save"))
	require.Equal(t, "bucket:rekap", m.bucket("rekap"))
	require.True(t, conflicts([]string{m.bucket("harga-items.save")}, []string{m.bucket("list-pekerjaan.save")}))
	require.False(t, conflicts([]string{m.bucket("rekap")}, []string{m.bucket("list-pekerjaan.save")}))
	require.True(t, conflicts([]string{claimAll}, []string{"bucket:rekap"}))
	require.True(t, conflicts([]string{"bucket:rekap"}, []string{claimAll}))
	require.True(t, conflicts(nil, []string{claimAll}), "a probe holding everything runs alone, even beside one that holds nothing")
}

func TestWindowAttemptsSideBySideOnlyWithPerUserKeys(t *testing.T) {
	mk := func(perUser string) *scanner {
		return &scanner{pm: &PolicyMap{Ops: []OpPolicy{
			{Operation: "list-pekerjaan.save", Version: "legacy", Category: "write", State: OpLimited, Limit: 20, WindowSeconds: 60, PerUser: perUser},
		}}}
	}
	require.True(t, mk("yes").attemptsSideBySide(Window), "fresh users have their own keys")
	require.False(t, mk("no").attemptsSideBySide(Window), "one key for all users: attempts would share it")
	require.False(t, mk("").attemptsSideBySide(Window), "not known to be per user")
	require.False(t, mk("yes").attemptsSideBySide(Race), "only the window-length probe")
	require.False(t, (&scanner{}).attemptsSideBySide(Window), "no policy map")
	limited := mk("yes")
	limited.limits = map[api.Category]api.Limit{LoginCategory: DefaultLoginLimit}
	require.False(t, limited.attemptsSideBySide(Window), "logins are throttled: the extra attempts' logins could cost a window")
}

// TestClaimsSpreadWindowBoundProbes: where every operation is limited, the
// window and headers probes take buckets the counter probes do not use, so
// they run beside them; where one is limited, all of them queue on it.
func TestClaimsSpreadWindowBoundProbes(t *testing.T) {
	all := &PolicyMap{}
	for _, op := range api.Operations {
		all.Ops = append(all.Ops, OpPolicy{Operation: op.Name, Version: api.Legacy, Category: op.Category, State: OpLimited, Limit: 20, WindowSeconds: 60, PerUser: "yes"})
	}
	s := &scanner{pm: all}
	window, headers, counter := s.claims(Window), s.claims(Headers), s.claims(MultiWorker)
	require.Len(t, window, 2, "polite stream and edge bursts on two buckets")
	require.False(t, conflicts(window, headers), "%v %v", window, headers)
	require.False(t, conflicts(window, counter), "%v %v", window, counter)
	require.False(t, conflicts(headers, counter), "%v %v", headers, counter)
	require.Equal(t, counter, s.claims(Race))
	require.Equal(t, []string{claimAll}, s.claims(XFFSpoof))
	require.Empty(t, s.claims(Coverage))

	one := &PolicyMap{}
	for _, op := range api.Operations {
		st := OpUnlimited
		if op.Name == "list-pekerjaan.save" {
			st = OpLimited
		}
		one.Ops = append(one.Ops, OpPolicy{Operation: op.Name, Version: api.Legacy, Category: op.Category, State: st, Limit: 20, WindowSeconds: 60, PerUser: "yes"})
	}
	s = &scanner{pm: one}
	require.Equal(t, []string{"bucket:list-pekerjaan.save"}, s.claims(Window))
	require.True(t, conflicts(s.claims(Window), s.claims(Headers)))
	require.True(t, conflicts(s.claims(Window), s.claims(MultiWorker)))

	// --op pins every probe to one operation: one bucket, one at a time.
	s = &scanner{pm: all, cfg: Config{Op: "rekap"}}
	require.Equal(t, []string{"bucket:rekap"}, s.claims(Window))
	require.True(t, conflicts(s.claims(Headers), s.claims(Race)))
}
