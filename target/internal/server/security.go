package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The Security block's defects (target/internal/defects), each breaking one
// check of the harness's security and observability sections.

// csrfExemptOp is the operation the csrf-exempt-op defect leaves unprotected
// (a @csrf_exempt left on one view).
const csrfExemptOp = "harga-items.save"

// reflectCORS is the cors-reflect defect: any Origin is echoed back with
// credentials allowed, and preflights are answered. true means the response
// was written (a preflight).
func (s *Server) reflectCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, X-CSRFToken, X-Requested-With")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// leakyError is the leaky-errors defect: a quote in the search term breaks a
// hand-built SQL query and the debug 500 page shows the traceback, the SQL
// and a setting. true means the response was written.
func (s *Server) leakyError(w http.ResponseWriter, r *http.Request, rt route) bool {
	if rt.op.Name != "search-ahsp" || !strings.Contains(r.URL.Query().Get("q"), "'") {
		return false
	}
	q := r.URL.Query().Get("q")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>OperationalError at %s</title></head><body>
<h1>OperationalError at %s</h1><pre class="exception_value">near "%s": syntax error</pre>
<pre>Traceback (most recent call last):
  File "/app/detail_project/views_api.py", line 812, in api_search_ahsp
    cursor.execute("SELECT id, kode, nama FROM ahsp WHERE nama LIKE '%%%s%%'")
sqlite3.OperationalError: near "%s": syntax error
</pre><p>DEBUG = True; SECRET_KEY = 'django-insecure-reference'</p></body></html>
`, r.URL.Path, r.URL.Path, q, q, q)
	return true
}

// countsHit says whether a 429 of category shows in /metrics
// (metrics-miss-bulk drops the bulk category's).
func (s *Server) countsHit(category string) bool {
	return !(s.cfg.Defects.Has("metrics-miss-bulk") && category == "bulk")
}

// leakyBodyError is the leaky-body-errors defect: volume-pekerjaan.save
// treats every row as an object and every pekerjaan_id as a number, so a
// non-object row or a text id raises, and the handled 500 names the
// exception (the list save's "Server error: AttributeError: …" style).
// true means the response was written.
func (s *Server) leakyBodyError(w http.ResponseWriter, r *http.Request, rt route) bool {
	if rt.op.Name != "volume-pekerjaan.save" || r.Body == nil {
		return false
	}
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return false
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	rows, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		rows, _ = m["items"].([]any)
		if rows == nil {
			rows, _ = m["volumes"].([]any)
		}
	}
	var msg string
	for _, row := range rows {
		m, ok := row.(map[string]any)
		if !ok {
			msg = fmt.Sprintf("AttributeError: '%s' object has no attribute 'get'", pyType(row))
			break
		}
		if id, ok := m["pekerjaan_id"].(string); ok {
			msg = fmt.Sprintf("ValueError: invalid literal for int() with base 10: '%s'", id)
			break
		}
	}
	if msg == "" {
		return false
	}
	writeJSON(w, http.StatusInternalServerError, map[string]any{"ok": false,
		"errors": []map[string]string{{"path": "$", "message": "Server error: " + msg}}})
	return true
}

// pyType is the Python type name of a decoded JSON value.
func pyType(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case float64:
		return "float"
	case bool:
		return "bool"
	case []any:
		return "list"
	case nil:
		return "NoneType"
	}
	return "dict"
}
