package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/reports"
)

// TestWrite: the generator writes exactly what reports.GenerateSchema says,
// over a stale file, and names the file it could not write.
func TestWrite(t *testing.T) {
	want, err := reports.GenerateSchema()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "summary.schema.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"stale":true}`), 0o644))
	require.NoError(t, write(path))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))

	err = write(filepath.Join(t.TempDir(), "missing", "dir", "summary.schema.json"))
	require.ErrorContains(t, err, "missing/dir/summary.schema.json")
}
