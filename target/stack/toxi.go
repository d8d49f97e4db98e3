package stack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var toxicSeq atomic.Int64

// latencyName names one latency toxic (a downstream delay on every reply
// from Redis), unique so that several can be added and removed independently.
func latencyName() string { return fmt.Sprintf("latency-%d", toxicSeq.Add(1)) }

// inProcProxy is a Toxiproxy proxy running inside the harness (local mode):
// target -> proxy -> Redis.
type inProcProxy struct {
	mu    sync.Mutex
	proxy *toxiproxy.Proxy
}

func startInProcProxy(upstream string) (*inProcProxy, error) {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, "redis", "127.0.0.1:0", upstream)
	if err := srv.Collection.Add(px, true); err != nil {
		return nil, fmt.Errorf("start toxiproxy for redis: %w", err)
	}
	return &inProcProxy{proxy: px}, nil
}

// Addr is where the target connects instead of Redis.
func (p *inProcProxy) Addr() string { return p.proxy.Listen }

func (p *inProcProxy) addLatency(_ context.Context, d time.Duration) (func(context.Context) error, error) {
	if d <= 0 {
		return nil, fmt.Errorf("cache latency %s: want a positive duration", d)
	}
	name := latencyName()
	body := fmt.Sprintf(`{"name":%q,"type":"latency","stream":"downstream","toxicity":1,"attributes":{"latency":%d}}`, name, d.Milliseconds())
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		return nil, fmt.Errorf("add latency toxic: %w", err)
	}
	return func(ctx context.Context) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err := p.proxy.Toxics.RemoveToxic(ctx, name); err != nil {
			return fmt.Errorf("remove latency toxic: %w", err)
		}
		return nil
	}, nil
}

func (p *inProcProxy) stop() { p.proxy.Stop() }

// remoteProxy is a Toxiproxy server in a container (docker mode), driven by
// its HTTP API on a mapped port.
type remoteProxy struct{ proxy *toxiclient.Proxy }

func (p *remoteProxy) addLatency(_ context.Context, d time.Duration) (func(context.Context) error, error) {
	if d <= 0 {
		return nil, fmt.Errorf("cache latency %s: want a positive duration", d)
	}
	name := latencyName()
	if _, err := p.proxy.AddToxic(name, "latency", "downstream", 1, toxiclient.Attributes{"latency": d.Milliseconds()}); err != nil {
		return nil, fmt.Errorf("add latency toxic: %w", err)
	}
	return func(context.Context) error {
		if err := p.proxy.RemoveToxic(name); err != nil {
			return fmt.Errorf("remove latency toxic: %w", err)
		}
		return nil
	}, nil
}
