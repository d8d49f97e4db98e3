package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios/h1"
)

// vegetaResult sends tgt once through vegeta's own Attacker, configured as
// Execute configured it before it had its own attack loop: the reference
// the engine's results must keep matching.
func vegetaResult(t *testing.T, tgt vegeta.Target, maxBody int64) *vegeta.Result {
	t.Helper()
	tr := &h1.Transport{MaxConnsPerHost: 1, Timeout: 5 * time.Second}
	defer tr.Close()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr}), vegeta.Workers(1), vegeta.MaxWorkers(1),
		vegeta.MaxBody(maxBody), vegeta.Redirects(vegeta.NoFollow))
	var out []*vegeta.Result
	for r := range atk.Attack(vegeta.NewStaticTargeter(tgt), BurstPacer{N: 1}, 5*time.Second, "cmp") {
		out = append(out, r)
	}
	require.Len(t, out, 1)
	return out[0]
}

// bothPaths runs f with closed-model plans on the event loop (when
// onLoop: the plan's first target is one the loop sends) and on workers'
// goroutines: each must give the same results.
func bothPaths(t *testing.T, onLoop bool, f func(t *testing.T)) {
	for _, loop := range []bool{true, false} {
		t.Run(fmt.Sprintf("loop=%v", loop), func(t *testing.T) {
			if loop && !h1.LoopSupported() {
				t.Skip("no event loop on this OS")
			}
			defer func(old bool) { useEventLoop = old }(useEventLoop)
			useEventLoop = loop
			before := loopsRun.Load()
			f(t)
			require.Equal(t, loop && onLoop, loopsRun.Load() > before, "ran on the event loop")
		})
	}
}

// engineResults sends n hits through Execute; with reuse the plan reuses
// its results and the callback copies what it keeps, as Metrics does.
func engineResults(t *testing.T, tg vegeta.Targeter, n uint64, maxBody int64, reuse bool) []*vegeta.Result {
	t.Helper()
	var out []*vegeta.Result
	plan := Plan{Name: "cmp", Targeter: tg, Pacer: BurstPacer{N: n}, Workers: 1, MaxWorkers: 1, MaxConnections: 1,
		Timeout: 5 * time.Second, MaxBody: maxBody, ReuseResults: reuse}
	require.NoError(t, Execute(context.Background(), plan, func(r *vegeta.Result) {
		if reuse {
			c := *r
			c.Body, c.Headers = bytes.Clone(r.Body), r.Headers.Clone()
			r = &c
		}
		out = append(out, r)
	}))
	return out
}

// TestReuseResultsOnlyWhenAsked: without ReuseResults every result and body
// is the caller's to keep; with it one worker hands over the same Result
// each time, filled right for each request.
func TestReuseResultsOnlyWhenAsked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path)%2 == 0 {
			w.Header().Set("X-Odd", "1") // a header some answers have and others not
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	paths := []string{"/a", "/bbbb", "/cc", "/dddddd", "/e", "/ff"}
	targeter := func() vegeta.Targeter {
		var i int
		return func(tgt *vegeta.Target) error {
			tgt.Method, tgt.URL = "GET", srv.URL+paths[i%len(paths)]
			i++
			return nil
		}
	}
	bothPaths(t, true, func(t *testing.T) { reuseResultsOnlyWhenAsked(t, srv, paths, targeter) })
}

func reuseResultsOnlyWhenAsked(t *testing.T, srv *httptest.Server, paths []string, targeter func() vegeta.Targeter) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reuse=%v", reuse), func(t *testing.T) {
			var kept []*vegeta.Result
			var bodies []string
			var hdr http.Header
			plan := Plan{Name: "reuse", Targeter: targeter(), Pacer: BurstPacer{N: uint64(len(paths))}, Workers: 1, MaxWorkers: 1,
				MaxConnections: 1, Timeout: 5 * time.Second, ReuseResults: reuse}
			require.NoError(t, Execute(context.Background(), plan, func(r *vegeta.Result) {
				require.Empty(t, r.Error)
				require.Equal(t, strings.TrimPrefix(r.URL, srv.URL), string(r.Body), "the body of this request")
				require.Equal(t, uint64(len(r.Body)), r.BytesIn)
				require.Equal(t, len(r.Body)%2 == 0, r.Headers.Get("X-Odd") == "1", "this answer's headers only")
				require.Equal(t, strconv.Itoa(len(r.Body)), r.Headers.Get("Content-Length"))
				if reuse {
					if hdr == nil {
						hdr = r.Headers
					}
					require.Equal(t, reflect.ValueOf(hdr).UnsafePointer(), reflect.ValueOf(r.Headers).UnsafePointer(), "one header map per worker")
				}
				kept = append(kept, r)
				bodies = append(bodies, string(r.Body))
			}))
			require.Equal(t, paths, bodies)
			if !reuse {
				for i, r := range kept {
					require.Equal(t, paths[i], string(r.Body), "a kept result keeps its own body")
					require.Equal(t, uint64(i), r.Seq)
				}
				require.NotSame(t, kept[0], kept[1])
				return
			}
			for _, r := range kept[1:] {
				require.Same(t, kept[0], r, "one Result per worker")
			}
		})
	}
}

// TestAttackMatchesVegeta: every field of a result (status, error wording,
// kept body and its size, bytes out, answer headers) is what vegeta's
// Attacker gives for the same request; only the timing differs.
func TestAttackMatchesVegeta(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Host", r.Host)
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Seen-Vegeta", r.Header.Get("X-Vegeta-Seq"))
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/login-bounce":
			http.Redirect(w, r, "/accounts/login/?next=/x", http.StatusFound)
		case "/big":
			_, _ = io.WriteString(w, strings.Repeat("x", 10000))
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = fmt.Fprintf(w, "%s %q", r.Method, b)
		default:
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	}))
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refused := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())
	withUser := strings.Replace(srv.URL, "http://", "http://user:pw@", 1)
	for _, tc := range []struct {
		name    string
		tgt     vegeta.Target
		maxBody int64
	}{
		{"get", vegeta.Target{Method: "GET", URL: srv.URL + "/"}, 1 << 20},
		{"post with body", vegeta.Target{Method: "POST", URL: srv.URL + "/echo", Body: []byte(`{"a":1}`), Header: http.Header{"Content-Type": {"application/json"}}}, 1 << 20},
		{"delete", vegeta.Target{Method: "DELETE", URL: srv.URL + "/echo"}, 1 << 20},
		{"404 is the error", vegeta.Target{Method: "GET", URL: srv.URL + "/missing"}, 1 << 20},
		{"redirect not followed", vegeta.Target{Method: "GET", URL: srv.URL + "/login-bounce"}, 1 << 20},
		{"body kept up to MaxBody", vegeta.Target{Method: "GET", URL: srv.URL + "/big"}, 100},
		{"every byte kept", vegeta.Target{Method: "GET", URL: srv.URL + "/big"}, -1},
		{"host header", vegeta.Target{Method: "GET", URL: srv.URL + "/", Header: http.Header{"Host": {"app.example.test"}}}, 1 << 20},
		{"credentials in the URL (net/http's basic auth)", vegeta.Target{Method: "GET", URL: withUser + "/"}, 1 << 20},
		{"unusual method", vegeta.Target{Method: "PROPFIND", URL: srv.URL + "/echo"}, 1 << 20},
		{"connection refused", vegeta.Target{Method: "GET", URL: refused}, 1 << 20},
		{"bad URL", vegeta.Target{Method: "GET", URL: "http://[::1"}, 1 << 20},
	} {
		for _, reuse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reuse=%v", tc.name, reuse), func(t *testing.T) {
				bothPaths(t, loopable(tc.tgt), func(t *testing.T) { attackMatchesVegeta(t, tc.tgt, tc.maxBody, reuse) })
			})
		}
	}
}

func attackMatchesVegeta(t *testing.T, tgt vegeta.Target, maxBody int64, reuse bool) {
	want := vegetaResult(t, tgt, maxBody)
	got := engineResults(t, vegeta.NewStaticTargeter(tgt), 1, maxBody, reuse)
	require.Len(t, got, 1)
	g := got[0]
	require.Equal(t, want.Attack, g.Attack)
	require.Equal(t, want.Method, g.Method)
	require.Equal(t, want.URL, g.URL)
	require.Equal(t, want.Code, g.Code)
	require.Equal(t, want.Error, g.Error)
	require.Equal(t, string(want.Body), string(g.Body))
	require.Equal(t, want.BytesIn, g.BytesIn)
	require.Equal(t, want.BytesOut, g.BytesOut)
	for _, h := range []http.Header{want.Headers, g.Headers} {
		h.Del("Date")
		h.Del("X-Seen-Vegeta") // vegeta stamps X-Vegeta-Seq, the engine does not
	}
	require.Equal(t, want.Headers, g.Headers)
	require.Positive(t, g.Latency)
	require.False(t, g.Timestamp.IsZero())
}

// TestAttackLatencyCoversTheAnswer: a result's latency runs from its
// timestamp to its answer, on the loop (whose clock reading per wake-up
// ends it) as on the transport.
func TestAttackLatencyCoversTheAnswer(t *testing.T) {
	const wait = 40 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(wait)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	bothPaths(t, true, func(t *testing.T) {
		start := time.Now()
		got := engineResults(t, vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL + "/"}), 3, 1<<20, true)
		took := time.Since(start)
		require.Len(t, got, 3)
		var sum time.Duration
		for _, r := range got {
			require.EqualValues(t, 200, r.Code)
			require.GreaterOrEqual(t, r.Latency, wait)
			require.False(t, r.Timestamp.Before(start))
			sum += r.Latency
		}
		require.LessOrEqual(t, sum, took, "three answers in a row on one connection")
	})
}

// TestAttackTargeterErrorStops: a targeter error is a result carrying it,
// and no hit follows (vegeta stops the attack the same way).
func TestAttackTargeterErrorStops(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	t.Cleanup(srv.Close)
	var n atomic.Int64
	tg := func(tgt *vegeta.Target) error {
		if n.Add(1) > 3 {
			return vegeta.ErrNoTargets
		}
		tgt.Method, tgt.URL = "GET", srv.URL+"/"
		return nil
	}
	bothPaths(t, true, func(t *testing.T) {
		n.Store(0)
		served.Store(0)
		got := engineResults(t, tg, 100, 0, false)
		require.Len(t, got, 4)
		require.Equal(t, vegeta.ErrNoTargets.Error(), got[3].Error)
		require.Zero(t, got[3].Code)
		require.EqualValues(t, 3, served.Load())
	})
}

// TestAttackPacedGrowsWorkers: a paced plan whose requests are slow starts
// more workers (up to MaxWorkers) so the schedule holds, as vegeta does.
func TestAttackPacedGrowsWorkers(t *testing.T) {
	var inFlight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(100 * time.Millisecond)
		inFlight.Add(-1)
	}))
	t.Cleanup(srv.Close)
	var got int
	plan := Plan{
		Name: "paced", Targeter: vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL + "/"}),
		Pacer:   CountPacer{Pacer: vegeta.Rate{Freq: 100, Per: time.Second}, N: 40},
		Workers: 1, MaxWorkers: 8, MaxConnections: 8, Timeout: 5 * time.Second, Duration: 10 * time.Second,
	}
	require.NoError(t, Execute(context.Background(), plan, func(*vegeta.Result) { got++ }))
	require.Equal(t, 40, got)
	require.Greater(t, peak.Load(), int64(1), "more workers were started")
	require.LessOrEqual(t, peak.Load(), int64(8), "never more than MaxWorkers")
}
