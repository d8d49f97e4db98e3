package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/internal/testenv"
	"github.com/ahsp-harness/harness/target/client"
)

// fixtureDeployment speaks just enough of the Django dialect (login form with
// CSRF, session cookie) to run the suite machinery against the fixture page.
func fixtureDeployment(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok", Path: "/"})
		fmt.Fprint(w, `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="tok"><input name="login"><input name="password" type="password"><button type="submit">Masuk</button></form>`)
	})
	mux.HandleFunc("POST /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("login") != "user1" || r.FormValue("password") != "pw" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s1", Path: "/"})
		http.Redirect(w, r, "/index.html", http.StatusFound)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("sessionid")
		if err != nil {
			http.Error(w, "anonymous", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, ck.Value)
	})
	// Project pages of the fixture: the project id picks the toast timings.
	variants := map[string]string{
		"1": `{}`,
		"2": `{"durations": {"warning": 3000}}`,
		"3": `{"fade": 900}`,
		"4": `{"durations": {"error": 60000}}`,
	}
	mux.HandleFunc("GET /detail_project/{pid}/list-pekerjaan/", func(w http.ResponseWriter, r *http.Request) {
		cfg, ok := variants[r.PathValue("pid")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<!doctype html><html><body><div id="dp-toast-area"></div><script>window.fixtureCfg = %s;</script><script src="/fixture.js"></script></body></html>`, cfg)
	})
	mux.Handle("/", http.FileServer(http.Dir("testdata/fixture")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRunReportsPassFailAndScreenshots(t *testing.T) {
	if _, err := ChromiumPath(""); errors.Is(err, ErrNoChromium) {
		testenv.Need(t, "chromium", err)
	}
	srv := fixtureDeployment(t)
	dir := t.TempDir()
	var ran atomic.Int32
	toast := func(c *C) error {
		ran.Add(1)
		if err := c.Navigate(c.URL("/index.html")); err != nil {
			return err
		}
		ev, err := c.toastCall(`fixture.toast('success', 'saved', 2000)`)
		if err != nil {
			return err
		}
		c.Shot("toast")
		return checkToast(ev, "success", "", "saved")
	}
	checks := []Check{
		{Name: "pass", Start: "session", Run: toast},
		{Name: "session-cookie", Start: "session", Run: func(c *C) error {
			if err := c.Navigate(c.URL("/whoami")); err != nil {
				return err
			}
			body, err := Eval[string](c.Page, `document.body.textContent`)
			if err != nil {
				return err
			}
			if body != "s1" {
				return fmt.Errorf("server saw session %q", body)
			}
			return nil
		}},
		{Name: "wrong-type", Start: "session", Run: func(c *C) error {
			if err := c.Navigate(c.URL("/index.html")); err != nil {
				return err
			}
			ev, err := c.toastCall(`fixture.toast('info', 'x', 2000)`)
			if err != nil {
				return err
			}
			return checkToast(ev, "error", "", "x")
		}},
		{Name: "console-error", Start: "session", Run: func(c *C) error {
			if err := c.Navigate(c.URL("/index.html")); err != nil {
				return err
			}
			return c.Exec(`console.error('unexpected e2e boom')`)
		}},
		{Name: "expected-exception", Start: "session", Run: func(c *C) error {
			if err := c.Navigate(c.URL("/index.html")); err != nil {
				return err
			}
			c.Expect(`expected e2e boom`)
			cur := c.Cursor()
			if err := c.Exec(`setTimeout(function () { throw new Error('expected e2e boom'); }, 0); setTimeout(function () { window.__e2e.mark('after'); }, 10)`); err != nil {
				return err
			}
			_, err := c.Wait(cur, time.Second, "mark", func(e Event) bool { return e.Kind == "mark" })
			return err
		}},
		{Name: "timeout", Start: "session", Run: func(c *C) error {
			_, err := c.Wait(0, time.Minute, "nothing", func(Event) bool { return false })
			return err
		}},
	}
	cfg := Config{
		BaseURL: srv.URL, User: client.Credential{User: "user1", Password: "pw", Projects: []int{1}},
		ScreenshotDir: dir, CheckTimeout: 3 * time.Second, Concurrency: 3,
	}
	rep, err := Run(context.Background(), cfg, checks)
	require.NoError(t, err)
	require.Equal(t, int32(1), ran.Load())
	want := map[string]check.Status{"pass": check.Pass, "session-cookie": check.Pass, "wrong-type": check.Fail,
		"console-error": check.Fail, "expected-exception": check.Pass, "timeout": check.Fail}
	for name, st := range want {
		r, ok := rep.Result(name)
		require.True(t, ok, name)
		require.Equal(t, st, r.Status, "%s: %s", name, r.Reason)
	}
	require.Equal(t, check.Fail, rep.Status)
	r, _ := rep.Result("wrong-type")
	require.Contains(t, r.Reason, "lacks dp-toast-error")
	r, _ = rep.Result("console-error")
	require.Contains(t, r.Reason, "unexpected e2e boom")
	r, _ = rep.Result("timeout")
	require.Contains(t, r.Reason, "did not finish within 3s")

	// Key-moment shots for passes, a failure shot for every failure, all on disk.
	r, _ = rep.Result("pass")
	require.Len(t, r.Screenshots, 1)
	require.FileExists(t, r.Screenshots[0].Path)
	for _, name := range []string{"wrong-type", "console-error"} {
		r, _ = rep.Result(name)
		require.NotEmpty(t, r.Screenshots, name)
		last := r.Screenshots[len(r.Screenshots)-1]
		require.Equal(t, "failure", last.Name)
		png, err := os.ReadFile(last.Path)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(png), "\x89PNG"))
		require.Equal(t, dir, filepath.Dir(last.Path))
	}
}

func TestRunWithoutChromium(t *testing.T) {
	t.Setenv("HARNESS_CHROMIUM", "/nonexistent/chromium")
	checks := []Check{{Name: "a", Run: func(*C) error { return nil }}}
	for _, tc := range []struct {
		name string
		ci   bool
		want check.Status
	}{{"local skips", false, check.Skip}, {"CI fails", true, check.Fail}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{BaseURL: "http://127.0.0.1:1", User: client.Credential{User: "u", Password: "p", Projects: []int{1}}, CI: tc.ci}
			rep, err := Run(context.Background(), cfg, checks)
			require.NoError(t, err)
			require.Equal(t, tc.want, rep.Status)
			require.Contains(t, rep.Reason, "/nonexistent/chromium")
			require.Equal(t, tc.want, rep.Results[0].Status)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "base URL"},
		{"no user", Config{BaseURL: "http://127.0.0.1:1"}, "needs a user"},
		{"bad only", Config{BaseURL: "http://127.0.0.1:1", User: client.Credential{User: "u", Projects: []int{1}}, Only: "("}, "--only"},
		{"only matches nothing", Config{BaseURL: "http://127.0.0.1:1", User: client.Credential{User: "u", Projects: []int{1}}, Only: "^zzz$"}, "matches no check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg, All())
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestAutoDismissCatchesWrongTimings runs the real toast.auto-dismiss check
// against fixture toasts with correct and wrong timings.
func TestAutoDismissCatchesWrongTimings(t *testing.T) {
	needChromium(t)
	srv := fixtureDeployment(t)
	cases := []struct {
		name, pid, reason string
	}{
		{"documented timings pass", "1", ""},
		{"warning 3000 instead of 4000", "2", `warning dismissed after \d+ ms, documented 4000 ms`},
		{"fade 900 instead of 300", "3", `stayed \d+ ms after its fade started \(documented 300`},
		{"error never dismissed", "4", `error not dismissed within`},
	}
	var checks []Check
	for _, tc := range cases {
		checks = append(checks, Check{Name: tc.name, Start: "session", Run: func(c *C) error {
			if err := c.openProjectPage("list-pekerjaan", atoi(tc.pid), ""); err != nil {
				return err
			}
			return toastAutoDismiss(c)
		}})
	}
	cfg := Config{BaseURL: srv.URL, User: client.Credential{User: "user1", Password: "pw", Projects: []int{1}}, Concurrency: len(cases)}
	rep, err := Run(context.Background(), cfg, checks)
	require.NoError(t, err)
	for _, tc := range cases {
		r, ok := rep.Result(tc.name)
		require.True(t, ok)
		t.Logf("%s: %s %s %q", tc.name, r.Status, r.Reason, r.Evidence)
		if tc.reason == "" {
			require.Equal(t, check.Pass, r.Status, r.Reason)
			continue
		}
		require.Equal(t, check.Fail, r.Status, tc.name)
		require.Regexp(t, tc.reason, r.Reason)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// TestStoredTextWritesOnlyToScratch: the stored-text check writes nothing
// without a project declared scratch (skip, with the reason), and with one
// its writes go to that project only.
func TestStoredTextWritesOnlyToScratch(t *testing.T) {
	needChromium(t)
	srv, writes := recordWrites(t)
	run := func(scratch []int) Result {
		cfg := Config{BaseURL: srv.URL, Only: `^pages\.stored-text$`,
			User: client.Credential{User: "user1", Password: "pw", Projects: []int{1, 2, 3}, Scratch: scratch}}
		rep, err := Run(context.Background(), cfg, All())
		require.NoError(t, err)
		r, ok := rep.Result("pages.stored-text")
		require.True(t, ok)
		return r
	}

	r := run(nil)
	require.Equal(t, check.Skip, r.Status, r.Reason)
	require.Contains(t, r.Reason, "no project of user1 is declared scratch")
	require.Empty(t, writes(), "nothing may be written without a scratch project")

	r = run([]int{3})
	t.Logf("with scratch project 3: %s %s", r.Status, r.Reason)
	require.NotEmpty(t, writes())
	for _, p := range writes() {
		require.True(t, strings.HasPrefix(p, "/detail_project/api/project/3/"), "write outside the scratch project: %s", p)
	}
}

// TestFlowsWriteOnlyToScratch: the flows that save through the pages skip,
// with the reason, and send no write when their project is not declared
// scratch.
func TestFlowsWriteOnlyToScratch(t *testing.T) {
	needChromium(t)
	srv, writes := recordWrites(t)
	cfg := Config{BaseURL: srv.URL, Only: `^flow\.(list-pekerjaan-save|volume-save|detail-ahsp-save|server-error-retry|offline-retry)$`,
		User: client.Credential{User: "user1", Password: "pw", Projects: []int{1, 2, 3}}}
	rep, err := Run(context.Background(), cfg, All())
	require.NoError(t, err)
	for _, name := range []string{"flow.list-pekerjaan-save", "flow.volume-save", "flow.detail-ahsp-save", "flow.server-error-retry", "flow.offline-retry"} {
		r, ok := rep.Result(name)
		require.True(t, ok, name)
		require.Equal(t, check.Skip, r.Status, "%s: %s", name, r.Reason)
		require.Contains(t, r.Reason, "not declared scratch", name)
	}
	require.Empty(t, writes(), "nothing may be written without a scratch project")
}

// recordWrites serves the fixture deployment and records the path of every
// POST to the app.
func recordWrites(t *testing.T) (*httptest.Server, func() []string) {
	fixture := fixtureDeployment(t)
	var mu sync.Mutex
	var writes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/detail_project/") {
			mu.Lock()
			writes = append(writes, r.URL.Path)
			mu.Unlock()
		}
		fixture.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(writes)
	}
}
