package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// DefaultChromium is Debian's Chromium; HARNESS_CHROMIUM overrides it.
const DefaultChromium = "/usr/bin/chromium"

// ErrNoChromium means no Chromium binary was found. Callers skip the suite
// with this reason locally and fail under CI.
var ErrNoChromium = errors.New("chromium not found")

// ChromiumPath resolves the browser binary: explicit path, then
// HARNESS_CHROMIUM, then DefaultChromium, then chromium/chromium-browser on PATH.
func ChromiumPath(explicit string) (string, error) {
	cands := []string{explicit, os.Getenv("HARNESS_CHROMIUM")}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
		return "", fmt.Errorf("%w at %q (set --chromium or HARNESS_CHROMIUM to an executable; apt-get install chromium)", ErrNoChromium, c)
	}
	for _, c := range []string{DefaultChromium, "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tried %s, chromium, chromium-browser (apt-get install chromium, or set HARNESS_CHROMIUM)", ErrNoChromium, DefaultChromium)
}

// Browser is one headless Chromium shared by a suite. Each check gets its own
// browser context (like an incognito window) from NewPage.
type Browser struct {
	ctx     context.Context // the browser's lifetime; never carries a deadline
	cancel  context.CancelFunc
	dataDir string
	Path    string
	Version string
}

// StartBrowser launches Chromium with a fresh user-data dir. The browser lives
// until Close (or until ctx ends); per-step deadlines are derived later.
func StartBrowser(ctx context.Context, path string, startTimeout time.Duration) (*Browser, error) {
	dir, err := os.MkdirTemp("", "harness-chromium-")
	if err != nil {
		return nil, fmt.Errorf("create user-data dir: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Timers must fire on time in every tab: auto-dismiss durations are measured.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 800),
	}
	actx, acancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &Browser{ctx: bctx, dataDir: dir, Path: path}
	b.cancel = func() { bcancel(); acancel() }

	// The first Run binds the browser to bctx, which has no deadline; the start
	// is bounded by a watchdog instead.
	type res struct {
		v   browser.GetVersionResult
		err error
	}
	done := make(chan res, 1)
	go func() {
		if err := chromedp.Do(bctx); err != nil {
			done <- res{err: err}
			return
		}
		gv, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{})
		done <- res{v: gv, err: err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			b.Close()
			return nil, fmt.Errorf("start chromium %s: %w", path, r.err)
		}
		b.Version = r.v.Product
	case <-time.After(startTimeout):
		b.Close()
		return nil, fmt.Errorf("start chromium %s: no answer within %s", path, startTimeout)
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("start chromium: %w", ctx.Err())
	}
	go func() {
		<-ctx.Done()
		b.cancel()
	}()
	return b, nil
}

// Close stops the browser and removes its user-data dir.
func (b *Browser) Close() {
	if b.cancel != nil {
		cctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		_ = chromedp.Cancel(cctx)
		cancel()
		b.cancel()
	}
	if b.dataDir != "" && strings.Contains(b.dataDir, "harness-chromium-") {
		_ = os.RemoveAll(b.dataDir)
	}
}
