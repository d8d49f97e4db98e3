//go:build linux

package h1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loopRT is an http.RoundTripper on one RunLoop slot: each RoundTrip is the
// slot's next request, on the connection the slot kept, so the transport
// tests can hold the loop to what they hold Transport and net/http to.
type loopRT struct {
	reqs chan *http.Request
	outs chan loopOutcome
	done chan struct{}
}

type loopOutcome struct {
	resp *http.Response
	err  error
}

func newLoopRT(t *testing.T, cfg LoopConfig) *loopRT {
	t.Helper()
	rt := &loopRT{reqs: make(chan *http.Request), outs: make(chan loopOutcome), done: make(chan struct{})}
	var cur *http.Request
	cfg.Slots = 1
	cfg.Next = func(int, time.Time) (*http.Request, time.Time) {
		cur = <-rt.reqs // blocks: the loop must read its own clock (zero start)
		return cur, time.Time{}
	}
	cfg.Done = func(_ int, a *Answer, err error) {
		if err != nil {
			rt.outs <- loopOutcome{err: err}
			return
		}
		resp := &http.Response{
			Status: a.Status, StatusCode: a.StatusCode, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: a.Header.Clone(), ContentLength: a.ContentLength, Close: a.Close, Request: cur,
			Body: io.NopCloser(bytes.NewReader(bytes.Clone(a.Body))),
		}
		rt.outs <- loopOutcome{resp: resp}
	}
	go func() {
		defer close(rt.done)
		if err := RunLoop(cfg); err != nil {
			panic(err)
		}
	}()
	t.Cleanup(func() {
		rt.reqs <- nil
		<-rt.done
	})
	return rt
}

func (rt *loopRT) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.reqs <- req
	o := <-rt.outs
	return o.resp, o.err
}

func TestLoopAnswers(t *testing.T) {
	srv, cc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, strings.Repeat("x", 100<<10))
		case "/early-hints":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "made")
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/until-close": // HTTP/1.0 style: the body ends where the connection does
			nc, brw, _ := w.(http.Hijacker).Hijack()
			_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nall of it")
			_ = brw.Flush()
			_ = nc.Close()
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			_, _ = io.WriteString(w, r.Method+" "+r.Header.Get("X-Test")+" "+string(b))
		default:
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"ok":false}`)
		}
	})
	loop := &http.Client{Transport: newLoopRT(t, LoopConfig{Timeout: 5 * time.Second})}
	std := &http.Client{Transport: &http.Transport{}}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/limited", ""},
		{"GET", "/chunked", ""},
		{"GET", "/early-hints", ""},
		{"POST", "/echo", `{"a":1}`},
		{"GET", "/close", ""},
		{"GET", "/until-close", ""},
		{"HEAD", "/limited", ""},
		{"DELETE", "/echo", ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			do := func(c *http.Client) (*http.Response, string) {
				resp, b := send(t, c, tc.method, srv.URL+tc.path, tc.body)
				resp.Header.Del("Date")
				return resp, b
			}
			want, wantBody := do(std)
			got, gotBody := do(loop)
			require.Equal(t, want.Status, got.Status)
			require.Equal(t, want.Header, got.Header)
			require.Equal(t, want.ContentLength, got.ContentLength)
			require.Equal(t, want.Close, got.Close)
			require.Equal(t, wantBody, gotBody)
		})
	}
	opened, _ := cc.counts()
	// net/http: 1 kept connection plus 2 closed by the server; the loop the same.
	require.Equal(t, 6, opened, "each side reuses its connection until the server closes it")
}

func TestLoopRetryFollowsNetHTTP(t *testing.T) {
	runRetryCases(t, "h1 loop", func() http.RoundTripper { return newLoopRT(t, LoopConfig{Timeout: 5 * time.Second}) })
}

func TestLoopErrors(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow-body":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
		case "/ok":
			_, _ = io.WriteString(w, "ok")
			return
		case "/big-head":
			w.Header().Set("X-Big", strings.Repeat("h", 8<<10))
			_, _ = io.WriteString(w, "ok")
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())

	const limit = 100 * time.Millisecond
	c := &http.Client{Transport: newLoopRT(t, LoopConfig{Timeout: limit, MaxResponseHeaderBytes: 4 << 10})}
	isTimeout := func(err error, want string) {
		t.Helper()
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout(), "want a timeout, got %v", err)
		require.ErrorContains(t, err, want)
	}
	_, err = c.Get(srv.URL + "/slow-head")
	isTimeout(err, "h1: timeout awaiting response headers (Transport.Timeout 100ms exceeded)")
	_, err = c.Get(srv.URL + "/slow-body")
	isTimeout(err, "h1: timeout reading the response body (Transport.Timeout 100ms exceeded)")
	_, err = c.Get(srv.URL + "/big-head")
	require.ErrorContains(t, err, "response headers exceeded 4096 bytes")
	_, err = c.Get(refused)
	require.ErrorContains(t, err, "dial tcp "+strings.TrimSuffix(strings.TrimPrefix(refused, "http://"), "/")+": connect: connection refused")
	_, err = c.Get("https://127.0.0.1:1/")
	require.ErrorContains(t, err, "plain-http requests only")
	code, body, _ := get(t, c, srv.URL+"/ok")
	require.Equal(t, 200, code, "a slot goes on after its errors")
	require.Equal(t, "ok", body)
	_, err = (&http.Client{Transport: newLoopRT(t, LoopConfig{Timeout: time.Second})}).Get(srv.URL + "/big-head")
	require.NoError(t, err, "the default cap is net/http's")
}

// TestLoopSlotsShareTheLoad: every slot gets requests until Next says
// stop, with Slots connections at most.
func TestLoopSlotsShareTheLoad(t *testing.T) {
	srv, cc := newServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	const slots, each = 8, 50
	sent := make([]int, slots)
	got := make([]int, slots)
	began := make([]time.Time, slots)
	err := RunLoop(LoopConfig{
		Slots: slots, Threads: 2, Timeout: 5 * time.Second, ReuseHeaders: true,
		Next: func(i int, _ time.Time) (*http.Request, time.Time) {
			if sent[i] == each {
				return nil, time.Time{}
			}
			sent[i]++
			req, _ := http.NewRequest("GET", srv.URL+"/", nil)
			began[i] = time.Now()
			return req, began[i]
		},
		Done: func(i int, a *Answer, err error) {
			if err == nil && a.StatusCode == 200 && string(a.Body) == "ok" && !a.End.Before(began[i]) && time.Since(a.End) >= 0 {
				got[i]++ // and the loop's clock put its end after its start
			}
		},
	})
	require.NoError(t, err)
	for i := range slots {
		require.Equal(t, each, got[i], "slot %d", i)
	}
	opened, maxOpen := cc.counts()
	require.Equal(t, slots, opened, "one kept connection per slot")
	require.LessOrEqual(t, maxOpen, slots)
	require.Error(t, RunLoop(LoopConfig{}), "no slots")
	require.False(t, errors.Is(RunLoop(LoopConfig{Slots: 1, Next: func(int, time.Time) (*http.Request, time.Time) { return nil, time.Time{} }, Done: func(int, *Answer, error) {}}), ErrLoopUnsupported))
}
