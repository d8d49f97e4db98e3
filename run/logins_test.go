package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

// login302 reads the successful logins (the login route's 302s, from any
// client: HTTP or the browser) off the target's /metrics, which sums every
// worker's counters.
var login302 = regexp.MustCompile(`(?m)^ahsp_http_requests_total\{route="login",status="302"\} (\d+)$`)

// loginsAtTarget is a last phase that scrapes /metrics until the count of
// successful logins is the same twice (workers flush shortly after a change).
func loginsAtTarget(n *int) Phase {
	return Phase{Name: "count-logins", Run: func(ctx context.Context, e *Env, _ *reports.Run) error {
		last := -1
		for range 20 {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(e.BaseURL(), "/")+api.MetricsPath, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			v := 0
			if m := login302.FindSubmatch(body); m != nil {
				v, _ = strconv.Atoi(string(m[1]))
			}
			if v == last {
				*n = v
				return nil
			}
			last = v
			time.Sleep(500 * time.Millisecond)
		}
		return fmt.Errorf("the login count on /metrics did not settle (last %d)", last)
	}}
}

// TestQuickRunWithinLoginLimit is issue 12's login budget for a whole run:
// run.Gate with the quick profile (every scan probe without retries,
// read-mix and write-mix cut to 3 s, contracts, security, observability,
// e2e when Chromium is there) against the correct reference target whose
// login limit is 10 logins a minute per client IP. Every user is logged in
// once and shared by the phases, the throttled logins are waited out, no
// phase fails because of login throttling, the run says its login bound up
// front, and the deployment saw no more successful logins than that bound.
func TestQuickRunWithinLoginLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: a whole quick run against a local stack with a 60 s login window")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	bin, _, err := stack.ResolveTarget(ctx, "", nil)
	testenv.Need(t, "a buildable reference target", err)
	limits, err := stack.ParseLimits(strings.Replace(scan.FastLimits, "login=10/2", "login=10/60", 1))
	require.NoError(t, err)
	var scs []*scenarios.Scenario
	for _, name := range []string{"read-mix", "write-mix"} {
		sc, err := scenarios.Builtin(name)
		require.NoError(t, err)
		sc.Duration = min(sc.Duration, 3*time.Second) // the quick profile's length
		scs = append(scs, sc)
	}
	off := map[string]bool{}
	if _, err := e2e.ChromiumPath(""); err != nil {
		t.Logf("no Chromium (%v): e2e off", err)
		off["e2e"] = true
	}
	var atTarget int
	var progress, warn bytes.Buffer
	r, err := Gate(ctx, Options{
		Stack: stack.Spec{Mode: stack.ModeLocal, TargetBin: bin, Workers: 4, Cache: stack.CacheRedis, Limits: limits,
			Seed: stack.Seed{Users: stack.DefaultSeedUsers, Projects: 1}},
		Gate:      reports.DefaultGate(),
		Scenarios: scs,
		Scan:      scan.Config{Retries: 0},
		Off:       off,
		Phases:    append(Phases(), loginsAtTarget(&atTarget)),
		Progress:  &progress,
		Warn:      &warn,
	})
	if err != nil {
		testenv.Need(t, "the local stack", err)
	}
	t.Logf("%s\n%s", progress.String(), warn.String())
	for _, g := range r.Gate.Rows {
		t.Logf("gate: %s %s (%s) %s", g.Status, g.Name, g.Observed, g.Message)
	}
	if r.E2E != nil {
		for _, x := range r.E2E.Failed() {
			t.Logf("e2e %s failed: %s %v", x.Name, x.Reason, x.Evidence)
		}
	}
	require.Empty(t, r.Errors, "no phase may fail to run")
	all, err := json.Marshal(r)
	require.NoError(t, err)
	require.NotContains(t, string(all), "login throttled", "a check failed because a login was throttled")

	require.NotNil(t, r.Logins)
	l := *r.Logins
	t.Logf("logins: planned %d, made %d, throttled %d, reused %d; successful logins at the target %d", l.Planned, l.Made, l.Throttled, l.Reused, atTarget)
	require.Contains(t, progress.String(), fmt.Sprintf("this run needs at most %d logins", l.Planned))
	require.Contains(t, progress.String(), fmt.Sprintf("logins: %d made", l.Made))
	require.LessOrEqual(t, l.Made, l.Planned, "logins beyond the bound said up front")
	require.LessOrEqual(t, atTarget, l.Planned, "the deployment saw more logins than the bound")
	require.Positive(t, l.Reused, "sessions shared between phases and scenarios")
	if l.Made > 10 {
		require.Positive(t, l.Throttled, "more than 10 logins within the login window: some must have been throttled and waited out")
		require.Contains(t, progress.String(), "throttled")
	}
}
