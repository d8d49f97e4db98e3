package scan

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
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
		work := func(name string, waitFor string, d time.Duration) func(context.Context) Result {
			return func(ctx context.Context) Result {
				mu.Lock()
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
		t0 := time.Now()
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
		// window (90 s) beside headers (60 s) and the races, then the two
		// exclusive ones: 92 s of fake time, not the 154 s of a sequence.
		require.Equal(t, 92*time.Second, elapsed)
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
	require.True(t, conflicts([]string{claimAll}, nil) || conflicts([]string{claimAll}, []string{"x"}))
}
