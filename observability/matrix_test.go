package observability_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// up starts 2 workers sharing Redis with the scan's short windows, so the
// burst is short and /metrics must sum both workers.
func up(t *testing.T, defects ...string) (*stack.Stack, stack.Spec) {
	t.Helper()
	bin := stacktest.TargetBin(t, "the observability matrix")
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	spec := stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: stack.CacheRedis, Limits: limits,
		Defects: defects, TargetBin: bin, Seed: stack.Seed{Users: 2, Projects: 1}}
	return stacktest.Up(t, spec), spec
}

func run(t *testing.T, s *stack.Stack, spec stack.Spec) (*observability.Report, map[string]observability.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log strings.Builder
	rep, err := observability.Run(ctx, s, observability.Config{Limits: spec.Limits, Progress: &log})
	require.NoError(t, err)
	t.Log(log.String())
	out := map[string]observability.Result{}
	for _, c := range rep.Checks {
		out[c.Name] = c
	}
	return rep, out
}

// The proof matrix: every check passes on the correct target and fails on
// the defect that breaks it.
func TestMatrix(t *testing.T) {
	t.Run("correct", func(t *testing.T) {
		s, spec := up(t)
		rep, got := run(t, s, spec)
		for _, n := range observability.Names {
			require.Equal(t, check.Pass, got[n].Status, "%s: %s %v %v", n, got[n].Reason, got[n].Findings, got[n].Evidence)
		}
		limited := 0
		for _, h := range rep.Hits {
			limited += h.Limited
			require.Equal(t, h.Limited, h.Metric, h.Operation)
			require.Equal(t, h.Limited, h.Logged, h.Operation)
		}
		require.Positive(t, limited)
	})
	for _, row := range []struct {
		defect, check, finding string
	}{
		{"metrics-miss-bulk", observability.MetricsLimitHits, "list-pekerjaan.upsert (bulk)"},
		{"hit-log-no-user", observability.LogsLimitHits, "lacks user"},
		{"metrics-miss-cache-errors", observability.MetricsCacheErrors, "requests met a stopped cache"},
	} {
		t.Run(row.defect, func(t *testing.T) {
			s, spec := up(t, row.defect)
			_, got := run(t, s, spec)
			require.Equal(t, check.Fail, got[row.check].Status, "%s on %s: %s", row.check, row.defect, got[row.check].Reason)
			require.Contains(t, strings.Join(got[row.check].Findings, "\n"), row.finding)
		})
	}
	// A deployment without /metrics (the real app) is a skip with that reason.
	t.Run("no-metrics", func(t *testing.T) {
		s, spec := up(t, "no-metrics")
		_, got := run(t, s, spec)
		require.Equal(t, check.Skip, got[observability.MetricsLimitHits].Status)
		require.Contains(t, got[observability.MetricsLimitHits].Reason, "no /metrics")
		require.Equal(t, check.Pass, got[observability.LogsLimitHits].Status)
	})
}
