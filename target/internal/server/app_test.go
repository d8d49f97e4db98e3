package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/handlers"
)

// realAPI serves through the app's handlers, as the worker does.
func realAPI(t *testing.T, a *testApp) {
	t.Helper()
	h := handlers.New(a.st, defects.Set{})
	a.srv.d.API = func(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p Params) {
		h.Serve(w, r, op, v, handlers.Params{UserID: p.UserID, ProjectID: p.ProjectID, PekerjaanID: p.PekerjaanID})
	}
}

func TestIDORWithTheAppHandlers(t *testing.T) {
	a := newApp(t, appOpts{})
	realAPI(t, a)
	c := a.login(t, 1)
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			if op.Method != http.MethodGet {
				continue
			}
			t.Run(string(v)+"/"+op.Name, func(t *testing.T) {
				own := do(t, c, "GET", op.URLPath(v, project(1), 1), nil, "")
				require.NotEqual(t, http.StatusNotFound, own.Status, "own project: %s", own.Body)
				foreign := do(t, c, "GET", op.URLPath(v, project(2), 3), nil, "")
				require.Equal(t, http.StatusNotFound, foreign.Status, "another user's project must look missing")
				require.NotContains(t, string(foreign.Body), "klasifikasi")
				missing := do(t, c, "GET", op.URLPath(v, 99999, 1), nil, "")
				require.Equal(t, http.StatusNotFound, missing.Status)
				if v == api.V2 {
					require.Empty(t, own.Header.Get("Deprecation"))
				} else {
					require.NotEmpty(t, own.Header.Get("Deprecation"))
					require.NotEmpty(t, own.Header.Get("Sunset"))
					require.Contains(t, own.Header.Get("Link"), `rel="deprecation"`)
				}
			})
		}
	}
}

// Counting happens before the body is parsed: invalid requests use quota.
func TestInvalidBodiesUseQuota(t *testing.T) {
	a := newApp(t, appOpts{limits: map[string]Limit{"write": {Requests: 2, Window: time.Minute}}})
	realAPI(t, a)
	c := a.login(t, 1)
	path := opByName(t, "volume-pekerjaan.save").URLPath(api.V2, project(1), 0)
	var got []int
	for range 3 {
		got = append(got, do(t, c, "POST", path, apiHeaders(c), "{not json").Status)
	}
	require.Equal(t, []int{http.StatusBadRequest, http.StatusBadRequest, http.StatusTooManyRequests}, got)
}

func TestPagesUseOnlyServedScripts(t *testing.T) {
	a := newApp(t, appOpts{})
	c := a.login(t, 1)
	page := do(t, c, "GET", api.PagePath("list-pekerjaan", project(1)), nil, "")
	require.Equal(t, http.StatusOK, page.Status)
	for _, src := range scriptSrcs(string(page.Body)) {
		t.Run(src, func(t *testing.T) {
			require.True(t, strings.HasPrefix(src, "/static/detail_project/"), "no CDN: %s", src)
			resp := do(t, c, "GET", src, nil, "")
			require.Equal(t, http.StatusOK, resp.Status)
			require.Contains(t, resp.Header.Get("Content-Type"), "javascript")
		})
	}
}

func scriptSrcs(html string) []string {
	var out []string
	for _, part := range strings.Split(html, `<script`)[1:] {
		i := strings.Index(part, `src="`)
		end := strings.Index(part, ">")
		if i < 0 || i > end {
			continue
		}
		rest := part[i+len(`src="`):]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
	return out
}
