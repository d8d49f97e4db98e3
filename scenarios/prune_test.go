package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
	"github.com/ahsp-harness/harness/target/treeread"
)

// treeNames reads project pid's klasifikasi ids and names (legacy family)
// through target/treeread: the deployed profile serves the unsearched tree
// from a cache an upsert does not invalidate.
func treeNames(t *testing.T, ctx context.Context, c *client.Client, pid int) map[int]string {
	t.Helper()
	tr, err := treeread.Read(ctx, func(ctx context.Context, path string) (int, []byte, error) {
		resp, err := getRetry(ctx, c, path)
		if err != nil {
			return 0, nil, err
		}
		return resp.Status, resp.Body, nil
	}, pid)
	require.NoError(t, err)
	require.True(t, tr.Confirmed(), tr.Note())
	out := map[int]string{}
	for _, k := range tr.Payload["klasifikasi"].([]any) {
		m := k.(map[string]any)
		id, err := m["id"].(json.Number).Int64()
		require.NoError(t, err)
		out[int(id)] = m["name"].(string)
	}
	return out
}

// On the deployed app's profile (append-only save, per-worker sessions,
// Connection: close) a load of list saves leaves the tree as it found it:
// every accepted save appended a marked klasifikasi, and Run removed them
// with an upsert afterwards, keeping the seeded rows and their ids.
func TestIntegrationLoadListSavesArePruned(t *testing.T) {
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Profile: "as-deployed", Seed: stack.Seed{Users: 1, Projects: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc, err := Parse("t.yaml", []byte("name: saves\nkind: burst\nusers: 1\nrequests: 12\nconnections: 2\nmix:\n  - op: list-pekerjaan.save\n"))
	require.NoError(t, err)
	vus, err := LoginUsers(ctx, s.BaseURL(), s.Credentials(), 1, LoginOptions{Discover: true})
	require.NoError(t, err)
	pid := vus[0].Project
	before := treeNames(t, ctx, vus[0].Client, pid)
	require.NotEmpty(t, before)

	res, err := Run(ctx, sc, Options{BaseURL: s.BaseURL(), VUs: vus})
	require.NoError(t, err)
	require.Positive(t, res.Metrics.Total.OK, "some saves were accepted (statuses %v)", res.Metrics.Total.Status)
	require.Contains(t, res.Note, "list-pekerjaan.save appends: ")
	require.Contains(t, res.Note, "removed from project")
	require.Equal(t, before, treeNames(t, ctx, vus[0].Client, pid), "the seeded tree, as it was")

	// Nothing marked: nothing is sent.
	n, err := PruneTree(ctx, vus[0].Client, pid, LoadMarker)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = PruneTree(ctx, vus[0].Client, pid, "")
	require.ErrorContains(t, err, "empty prefix")
	// Every klasifikasi marked: nothing sent, left in place, said so.
	for _, name := range before {
		require.True(t, strings.HasPrefix(name, "Pekerjaan "), name)
	}
	_, err = PruneTree(ctx, vus[0].Client, pid, "Pekerjaan ")
	require.ErrorContains(t, err, "left in place")
	require.Equal(t, before, treeNames(t, ctx, vus[0].Client, pid))
}
