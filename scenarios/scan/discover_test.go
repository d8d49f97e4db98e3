package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// upProfile starts a local stack of a deployment profile with the scan's
// short windows.
func upProfile(t *testing.T, bin, profile string) *stack.Stack {
	t.Helper()
	limits, err := stack.ParseLimits(scan.FastLimits)
	require.NoError(t, err)
	return stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Profile: profile, Limits: limits, TargetBin: bin, Seed: stack.Seed{Users: 20, Projects: 1}})
}

func discoverOnly(t *testing.T, s *stack.Stack) *scan.PolicyMap {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := scan.Run(ctx, s, scan.Config{Probes: []string{scan.Coverage}})
	require.NoError(t, err)
	require.NotNil(t, rep.PolicyMap)
	var out strings.Builder
	rep.WriteText(&out)
	t.Log("\n" + out.String())
	return rep.PolicyMap
}

// TestDiscoveryAsDeployed: on the deployed app's profile discovery finds the
// one limited operation with its stated limit and window, the other twelve
// unlimited, and the v1/v2 families absent.
func TestDiscoveryAsDeployed(t *testing.T) {
	bin := needTarget(t)
	for _, profile := range []string{"as-deployed", "as-deployed-redis"} {
		t.Run(profile, func(t *testing.T) {
			pm := discoverOnly(t, upProfile(t, bin, profile))
			require.Equal(t, []api.Version{api.Legacy}, pm.Deployed())
			lim := pm.Limited()
			require.Len(t, lim, 1, "only list-pekerjaan.save is limited")
			p := lim[0]
			require.Equal(t, "list-pekerjaan.save", p.Operation)
			require.Equal(t, 10, p.Limit, "the 429 body states the write limit")
			require.Equal(t, 2, p.WindowSeconds)
			require.Equal(t, "yes", p.PerUser)
			require.NotContains(t, strings.Join(p.Carries, " "), "Retry-After")
			require.Len(t, pm.Differences, 12)
			require.Contains(t, strings.Join(pm.Differences, "\n"), "declared write=10/2 on harga-items.save; observed: no 429 within")
		})
	}
}

// TestDiscoveryCorrectTarget: every operation in every family is limited as
// declared, with no difference.
func TestDiscoveryCorrectTarget(t *testing.T) {
	bin := needTarget(t)
	pm := discoverOnly(t, up(t, bin, 2, stack.CacheRedis))
	require.Equal(t, api.Versions, pm.Deployed())
	require.Len(t, pm.Limited(), len(api.Operations))
	require.Empty(t, pm.Differences)
	for _, p := range pm.Ops {
		require.Equal(t, scan.OpLimited, p.State, p.Name())
		require.Contains(t, strings.Join(p.Carries, " "), "Retry-After", p.Name())
	}
}
