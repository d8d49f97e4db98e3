package reports

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOutDirAndLatest(t *testing.T) {
	base := t.TempDir()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first, err := NewOutDir(base, now)
	require.NoError(t, err)
	second, err := NewOutDir(base, now)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(base, "20261123-100000"), first)
	require.Equal(t, filepath.Join(base, "20261123-100000-1"), second)

	require.NoError(t, LinkLatest(base, first))
	require.NoError(t, LinkLatest(base, second))
	target, err := os.Readlink(filepath.Join(base, "latest"))
	require.NoError(t, err)
	require.Equal(t, "20261123-100000-1", target)
}
