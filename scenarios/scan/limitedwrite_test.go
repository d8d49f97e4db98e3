package scan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// The list save only appends, so limited-write's accepted writes would stay
// in the project: the probe takes them out again (an upsert, read back) and
// says so, on the correct target and with the defect alike.
func TestLimitedWriteLeavesNoRows(t *testing.T) {
	bin := needTarget(t)
	for _, defects := range [][]string{nil, {"limited-write-applies"}} {
		t.Run(strings.Join(append([]string{"correct"}, defects...), "+"), func(t *testing.T) {
			s := up(t, bin, 2, stack.CacheRedis, defects...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tree := func() string {
				vus, err := scenarios.LoginUsers(ctx, s.BaseURL(), s.Credentials(), 1, scenarios.LoginOptions{})
				require.NoError(t, err)
				return readTree(ctx, t, vus[0])
			}
			before := tree()
			p := byName(runProbes(t, s, scan.LimitedWrite))[scan.LimitedWrite]
			want := check.Pass
			if defects != nil {
				want = check.Fail
			}
			require.Equal(t, want, p.Status, p.Reason)
			require.Contains(t, strings.Join(p.Evidence.Notes, "\n"), "accepted writes removed again from project")
			after := tree()
			require.NotContains(t, after, scenarios.LoadMarker)
			require.Equal(t, before, after, "the tree as the probe found it")
		})
	}
}

// On a deployment the harness did not seed, limited-write writes real rows
// only to a project declared scratch: without one it is skipped and sends
// nothing; with one (declared by another user) it runs there, and the
// projects not declared scratch are left as they were.
func TestLimitedWriteOnlyOnScratch(t *testing.T) {
	bin := needTarget(t)
	o := startOutside(t, bin)
	trees := func(s *stack.Stack) []string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out []string
		for _, c := range s.Credentials() {
			c.Scratch = nil
			vus, err := scenarios.LoginUsers(ctx, s.BaseURL(), []client.Credential{c}, 1, scenarios.LoginOptions{})
			require.NoError(t, err)
			out = append(out, readTree(ctx, t, vus[0]))
		}
		return out
	}
	tests := []struct {
		name    string
		scratch map[string][]int
		want    check.Status
	}{
		{"no scratch", nil, check.Skip},
		{"user3 declares scratch", map[string][]int{"user3": {3}}, check.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range o.creds {
				o.creds[i].Scratch = tc.scratch[o.creds[i].User]
			}
			s := o.stack(t, nil)
			before := trees(s)
			p := byName(runProbes(t, s, scan.LimitedWrite))[scan.LimitedWrite]
			require.Equal(t, tc.want, p.Status, p.Reason)
			after := trees(s)
			if tc.scratch == nil {
				require.Contains(t, p.Reason, "not declared scratch")
				require.Zero(t, p.Evidence.Sent, "a skipped probe sends nothing")
				require.Equal(t, before, after)
				return
			}
			require.Equal(t, "user3", p.Evidence.User)
			require.Contains(t, strings.Join(p.Evidence.Notes, "\n"), "project 3 of user3, declared scratch")
			for i := range before {
				if i != 2 {
					require.Equal(t, before[i], after[i], "project of %s not declared scratch", o.creds[i].User)
				}
			}
			require.NotContains(t, after[2], scenarios.LoadMarker, "the scratch project's probe rows removed again")
		})
	}
}

// readTree is vu's project tree, a 429 waited out (the short-window
// profile limits reads too).
func readTree(ctx context.Context, t *testing.T, vu *scenarios.VU) string {
	t.Helper()
	op, _ := api.Lookup("list-pekerjaan.tree")
	var body string
	err := client.Retry(ctx, client.Backoff{Tries: 10, Wait: 500 * time.Millisecond, Max: 4 * time.Second, Retry: client.OnStatus(429)},
		func(ctx context.Context) error {
			resp, err := vu.Client.Do(ctx, "GET", op.URLPath(api.Legacy, vu.Project, 0), nil)
			if err != nil {
				return err
			}
			if resp.Status != 200 {
				return client.StatusErrorf(resp.Status, "tree: %d", resp.Status)
			}
			body = string(resp.Body)
			return nil
		})
	require.NoError(t, err)
	return body
}
