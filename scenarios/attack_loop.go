package scenarios

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios/h1"
)

// useEventLoop lets tests run closed-model plans on workers' goroutines too;
// loopsRun counts the plans that ran on event loops.
var (
	useEventLoop = true
	loopsRun     atomic.Int64
)

// looped runs a closed-model plan (n in flight, limit hits, 0: until the
// attack stops) on h1's event loops, and reports whether it could; when it
// could not, nothing was sent. It can when the plan's first target is a
// plain-http request: the load engine's case. A later target that is not
// (https, credentials in the URL, an unusual method) is still sent, through
// the transport, from the loop's thread.
func (a *attack) looped(n int, limit uint64) bool {
	if !useEventLoop || !h1.LoopSupported() || n < 1 {
		return false
	}
	var first vegeta.Target
	ferr := a.plan.Targeter(&first)
	r := &replayFirst{first: first, err: ferr, next: a.plan.Targeter}
	a.plan.Targeter = r.targeter
	if ferr != nil || !loopable(first) {
		return false
	}
	workers := make([]*worker, min(n, a.plan.MaxConnections))
	for i := range workers {
		workers[i] = a.newWorker()
	}
	err := h1.RunLoop(h1.LoopConfig{
		Slots: len(workers), Timeout: a.plan.Timeout,
		DisableKeepAlives: a.plan.DisableKeepAlives, ReuseHeaders: a.plan.ReuseResults,
		Next: func(i int, now time.Time) (*http.Request, time.Time) { return workers[i].next(limit, now) },
		Done: func(i int, ans *h1.Answer, err error) { workers[i].done(ans, err) },
	})
	if err != nil {
		return false // RunLoop fails only before it sent anything
	}
	loopsRun.Add(1)
	return true
}

// next claims the worker's next hit for its loop slot and returns its
// request and start, now by the loop's clock (as vegeta's, taken before
// the targeter runs); nil when the attack is over. Hits the loop cannot
// send go through the transport here.
func (w *worker) next(limit uint64, now time.Time) (*http.Request, time.Time) {
	a := w.a
	for !a.stopped.Load() {
		if limit > 0 && a.hits.Add(1) > limit {
			return nil, time.Time{}
		}
		res := w.startAt(now)
		req, viaClient, err := w.prepare(res)
		if err == nil && !viaClient {
			w.cur = res
			return req, res.Timestamp
		}
		now = time.Time{} // the transport took its time: read the clock again
		if err == nil {
			err = w.roundTrip(res, req, true)
		}
		a.deliver(w.end(res, err))
	}
	return nil, time.Time{}
}

// done delivers the result of the worker's hit in flight. An answer's
// latency ends at the loop's wake-up to it (the loop's clock reading, not
// one more).
func (w *worker) done(ans *h1.Answer, err error) {
	res, req := w.cur, &w.req
	w.cur = nil
	if err != nil {
		err = &url.Error{Op: urlErrorOp(req.Method), URL: req.URL.String(), Err: err}
		w.a.deliver(w.end(res, err))
		return
	}
	w.answered(res, req, ans.StatusCode, ans.Status, ans.Header, w.keepBody(ans.Body))
	res.Latency = max(0, ans.End.Sub(res.Timestamp))
	w.a.deliver(res)
}

// keepBody is readBody for a body already in memory (the loop's buffer).
func (w *worker) keepBody(b []byte) []byte {
	if max := w.a.maxBody; max >= 0 && int64(len(b)) > max {
		b = b[:max]
	}
	if w.a.plan.ReuseResults {
		return b // valid while the callback runs, which is all it needs
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// loopable: a target the event loop sends (what request() would hand to
// the transport rather than net/http's Client).
func loopable(t vegeta.Target) bool {
	if !plainMethod(t.Method) {
		return false
	}
	u, err := url.Parse(t.URL)
	return err == nil && u.Scheme == "http" && u.User == nil && u.Host != ""
}

// replayFirst hands out a target taken in advance, then the targeter's.
type replayFirst struct {
	first vegeta.Target
	err   error
	used  atomic.Bool
	next  vegeta.Targeter
}

func (r *replayFirst) targeter(t *vegeta.Target) error {
	// Load first: a compare-and-swap per call would write the flag's cache
	// line from every loop thread on every request.
	if !r.used.Load() && r.used.CompareAndSwap(false, true) {
		*t = r.first
		return r.err
	}
	return r.next(t)
}
