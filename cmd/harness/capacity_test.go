package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
)

func TestCapacityMergeShardUsage(t *testing.T) {
	noMap, err := filepath.Abs("testdata/no-policy-map.json")
	require.NoError(t, err)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown mix", []string{"capacity", "--mixes", "soak"}, `--mixes: no built-in scenario "soak"`},
		{"unknown cache", []string{"capacity", "--sweep-caches", "memcached"}, `unknown cache "memcached"; allowed values are locmem, redis`},
		{"zero workers", []string{"capacity", "--sweep-workers", "0"}, "want at least 1"},
		{"step too short", []string{"capacity", "--step", "10ms"}, "want between 500ms and 1m"},
		{"external sweep refused", []string{"capacity", "--stack", "external", "--target-url", "http://127.0.0.1:1", "--sweep-workers", "2"}, "an external deployment is measured as it is"},
		{"bad usage", []string{"capacity", "--usage", "reads=3"}, "--usage: usage \"reads=3\""},
		{"policy needs external", []string{"capacity", "--stack", "local", "--policy", "scan.json"}, "--policy and --no-discover apply to --stack external"},
		{"policy file missing", []string{"capacity", "--stack", "external", "--target-url", "http://127.0.0.1:1", "--policy", "nope-scan.json"}, "--policy: open"},
		{"policy file without a map", []string{"capacity", "--stack", "external", "--target-url", "http://127.0.0.1:1", "--policy", noMap}, "no policy map in it"},
		{"tune without a report", []string{"tune", "nope.json"}, "nope.json"},
		{"bad shard", []string{"load", "read-mix", "--shard", "2/2"}, "--shard: shard \"2/2\": want i/N with 0 <= i < N"},
		{"shard too fine", []string{"load", "read-mix", "--shard", "63/64"}, "users 4 cannot be split 64 ways"},
		{"merge needs -o", []string{"merge", "s0"}, "give the report folder with -o DIR"},
		{"merge missing shard", []string{"merge", "nope", "-o", "out"}, "run the shard with --json nope/load.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := newCLI(t).run(context.Background(), tc.args...)
			require.Equal(t, exitcode.Usage, code, "stdout: %s\nstderr: %s", out, errs)
			require.Contains(t, errs, tc.stderr)
		})
	}
}
