package observability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// outageRequests is how many requests meet the stopped cache.
const outageRequests = 5

// cacheErrors stops the cache, sends a few limited requests, and checks
// that /metrics counted one cache error for each; then restarts the cache
// and waits for the deployment to answer its health check again.
func (o *observer) cacheErrors(ctx context.Context) (res Result) {
	res = Result{Name: MetricsCacheErrors}
	ctl, err := o.t.Control()
	if err != nil {
		res.Status, res.Reason = check.Skip, "the cache cannot be stopped: "+err.Error()
		return res
	}
	if o.t.Info().Mode != stackinfo.ModeExternal && o.t.Info().Cache != stackinfo.CacheRedis {
		res.Status, res.Reason = check.Skip, "the cache is per process ("+o.t.Info().Cache+"): there is no cache server to stop"
		return res
	}
	before, err := scrapeMetrics(ctx, o.t.BaseURL())
	if err != nil {
		res.Status, res.Reason = check.Error, err.Error()
		return res
	}
	if before.status != http.StatusOK {
		res.Status, res.Reason = check.Skip, fmt.Sprintf("the deployment has no %s (%d)", metricsPath, before.status)
		return res
	}
	if o.sess == nil {
		if err := o.login(ctx); err != nil {
			res.Status, res.Reason = check.Error, err.Error()
			return res
		}
	}
	if err := ctl.StopCache(ctx); err != nil {
		if errors.Is(err, stackinfo.ErrNoCache) || errors.Is(err, stackinfo.ErrUnsupported) {
			res.Status, res.Reason = check.Skip, err.Error()
		} else {
			res.Status, res.Reason = check.Error, "stop the cache: "+err.Error()
		}
		return res
	}
	restarted := false
	restart := func() {
		if restarted {
			return
		}
		restarted = true
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := ctl.StartCache(sctx); err != nil {
			res.findf("restart the cache: %v", err)
			return
		}
		o.healthy(sctx, &res)
	}
	defer restart()
	// list-pekerjaan.save is limited on every deployment seen so far, so
	// each request consults the cache once (the limiter, or the session
	// store when sessions live in the cache and fail first).
	op, _ := api.Lookup("list-pekerjaan.save")
	statuses := map[int]int{}
	for i := 0; i < outageRequests; i++ {
		st, err := o.send(ctx, op, fmt.Sprintf("%s/cache-down/%d", uaPrefix, i))
		if err != nil {
			res.Status, res.Reason = check.Error, err.Error()
			return res
		}
		statuses[st]++
	}
	errs := func(s scrape) int {
		return int(s.sum(cacheErrorMetric, nil) - s.sum(cacheErrorMetric, map[string]string{"source": "health"}))
	}
	after, scrapes, err := settle(ctx, o.t.BaseURL(), func(s scrape) bool { return errs(s)-errs(before) >= outageRequests })
	if err != nil {
		res.Status, res.Reason = check.Error, err.Error()
		return res
	}
	got := errs(after) - errs(before)
	res.notef("cache stopped; %d requests to %s answered %v; %s (health checks aside) rose by %d over %d scrapes",
		outageRequests, op.Name, statuses, cacheErrorMetric, got, scrapes)
	switch {
	case !after.has(cacheErrorMetric) && got == 0:
		res.findf("%s has no %s samples after %d requests met a stopped cache", metricsPath, cacheErrorMetric, outageRequests)
	case got < outageRequests:
		res.findf("%d requests met a stopped cache, %s rose by %d: misses %d", outageRequests, cacheErrorMetric, got, outageRequests-got)
	case got > outageRequests && o.shared():
		res.Status, res.Reason = check.Inconclusive, fmt.Sprintf("counter +%d for %d requests; an external deployment may have other clients", got, outageRequests)
	case got > outageRequests:
		res.findf("%d requests met a stopped cache, %s rose by %d: double counts", outageRequests, cacheErrorMetric, got)
	}
	restart()
	return res
}

// healthy waits (bounded) until /health/ answers 200 after the restart.
func (o *observer) healthy(ctx context.Context, res *Result) {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(o.t.BaseURL(), "/")+api.HealthPath, nil)
		if err != nil {
			return
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.notef("the deployment's health check did not answer 200 within 20 s of the cache restart")
}
