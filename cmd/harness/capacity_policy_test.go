package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// TestCapacityExternalDiscoversPolicy runs harness capacity against the
// reference target started outside the harness with the app's intended
// limits and no --limits: the policy is discovered before the ramp (every
// operation limited, by its category), the table says where each limit came
// from, and the users given are judged by it. A second run takes the saved
// policy map (--policy capacity.json) and discovers nothing.
func TestCapacityExternalDiscoversPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a reference target (skipped with -short)")
	}
	// The login limit is raised, as the operator's guide says to do: every
	// login of the harness (discovery's and the ramp's) comes from one host.
	srv := stacktest.Serve(t, "--workers", "2", "--seed", "users=5,projects=1",
		"--limits", "bulk=5/300,write=20/60,read=100/60,export=10/60,login=1000/60")
	c := newCLI(t)
	c.write("users.txt", "user1:ahsp-pass 1\nuser2:ahsp-pass 2\nuser3:ahsp-pass 3\nuser4:ahsp-pass 4\nuser5:ahsp-pass 5\n")
	ext := []string{"--stack", "external", "--target-url", srv.URL, "--users-file", "users.txt",
		"--mixes", "read-mix", "--start-rate", "5", "--max-rate", "20", "--step", "1s", "--bisect", "0", "--usage", "read=30,write=6"}
	ctx := context.Background()

	code, out, errs := c.run(ctx, append([]string{"capacity", "--out", "r1"}, ext...)...)
	require.Equal(t, exitcode.OK, code, "stdout: %s\nstderr: %s", out, errs)
	require.Contains(t, errs, "capacity: discovering the deployment's rate-limit policy")
	require.Contains(t, out, "limits per operation (discovered (scan discovery")
	for _, row := range []string{
		`list-pekerjaan\.tree +read +limited +100/60s +discovered +limit from 429 body`,
		`list-pekerjaan\.save +write +limited +20/60s +discovered`,
		`list-pekerjaan\.upsert +bulk +limited +5/300s +discovered`,
		`export\.rekap-rab-csv +export +limited +10/60s +discovered`,
	} {
		require.Regexp(t, regexp.MustCompile(row), out)
	}
	// Discovery used two accounts (the scan reuses them for its other
	// sessions); the other three drive read-mix and may send
	// 3 × 0.8 × 100/60 / (4/13) = 13/s, below 20/s, which needs
	// ceil(20 × 4/13 / (0.8 × 100/60)) = 5 users.
	require.Contains(t, out, "the ramp uses the other 3 account(s)")
	require.Contains(t, out, "too few users: 3 distinct user(s) may send at most 13.0/s of read-mix before list-pekerjaan.tree (100 per 60 s per user, discovered")
	require.Contains(t, out, "give at least 5 users")
	rep := loadCapacityT(t, filepath.Join(c.dir, "r1", "capacity.json"))
	require.NotNil(t, rep.Discovery)
	require.NotNil(t, rep.Discovery.Map)

	// The saved map, with the three accounts discovery did not touch (the
	// first two have spent their read quota for this minute).
	c.write("users3.txt", "user3:ahsp-pass 3\nuser4:ahsp-pass 4\nuser5:ahsp-pass 5\n")
	ext[5] = "users3.txt"
	code, out, errs = c.run(ctx, append([]string{"capacity", "--out", "r2", "--policy", "r1/capacity.json"}, ext...)...)
	require.Equal(t, exitcode.OK, code, "stdout: %s\nstderr: %s", out, errs)
	require.NotContains(t, errs, "discovering")
	require.Contains(t, out, "limits per operation (policy map of r1/capacity.json)")
	require.Regexp(t, `list-pekerjaan\.tree +read +limited +100/60s +discovered`, out)
	require.Contains(t, out, "too few users: 3 distinct user(s) may send at most 13.0/s of read-mix")
	require.NotContains(t, out, "policy discovery:", "no account was spent")
}

func loadCapacityT(t *testing.T, path string) *capacity.Report {
	t.Helper()
	_, err := os.Stat(path)
	require.NoError(t, err)
	rep, err := loadCapacity(path)
	require.NoError(t, err)
	return rep
}
