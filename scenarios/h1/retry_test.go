package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scripted is a raw HTTP/1.1 server whose behaviour per request is chosen
// by the connection's number and the request's number on it.
type scripted struct {
	url   string
	reads atomic.Int64 // requests read in full, body included
}

// Per-request actions of a scripted server.
const (
	answer     = "answer"      // 200, keep-alive promised
	answerDrop = "answer-drop" // 200, keep-alive promised, then hang up
	readDrop   = "read-drop"   // read the request, hang up without a byte
)

func newScripted(t *testing.T, script func(conn, req int) string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	s := &scripted{url: "http://" + ln.Addr().String() + "/"}
	go func() {
		for n := 0; ; n++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func(n int) {
				defer nc.Close()
				br := bufio.NewReader(nc)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					s.reads.Add(1)
					act := script(n, i)
					if act == readDrop {
						return
					}
					_, _ = io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if act == answerDrop {
						return
					}
				}
			}(n)
		}
	}()
	return s
}

// TestRetryFollowsNetHTTP runs each case through net/http's Transport and
// through h1's: both must resend exactly when net/http's rule says so (a
// reused connection, and an idempotent request or none of it written).
func TestRetryFollowsNetHTTP(t *testing.T) {
	runRetryCases(t, "net/http", func() http.RoundTripper { return &http.Transport{MaxConnsPerHost: 1} })
	runRetryCases(t, "h1", func() http.RoundTripper { return &Transport{MaxConnsPerHost: 1, Timeout: 5 * time.Second} })
}

// runRetryCases holds the round tripper mk makes (one per case, one
// connection) to net/http's resend rule.
func runRetryCases(t *testing.T, name string, mk func() http.RoundTripper) {
	newReq := func(method string, rewindable bool, header ...string) func(url string) *http.Request {
		return func(url string) *http.Request {
			var body io.Reader
			if method == "POST" || method == "DELETE" {
				body = strings.NewReader(`{"n":1}`) // NewRequest sets GetBody for it
				if !rewindable {
					body = io.NopCloser(body)
				}
			}
			req, err := http.NewRequest(method, url, body)
			if err != nil {
				panic(err)
			}
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			return req
		}
	}
	// Connection 0: its first request answered with keep-alive, its second
	// read and dropped; later connections answer everything.
	readThenDrop := func(conn, req int) string {
		if conn == 0 && req == 1 {
			return readDrop
		}
		return answer
	}
	for _, tc := range []struct {
		name      string
		script    func(conn, req int) string
		warm      bool // send one GET first, so the case reuses its connection
		pause     time.Duration
		req       func(url string) *http.Request
		wantErr   bool
		wantReads int64
	}{
		{"GET read then dropped on a reused connection: resent", readThenDrop, true, 0, newReq("GET", true), false, 3},
		{"POST read then dropped: not resent (it may have been applied)", readThenDrop, true, 0, newReq("POST", true), true, 2},
		{"POST with Idempotency-Key: resent", readThenDrop, true, 0, newReq("POST", true, "Idempotency-Key", "k1"), false, 3},
		{"DELETE: not resent (net/http resends GET, HEAD, OPTIONS, TRACE only)", readThenDrop, true, 0, newReq("DELETE", true), true, 2},
		{"POST without GetBody: not resent", readThenDrop, true, 0, newReq("POST", false), true, 2},
		{"GET on a fresh connection: not resent", func(int, int) string { return readDrop }, false, 0, newReq("GET", true), true, 1},
		{"POST after the server closed the idle connection: sent once on a new one",
			func(int, int) string { return answerDrop }, true, 50 * time.Millisecond, newReq("POST", false), false, 2},
	} {
		t.Run(name+"/"+tc.name, func(t *testing.T) {
			{
				{
					srv := newScripted(t, tc.script)
					c := &http.Client{Transport: mk(), Timeout: 5 * time.Second}
					if tc.warm {
						code, body, _ := get(t, c, srv.url)
						require.Equal(t, 200, code)
						require.Equal(t, "ok", body)
						time.Sleep(tc.pause) // let the server's hang-up arrive first
					}
					resp, err := c.Do(tc.req(srv.url))
					if err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
					}
					require.Equal(t, tc.wantErr, err != nil, "error: %v", err)
					require.Eventually(t, func() bool { return srv.reads.Load() >= tc.wantReads }, time.Second, 5*time.Millisecond)
					time.Sleep(20 * time.Millisecond) // a stray resend would land now
					require.Equal(t, tc.wantReads, srv.reads.Load(), "requests the server read")
				}
			}
		})
	}
}

// TestIdleConnectionsLIFO: the connection released last carries the next
// request, so a light load keeps its warm connections few.
func TestIdleConnectionsLIFO(t *testing.T) {
	arrived := make(chan struct{}, 3)
	release := make(chan struct{})
	var first atomic.Int64
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if first.Add(1) <= 3 { // hold the first three until all are in
			arrived <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, r.RemoteAddr)
	})
	tr := &Transport{MaxConnsPerHost: 3, Timeout: 5 * time.Second}
	c := &http.Client{Transport: tr}
	resps := make([]*http.Response, 3)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() {
			resp, err := c.Get(srv.URL)
			if err == nil {
				resps[i] = resp
			}
		})
	}
	for range 3 {
		<-arrived
	}
	close(release)
	wg.Wait()
	addrs := make([]string, 3)
	for i, resp := range resps { // released in order 0, 1, 2
		require.NotNil(t, resp)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		addrs[i] = string(b)
	}
	require.Len(t, map[string]bool{addrs[0]: true, addrs[1]: true, addrs[2]: true}, 3, "three connections")
	for range 3 {
		_, body, _ := get(t, c, srv.URL)
		require.Equal(t, addrs[2], body, "the most recently idle connection goes first")
	}
}

func TestResponseHeadIsCapped(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("h", 8<<10))
		_, _ = io.WriteString(w, "ok")
	})
	_, err := (&http.Client{Transport: &Transport{MaxResponseHeaderBytes: 4 << 10, Timeout: 5 * time.Second}}).Get(srv.URL)
	require.ErrorContains(t, err, "response headers exceeded 4096 bytes")

	code, body, _ := get(t, &http.Client{Transport: &Transport{Timeout: 5 * time.Second}}, srv.URL)
	require.Equal(t, 200, code, "the default cap (net/http's) lets it through")
	require.Equal(t, "ok", body)
}

func TestTooManyInterimAnswers(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		for range maxInterim + 1 {
			w.WriteHeader(http.StatusEarlyHints)
		}
		_, _ = io.WriteString(w, "ok")
	})
	_, err := (&http.Client{Transport: &Transport{Timeout: 5 * time.Second}}).Get(srv.URL)
	require.ErrorContains(t, err, "too many 1xx")
}

// TestTimeoutErrorsNameTheirBound: a timeout says which limit ran out and
// in which phase; a context's deadline or cancel stays the context's error.
func TestTimeoutErrorsNameTheirBound(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	const limit = 100 * time.Millisecond
	tr := &Transport{MaxConnsPerHost: 1, Timeout: limit}
	c := &http.Client{Transport: tr}

	isTimeout := func(t *testing.T, err error, want string) {
		t.Helper()
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout(), "want a timeout, got %v", err)
		require.Contains(t, err.Error(), want)
		require.NotContains(t, err.Error(), "Client.Timeout", "no Client.Timeout was set")
	}
	_, err := c.Get(srv.URL + "/slow-head")
	isTimeout(t, err, fmt.Sprintf("h1: timeout awaiting response headers (Transport.Timeout %s exceeded)", limit))

	resp, err := c.Get(srv.URL + "/slow-body")
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	isTimeout(t, err, "timeout reading the response body")
	require.NoError(t, resp.Body.Close())

	// The one connection is busy with a body nobody reads: the next request
	// times out waiting for it.
	resp, err = c.Get(srv.URL + "/slow-body")
	require.NoError(t, err)
	_, err = c.Get(srv.URL + "/slow-head")
	isTimeout(t, err, "timeout waiting for a free connection")
	_ = resp.Body.Close()

	// A context deadline earlier than Transport.Timeout is the context's.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow-head", nil)
	_, err = (&http.Client{Transport: &Transport{MaxConnsPerHost: 1, Timeout: time.Minute}}).Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "awaiting response headers")
	require.NotContains(t, err.Error(), "Transport.Timeout")

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow-head", nil)
	_, err = (&http.Client{Transport: &Transport{MaxConnsPerHost: 2}}).Do(req)
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, errors.Is(err, context.DeadlineExceeded))
}

func TestDialTimeoutNamesDialing(t *testing.T) {
	tr := &Transport{Timeout: 50 * time.Millisecond, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	_, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:9/")
	require.ErrorContains(t, err, "h1: timeout dialing (Transport.Timeout 50ms exceeded)")
}
