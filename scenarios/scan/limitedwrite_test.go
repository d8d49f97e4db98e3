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
				op, _ := api.Lookup("list-pekerjaan.tree")
				var body string
				// The short-window profile limits reads too: wait out a 429.
				err = client.Retry(ctx, client.Backoff{Tries: 10, Wait: 500 * time.Millisecond, Max: 4 * time.Second, Retry: client.OnStatus(429)},
					func(ctx context.Context) error {
						resp, err := vus[0].Client.Do(ctx, "GET", op.URLPath(api.Legacy, vus[0].Project, 0), nil)
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
