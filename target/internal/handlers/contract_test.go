package handlers

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
)

// Every response the handler tests produce is checked against the published
// contract schemas (contracts/schemas), so the reference and the checks that
// judge deployments cannot drift apart unnoticed.
var loadContracts = sync.OnceValues(contracts.LoadEmbedded)

// contractViolations validates one answer; statuses the contracts do not
// describe (405 with an empty body, the 500 page) are not checked.
func contractViolations(t testing.TB, v api.Version, op string, w *httptest.ResponseRecorder) []string {
	t.Helper()
	set, err := loadContracts()
	require.NoError(t, err)
	ver := string(v)
	if v == api.Legacy {
		ver = string(api.V1)
	}
	e, ok := set.Response(ver, op, w.Code)
	if !ok {
		return nil
	}
	ct := w.Header().Get("Content-Type")
	if !e.Allows(ct) {
		return []string{"content type " + ct + " not allowed"}
	}
	if !strings.HasPrefix(ct, "application/json") {
		return nil
	}
	var out []string
	for _, vi := range e.ValidateBody(w.Body.Bytes()) {
		out = append(out, vi.String())
	}
	return out
}

// The v2-drift defect must be visible to the contract schemas.
func TestV2DriftBreaksTheContract(t *testing.T) {
	e := newEnv(t, defects.Set{"v2-drift": true})
	w := e.do(req{op: "detail-ahsp.get", v: api.V2, pek: 2})
	require.Equal(t, 200, w.Code)
	got := strings.Join(contractViolations(t, api.V2, "detail-ahsp.get", w), "\n")
	require.Contains(t, got, "coefficient")
	require.Contains(t, got, "koefisien")
	require.Contains(t, got, "satuan")
	w = e.do(req{op: "detail-ahsp.get", v: api.V1, pek: 2})
	require.Empty(t, contractViolations(t, api.V1, "detail-ahsp.get", w), "v1 stays correct")
}
