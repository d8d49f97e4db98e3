package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// treeNames reads project pid's klasifikasi ids and names (legacy family).
func treeNames(t *testing.T, ctx context.Context, c *client.Client, pid int) map[int]string {
	t.Helper()
	op, _ := api.Lookup("list-pekerjaan.tree")
	resp, err := getRetry(ctx, c, op.URLPath(api.Legacy, pid, 0))
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	var doc struct {
		Klasifikasi []pruneK `json:"klasifikasi"`
	}
	require.NoError(t, resp.JSON(&doc))
	out := map[int]string{}
	for _, k := range doc.Klasifikasi {
		out[k.ID] = k.Name
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
