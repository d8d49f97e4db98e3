package stack

import (
	"context"
	"testing"
	"time"
)

// BenchmarkUp measures stack startup (Up to /health/ready/ answering) per
// mode with images already built; Down is outside the timer. The first
// docker iteration may include image builds: see the image_build_s metric.
func BenchmarkUp(b *testing.B) {
	for _, bc := range []struct {
		name string
		spec Spec
	}{
		{"local/locmem", Spec{Mode: ModeLocal, Workers: 4, Cache: CacheLocmem}},
		{"local/redis-server", Spec{Mode: ModeLocal, Workers: 4, Cache: CacheRedis, LocalRedis: LocalRedisServer}},
		{"local/miniredis", Spec{Mode: ModeLocal, Workers: 4, Cache: CacheRedis, LocalRedis: LocalRedisMiniredis}},
		{"docker/redis", Spec{Mode: ModeDocker, Workers: 4, Cache: CacheRedis}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.spec.Mode == ModeDocker && pingDocker(context.Background()) != nil {
				b.Skipf("SKIPPED: no Docker engine at %s", DockerHost())
			}
			ensureTestcontainersEnv(progress{})
			ctx := context.Background()
			// Warm-up outside the timer: resolves/builds the binary and images once.
			s, err := Up(ctx, bc.spec)
			if err != nil {
				b.Fatal(err)
			}
			build := s.Info().ImageBuildSeconds
			if err := s.Down(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				s, err := Up(ctx, bc.spec)
				total += time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Down(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/up")
			b.ReportMetric(build, "image_build_s")
		})
	}
}
