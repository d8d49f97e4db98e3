package h1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// connCounter counts the connections a test server accepted and the most
// that were open at once.
type connCounter struct {
	mu             sync.Mutex
	opened, open   int
	maxOpen        int
	sawConnClosing int
}

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.opened++
		c.open++
		c.maxOpen = max(c.maxOpen, c.open)
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

func (c *connCounter) counts() (opened, maxOpen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened, c.maxOpen
}

func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *connCounter) {
	t.Helper()
	cc := &connCounter{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = cc.hook
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

// send sends method url with body and an X-Test header, and reads the answer.
func send(t *testing.T, c *http.Client, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Test", "yes")
	resp, err := c.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func TestRoundTripAnswers(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush() // no Content-Length: chunked
			_, _ = io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "part2")
		case "/early-hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "made")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("X-Test"), b)
		default:
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"ok":false}`)
		}
	})
	c := &http.Client{Transport: &Transport{MaxConnsPerHost: 2, Timeout: 5 * time.Second}}
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"status and body", "GET", "/limited", "", 429, `{"ok":false}`},
		{"chunked body", "GET", "/chunked", "", 200, "part1,part2"},
		{"interim 103 skipped", "GET", "/early-hints", "", 201, "made"},
		{"no body", "GET", "/empty", "", 204, ""},
		{"request body and headers", "POST", "/echo", `{"a":1}`, 200, `POST yes {"a":1}`},
		{"head", "HEAD", "/limited", "", 429, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := send(t, c, tc.method, srv.URL+tc.path, tc.body)
			require.Equal(t, tc.code, resp.StatusCode)
			require.Equal(t, tc.want, string(b))
		})
	}
}

func TestConnectionsAreReusedAndCapped(t *testing.T) {
	srv, cc := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Millisecond) // keep requests overlapping
		_, _ = io.WriteString(w, "ok")
	})
	tr := &Transport{MaxConnsPerHost: 4, Timeout: 5 * time.Second}
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 16 {
		wg.Go(func() {
			for range 25 {
				resp, err := c.Get(srv.URL)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	require.Zero(t, failed.Load())
	opened, maxOpen := cc.counts()
	require.LessOrEqual(t, maxOpen, 4, "more connections than MaxConnsPerHost")
	require.LessOrEqual(t, opened, 4, "400 requests should ride on at most 4 connections")
	tr.CloseIdleConnections()
	_, _, _ = get(t, c, srv.URL) // still usable after CloseIdleConnections
}

func TestConnectionReuseRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		keepAlives bool
		serverSays string // "close": the server answers with Connection: close
		readBody   bool
		wantOpened int
		wantIdle   int
	}{
		{"keep-alive, body read", true, "", true, 1, 1},
		{"server closes", true, "close", true, 3, 0},
		{"body abandoned", true, "", false, 3, 0},
		{"keep-alives off", false, "", true, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sawClose atomic.Int64
			srv, cc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Close {
					sawClose.Add(1)
				}
				if tc.serverSays == "close" {
					w.Header().Set("Connection", "close")
				}
				_, _ = io.WriteString(w, strings.Repeat("x", 64<<10))
			})
			tr := &Transport{MaxConnsPerHost: 1, Timeout: 5 * time.Second, DisableKeepAlives: !tc.keepAlives}
			c := &http.Client{Transport: tr}
			for range 3 {
				resp, err := c.Get(srv.URL)
				require.NoError(t, err)
				if tc.readBody {
					_, err = io.Copy(io.Discard, resp.Body)
					require.NoError(t, err)
				}
				require.NoError(t, resp.Body.Close())
			}
			opened, _ := cc.counts()
			require.Equal(t, tc.wantOpened, opened)
			require.Len(t, tr.pools[strings.TrimPrefix(srv.URL, "http://")].idle, tc.wantIdle, "pooled connections")
			if !tc.keepAlives {
				require.EqualValues(t, 3, sawClose.Load(), "requests should say Connection: close")
			}
		})
	}
}

func TestDialErrorsAndSchemes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nobody listens there now

	c := &http.Client{Transport: &Transport{MaxConnsPerHost: 1, Timeout: time.Second}}
	_, err = c.Get("http://" + addr + "/")
	require.ErrorContains(t, err, "connection refused")
	_, err = c.Get("http://" + addr + "/") // the failed dial gave its slot back
	require.ErrorContains(t, err, "connection refused")

	_, err = c.Get("https://" + addr + "/")
	require.ErrorContains(t, err, "only http")

	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "secure") }))
	t.Cleanup(tls.Close)
	c = &http.Client{Transport: &Transport{MaxConnsPerHost: 1, Timeout: time.Second, Fallback: tls.Client().Transport}}
	code, body, _ := get(t, c, tls.URL)
	require.Equal(t, 200, code)
	require.Equal(t, "secure", body)
}

func TestClosedTransportRefuses(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	tr := &Transport{MaxConnsPerHost: 1}
	c := &http.Client{Transport: tr}
	_, _, _ = get(t, c, srv.URL)
	tr.Close()
	_, err := c.Get(srv.URL)
	require.True(t, errors.Is(err, ErrClosed), "got %v", err)
}

// BenchmarkRoundTrip compares this transport with net/http's on loopback
// (run with -cpu 2 to see the per-request CPU that matters here).
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) }))
	b.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"h1", &Transport{MaxConnsPerHost: 16, Timeout: 10 * time.Second}},
		{"net-http", &http.Transport{MaxConnsPerHost: 16, MaxIdleConnsPerHost: 16}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := &http.Client{Transport: tc.rt}
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get(srv.URL)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			})
		})
	}
}

// TestRoundTripIntoFillsTheCallersHeader: a simple answer's fields go into
// the given map, cleared of the previous answer's; net/http's answers
// (chunked here) keep a map of their own.
func TestRoundTripIntoFillsTheCallersHeader(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: chunked, net/http's parser
		}
		_, _ = io.WriteString(w, "ok")
	})
	tr := &Transport{Timeout: 5 * time.Second}
	defer tr.Close()
	hc := new(HeadCache)
	_, err := ParseAnswer([]byte("HTTP/1.1 200 OK\r\nX-Stale: from before\r\nContent-Length: 0\r\n\r\n"), false, httptest.NewRequest("GET", "/", nil), DefaultMaxResponseHeaderBytes, hc)
	require.NoError(t, err)
	hdr := hc.h
	for _, path := range []string{"/a", "/b", "/chunked"} {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := tr.RoundTripInto(req, hc)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, "ok", string(b))
		require.Equal(t, path, resp.Header.Get("X-Path"))
		require.Empty(t, resp.Header.Get("X-Stale"))
		if path == "/chunked" {
			require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
			require.NotEqual(t, reflect.ValueOf(hdr).UnsafePointer(), reflect.ValueOf(resp.Header).UnsafePointer(), "net/http's answer has its own map")
			continue
		}
		require.Equal(t, reflect.ValueOf(hdr).UnsafePointer(), reflect.ValueOf(resp.Header).UnsafePointer(), "the caller's map")
		resp.Header.Set("X-Stale", "left by the caller")
	}
}
