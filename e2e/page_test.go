package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/internal/testenv"
)

// startBrowser starts Chromium for a test, skipping loudly when it is missing
// and failing under CI=true.
func startBrowser(t *testing.T) *Browser {
	t.Helper()
	path, err := ChromiumPath("")
	if errors.Is(err, ErrNoChromium) {
		testenv.Need(t, "chromium", err)
	}
	require.NoError(t, err)
	b, err := StartBrowser(context.Background(), path, 30*time.Second)
	require.NoError(t, err)
	t.Cleanup(b.Close)
	return b
}

func fixtureServer(t *testing.T, saves *atomic.Int32) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("testdata/fixture")))
	mux.HandleFunc("POST /api/save", func(w http.ResponseWriter, r *http.Request) {
		saves.Add(1)
		w.Write([]byte(`{"ok":true}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestPageObserverInterceptOffline(t *testing.T) {
	b := startBrowser(t)
	var saves atomic.Int32
	srv := fixtureServer(t, &saves)

	p, err := b.NewPage(10 * time.Second)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Navigate(srv.URL+"/index.html"))

	// Observer: add, show, hide, remove, with page-clock timing.
	cur := p.Cursor()
	require.NoError(t, p.Exec(`fixture.toast('info', 'hello <b>x</b>', 400)`))
	added, err := p.Wait(cur, 2*time.Second, "toast added", func(e Event) bool { return e.Kind == "toast-added" })
	require.NoError(t, err)
	require.Equal(t, "hello <b>x</b>", added.Text)
	require.True(t, added.HasClass("dp-toast-info"))
	require.Equal(t, "alert", added.Role)
	hiding, err := p.Wait(cur, 2*time.Second, "toast hiding", func(e Event) bool { return e.Kind == "toast-hiding" && e.ID == added.ID })
	require.NoError(t, err)
	require.InDelta(t, 400, hiding.At-added.At, 150)
	removed, err := p.Wait(cur, 2*time.Second, "toast removed", func(e Event) bool { return e.Kind == "toast-removed" && e.ID == added.ID })
	require.NoError(t, err)
	require.InDelta(t, 300, removed.At-hiding.At, 150)

	// Console errors and exceptions are captured; expected ones are marked.
	require.NoError(t, p.Exec(`console.error('boom one'); setTimeout(function(){ throw new Error('kaboom') }, 0)`))
	require.Eventually(t, func() bool { return len(p.Unexpected()) == 2 }, 3*time.Second, 20*time.Millisecond)
	p.Expect(`kaboom|boom one`)
	require.Empty(t, p.Unexpected())

	// Interception answers 500 without reaching the server.
	in, err := p.Intercept("*/api/save", func(r *network.Request) *Fulfillment {
		return &Fulfillment{Status: 500, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"success":false}`}
	})
	require.NoError(t, err)
	cur = p.Cursor()
	require.NoError(t, p.Click("#save"))
	ev, err := p.Wait(cur, 3*time.Second, "error toast", func(e Event) bool { return e.Kind == "toast-added" })
	require.NoError(t, err)
	require.Equal(t, "status 500", ev.Text)
	require.Equal(t, int32(0), saves.Load())
	require.Len(t, in.Seen(), 1)
	require.NoError(t, p.WaitIdle(50*time.Millisecond, 3*time.Second))
	require.Len(t, p.Failures(), 1)
	require.Contains(t, p.Failures()[0], "/api/save answered 500")
	p.StopIntercept(in)

	// Offline emulation.
	require.NoError(t, p.SetOffline(true))
	cur = p.Cursor()
	require.NoError(t, p.Click("#save"))
	ev, err = p.Wait(cur, 3*time.Second, "offline toast", func(e Event) bool { return e.Kind == "toast-added" })
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ev.Text, "offline:"), ev.Text)
	require.NoError(t, p.WaitIdle(50*time.Millisecond, 3*time.Second))
	require.Contains(t, p.Failures()[1], "ERR_INTERNET_DISCONNECTED")
	require.NoError(t, p.SetOffline(false))
	cur = p.Cursor()
	require.NoError(t, p.Click("#save"))
	ev, err = p.Wait(cur, 3*time.Second, "ok toast", func(e Event) bool { return e.Kind == "toast-added" })
	require.NoError(t, err)
	require.Equal(t, "status 200", ev.Text)
	require.Equal(t, int32(1), saves.Load())

	png, err := p.Screenshot()
	require.NoError(t, err)
	require.True(t, len(png) > 8 && string(png[1:4]) == "PNG")
	for _, c := range p.Console() {
		t.Logf("console: %+v", c)
	}
}
