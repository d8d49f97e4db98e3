package stack

import (
	"context"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestDockerRedisThroughToxiproxy builds the Redis and Toxiproxy images
// offline (no pull), runs both on a labelled network and checks that a
// latency toxic really delays Redis replies, then that removal leaves nothing.
func TestDockerRedisThroughToxiproxy(t *testing.T) {
	requireDocker(t)
	requireRedisServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := dockerClient(ctx, progress{})
	require.NoError(t, err)
	p := progress{w: testWriter{t}}

	redisImg, kind, _, err := ensureRedisImage(ctx, cli, p)
	require.NoError(t, err)
	require.Contains(t, []string{RedisAlpine + " image", "scratch image from host redis-server " + redisVersion(ctx, "redis-server")}, kind)
	// Second call reuses the content-tagged image.
	again, _, built, err := ensureRedisImage(ctx, cli, p)
	require.NoError(t, err)
	require.Equal(t, redisImg, again)
	require.Zero(t, built)
	toxiImg, _, err := ensureToxiproxyImage(ctx, cli, p)
	require.NoError(t, err)

	run := "test-" + newRunID()
	labels := map[string]string{LabelKey: "1", LabelRun: run}
	t.Cleanup(func() {
		_, err := removeLabeled(context.Background(), cli, LabelRun+"="+run)
		require.NoError(t, err)
		left, err := dockerLeftovers(context.Background(), cli, LabelRun+"="+run)
		require.NoError(t, err)
		require.Empty(t, left)
	})
	nw, err := network.New(ctx, network.WithLabels(labels))
	require.NoError(t, err)
	rc, err := testcontainers.Run(ctx, redisImg, network.WithNetwork([]string{"redis"}, nw),
		testcontainers.WithLabels(labels), testcontainers.WithExposedPorts("6379/tcp"),
		testcontainers.WithWaitStrategy(wait.ForLog("Ready to accept connections").WithStartupTimeout(30*time.Second)))
	require.NoError(t, err)
	tc, err := testcontainers.Run(ctx, toxiImg, network.WithNetwork([]string{"toxiproxy"}, nw),
		testcontainers.WithLabels(labels), testcontainers.WithExposedPorts("8474/tcp", "6380/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/version").WithPort("8474/tcp").WithStartupTimeout(30*time.Second)))
	require.NoError(t, err)
	direct, err := rc.PortEndpoint(ctx, "6379/tcp", "")
	require.NoError(t, err)
	require.NoError(t, pingRedis(direct))

	apiAddr, err := tc.PortEndpoint(ctx, "8474/tcp", "")
	require.NoError(t, err)
	px, err := toxiclient.NewClient(apiAddr).CreateProxy("redis", "0.0.0.0:6380", "redis:6379")
	require.NoError(t, err)
	proxied, err := tc.PortEndpoint(ctx, "6380/tcp", "")
	require.NoError(t, err)
	require.NoError(t, pingRedis(proxied))

	remove, err := (&remoteProxy{proxy: px}).addLatency(ctx, 300*time.Millisecond)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, pingRedis(proxied))
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	require.NoError(t, remove(ctx))
	start = time.Now()
	require.NoError(t, pingRedis(proxied))
	require.Less(t, time.Since(start), 250*time.Millisecond)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
