// Package h1 is the load engine's HTTP/1.1 client transport for plain-http
// targets. net/http's Transport hands every request to a write goroutine and
// every response back from a read goroutine; on a 2-core machine those
// hand-offs cost more CPU than the request itself. Here the caller's
// goroutine writes the request and reads the response on a pooled
// connection, and the per-request timeout is the connection's deadline, not
// a timer goroutine. Other schemes (https) go to Fallback.
package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

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

type pool struct {
	idle   chan *conn    // pooled connections, newest last
	tokens chan struct{} // one per open connection
}

type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	p        *pool
	t        *Transport
	idleFrom time.Time
	reused   bool
}

// aLongTimeAgo is a deadline that makes pending I/O fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// errTimeout reads like net/http's, so error classification stays the same
// whichever transport sent the request.
type timeoutError struct{ after time.Duration }

func (e timeoutError) Error() string {
	return fmt.Sprintf("request timeout exceeded (%s, Client.Timeout exceeded)", e.after)
}
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// ErrClosed is returned for requests sent after Close.
var ErrClosed = errors.New("h1: transport closed")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
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
	deadline, hasDeadline := ctx.Deadline()
	if t.Timeout > 0 {
		if d := time.Now().Add(t.Timeout); !hasDeadline || d.Before(deadline) {
			deadline, hasDeadline = d, true
		}
	}
	if t.DisableKeepAlives && !req.Close {
		r2 := *req // RoundTrip must not modify the caller's request
		r2.Close = true
		req = &r2
	}
	for attempt := 0; ; attempt++ {
		c, err := t.get(ctx, req.URL.Host, deadline, hasDeadline)
		if err != nil {
			closeBody(req)
			return nil, t.mapErr(ctx, err)
		}
		resp, err := c.exchange(ctx, req, deadline, hasDeadline)
		if err == nil {
			return resp, nil
		}
		c.close()
		// A pooled connection the server already closed fails before any
		// response byte: resend once on a new connection, as net/http does,
		// when the request can be replayed.
		if attempt == 0 && c.reused && errors.Is(err, errNothingRead) && replayable(req) {
			if req.GetBody != nil {
				b, gerr := req.GetBody()
				if gerr != nil {
					return nil, gerr
				}
				r2 := *req
				r2.Body = b
				req = &r2
			}
			continue
		}
		closeBody(req)
		return nil, t.mapErr(ctx, err)
	}
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
			return nil, timeoutError{t.Timeout}
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

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func (t *Transport) mapErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return timeoutError{t.Timeout}
	}
	return err
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
		p = &pool{idle: make(chan *conn, n), tokens: make(chan struct{}, n)}
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

// get returns a pooled connection to host, or dials one when fewer than
// MaxConnsPerHost are open, or waits for one to come back.
func (t *Transport) get(ctx context.Context, host string, deadline time.Time, hasDeadline bool) (*conn, error) {
	p, err := t.poolFor(host)
	if err != nil {
		return nil, err
	}
	for {
		var c *conn
		select {
		case c = <-p.idle:
		default:
			var expire <-chan time.Time
			if hasDeadline {
				tm := time.NewTimer(time.Until(deadline))
				defer tm.Stop()
				expire = tm.C
			}
			select {
			case c = <-p.idle:
			case p.tokens <- struct{}{}:
				return t.dial(ctx, p, host, deadline, hasDeadline)
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-expire:
				return nil, timeoutError{t.Timeout}
			}
		}
		if time.Since(c.idleFrom) > t.idleTimeout() {
			c.close()
			continue
		}
		c.reused = true
		return c, nil
	}
}

func (t *Transport) dial(ctx context.Context, p *pool, host string, deadline time.Time, hasDeadline bool) (*conn, error) {
	dctx := ctx
	if hasDeadline {
		var cancel context.CancelFunc
		dctx, cancel = context.WithDeadline(ctx, deadline)
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
		<-p.tokens
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096), p: p, t: t}, nil
}

// exchange writes req and reads the response head; the body is read by the
// caller through the returned body, which puts the connection back.
func (c *conn) exchange(ctx context.Context, req *http.Request, deadline time.Time, hasDeadline bool) (*http.Response, error) {
	if hasDeadline {
		if err := c.nc.SetDeadline(deadline); err != nil {
			return nil, err
		}
	} else if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	var stop func() bool
	if ctx.Done() != nil {
		nc := c.nc
		stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		if stop != nil {
			stop()
		}
		return nil, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(nothingRead(err))
	}
	if err := c.bw.Flush(); err != nil {
		return fail(nothingRead(err))
	}
	if _, err := c.br.Peek(1); err != nil {
		return fail(nothingRead(err))
	}
	var resp *http.Response
	for {
		r, err := http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		// Skip interim 1xx answers (101 switches protocols: hand it over as is).
		if r.StatusCode >= 100 && r.StatusCode < 200 && r.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		resp = r
		break
	}
	keep := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	resp.Body = &body{rc: resp.Body, c: c, keep: keep, stop: stop, eof: resp.Body == http.NoBody}
	return resp, nil
}

// nothingRead marks errors before any response byte arrived, which are
// safe to retry on a fresh connection.
func nothingRead(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %w", errNothingRead, err)
	}
	return err
}

func (c *conn) close() {
	_ = c.nc.Close()
	<-c.p.tokens
}

// release puts c back in its pool, or closes it when the transport closed.
func (c *conn) release() {
	c.t.mu.Lock()
	closed := c.t.closed
	c.t.mu.Unlock()
	if closed {
		c.close()
		return
	}
	c.idleFrom = time.Now()
	c.p.idle <- c // never blocks: at most cap(tokens) connections exist
}

// body is a response body that returns the connection to the pool once it
// was read to the end (and closes it when abandoned early).
type body struct {
	rc   io.ReadCloser
	c    *conn
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
	}
	return n, err
}

func (b *body) Close() error {
	if !b.done.CompareAndSwap(false, true) {
		return nil
	}
	err := b.rc.Close()
	cancelled := b.stop != nil && !b.stop()
	if b.eof && b.keep && !cancelled && err == nil {
		b.c.release()
		return nil
	}
	b.c.close()
	return err
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
		for {
			select {
			case c := <-p.idle:
				c.close()
				continue
			default:
			}
			break
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
