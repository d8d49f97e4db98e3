package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

func needTarget(t *testing.T) string {
	t.Helper()
	return stacktest.TargetBin(t, "the scan matrix")
}

// up starts a local stack with the scan's short-window profile.
func up(t *testing.T, bin string, workers int, cache string, defects ...string) *stack.Stack {
	t.Helper()
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	return stacktest.Up(t, stack.Spec{
		Mode: stack.ModeLocal, Workers: workers, Cache: cache, Limits: limits,
		Defects: defects, TargetBin: bin, Seed: stack.Seed{Users: 20, Projects: 1},
	})
}

func runProbes(t *testing.T, s *stack.Stack, probes ...string) *scan.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := scan.Run(ctx, s, scan.Config{Probes: probes, Progress: &log, Retries: 1})
	require.NoError(t, err)
	var out strings.Builder
	rep.WriteText(&out)
	t.Logf("%s\n%s", log.String(), out.String())
	return rep
}

func byName(rep *scan.Report) map[string]scan.Result {
	m := map[string]scan.Result{}
	for _, p := range rep.Probes {
		m[p.Probe] = p
	}
	return m
}

// TestMatrixCorrectTargetPasses: the correct target (4 workers sharing
// Redis, atomic fixed window, fail-closed, db sessions) passes every probe.
func TestMatrixCorrectTargetPasses(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 4, stack.CacheRedis)
	rep := runProbes(t, s)
	require.Len(t, rep.Probes, len(scan.Probes()))
	for _, p := range rep.Probes {
		require.Equal(t, check.Pass, p.Status, "%s: %s", p.Probe, p.Reason)
	}
}

// TestMatrixDefectsAreCaught: each probe FAILS on the target with the
// defect it exists to catch, with the expected finding in its reason.
func TestMatrixDefectsAreCaught(t *testing.T) {
	bin := needTarget(t)
	tests := []struct {
		probe   string
		workers int
		cache   string
		defect  string
		finding string
	}{
		{scan.MultiWorker, 4, stack.CacheLocmem, "", "most likely cause: counter per process"},
		{scan.Race, 4, stack.CacheRedis, "naive-limiter", "most likely cause: non-atomic counter"},
		{scan.Window, 4, stack.CacheRedis, "naive-limiter", "TTL refresh"},
		{scan.PathVariants, 4, stack.CacheRedis, "raw-path-key", "were counted apart"},
		{scan.PathVariants, 4, stack.CacheRedis, "split-versions", "were counted apart"},
		{scan.XFFSpoof, 4, stack.CacheRedis, "trust-xff", "trusts forged client IPs"},
		{scan.Coverage, 4, stack.CacheRedis, "legacy-scope", "have no limit although one is declared"},
		{scan.Headers, 4, stack.CacheRedis, "no-retry-after", "no Retry-After header"},
		{scan.Sessions, 4, stack.CacheRedis, "local-sessions", "redirected to the login page"},
		{scan.WorkerKill, 2, stack.CacheRedis, "lost-writes", "acknowledged writes were lost"},
		{scan.IdentityRotation, 4, stack.CacheRedis, "session-key", "a new login of the same user got past the spent quota"},
		{scan.IdentityHeaders, 4, stack.CacheRedis, "identity-header-key", "forged identity headers got past the spent quota"},
		{scan.LimitedWrite, 4, stack.CacheRedis, "limited-write-applies", "a write refused with 429 took effect"},
		{scan.MethodVariants, 4, stack.CacheRedis, "method-bypass", "method variants got past the spent quota"},
	}
	for _, tc := range tests {
		name := tc.probe + "/" + tc.defect
		if tc.defect == "" {
			name = tc.probe + "/" + tc.cache
		}
		t.Run(name, func(t *testing.T) {
			var defects []string
			if tc.defect != "" {
				defects = []string{tc.defect}
			}
			s := up(t, bin, tc.workers, tc.cache, defects...)
			// A race is a matter of timing: give it three chances to show.
			var p scan.Result
			for range 3 {
				p = byName(runProbes(t, s, tc.probe))[tc.probe]
				if p.Status == check.Fail || tc.probe != scan.Race {
					break
				}
			}
			require.Equal(t, check.Fail, p.Status, "%s must catch %s: %s", tc.probe, name, p.Reason)
			require.Contains(t, p.Reason, tc.finding)
		})
	}
}

// TestMatrixFailOpenIsHonoured: with fail-open the cache probes expect the
// requests served, and the correct target does so.
func TestMatrixFailOpenIsHonoured(t *testing.T) {
	bin := needTarget(t)
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := stack.Up(ctx, stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: stack.CacheRedis, FailurePolicy: "fail-open", Limits: limits, TargetBin: bin})
	t.Cleanup(func() { _ = s.Down(context.Background()) })
	require.NoError(t, err)
	rep := runProbes(t, s, scan.CacheDown, scan.CacheSlow)
	for _, p := range rep.Probes {
		require.Equal(t, check.Pass, p.Status, "%s: %s", p.Probe, p.Reason)
		require.Empty(t, p.Findings, p.Probe)
	}
	// The export is served while the cache is down, and compared.
	require.Contains(t, strings.Join(byName(rep)[scan.CacheDown].Evidence.Notes, "\n"), "rekap CSV served while the cache was stopped with the")
}

// TestMatrixCacheDownBlankRekapCSV: a rekap CSV served 200 with its amounts
// blank while the cache is down (rekap-csv-blank-cache-down) is a finding of
// cache-down with its stable id, even where the limiter honours its policy
// (fail-open serves the export, so the export runs).
func TestMatrixCacheDownBlankRekapCSV(t *testing.T) {
	bin := needTarget(t)
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: stack.CacheRedis, FailurePolicy: "fail-open", Limits: limits,
		Defects: []string{"rekap-csv-blank-cache-down"}, TargetBin: bin, Seed: stack.Seed{Users: 20, Projects: 1}})
	p := byName(runProbes(t, s, scan.CacheDown))[scan.CacheDown]
	require.Equal(t, check.Fail, p.Status, p.Reason)
	require.Len(t, p.Findings, 1, p.Reason)
	require.Equal(t, scan.FindingBlankRekapCSV, p.Findings[0].ID)
	require.Contains(t, p.Findings[0].Evidence, "the rekap CSV answered 200 while the cache was stopped with ")
	require.Contains(t, p.Reason, scan.FindingBlankRekapCSV+": the rekap CSV answered 200")
	require.NotContains(t, p.Reason, "fail-open: want", "the policy itself was honoured")
}

// TestMatrixCacheErrorsRaiseIsRefusing: a limiter that raises on the cache
// error (500, the deployed app's cache-errors-raise) refuses the request:
// the cache probes judge it fail-closed, with the 500s in the evidence.
func TestMatrixCacheErrorsRaiseIsRefusing(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 2, stack.CacheRedis, "cache-errors-raise")
	rep := byName(runProbes(t, s, scan.CacheDown, scan.CacheSlow))
	for _, name := range []string{scan.CacheDown, scan.CacheSlow} {
		p := rep[name]
		require.Equal(t, check.Pass, p.Status, "%s: %s", name, p.Reason)
		require.Contains(t, strings.Join(p.Evidence.Notes, "\n"), "answered 500=", name)
	}
	require.Contains(t, rep[scan.CacheDown].Reason, "fail-closed honoured with the cache stopped (list-pekerjaan.save answered 500=5)")
}

// TestMatrixOtherAlgorithms: the oracle's formulas for the sliding counter
// and GCRA do not call the correct target's allowances bugs.
func TestMatrixOtherAlgorithms(t *testing.T) {
	bin := needTarget(t)
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	for _, alg := range []string{scan.Sliding, scan.GCRA} {
		t.Run(alg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := stack.Up(ctx, stack.Spec{Mode: stack.ModeLocal, Workers: 4, Cache: stack.CacheRedis, Limiter: alg, Limits: limits, TargetBin: bin})
			t.Cleanup(func() { _ = s.Down(context.Background()) })
			require.NoError(t, err)
			rep := runProbes(t, s, scan.MultiWorker, scan.Race, scan.Window, scan.Headers)
			require.Equal(t, alg, rep.Algorithm)
			for _, p := range rep.Probes {
				require.Equal(t, check.Pass, p.Status, "%s: %s", p.Probe, p.Reason)
			}
		})
	}
}

// TestMatrixCacheProbesCanFail: a target that does not do what the declared
// policy says fails the cache probes (declared fail-open, target fail-closed).
func TestMatrixCacheProbesCanFail(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 2, stack.CacheRedis)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := scan.Run(ctx, s, scan.Config{Probes: []string{scan.CacheDown, scan.CacheSlow}, FailurePolicy: "fail-open"})
	require.NoError(t, err)
	for _, p := range rep.Probes {
		require.Equal(t, check.Fail, p.Status, "%s: %s", p.Probe, p.Reason)
		require.Contains(t, p.Reason, "fail-open: want the request served, got 503")
	}
}

// TestMatrixXFFWithoutLoginLimit: a deployment without a login limit is not
// blamed for trusting forged client IPs: the control without forged headers
// finds no limit, and the probe says so instead of failing.
func TestMatrixXFFWithoutLoginLimit(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 2, stack.CacheRedis, "no-login-limit", "trust-xff")
	p := byName(runProbes(t, s, scan.XFFSpoof))[scan.XFFSpoof]
	require.Equal(t, check.Skip, p.Status, p.Reason)
	require.Contains(t, p.Reason, "login is not limited per client address")
}

// TestMatrixUnlimitedIsNotARace: on an operation without a limiter
// (legacy-scope), multi-worker and race are not explained as a per-worker
// bypass or a race: the controls find no limit and the probes step aside
// for coverage.
func TestMatrixUnlimitedIsNotARace(t *testing.T) {
	bin := needTarget(t)
	s := up(t, bin, 4, stack.CacheRedis, "legacy-scope", "naive-limiter")
	// The probes take the one limited operation from the discovered
	// policy; a race found there is real (naive-limiter).
	rep := byName(runProbes(t, s, scan.MultiWorker, scan.Race))
	for _, name := range []string{scan.MultiWorker, scan.Race} {
		p := rep[name]
		require.Equal(t, "list-pekerjaan.save", p.Evidence.Operation, "%s: %s", name, p.Reason)
	}
	require.NotEqual(t, check.Fail, rep[scan.MultiWorker].Status, "a shared counter is no per-process bypass: %s", rep[scan.MultiWorker].Reason)
	// Pinned to an unlimited operation, they step aside for coverage.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pinned, err := scan.Run(ctx, s, scan.Config{Probes: []string{scan.MultiWorker, scan.Race}, Op: "volume-pekerjaan.save"})
	require.NoError(t, err)
	for _, p := range pinned.Probes {
		require.Equal(t, check.Skip, p.Status, "%s: %s", p.Probe, p.Reason)
		require.Contains(t, p.Reason, "is not limited on this deployment")
	}
}
