package server

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
)

// TestBypassDefects: the correct server keeps one bucket per user and
// operation whatever session, identity header or method variant is sent, and
// never applies a refused write; each defect breaks exactly its property.
func TestBypassDefects(t *testing.T) {
	limits := map[string]Limit{"write": {Requests: 2, Window: time.Minute}}
	op := opByName(t, "list-pekerjaan.save")
	path := op.URLPath(api.Legacy, project(1), 0)
	exhaust := func(t *testing.T, a *testApp) {
		c := a.login(t, 1)
		for range 2 {
			require.Equal(t, 200, do(t, c, "POST", path, apiHeaders(c), "{}").Status)
		}
		require.Equal(t, 429, do(t, c, "POST", path, apiHeaders(c), "{}").Status)
	}
	for _, tc := range []struct {
		name, defect string
		// variant sends one request after the user's bucket is exhausted.
		variant func(t *testing.T, a *testApp) int
		bypass  int // its status with the defect
		correct int // and without
	}{
		{"new session", "session-key", func(t *testing.T, a *testApp) int {
			c := a.login(t, 1) // the same user logging in again
			return do(t, c, "POST", path, apiHeaders(c), "{}").Status
		}, 200, 429},
		{"X-Real-IP", "identity-header-key", func(t *testing.T, a *testApp) int {
			c := a.login(t, 1)
			h := apiHeaders(c)
			h.Set("X-Real-IP", "203.0.113.7")
			return do(t, c, "POST", path, h, "{}").Status
		}, 200, 429},
		{"X-User-Id", "identity-header-key", func(t *testing.T, a *testApp) int {
			c := a.login(t, 1)
			h := apiHeaders(c)
			h.Set("X-User-Id", "99")
			return do(t, c, "POST", path, h, "{}").Status
		}, 200, 429},
		{"PUT", "method-bypass", func(t *testing.T, a *testApp) int {
			c := a.login(t, 1)
			return do(t, c, "PUT", path, apiHeaders(c), "{}").Status
		}, 200, 405},
		{"override", "method-bypass", func(t *testing.T, a *testApp) int {
			c := a.login(t, 1)
			h := apiHeaders(c)
			h.Set("X-HTTP-Method-Override", "POST")
			return do(t, c, "POST", path, h, "{}").Status
		}, 200, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOpts{limits: limits})
			exhaust(t, a)
			require.Equal(t, tc.correct, tc.variant(t, a), "correct server")
			b := newApp(t, appOpts{limits: limits, defects: []string{tc.defect}})
			exhaust(t, b)
			require.Equal(t, tc.bypass, tc.variant(t, b), "with %s", tc.defect)
		})
	}
	t.Run("limited-write-applies", func(t *testing.T) {
		for _, defect := range []string{"", "limited-write-applies"} {
			var applied atomic.Int32
			countAPI := func(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p Params) {
				applied.Add(1)
				echoAPI(w, r, op, v, p)
			}
			o := appOpts{limits: limits, api: countAPI}
			if defect != "" {
				o.defects = []string{defect}
			}
			a := newApp(t, o)
			exhaust(t, a)
			want := int32(2)
			if defect != "" {
				want = 3 // the refused write ran too
			}
			require.Equal(t, want, applied.Load(), "defect %q", defect)
		}
	})
}
