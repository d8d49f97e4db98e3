package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
)

// A client that disconnects cancels the request's context; the store call
// fails with it. That is logged at info, not as an "api error", and gets no
// 500. A store failure with the client still there stays an error and a 500.
func TestClientDisconnectIsNotAnError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		op        string
		v         api.Version
		canceled  bool
		status    int
		wantLevel string
		wantMsg   string
	}{
		{"canceled legacy read", "list-pekerjaan.tree", api.Legacy, true, StatusClientClosedRequest, "INFO", "api request canceled"},
		{"canceled v1 export", "export.rekap-rab-csv", api.V1, true, StatusClientClosedRequest, "INFO", "api request canceled"},
		{"canceled v2 write", "volume-pekerjaan.save", api.V2, true, StatusClientClosedRequest, "INFO", "api request canceled"},
		{"store down, client there", "list-pekerjaan.tree", api.V2, false, http.StatusInternalServerError, "ERROR", "api error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var logs strings.Builder
			e.h.SetLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			op, ok := api.Lookup(tc.op)
			require.True(t, ok)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.canceled {
				cancel()
			} else {
				require.NoError(t, e.st.Close())
			}
			body := ""
			if op.Body {
				body = `{"items":[]}`
			}
			r := httptest.NewRequestWithContext(ctx, op.Method, op.URLPath(tc.v, 1, 0), strings.NewReader(body))
			r.Header.Set("Accept", "application/json")
			w := httptest.NewRecorder()
			e.h.Serve(w, r, op, tc.v, Params{UserID: 1, ProjectID: 1})
			require.Equal(t, tc.status, w.Code, w.Body.String())
			require.Contains(t, logs.String(), `"level":"`+tc.wantLevel+`","msg":"`+tc.wantMsg+`"`)
			if tc.canceled {
				require.Empty(t, w.Body.String())
				require.NotContains(t, logs.String(), `"level":"ERROR"`)
				require.Contains(t, logs.String(), `"cause":"context canceled"`)
			}
		})
	}
}
