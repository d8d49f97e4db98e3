package scenarios

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios/h1"
)

// attack runs a plan the way vegeta's Attacker does (same Targeter, Pacer,
// worker cap and Result fields) at a fraction of its CPU per request, which
// on a machine the generator shares with the target is load the target gets:
//
//   - closed-model plans (ClosedPacer, BurstPacer) have no pacer goroutine:
//     each worker claims its next hit itself, instead of one channel
//     hand-off per request; paced plans keep vegeta's ticker and its
//     grow-a-worker-when-all-are-busy rule;
//   - results go to on from the worker, one at a time under a mutex, instead
//     of a second hand-off to an aggregating goroutine;
//   - plain-http requests go straight to h1.Transport.RoundTrip on a
//     per-worker http.Request with parsed URLs cached, and bodies are read
//     into a per-worker buffer and copied once at their size; nothing per
//     request is cloned (vegeta clones the headers to stamp X-Vegeta-Seq
//     and X-Vegeta-Attack, which nothing here reads and which wrk and k6 do
//     not send).
//
// Anything else (https, credentials in the URL, an unusual method) takes
// net/http's Client, as vegeta would.
type attack struct {
	plan    Plan
	tr      *h1.Transport
	hc      *http.Client // never follows redirects, like vegeta.Redirects(NoFollow)
	maxBody int64        // < 0: keep every byte
	began   time.Time
	seq     atomic.Uint64
	hits    atomic.Uint64 // claimed hits (closed model)
	stopped atomic.Bool
	stopCh  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	on      func(*vegeta.Result)
}

func (a *attack) stop() {
	a.once.Do(func() {
		a.stopped.Store(true)
		close(a.stopCh)
	})
}

// deliver hands r to on, one result at a time.
func (a *attack) deliver(r *vegeta.Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on(r)
}

// run sends the plan's hits with up to MaxWorkers workers and returns when
// the last result was delivered.
func (a *attack) run(workers int) {
	var wg sync.WaitGroup
	if a.plan.Duration > 0 {
		t := time.AfterFunc(a.plan.Duration, a.stop)
		defer t.Stop()
	}
	max := a.plan.MaxWorkers
	switch p := a.plan.Pacer.(type) {
	case ClosedPacer:
		if !a.looped(max, 0) {
			a.claimed(&wg, max, 0)
		}
	case BurstPacer:
		if n := int(min(uint64(max), p.N)); !a.looped(n, p.N) {
			a.claimed(&wg, n, p.N)
		}
	default:
		a.paced(&wg, workers, max)
	}
	wg.Wait()
}

// claimed starts n workers that each claim hits until limit (0: none) or
// the attack stops.
func (a *attack) claimed(wg *sync.WaitGroup, n int, limit uint64) {
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := a.newWorker()
			for !a.stopped.Load() {
				if limit > 0 && a.hits.Add(1) > limit {
					return
				}
				a.deliver(w.hit())
			}
		}()
	}
}

// paced is vegeta's Attack loop: a ticker asks the pacer when the next hit
// is due and hands it to a free worker, starting one more (up to max) when
// all are busy.
func (a *attack) paced(wg *sync.WaitGroup, workers, max int) {
	ticks := make(chan struct{})
	start := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := a.newWorker()
			for range ticks {
				a.deliver(w.hit())
			}
		}()
	}
	for range workers {
		start()
	}
	defer close(ticks)
	pause := time.NewTimer(time.Hour)
	defer pause.Stop()
	for count := uint64(0); ; {
		elapsed := time.Since(a.began)
		if a.plan.Duration > 0 && elapsed > a.plan.Duration {
			return
		}
		wait, stop := a.plan.Pacer.Pace(elapsed, count)
		if stop {
			return
		}
		if wait > 0 {
			pause.Reset(wait)
			select {
			case <-pause.C:
			case <-a.stopCh:
				return
			}
		}
		if workers < max {
			select {
			case ticks <- struct{}{}:
				count++
				continue
			case <-a.stopCh:
				return
			default:
				workers++
				start()
			}
		}
		select {
		case ticks <- struct{}{}:
			count++
		case <-a.stopCh:
			return
		}
	}
}

// worker is one worker's reusable state.
type worker struct {
	a    *attack
	tgt  vegeta.Target
	req  http.Request
	urls map[string]*url.URL
	buf  []byte
	res  vegeta.Result  // reused when the plan's ReuseResults says so
	hc   *h1.HeadCache  // the same
	cur  *vegeta.Result // the hit in flight on an event loop
}

// Bounds of a worker's caches: enough for a scenario's distinct URLs and a
// typical JSON answer; beyond them it starts over.
const (
	maxCachedURLs  = 256
	maxKeptScratch = 64 << 10
)

// noHeader stands in for a target without headers (net/http refuses a nil
// one); nothing writes to it.
var noHeader = http.Header{}

func (a *attack) newWorker() *worker {
	w := &worker{a: a, urls: map[string]*url.URL{}, buf: make([]byte, 0, 4096)}
	if a.plan.ReuseResults {
		w.hc = new(h1.HeadCache)
	}
	return w
}

// hit sends one request and returns its result, with vegeta's fields and
// errors: the timestamp is taken before the targeter runs, the latency
// after the body was read and closed, a status below 200 or from 400 up is
// the error, BytesIn counts the body kept (at most MaxBody bytes).
func (w *worker) hit() *vegeta.Result {
	res := w.start()
	return w.end(res, w.send(res))
}

// start opens a hit's result: the worker's reused one when the plan allows.
func (w *worker) start() *vegeta.Result { return w.startAt(time.Time{}) }

// startAt is start with the clock read already (zero: read it now).
func (w *worker) startAt(now time.Time) *vegeta.Result {
	if now.IsZero() {
		now = time.Now()
	}
	a := w.a
	var res *vegeta.Result
	if a.plan.ReuseResults {
		res = &w.res
		*res = vegeta.Result{}
	} else {
		res = new(vegeta.Result)
	}
	res.Attack, res.Seq, res.Timestamp = a.plan.Name, a.seq.Add(1)-1, now
	return res
}

// end closes a hit's result: its latency, and err as its error.
func (w *worker) end(res *vegeta.Result, err error) *vegeta.Result {
	res.Latency = time.Since(res.Timestamp)
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

func (w *worker) send(res *vegeta.Result) error {
	req, viaClient, err := w.prepare(res)
	if err != nil {
		return err
	}
	return w.roundTrip(res, req, viaClient)
}

// prepare asks the targeter for the hit's target and builds its request.
func (w *worker) prepare(res *vegeta.Result) (*http.Request, bool, error) {
	a := w.a
	w.tgt = vegeta.Target{}
	if err := a.plan.Targeter(&w.tgt); err != nil {
		a.stop()
		return nil, false, err
	}
	res.Method, res.URL = w.tgt.Method, w.tgt.URL
	return w.request()
}

func (w *worker) roundTrip(res *vegeta.Result, req *http.Request, viaClient bool) error {
	a := w.a
	var resp *http.Response
	var err error
	if viaClient {
		resp, err = a.hc.Do(req)
	} else if resp, err = a.tr.RoundTripInto(req, w.hc); err != nil {
		err = &url.Error{Op: urlErrorOp(req.Method), URL: req.URL.String(), Err: err}
	}
	if err != nil {
		return err
	}
	body, err := w.readBody(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	w.answered(res, req, resp.StatusCode, resp.Status, resp.Header, body)
	return nil
}

// answered fills res from an answer to req whose kept body is body.
func (w *worker) answered(res *vegeta.Result, req *http.Request, code int, status string, header http.Header, body []byte) {
	res.Body = body
	res.BytesIn = uint64(len(body))
	if req.ContentLength != -1 {
		res.BytesOut = uint64(req.ContentLength)
	}
	if res.Code = uint16(code); res.Code < 200 || res.Code >= 400 {
		res.Error = status
	}
	res.Headers = header
}

// request builds the target's request: on the worker's reused Request for
// h1, or a new one (http.NewRequest, as vegeta does) for net/http's Client.
func (w *worker) request() (req *http.Request, viaClient bool, err error) {
	t := &w.tgt
	viaClient = !plainMethod(t.Method)
	u := w.urls[t.URL]
	if u == nil && !viaClient {
		// What http.NewRequest does to the URL.
		if u, err = url.Parse(t.URL); err != nil {
			return nil, false, err
		}
		u.Host = removeEmptyPort(u.Host)
		if viaClient = u.Scheme != "http" || u.User != nil; !viaClient {
			if len(w.urls) >= maxCachedURLs {
				clear(w.urls)
			}
			w.urls[t.URL] = u
		}
	}
	if viaClient {
		req, err = t.Request()
		return req, true, err
	}
	h := t.Header
	if h == nil {
		h = noHeader
	}
	host := u.Host
	if v := h["Host"]; len(v) > 0 && v[0] != "" {
		host = v[0]
	}
	w.req = http.Request{Method: t.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Host: host}
	if len(t.Body) > 0 {
		b := t.Body
		w.req.Body = io.NopCloser(bytes.NewReader(b))
		w.req.ContentLength = int64(len(b))
		w.req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return &w.req, false, nil
}

// plainMethod: the methods the load sends, whose validity need not be
// checked again (http.NewRequest checks any other).
func plainMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// removeEmptyPort is net/http's: "host:" is "host".
func removeEmptyPort(host string) string {
	if strings.LastIndex(host, ":") > strings.LastIndex(host, "]") {
		return strings.TrimSuffix(host, ":")
	}
	return host
}

// urlErrorOp is net/http's Client wording of a method in its errors ("Get").
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}

// readBody keeps the first maxBody bytes of r (all with maxBody < 0),
// discards the rest, and returns the kept bytes in a slice of their own.
func (w *worker) readBody(r io.Reader) ([]byte, error) {
	buf, max := w.buf[:0], w.a.maxBody
	for {
		if max >= 0 && int64(len(buf)) >= max { // kept all we may: discard the rest
			if _, err := io.Copy(io.Discard, r); err != nil {
				return nil, err
			}
			break
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		p := buf[len(buf):cap(buf)]
		if max >= 0 && int64(len(p)) > max-int64(len(buf)) {
			p = p[:max-int64(len(buf))]
		}
		n, err := r.Read(p)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if w.a.plan.ReuseResults && cap(buf) <= maxKeptScratch {
		w.buf = buf[:0]
		return buf, nil // the callback keeps nothing: hand over the buffer itself
	}
	out := make([]byte, len(buf))
	copy(out, buf)
	if cap(buf) <= maxKeptScratch {
		w.buf = buf[:0]
	} else {
		w.buf = make([]byte, 0, 4096)
	}
	return out, nil
}
