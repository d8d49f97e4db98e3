package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The writer helper runs in a child process (this test binary re-executed):
// it writes sessions forever and prints each key after its commit returned.
func TestHelperWriter(t *testing.T) {
	db := os.Getenv("STORE_HELPER_DB")
	if db == "" {
		t.Skip("helper process only")
	}
	prefix := os.Getenv("STORE_HELPER_PREFIX")
	ctx := context.Background()
	st, err := Open(ctx, db)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	s := st.Sessions()
	for i := 0; i < 100000; i++ {
		key := fmt.Sprintf("%s-%d", prefix, i)
		if err := s.Set(ctx, key, 1, time.Hour); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("ACK", key)
	}
	os.Exit(0)
}

func startWriter(t *testing.T, db, prefix string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
	cmd.Env = append(os.Environ(), "STORE_HELPER_DB="+db, "STORE_HELPER_PREFIX="+prefix)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// Two processes write concurrently (no busy errors), one is killed with
// SIGKILL mid-stream, and every write either acknowledged is in the file.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "ahsp.db")
	st, err := Open(ctx, db)
	require.NoError(t, err)
	require.NoError(t, st.Seed(ctx, SeedSpec{Users: 1, Password: "pw"}))
	require.NoError(t, st.Close())

	const want = 150
	acked := make([][]string, 2) // one slice per writer goroutine
	var cmds []*exec.Cmd
	var scans []*bufio.Scanner
	for _, p := range []string{"a", "b"} {
		c, s := startWriter(t, db, p)
		cmds, scans = append(cmds, c), append(scans, s)
	}
	done := make(chan error, 2)
	for i, p := range []string{"a", "b"} {
		go func() {
			for scans[i].Scan() {
				line := scans[i].Text()
				if key, ok := strings.CutPrefix(line, "ACK "); ok {
					acked[i] = append(acked[i], key)
					if len(acked[i]) == want {
						done <- nil
						return
					}
					continue
				}
				done <- fmt.Errorf("writer %s: %s", p, line)
				return
			}
			done <- fmt.Errorf("writer %s ended early", p)
		}()
	}
	deadline := time.After(60 * time.Second)
	for range 2 {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-deadline:
			t.Fatal("writers too slow")
		}
	}
	for _, c := range cmds {
		require.NoError(t, c.Process.Signal(syscall.SIGKILL))
		_ = c.Wait()
	}

	st, err = Open(ctx, db)
	require.NoError(t, err)
	defer st.Close()
	s := st.Sessions()
	for _, keys := range acked {
		require.Len(t, keys, want)
		for _, k := range keys {
			_, ok, err := s.Get(ctx, k)
			require.NoError(t, err)
			require.True(t, ok, "acknowledged write %s lost", k)
		}
	}
}
