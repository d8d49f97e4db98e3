package limiter

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ahsp-harness/harness/internal/testenv"
)

const redisServerBin = "/usr/bin/redis-server"

// realRedis is one redis-server on loopback shared by the package's tests and
// benchmarks, started on first use and stopped by TestMain.
var realRedis struct {
	once sync.Once
	addr string
	err  error
	cmd  *exec.Cmd
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := realRedis.cmd; c != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	os.Exit(code)
}

// realRedisClient returns a client of the shared real redis-server. Without the
// binary the test is skipped loudly, or fails when CI=true.
func realRedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	realRedis.once.Do(startRealRedis)
	testenv.Need(tb, "a real redis-server (apt-get install -y redis-server)", realRedis.err)
	c := redis.NewClient(&redis.Options{Addr: realRedis.addr, MaxRetries: -1, PoolSize: 32})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func startRealRedis() {
	if _, err := os.Stat(redisServerBin); err != nil {
		realRedis.err = fmt.Errorf("find %s: %w", redisServerBin, err)
		return
	}
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			realRedis.err = err
			return
		}
		_, port, _ := net.SplitHostPort(addr)
		dir, err := os.MkdirTemp("", "limiter-redis-")
		if err != nil {
			realRedis.err = fmt.Errorf("make redis dir: %w", err)
			return
		}
		cmd := exec.Command(redisServerBin, "--port", port, "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			realRedis.err = fmt.Errorf("start redis-server: %w", err)
			return
		}
		if err := waitRedis(addr, 5*time.Second); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			realRedis.err = fmt.Errorf("redis-server on %s: %w (output: %s)", addr, err, out.String())
			continue
		}
		realRedis.addr, realRedis.cmd, realRedis.err = addr, cmd, nil
		return
	}
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitRedis(addr string, limit time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for PING: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// miniClock drives miniredis's clock: TIME (sliding, gcra) follows SetTime and
// key TTLs (fixed window's PTTL, naive) follow FastForward, so both move.
type miniClock struct {
	m   *miniredis.Miniredis
	now time.Time
}

func newMiniredis(tb testing.TB, start time.Time) (*miniClock, *redis.Client) {
	tb.Helper()
	m := miniredis.RunT(tb)
	m.SetTime(start)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	return &miniClock{m: m, now: start}, c
}

func (c *miniClock) set(t time.Time) {
	d := t.Sub(c.now)
	if d < 0 {
		panic("miniClock moved backwards")
	}
	c.now = t
	c.m.SetTime(t)
	c.m.FastForward(d)
}
