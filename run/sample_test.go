package run

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/stack"
)

// tiny is a burst of reads well past a read limit of 3 per minute, so most
// answers are 429s: the responses whose contract (a Retry-After header) the
// no-retry-after defect breaks.
const tiny = `name: tiny
kind: burst
users: 1
requests: 12
connections: 2
mix:
  - op: list-pekerjaan.tree
`

// TestGateSamplesLoad: during `harness run`'s load phase every response is
// offered to the contracts Sampler; a sampled response that breaks its
// contract is a finding in the contracts section, and on the correct target
// the same sample passes.
func TestGateSamplesLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a local target stack twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	testenv.Need(t, "a buildable reference target", err)
	limits, err := stack.ParseLimits("read=3/60,write=20/60,bulk=5/300,export=10/60,login=100/60")
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		defects []string
		status  check.Status
	}{
		{"429 without Retry-After is a finding", []string{"no-retry-after"}, check.Fail},
		{"correct target: the sample passes", nil, check.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := scenarios.Parse("tiny.yaml", []byte(tiny))
			require.NoError(t, err)
			r, err := Gate(ctx, Options{
				Stack: stack.Spec{Mode: stack.ModeLocal, TargetBin: bin, Workers: 1, Cache: stack.CacheLocmem,
					Limits: limits, Defects: tc.defects, Seed: stack.Seed{Users: 4, Projects: 1}},
				Gate:      reports.GateConfig{},
				Scenarios: []*scenarios.Scenario{sc},
				Phases:    []Phase{LoadPhase()}, // the contract suite itself is not what is under test
			})
			if err != nil {
				testenv.Need(t, "the local stack", err)
			}
			require.Empty(t, r.Errors)
			require.Len(t, r.Scenarios, 1)
			require.NotNil(t, r.Contracts, "the sample goes into the contracts section")
			s := r.Contracts.Sample
			require.NotNil(t, s)
			require.Positive(t, s.Validated)
			require.Positive(t, s.ByStatus["list-pekerjaan.tree v1 429"], "the burst got 429s: %v", s.ByStatus)
			require.Equal(t, tc.status, s.Status)
			require.Equal(t, tc.status, r.Contracts.Status)
			if tc.status == check.Fail {
				require.NotEmpty(t, s.Violations)
				var msgs []string
				for _, v := range s.Violations[0].Violations {
					msgs = append(msgs, v.String())
				}
				require.Contains(t, strings.Join(msgs, "\n"), "Retry-After")
				require.Equal(t, "list-pekerjaan.tree", s.Violations[0].Operation)
				require.Equal(t, 429, s.Violations[0].Status)
			}
		})
	}
}
