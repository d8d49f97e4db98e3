// Package handlers serves the reference target's project APIs after the
// server has routed, authenticated and rate-limited a request: it checks
// project ownership, decodes and validates the body, calls the store and
// writes the answer in the version's dialect — the legacy/v1 `{"ok":...}`
// envelope with deprecation headers, or the v2 `{"success","message","data"}`
// envelope — and the CSV exports.
package handlers

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/store"
)

// Params identifies what an API call is about (set by the server's router).
type Params struct {
	UserID, ProjectID, PekerjaanID int64
	// CacheDown: the cache did not answer the server's check (made only
	// where a defect makes the answer depend on it).
	CacheDown bool
}

// Handlers serves the project API operations.
type Handlers struct {
	st  *store.Store
	d   defects.Set
	log *slog.Logger
	// now is the clock of the tree cache (tree-cache-stale).
	now    func() time.Time
	trees  treeCache
	shared SharedCache // trees kept in Redis (nil: in trees)
}

// New returns the handlers over st with the switched-on defects d.
func New(st *store.Store, d defects.Set) *Handlers {
	return &Handlers{st: st, d: d, log: slog.New(slog.NewJSONHandler(os.Stderr, nil)), now: time.Now}
}

// SetClock replaces the clock the tree cache expires entries by (tests).
func (h *Handlers) SetClock(now func() time.Time) { h.now = now }

// SetLogger replaces the logger of unexpected errors (JSON on stderr by default).
func (h *Handlers) SetLogger(l *slog.Logger) { h.log = l }

// Deprecation of the legacy and v1 paths (RFC 9745 / RFC 8594). The sunset
// is later than the deprecation, as RFC 9745 section 3 requires.
var (
	DeprecatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	SunsetAt     = time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
)

// DeprecationDoc is the rel="deprecation" link target (a path on the target).
const DeprecationDoc = "/static/detail_project/docs/api-v2-migration.html"

// SetDeprecationHeaders sets the headers every legacy and v1 response
// carries (Deprecation, Sunset, Link rel="deprecation" and rel="successor-version")
// and nothing for v2. The server calls it before it can answer early (429,
// 503, 413...), Serve again; calling it twice adds no Link twice.
func SetDeprecationHeaders(h http.Header, op api.Operation, v api.Version, projectID, pekerjaanID int64) {
	if v == api.V2 {
		return
	}
	h.Set("Deprecation", fmt.Sprintf("@%d", DeprecatedAt.Unix()))
	h.Set("Sunset", SunsetAt.Format(http.TimeFormat))
	for _, l := range []string{
		fmt.Sprintf(`<%s>; rel="deprecation"; type="text/html"`, DeprecationDoc),
		fmt.Sprintf(`<%s>; rel="successor-version"`, op.URLPath(api.V2, int(projectID), int(pekerjaanID))),
	} {
		if !slices.Contains(h.Values("Link"), l) {
			h.Add("Link", l)
		}
	}
}

// Serve answers one API call. The server has already routed, authenticated,
// checked CSRF and counted the request against the rate limit.
func (h *Handlers) Serve(w http.ResponseWriter, r *http.Request, op api.Operation, v api.Version, p Params) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	if !h.d.Has("no-api-versions") {
		SetDeprecationHeaders(hdr, op, v, p.ProjectID, p.PekerjaanID)
	}
	c := &call{h: h, w: w, r: r, op: op, v: v, p: p}
	owner, ok, err := h.st.ProjectOwner(c.r.Context(), p.ProjectID)
	if err != nil {
		c.serverError(err)
		return
	}
	idor := ok && (h.d.Has("idor-op") && op.Name == "volume-pekerjaan.save" ||
		h.d.Has("idor-read-op") && op.Name == "rekap")
	if !ok || owner != p.UserID && !idor {
		if op.Name == "export.rekap-rab-csv" && h.d.Has("foreign-export-500") {
			// The deployed export view catches the Http404 in its own
			// except clause and answers it as a server error.
			writeJSON(w, http.StatusInternalServerError, map[string]any{
				"status": "error", "message": "Export CSV gagal: No Project matches the given query."})
			return
		}
		// Django's get_object_or_404(Project, id=pid, owner=request.user).
		notFoundPage(w)
		return
	}
	fn, ok := routes[op.Name]
	if !ok {
		notFoundPage(w)
		return
	}
	if op.Method != "" && r.Method != op.Method && !h.methodAllowed(op, r.Method) {
		hdr.Set("Allow", op.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	c.write(fn(c))
}

// methodAllowed: a method other than the operation's that it answers
// anyway. HEAD on a GET; with the read-method-quirks defect (REAL-APP.md
// 3.9, 3.11, 6) harga-items list and rekap take any method and the other
// GETs refuse HEAD.
func (h *Handlers) methodAllowed(op api.Operation, m string) bool {
	if h.d.Has("read-method-quirks") {
		return op.Name == "harga-items.list" || op.Name == "rekap"
	}
	return op.Method == http.MethodGet && m == http.MethodHead
}

var routes = map[string]func(*call) reply{
	"list-pekerjaan.save":    (*call).saveTree,
	"list-pekerjaan.upsert":  (*call).upsertTree,
	"list-pekerjaan.tree":    (*call).tree,
	"volume-pekerjaan.save":  (*call).saveVolumes,
	"volume-pekerjaan.list":  (*call).listVolumes,
	"detail-ahsp.get":        (*call).detail,
	"detail-ahsp.save":       (*call).saveDetail,
	"search-ahsp":            (*call).searchAHSP,
	"harga-items.list":       (*call).hargaList,
	"harga-items.save":       (*call).hargaSave,
	"rekap":                  (*call).rekap,
	"export.rekap-rab-csv":   (*call).exportRekap,
	"export.rincian-rab-csv": (*call).exportRincian,
}

// call is one request in flight.
type call struct {
	h  *Handlers
	w  http.ResponseWriter
	r  *http.Request
	op api.Operation
	v  api.Version
	p  Params
}

// reply is an operation's answer before it is put in the version's envelope.
type reply struct {
	status int
	// ok is the legacy envelope's flag.
	ok bool
	// message is v2's "message" (and legacy's user_message where the app sends one).
	message string
	// code is v2's error code for status >= 400.
	code string
	// data is the payload: legacy puts it at the top level, v2 under "data"
	// (or "details" for errors).
	data map[string]any
	// errors are field errors; nil means the legacy body has no "errors" key.
	errors []store.FieldError
	// written means the handler already wrote the response (CSV, HTML).
	written bool
	// legacyExtra adds top-level keys to the legacy body only (the upsert
	// preflight's "success" and "message", detail save's "success").
	legacyExtra map[string]any
}

// StatusClientClosedRequest is nginx's status for a request whose client
// disconnected before the answer; no client ever sees it.
const StatusClientClosedRequest = 499

// v2 error codes.
const (
	CodeValidation = "VALIDATION_ERROR"
	CodeNotFound   = "NOT_FOUND"
	CodeConflict   = "CONFLICT"
	CodeTooLarge   = "PAYLOAD_TOO_LARGE"
	CodeServer     = "SERVER_ERROR"
)

func (c *call) write(rp reply) {
	if rp.written {
		return
	}
	var body map[string]any
	if c.v == api.V2 {
		body = v2Body(rp)
	} else {
		body = map[string]any{"ok": rp.ok}
		for k, v := range rp.data {
			body[k] = v
		}
		for k, v := range rp.legacyExtra {
			body[k] = v
		}
		if rp.errors != nil {
			body["errors"] = rp.errors
		}
		body = reshape(c.op.Name, rp.status, body)
	}
	writeJSON(c.w, rp.status, body)
}

func v2Body(rp reply) map[string]any {
	if rp.status < 400 {
		data := map[string]any{}
		for k, v := range rp.data {
			data[k] = v
		}
		if rp.errors != nil {
			data["errors"] = rp.errors
		}
		msg := rp.message
		if msg == "" {
			msg = "OK"
		}
		return map[string]any{"success": true, "message": msg, "data": data}
	}
	details := map[string]any{}
	for k, v := range rp.data {
		details[k] = v
	}
	if rp.errors != nil {
		details["errors"] = rp.errors
	}
	code := rp.code
	if code == "" {
		code = CodeValidation
	}
	return map[string]any{"success": false, "message": rp.message, "code": code, "details": details}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"success":false,"error":{"code":"SERVER_ERROR","message":"Gagal menyusun respons."}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFoundPage is Django's plain 404 page (DEBUG off).
func notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>Not Found</title></head>\n<body><h1>Not Found</h1>\n<p>The requested resource was not found on this server.</p>\n</body></html>\n")
}

// serverError logs err with an id and answers like the real app: JSON for
// fetch/XHR callers, an HTML page otherwise; never the error text itself.
func (c *call) serverError(err error) {
	if ctxErr := c.r.Context().Err(); ctxErr != nil {
		// The client went away (the request's context is done): the store
		// call failed because of that, not because of the app, and nobody
		// reads the answer. nginx's 499 keeps the server's metrics honest.
		c.h.log.Info("api request canceled", "operation", c.op.Name, "version", string(c.v), "project", c.p.ProjectID,
			"cause", ctxErr.Error(), "err", err.Error())
		c.w.WriteHeader(StatusClientClosedRequest)
		return
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.h.log.Error("api error", "error_id", id, "operation", c.op.Name, "version", string(c.v), "project", c.p.ProjectID, "err", err.Error())
	if strings.Contains(c.r.Header.Get("Accept"), "application/json") || strings.EqualFold(c.r.Header.Get("X-Requested-With"), "XMLHttpRequest") || c.v == api.V2 {
		writeJSON(c.w, http.StatusInternalServerError, map[string]any{
			"success": false,
			"error": map[string]any{
				"code": CodeServer, "message": "Terjadi kesalahan pada server. Silakan coba lagi.",
				"error_id": id, "recoverable": true, "actions": []string{"reload", "report"},
			},
		})
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(c.w, "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\"><title>Server Error (500)</title></head>\n<body><h1>Server Error (500)</h1>\n<p>Error id "+id+"</p>\n</body></html>\n")
}

// fail converts a store error into the version's error reply; unexpected
// errors become a 500 (already written).
func (c *call) fail(err error) reply {
	var ve *store.ValidationError
	var ce *store.ConflictError
	switch {
	case errors.As(err, &ve):
		msg := ve.Message
		if msg == "" {
			msg = "Data tidak valid"
		}
		return reply{status: http.StatusBadRequest, message: msg, code: CodeValidation, errors: ve.Errors}
	case errors.As(err, &ce):
		msg := ce.Message
		if msg == "" {
			msg = "Data telah diubah oleh pengguna lain. Muat ulang halaman lalu simpan kembali."
		}
		return reply{status: http.StatusConflict, message: msg, code: CodeConflict,
			data: map[string]any{"conflict": true, "user_message": msg, "server_updated_at": ce.ServerUpdatedAt},
			// The deployed app's path and message (REAL-APP.md 3.7).
			errors: []store.FieldError{{Path: "updated_at", Message: "Data telah berubah sejak Anda membukanya"}}}
	case errors.Is(err, store.ErrNotFound):
		return c.notFound("Data tidak ditemukan")
	}
	c.serverError(err)
	return reply{written: true}
}

// notFound is a missing row inside an owned project: Django's 404 page on
// legacy/v1 (get_object_or_404), the NOT_FOUND envelope on v2.
func (c *call) notFound(msg string) reply {
	if c.v != api.V2 {
		notFoundPage(c.w)
		return reply{written: true}
	}
	return reply{status: http.StatusNotFound, message: msg, code: CodeNotFound, errors: []store.FieldError{}}
}

// body reads and parses the JSON request body. On failure the error reply
// is returned with ok=false.
func (c *call) body() (any, reply, bool) {
	raw, err := io.ReadAll(c.r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// The server's 413 body, in every version (the server normally
			// answers before the handler runs).
			writeJSON(c.w, http.StatusRequestEntityTooLarge, map[string]any{
				"success": false, "code": CodeTooLarge,
				"message": fmt.Sprintf("Ukuran permintaan melebihi batas %d byte.", mbe.Limit),
			})
			return nil, reply{written: true}, false
		}
		return nil, reply{status: http.StatusBadRequest, message: "Gagal membaca permintaan", code: CodeValidation,
			errors: []store.FieldError{{Path: "$", Message: "Gagal membaca permintaan"}}}, false
	}
	v, err := parseJSON(raw)
	if err != nil {
		// The deployed app: path "$", one message whatever the parse error.
		_ = err
		return nil, reply{status: http.StatusBadRequest, message: "Payload JSON tidak valid", code: CodeValidation,
			errors: []store.FieldError{{Path: "$", Message: "Payload JSON tidak valid"}}}, false
	}
	return v, reply{}, true
}

func asValidation(err error) (*store.ValidationError, bool) {
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		return ve, true
	}
	return nil, false
}
