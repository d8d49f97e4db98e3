package contracts

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// TestRestoreWaitsOutA429: a restore step that meets the rate limit waits
// for the time the 429 states and sends again, instead of leaving the
// scratch project half restored.
func TestRestoreWaitsOutA429(t *testing.T) {
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   int
	}{
		{"Retry-After header", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}, http.StatusOK},
		{"retry_after in the body only (as deployed)", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"success": false, "code": "RATE_LIMIT_EXCEEDED", "retry_after": 1}`))
		}, http.StatusOK},
		{"a wait past the bound gives the 429 back", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}, http.StatusTooManyRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 || tc.want == http.StatusTooManyRequests {
					tc.answer(w)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"ok": true}`))
			}))
			defer srv.Close()
			c, err := client.New(srv.URL)
			require.NoError(t, err)
			r := &runner{version: api.Legacy, schema: "v1", pid: 1, c: c, base: srv.URL, scratch: true,
				opts: Options{Timeout: 5 * time.Second, Progress: io.Discard}, calls: map[string]exchange{}}
			start := time.Now()
			ex := r.sendServed(context.Background(), "restore.upsert", 0, map[string]any{"klasifikasi": []any{}})
			require.Equal(t, tc.want, ex.status)
			if tc.want == http.StatusOK {
				require.EqualValues(t, 2, calls.Load())
				require.GreaterOrEqual(t, time.Since(start), time.Second, "waited the stated second")
			} else {
				require.EqualValues(t, 1, calls.Load(), "no wait beyond the bound")
			}
		})
	}
}
