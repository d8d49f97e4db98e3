package capacity

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// seededUsers are the reference target's user1..userN (projects 2i-1, 2i).
func seededUsers(n int) []client.Credential {
	out := make([]client.Credential, n)
	for i := range out {
		out[i] = client.Credential{User: fmt.Sprintf("user%d", i+1), Password: stack.DefaultSeedPassword, Projects: []int{2*i + 1}}
	}
	return out
}

// externalUp reaches an external deployment once, as run.CapacityExternal
// does (run imports this package).
func externalUp(spec stack.Spec) UpFunc {
	var s *stack.Stack
	return func(ctx context.Context, _ Config, _ map[api.Category]api.Limit, _ int) (Target, error) {
		if s == nil {
			var err error
			if s, err = stack.Up(ctx, spec); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
}

// workersCPU is a cpu hook an operator would write: the CPU seconds of
// every worker listed in the run dir's pid files, from /proc.
func workersCPU(runDir string) string {
	return `for f in ` + runDir + `/worker-*.pid; do awk '{print $14+$15}' /proc/$(cat "$f")/stat; done | awk '{s+=$1} END {printf "%.2f\n", s/100}'`
}

// TestSweepExternal measures a reference target started outside the
// harness, as an operator's deployment: one configuration, the same search,
// target CPU through the cpu hook.
func TestSweepExternal(t *testing.T) {
	srv := stacktest.Serve(t, "--workers", "2", "--seed", "users=4,projects=2",
		"--limits", "read=100000/1,write=100000/1,bulk=100000/1,export=100000/1")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Sweep(ctx, Options{
		Configs: []Config{{Cache: AsDeployed, Mix: "read-mix"}},
		// Low rates: the machine is shared, and this test proves the
		// wiring, not the number.
		Search:       Search{Start: 10, Grow: 2, Max: 20, Resolution: 10, MaxBisect: 0, SLO: DefaultSLO()},
		StepDuration: 2 * time.Second, MaxWorkers: 32,
		Up: externalUp(stack.Spec{Mode: stack.ModeExternal, TargetURL: srv.URL, Credentials: seededUsers(4),
			Hooks: map[string]string{stack.HookCPU: workersCPU(srv.RunDir)}, HookTimeout: 10 * time.Second}),
		External: true, TargetURL: srv.URL,
		Policy: Policy{Source: "declared (--limits)", Limits: map[api.Category]api.Limit{api.Read: {Requests: 100000, WindowSeconds: 1}}},
		Label:  "reference, 2 workers, locmem",
	})
	t.Log(progress.String())
	require.NoError(t, err)
	require.Equal(t, stack.ModeExternal, rep.Mode)
	require.Equal(t, srv.URL, rep.TargetURL)
	require.Empty(t, rep.CPUNote, "the cpu hook measures the target")
	res := rep.Results[0]
	require.Empty(t, res.Error)
	require.Equal(t, "read-mix as deployed", res.Config.String())
	require.NotNil(t, res.Users)
	require.Equal(t, 4, res.Users.Distinct)
	require.False(t, res.Users.TooFew, res.Users.Note)
	o := res.Outcome
	require.NotNil(t, o)
	require.GreaterOrEqual(t, o.MaxRate, 10, "two workers serve 10 reads/s on any machine: %s", o.Reason)
	require.NotNil(t, o.AtMax)
	require.Zero(t, o.AtMax.RateLimited)
	require.Greater(t, o.AtMax.TargetCPU, 0.0, "the cpu hook's reading")
	require.Equal(t, -1.0, o.AtMax.CacheCPU, "an external cache is not measured")

	var text bytes.Buffer
	rep.WriteText(&text)
	require.Contains(t, text.String(), `run "reference, 2 workers, locmem" against `+srv.URL)
	require.Contains(t, text.String(), "as deployed")
}

// TestSweepExternalAsDeployed runs against the as-deployed profile (only
// list-pekerjaan.save limited, 20 per 60 s, no Retry-After, Connection:
// close) with no declared limits: the scan's discovery maps the policy before
// the ramp (list save limited, from the 429 body; the other operations not),
// the account it spent is left out of the ramp, the users are judged too few
// by the discovered limit, the 429s are counted apart from errors, the step is
// judged limited by users and the stated limit is read from the 429 body.
func TestSweepExternalAsDeployed(t *testing.T) {
	srv := stacktest.Serve(t, "--profile", "as-deployed", "--workers", "1", "--seed", "users=3,projects=1")
	mix := filepath.Join(t.TempDir(), "saves.yaml")
	require.NoError(t, os.WriteFile(mix, []byte(`name: saves
kind: constant
users: 2
rate: 10
duration: 1s
max_workers: 16
max_connections: 16
mix:
  - op: list-pekerjaan.save
    weight: 1
  - op: volume-pekerjaan.list
    weight: 1
`), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The mix saves: the users declare their projects disposable.
	creds := []client.Credential{
		{User: "user1", Password: stack.DefaultSeedPassword, Projects: []int{1}, Scratch: []int{1}},
		{User: "user2", Password: stack.DefaultSeedPassword, Projects: []int{2}, Scratch: []int{2}},
		{User: "user3", Password: stack.DefaultSeedPassword, Projects: []int{3}, Scratch: []int{3}},
	}
	var progress bytes.Buffer
	rep, err := Sweep(ctx, Options{
		Configs: []Config{{Cache: AsDeployed, Mix: mix}},
		// The latency limit is loose on purpose: this test is about 429
		// accounting, and a busy machine must not end the ramp on p99
		// before the users' quota runs out (at the second step).
		Search:       Search{Start: 40, Grow: 2, Max: 160, Resolution: 40, MaxBisect: 0, SLO: SLO{P99: 10 * time.Second, P99Ms: 10000, MaxErrorRate: 1, MaxRateLimited: 1}},
		StepDuration: time.Second, MaxWorkers: 16, Progress: &progress,
		Up:       externalUp(stack.Spec{Mode: stack.ModeExternal, TargetURL: srv.URL, Credentials: creds}),
		External: true, TargetURL: srv.URL,
		Policy: Policy{Source: "unknown"}, Discover: true, DiscoverTimeout: 2 * time.Minute,
	})
	t.Log(progress.String())
	require.NoError(t, err)
	require.Contains(t, rep.CPUNote, "no cpu hook configured")
	require.NotNil(t, rep.Discovery)
	require.Empty(t, rep.Discovery.Error)
	require.Contains(t, rep.Policy.Source, "discovered (scan discovery")
	for _, e := range rep.Policy.PerOp {
		if e.Operation == "list-pekerjaan.save" {
			require.Equal(t, OpLimited, e.State)
			require.Equal(t, api.Limit{Requests: 20, WindowSeconds: 60}, e.Limit)
			require.Equal(t, FromDiscovered, e.From)
			require.Contains(t, e.Detail, "429 body")
			continue
		}
		require.NotEqual(t, OpLimited, e.State, "%s is not limited as deployed: %+v", e.Operation, e)
	}
	require.Equal(t, map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}}, rep.Policy.Limits)
	require.Equal(t, []string{"list-pekerjaan.save"}, rep.Policy.Operations)
	// Discovery exhausted the first users' list-save quota: they sit out.
	require.Equal(t, []string{"user1", "user2"}, rep.Discovery.Spent)
	require.Contains(t, rep.Discovery.Note, "the ramp uses the other 1 account(s)")
	res := rep.Results[0]
	require.Empty(t, res.Error)
	// 1 user × 0.8 × 20/60 / (1/2) = 0.53/s of this mix; 160/s needs
	// 160 × 1/2 / (0.8 × 20/60) = 300 users.
	require.Equal(t, 1, res.Users.Distinct)
	require.True(t, res.Users.TooFew)
	require.InDelta(t, 0.5, res.Users.SupportedRate, 0.05)
	require.Equal(t, 300, res.Users.Needed)
	require.Contains(t, res.Users.Note, "give at least 300 users")
	o := res.Outcome
	require.True(t, o.LimitedByUsers, o.Reason)
	require.Contains(t, o.Reason, "per-user limits answered, not capacity")
	var limited *Step
	for i := range o.Steps {
		if o.Steps[i].Limited {
			limited = &o.Steps[i]
			break
		}
	}
	require.NotNil(t, limited)
	require.Positive(t, limited.RateLimitedOps["list-pekerjaan.save"])
	require.Zero(t, limited.RateLimitedOps["volume-pekerjaan.list"], "only list save is limited as deployed")
	require.Less(t, limited.ErrorRate, 1.0, "429s are not errors")
	require.Len(t, res.Observed, 1)
	require.Equal(t, "list-pekerjaan.save", res.Observed[0].Operation)
	require.Equal(t, api.Limit{Requests: 20, WindowSeconds: 60}, res.Observed[0].Limit, "the 429 body states the limit")

	var text bytes.Buffer
	rep.WriteText(&text)
	t.Log(text.String())
	require.Regexp(t, `list-pekerjaan\.save +write +limited +20/60s +discovered`, text.String())
	require.Regexp(t, `volume-pekerjaan\.list +read +unlimited +– +discovered`, text.String())
	require.Contains(t, text.String(), "too few users")
}

// TestSweepExternalLoginLimit: a deployment whose login limit (per client
// IP) is lower than the logins the ramp needs: the configuration could not
// run, and the error names the login limit and what to do.
func TestSweepExternalLoginLimit(t *testing.T) {
	// projects=2: seededUsers names each user's first of two projects; with
	// one each, a user who got a login read another's project (404) before
	// the throttled ones gave up, in some runs.
	srv := stacktest.Serve(t, "--workers", "1", "--seed", "users=4,projects=2",
		"--limits", "bulk=5/300,write=20/60,read=100/60,export=10/60,login=2/60")
	defer func(w time.Duration) { scenarios.LoginWait = w }(scenarios.LoginWait)
	scenarios.LoginWait = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Sweep(ctx, Options{
		Configs: []Config{{Cache: AsDeployed, Mix: "read-mix"}},
		Search:  Search{Start: 5, Grow: 2, Max: 10, Resolution: 5, SLO: DefaultSLO()}, StepDuration: time.Second,
		Up:       externalUp(stack.Spec{Mode: stack.ModeExternal, TargetURL: srv.URL, Credentials: seededUsers(4)}),
		External: true, TargetURL: srv.URL, Policy: Policy{Source: "unknown"},
	})
	require.NoError(t, err)
	res := rep.Results[0]
	require.Nil(t, res.Outcome)
	require.Contains(t, res.Error, "the deployment's login limit answered 429 while")
	require.Contains(t, res.Error, "raise the deployment's login limit for the test")
}
