// Package h1 is the load engine's HTTP/1.1 client transport for plain-http
// targets. net/http's Transport hands every request to a write goroutine and
// every response back from a read goroutine; on a 2-core machine those
// hand-offs cost more CPU than the request itself. Here the caller's
// goroutine writes the request and reads the response on a pooled
// connection, and the per-request timeout is the connection's deadline, not
// a timer goroutine. Other schemes (https) go to Fallback.
//
// What a caller sees otherwise follows net/http: a request is resent on a
// new connection only under net/http's rule (a reused connection failed
// before any answer byte, and the request is idempotent or nothing of it
// was written), the most recently idle connection is reused first, and a
// response head is capped in size.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultMaxResponseHeaderBytes is net/http's default cap on a response head.
const DefaultMaxResponseHeaderBytes = 10 << 20

// Transport is an http.RoundTripper. Use it with an http.Client that has no
// Timeout (Transport.Timeout bounds each exchange instead). It is safe for
// concurrent use.
type Transport struct {
	// MaxConnsPerHost caps connections (idle and busy) to one host:port.
	MaxConnsPerHost int
	// Timeout bounds dial, request write, response read and body read of
	// one request, together (zero: only the request's context bounds it).
	Timeout time.Duration
	// IdleConnTimeout closes a pooled connection idle for longer (default 30s).
	IdleConnTimeout time.Duration
	// MaxResponseHeaderBytes caps the bytes of one response head, status
	// line included (default DefaultMaxResponseHeaderBytes).
	MaxResponseHeaderBytes int64
	// DisableKeepAlives sends "Connection: close" and dials for every request.
	DisableKeepAlives bool
	// Dial opens connections (default: a net.Dialer with TCP keep-alive).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Fallback serves requests whose scheme is not "http" (nil: they fail).
	Fallback http.RoundTripper

	mu     sync.Mutex
	pools  map[string]*pool
	closed bool
}

// pool holds the connections to one host. Idle ones are a stack: the most
// recently idle is reused first (as net/http does), so a light load keeps a
// few warm connections and the rest age out instead of all staying half used.
type pool struct {
	mu      sync.Mutex
	idle    []*conn // newest last
	open    int     // idle + busy + being dialed
	max     int
	waiters []chan *conn // first come first served; nil sent = a dial slot
}

type conn struct {
	nc       net.Conn
	raw      syscall.RawConn // nil when nc has no file descriptor
	lr       limitReader
	cw       countWriter
	br       *bufio.Reader
	bw       *bufio.Writer
	p        *pool
	t        *Transport
	idleFrom time.Time
	reused   bool
	keys     []string  // writeRequest's scratch
	fixed    fixedBody // the current answer's Content-Length body
	peek     peeker    // alive's
}

// aLongTimeAgo is a deadline that makes pending I/O fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// Phases of an exchange, named in timeout errors.
const (
	phaseWait    = "waiting for a free connection"
	phaseDial    = "dialing"
	phaseWrite   = "writing the request"
	phaseHeaders = "awaiting response headers"
	phaseBody    = "reading the response body"
)

// timeoutError is Transport.Timeout running out. It names the limit and the
// phase it ran out in; Timeout() is true and the text says "timeout", so
// error classification stays the same whichever transport sent the request.
type timeoutError struct {
	after time.Duration
	phase string
}

func (e timeoutError) Error() string {
	return fmt.Sprintf("h1: timeout %s (Transport.Timeout %s exceeded)", e.phase, e.after)
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// ErrClosed is returned for requests sent after Close.
var ErrClosed = errors.New("h1: transport closed")

// bound is what limits one exchange in time, kept to word its errors.
type bound struct {
	ctx         context.Context
	deadline    time.Time
	hasDeadline bool
	byTransport bool // the deadline is Transport.Timeout's, not the context's
	after       time.Duration
}

// wrap words err from phase: a context that ended says so (errors.Is
// matches its error), Transport.Timeout is a timeoutError, others pass.
func (b bound) wrap(phase string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := b.ctx.Err(); cerr != nil {
		return fmt.Errorf("h1: %s: %w", phase, cerr)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		if b.byTransport {
			return timeoutError{b.after, phase}
		}
		// The context's deadline fired the socket's before its own timer.
		return fmt.Errorf("h1: %s: %w", phase, context.DeadlineExceeded)
	}
	return err
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.RoundTripInto(req, nil)
}

// RoundTripInto is RoundTrip for a caller that neither keeps nor changes
// an answer's header once it is done with the answer: a simple answer's
// fields go into hc's map (see HeadCache). With hc nil it is RoundTrip.
func (t *Transport) RoundTripInto(req *http.Request, hc *HeadCache) (*http.Response, error) {
	if req.URL == nil || req.URL.Scheme != "http" {
		if t.Fallback != nil {
			return t.fallback(req)
		}
		closeBody(req)
		return nil, fmt.Errorf("h1: unsupported scheme in %q (only http; set Fallback for others)", req.URL)
	}
	if req.URL.Host == "" {
		closeBody(req)
		return nil, errors.New("h1: request URL has no host")
	}
	ctx := req.Context()
	b := bound{ctx: ctx, after: t.Timeout}
	b.deadline, b.hasDeadline = ctx.Deadline()
	if t.Timeout > 0 {
		if d := time.Now().Add(t.Timeout); !b.hasDeadline || !b.deadline.Before(d) {
			b.deadline, b.hasDeadline, b.byTransport = d, true, true
		}
	}
	if t.DisableKeepAlives && !req.Close {
		r2 := *req // RoundTrip must not modify the caller's request
		r2.Close = true
		req = &r2
	}
	for {
		c, err := t.get(req.URL.Host, b)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := c.exchange(req, b, hc)
		if err == nil {
			return resp, nil
		}
		c.close()
		if !shouldRetry(c, req, err) {
			closeBody(req)
			return nil, err
		}
		if req.GetBody != nil {
			body, gerr := req.GetBody()
			if gerr != nil {
				return nil, gerr
			}
			r2 := *req
			r2.Body = body
			req = &r2
		}
	}
}

// shouldRetry is net/http's rule (persistConn.shouldRetryRequest): only a
// reused connection may have been closed by the server under our feet; then
// a request none of whose bytes left is resent when its body can be, and one
// that left but got no answer byte is resent only when idempotent. A POST
// the server read before closing is not resent: it may have been applied.
func shouldRetry(c *conn, req *http.Request, err error) bool {
	if !c.reused {
		return false
	}
	var nw nothingWrittenError
	if errors.As(err, &nw) {
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	}
	return isReplayable(req) && errors.Is(err, errNothingRead)
}

// isReplayable is net/http's Request.isReplayable: a rewindable body and an
// idempotent method, or an Idempotency-Key header saying a POST is one.
func isReplayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// fallback sends req through Fallback with Timeout applied to the whole
// exchange, body included.
func (t *Transport) fallback(req *http.Request) (*http.Response, error) {
	if t.Timeout <= 0 {
		return t.Fallback.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.Timeout)
	resp, err := t.Fallback.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && req.Context().Err() == nil {
			return nil, timeoutError{t.Timeout, "(https, before the response body)"}
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

var errNothingRead = errors.New("connection closed before any response byte")

// nothingWrittenError: the request failed before any of its bytes reached
// the connection.
type nothingWrittenError struct{ error }

func (e nothingWrittenError) Unwrap() error { return e.error }

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func (t *Transport) poolFor(host string) (*pool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	p := t.pools[host]
	if p == nil {
		n := t.MaxConnsPerHost
		if n <= 0 {
			n = 64
		}
		if t.pools == nil {
			t.pools = map[string]*pool{}
		}
		p = &pool{max: n}
		t.pools[host] = p
	}
	return p, nil
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleConnTimeout > 0 {
		return t.IdleConnTimeout
	}
	return 30 * time.Second
}

func (t *Transport) maxHeaderBytes() int64 {
	if t.MaxResponseHeaderBytes > 0 {
		return t.MaxResponseHeaderBytes
	}
	return DefaultMaxResponseHeaderBytes
}

// get returns the most recently idle live connection to host, or dials one
// when fewer than MaxConnsPerHost are open, or waits for one to come back.
func (t *Transport) get(host string, b bound) (*conn, error) {
	p, err := t.poolFor(host)
	if err != nil {
		return nil, err
	}
	for {
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			if c.usable() {
				return c, nil
			}
			c.close()
			continue
		}
		if p.open < p.max {
			p.open++
			p.mu.Unlock()
			return t.dial(p, host, b)
		}
		ch := make(chan *conn, 1)
		p.waiters = append(p.waiters, ch)
		p.mu.Unlock()
		c, err := p.wait(ch, b)
		if err != nil {
			return nil, err
		}
		if c == nil { // a closed connection's slot
			return t.dial(p, host, b)
		}
		if c.usable() {
			return c, nil
		}
		c.close()
	}
}

// peekAfter is how long a connection must have been idle before its reuse
// peeks at the socket. A connection handed on sooner (a saturated load
// reuses them microseconds after their answer) is taken as net/http takes
// it: its background reader cannot have seen a hang-up that recent either,
// and a request that then meets one is resent under the same rule. The
// peek is a system call, a tenth of such a request's CPU.
const peekAfter = time.Millisecond

// usable marks c reused when it may carry a request: not idle for too long,
// no unsolicited bytes buffered, and (idle for peekAfter or more) not
// closed by the server while idle (net/http's background read notices that;
// here one non-blocking peek does).
func (c *conn) usable() bool {
	idle := time.Since(c.idleFrom)
	if idle > c.t.idleTimeout() || c.br.Buffered() > 0 || idle >= peekAfter && !c.alive() {
		return false
	}
	c.reused = true
	return true
}

// wait blocks for a connection or a dial slot handed over on ch.
func (p *pool) wait(ch chan *conn, b bound) (*conn, error) {
	var expire <-chan time.Time
	if b.hasDeadline {
		tm := time.NewTimer(time.Until(b.deadline))
		defer tm.Stop()
		expire = tm.C
	}
	var err error
	select {
	case c := <-ch:
		return c, nil
	case <-b.ctx.Done():
		err = b.wrap(phaseWait, b.ctx.Err())
	case <-expire:
		err = b.wrap(phaseWait, context.DeadlineExceeded)
	}
	p.mu.Lock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, err
		}
	}
	p.mu.Unlock()
	// Handed over while giving up: pass it on.
	if c := <-ch; c != nil {
		c.release()
	} else {
		p.freeSlot()
	}
	return nil, err
}

// freeSlot gives a closed connection's slot to the first waiter, if any.
func (p *pool) freeSlot() {
	p.mu.Lock()
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- nil
		return
	}
	p.open--
	p.mu.Unlock()
}

func (t *Transport) dial(p *pool, host string, b bound) (*conn, error) {
	dctx := b.ctx
	if b.hasDeadline {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(b.ctx, b.deadline)
		defer cancel()
	}
	dial := t.Dial
	if dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "80")
	}
	nc, err := dial(dctx, "tcp", addr)
	if err != nil {
		p.freeSlot()
		return nil, b.wrap(phaseDial, err)
	}
	c := &conn{nc: nc, p: p, t: t}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	c.lr = limitReader{r: nc, left: math.MaxInt64}
	c.cw = countWriter{w: nc}
	c.br = bufio.NewReaderSize(&c.lr, 4096)
	c.bw = bufio.NewWriterSize(&c.cw, 4096)
	return c, nil
}

// limitReader caps what a response head may read from the connection.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

var errHeadTooLarge = errors.New("response head too large")

// countWriter counts the bytes that reached the connection.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// maxInterim is how many 1xx answers one request may get (net/http's 5).
const maxInterim = 5

// exchange writes req and reads the response head; the body is read by the
// caller through the returned body, which puts the connection back.
func (c *conn) exchange(req *http.Request, b bound, hc *HeadCache) (*http.Response, error) {
	if b.hasDeadline {
		if err := c.nc.SetDeadline(b.deadline); err != nil {
			return nil, err
		}
	} else if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	var stop func() bool
	if b.ctx.Done() != nil {
		nc := c.nc
		stop = context.AfterFunc(b.ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	}
	fail := func(phase string, err error) (*http.Response, error) {
		if stop != nil {
			stop()
		}
		return nil, b.wrap(phase, err)
	}
	c.cw.n = 0
	if err := c.writeRequest(req); err != nil {
		return fail(phaseWrite, c.writeErr(err))
	}
	if err := c.bw.Flush(); err != nil {
		return fail(phaseWrite, c.writeErr(err))
	}
	limit := c.t.maxHeaderBytes()
	c.lr.left = limit
	if _, err := c.br.Peek(1); err != nil {
		return fail(phaseHeaders, nothingRead(err))
	}
	var resp *http.Response
	var slot *body
	for interim := 0; ; interim++ {
		c.lr.left = limit
		r, s, err := c.readResponse(req, limit, hc)
		if c.lr.left <= 0 {
			return fail(phaseHeaders, fmt.Errorf("h1: response headers exceeded %d bytes; aborted", limit))
		}
		if err != nil {
			return fail(phaseHeaders, err)
		}
		// Skip interim 1xx answers (101 switches protocols: hand it over as is).
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			if interim+1 >= maxInterim {
				return fail(phaseHeaders, errors.New("h1: too many 1xx informational responses"))
			}
			continue
		}
		resp, slot = r, s
		break
	}
	c.lr.left = math.MaxInt64
	if slot == nil {
		slot = new(body)
	}
	slot.rc, slot.c, slot.b, slot.stop = resp.Body, c, b, stop
	slot.keep = !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	slot.eof = resp.Body == http.NoBody
	resp.Body = slot
	return resp, nil
}

// writeErr marks a write failure before any request byte left.
func (c *conn) writeErr(err error) error {
	if c.cw.n == 0 {
		return nothingWrittenError{err}
	}
	return err
}

// nothingRead marks a connection closed or reset before any response byte,
// which a reused connection's server may have done while the request flew.
func nothingRead(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %w", errNothingRead, err)
	}
	return err
}

func (c *conn) close() {
	_ = c.nc.Close()
	c.p.freeSlot()
}

// release puts c back in its pool (or hands it to a waiter), or closes it
// when the transport closed. Connections idle past IdleConnTimeout at the
// bottom of the stack are closed on the way.
func (c *conn) release() {
	c.t.mu.Lock()
	closed := c.t.closed
	c.t.mu.Unlock()
	if closed {
		c.close()
		return
	}
	now := time.Now()
	c.idleFrom = now
	p := c.p
	p.mu.Lock()
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- c
		return
	}
	var stale []*conn
	for len(p.idle) > 0 && now.Sub(p.idle[0].idleFrom) > c.t.idleTimeout() {
		stale = append(stale, p.idle[0])
		p.idle = p.idle[1:]
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	for _, s := range stale {
		s.close()
	}
}

// body is a response body that returns the connection to the pool once it
// was read to the end (and closes it when abandoned early).
type body struct {
	rc   io.ReadCloser
	c    *conn
	b    bound
	keep bool
	stop func() bool
	eof  bool
	done atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.done.Load() {
		return 0, errors.New("h1: read on closed body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
		return n, err
	}
	return n, b.b.wrap(phaseBody, err)
}

func (b *body) Close() error {
	if !b.done.CompareAndSwap(false, true) {
		return nil
	}
	cancelled := b.stop != nil && !b.stop()
	if b.eof && b.keep && !cancelled {
		if err := b.rc.Close(); err != nil {
			b.c.close()
			return err
		}
		b.c.release()
		return nil
	}
	// Closing the connection first keeps rc.Close from draining the rest
	// of an abandoned body until the deadline.
	b.c.close()
	_ = b.rc.Close()
	return nil
}

// CloseIdleConnections closes pooled connections; busy ones close when
// their bodies do. The transport stays usable.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	pools := make([]*pool, 0, len(t.pools))
	for _, p := range t.pools {
		pools = append(pools, p)
	}
	t.mu.Unlock()
	for _, p := range pools {
		p.mu.Lock()
		idle := p.idle
		p.idle = nil
		p.mu.Unlock()
		for _, c := range idle {
			c.close()
		}
	}
	if f, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

// Close closes idle connections and makes later requests fail; busy
// connections close when their bodies do.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.CloseIdleConnections()
}
