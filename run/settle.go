package run

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

// settle waits until the target answers /health/ 200 on fresh connections
// several times in a row. The scan and the contracts stop and restart the
// limiter cache; the target never retries a Redis call, so each worker's
// pooled connections from before the restart fail once (a 503) before they
// are replaced. The browser checks must not trip over those leftovers.
func settle(ctx context.Context, s *stack.Stack, progress io.Writer) {
	info := s.Info()
	if info.Mode == stack.ModeExternal || info.Cache != stack.CacheRedis {
		return
	}
	want := 8 * max(info.Workers, 1)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, bad := 0, 0
	for ok < want && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.BaseURL(), "/")+api.HealthPath, nil)
		if err != nil {
			return
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			ok++
			continue
		}
		ok, bad = 0, bad+1
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if bad > 0 || ok < want {
		fmt.Fprintf(progress, "harness: target settled after the cache restarts: %d failed health checks, %d of %d in a row healthy\n", bad, ok, want)
	}
}
