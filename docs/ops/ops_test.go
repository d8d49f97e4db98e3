// Package ops holds the operator's guide; its test runs every command of
// the guide against a reference target, so the pages stay true.
package ops

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// block is one fenced "sh test" block of a page.
type block struct {
	page  string
	line  int
	code  string
	exits []int // allowed exit codes
}

var fence = regexp.MustCompile("^```sh test(?: exit=([0-9,]+))?$")

// blocks extracts the tested blocks of every page, in page then line order.
// A block fenced "```sh" without "test" would be an untested command: that
// is an error, so no command escapes the test.
func blocks(t *testing.T) []block {
	t.Helper()
	pages, err := filepath.Glob("*.md")
	require.NoError(t, err)
	// The procedure's order: later pages reuse what earlier ones saved.
	rank := func(p string) int {
		if i := slices.Index(pageOrder, p); i >= 0 {
			return i
		}
		return len(pageOrder)
	}
	slices.SortStableFunc(pages, func(a, b string) int { return rank(a) - rank(b) })
	var out []block
	for _, p := range pages {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			if !strings.HasPrefix(l, "```") || l == "```" {
				continue
			}
			m := fence.FindStringSubmatch(l)
			if m == nil {
				if strings.HasPrefix(l, "```sh") || strings.HasPrefix(l, "```bash") || strings.HasPrefix(l, "```console") {
					t.Errorf("%s:%d: a shell block not marked `sh test`: every command in docs/ops runs in this test", p, i+1)
				}
				continue
			}
			bl := block{page: p, line: i + 1, exits: []int{0}}
			if m[1] != "" {
				bl.exits = nil
				for _, s := range strings.Split(m[1], ",") {
					n, _ := strconv.Atoi(s)
					bl.exits = append(bl.exits, n)
				}
			}
			var code []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				code = append(code, lines[i])
			}
			bl.code = strings.Join(code, "\n")
			out = append(out, bl)
		}
	}
	return out
}

// pageOrder is the order the pages' commands run in.
var pageOrder = []string{"checklist.md", "cache.md", "rate-limits.md", "performance.md", "incidents.md", "common-issues.md"}

func TestEveryPageHasTestedCommands(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range blocks(t) {
		seen[b.page] = true
	}
	for _, p := range pageOrder {
		require.True(t, seen[p], "%s has no tested command", p)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestCommands runs every tested block against the as-deployed-redis
// reference target with a real redis-server the hooks can stop and start.
func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: builds the harness and starts a target and Redis (skipped with -short)")
	}
	redis, err := exec.LookPath("redis-server")
	stacktest.Need(t, "redis-server (the cache-down commands stop and start it)", err)
	_, err = exec.LookPath("redis-cli")
	stacktest.Need(t, "redis-cli", err)
	_, err = exec.LookPath("curl")
	stacktest.Need(t, "curl", err)

	dir := t.TempDir()
	port := freePort(t)
	startRedis := fmt.Sprintf("%s --port %d --bind 127.0.0.1 --daemonize yes --save '' --appendonly no --dir %s --pidfile %s/redis.pid", redis, port, dir, dir)
	stopRedis := fmt.Sprintf("redis-cli -p %d shutdown nosave", port)
	require.NoError(t, exec.Command("sh", "-c", startRedis).Run())
	t.Cleanup(func() { _ = exec.Command("sh", "-c", stopRedis).Run() })
	require.Eventually(t, func() bool { return exec.Command("redis-cli", "-p", strconv.Itoa(port), "ping").Run() == nil }, 10*time.Second, 100*time.Millisecond)

	srv := stacktest.Serve(t, "--profile", "as-deployed-redis", "--workers", "2", "--redis-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--seed", "users=4,projects=1")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	harness := filepath.Join(dir, "harness")
	build := exec.CommandContext(ctx, "go", "build", "-o", harness, "github.com/ahsp-harness/harness/cmd/harness")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build harness: %v\n%s", err, out)
	}
	// Test accounts on a target seeded for the test: their projects are disposable.
	users := filepath.Join(dir, "users.txt")
	require.NoError(t, os.WriteFile(users, []byte("user1:ahsp-pass 1 scratch\nuser2:ahsp-pass 2 scratch\nuser3:ahsp-pass 3 scratch\nuser4:ahsp-pass 4 scratch\n"), 0o644))
	out := filepath.Join(dir, "out")
	require.NoError(t, os.MkdirAll(out, 0o755))
	cpuHook := `for f in ` + srv.RunDir + `/worker-*.pid; do awk '{print $14+$15}' /proc/$(cat "$f")/stat; done | awk '{s+=$1} END {printf "%.2f\n", s/100}'`
	env := append(os.Environ(),
		"HARNESS="+harness, "TARGET_URL="+srv.URL, "USERS_FILE="+users, "OUT="+out,
		"CACHE_STOP="+stopRedis, "CACHE_START="+startRedis, "CPU_HOOK="+cpuHook,
	)

	for _, b := range blocks(t) {
		t.Run(fmt.Sprintf("%s:%d", b.page, b.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", b.code)
			cmd.Env, cmd.Dir = env, dir
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err := cmd.Run()
			code := 0
			if err != nil {
				code = -1
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				}
			}
			t.Logf("%s\n--- output ---\n%s", b.code, tail(buf.String(), 40))
			require.NoError(t, ctx.Err(), "the block ran past its 2-minute bound")
			require.True(t, slices.Contains(b.exits, code), "exit %d, allowed %v", code, b.exits)
			// A probe that could not run or measure leaves the page's claim
			// unchecked, even in a block allowed to exit 1: that is drift too.
			if m := notMeasured.FindString(buf.String()); m != "" {
				t.Errorf("a probe gave no verdict: %q; the page's claim was not checked", m)
			}
		})
	}
}

// notMeasured is a scan progress line of a probe that errored or was
// inconclusive.
var notMeasured = regexp.MustCompile(`(?m)^scan: \S+ (ERROR|INCONCLUSIVE) in .*$`)

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
