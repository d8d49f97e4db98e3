package scan

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

// TestPolicyAnswer: fail-closed wants the request refused, whatever the
// refusal's status (a limiter's 503, the 500 of one that raises on the cache
// error, a 429); fail-open wants it served; neither may hang.
func TestPolicyAnswer(t *testing.T) {
	t0 := time.Unix(0, 0)
	out := func(status int, body string, took time.Duration) outcome {
		return outcome{status: status, body: []byte(body), start: t0, end: t0.Add(took)}
	}
	for _, tc := range []struct {
		policy string
		o      outcome
		want   string // "" = complies
	}{
		{"fail-closed", out(503, `{"code":"RATE_LIMIT_UNAVAILABLE"}`, time.Millisecond), ""},
		{"fail-closed", out(500, "<html><title>Server Error (500)</title>", time.Millisecond), ""},
		{"fail-closed", out(500, `{"success": false, "error": {"code": "SERVER_ERROR"}}`, time.Millisecond), ""},
		{"fail-closed", out(429, `{}`, time.Millisecond), ""},
		{"fail-closed", out(400, `{"ok": false}`, time.Millisecond), "fail-closed: want the request refused (5xx), got 400"},
		{"fail-closed", out(200, `{"ok": true}`, time.Millisecond), "fail-closed: want the request refused (5xx), got 200"},
		{"fail-closed", outcome{err: "connection reset", start: t0, end: t0}, "fail-closed: want the request refused, got no answer (connection reset)"},
		{"fail-closed", out(503, `{}`, 3*time.Second), "longer than the limiter timeout"},
		{"fail-open", out(400, `{"ok": false}`, time.Millisecond), ""},
		{"fail-open", out(500, `{}`, time.Millisecond), "fail-open: want the request served, got 500"},
		{"fail-open", out(503, `{}`, time.Millisecond), "fail-open: want the request served, got 503"},
	} {
		s := &scanner{policy: tc.policy, timeout: 250 * time.Millisecond, slack: time.Second}
		got := s.policyAnswer(tc.o)
		if tc.want == "" {
			require.Empty(t, got, "%s %d", tc.policy, tc.o.status)
			continue
		}
		require.Contains(t, got, tc.want, "%s %d", tc.policy, tc.o.status)
	}
}

// TestBlankedNumbers: the rekap CSV with its amounts blank is told from the
// same report (BOM per line, CRLF) and from a body that is not the report.
func TestBlankedNumbers(t *testing.T) {
	const bom = "\ufeff"
	before := bom + "RENCANA ANGGARAN BIAYA\r\nProyek;P 1\r\nTahun;-\r\nUraian Pekerjaan;Kode AHSP;Satuan;Volume;Harga Satuan (Rp);Jumlah Harga (Rp)\r\n" +
		"    Galian;2.2.1;m3;11,250;135.125;1.520.156\r\n    Bouwplank;C-2;m';40,000;10.000;400.000\r\nTOTAL BIAYA LANGSUNG;1.920.156\r\n"
	perLine := strings.ReplaceAll(before, "\r\n", "\r\n"+bom)
	blank := bom + "RENCANA ANGGARAN BIAYA\r\nProyek;P 1\r\nTahun;-\r\nUraian Pekerjaan;Kode AHSP;Satuan;Volume;Harga Satuan (Rp);Jumlah Harga (Rp)\r\n" +
		"    Galian;2.2.1;m3;11,250;;\r\n    Bouwplank;C-2;m';40,000;;\r\nTOTAL BIAYA LANGSUNG;\r\n"
	for _, tc := range []struct {
		name            string
		during          string
		numbers, blanks int
		example         string
		same            bool
	}{
		{"same report", before, 8, 0, "", true},
		{"same report, a BOM on every line", perLine, 8, 0, "", true},
		{"amounts blank", blank, 8, 5, "    Galian;2.2.1;m3;11,250;;", true},
		{"amounts blank, lines moved", "x;y\r\n" + blank, 8, 5, "    Galian;2.2.1;m3;11,250;;", true},
		{"not the report", `{"ok": true}`, 8, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, b, ex := blankedNumbers([]byte(before), []byte(tc.during))
			require.Equal(t, tc.numbers, n)
			require.Equal(t, tc.blanks, b)
			require.Equal(t, tc.example, ex)
			require.Equal(t, tc.same, sameLines([]byte(before), []byte(tc.during)))
		})
	}
}

// TestDegradedPhaseNamesTheSessionCause: while the cache is stopped, a
// session that keeps bouncing to the login page, and a login that answers
// 500 (the deployed app's, which needs the cache), leave the policy
// unmeasured with that cause, never a policy verdict on a 302.
func TestDegradedPhaseNamesTheSessionCause(t *testing.T) {
	var logins int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == api.LoginPath && r.Method == http.MethodGet:
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: strings.Repeat("t", 32)})
			_, _ = w.Write([]byte(`<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="` + strings.Repeat("t", 32) + `"></form>`))
		case r.URL.Path == api.LoginPath:
			logins++
			http.Error(w, "Server Error (500)", http.StatusInternalServerError)
		default:
			http.Redirect(w, r, api.LoginPath+"?next="+r.URL.Path, http.StatusFound)
		}
	}))
	defer ts.Close()
	s, err := newScanner(external{url: ts.URL}, Config{})
	require.NoError(t, err)
	a := s.agent(&scenarios.VU{User: "u", Project: 1, Header: http.Header{}})
	op := mustOp("list-pekerjaan.save")
	d := s.degradedPhase(t.Context(), a, op, "cache stopped", 2, newTally(apiClass))
	require.Empty(t, d.problems, "a bounce is no policy answer")
	require.Equal(t, 2, d.unreached)
	require.Positive(t, logins, "the agent tried to log in again")
	require.Contains(t, d.cause, "2 of 2 requests to list-pekerjaan.save stayed redirected to the login page while the cache was stopped")
	require.Contains(t, d.cause, "logging in again failed")
	require.Contains(t, d.cause, "status 500")
	r := d.unmeasured(Evidence{})
	require.NotNil(t, r)
	require.Equal(t, check.Inconclusive, r.Status)
	require.Contains(t, r.Reason, "the failure policy could not be measured: ")
	require.False(t, a.outage, "the outage mode ends with the phase")
}
