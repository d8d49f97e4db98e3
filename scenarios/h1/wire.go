package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The load engine's requests are simple (a method, a path, a few headers,
// an optional body of known length) and so are most answers (a status,
// a few headers, a Content-Length body already in the read buffer).
// net/http's Request.Write and ReadResponse cost more CPU than the
// exchange's two syscalls on this machine; writeRequest and readResponse do
// those simple cases directly and hand anything else to net/http, so what
// goes on the wire and what the caller gets stay net/http's (wire_test.go
// compares them byte for byte and field by field).

// defaultUserAgent is what Request.Write sends when the header has none.
const defaultUserAgent = "Go-http-client/1.1"

// writeRequest writes req like req.Write(bw) does.
func (c *conn) writeRequest(req *http.Request) error { return writeRequestTo(c.bw, &c.keys, req) }

// writeRequestTo writes req to w like req.Write(w) does (keys is scratch
// kept between calls). It takes the simple shapes (no Transfer-Encoding or
// trailers, a body of known length, an origin-form URL) and falls back to
// req.Write for the rest.
func writeRequestTo(w *bufio.Writer, scratch *[]string, req *http.Request) error {
	if !simpleRequest(req) || req.Close && len(req.Header["Connection"]) > 0 ||
		httptrace.ContextClientTrace(req.Context()) != nil {
		return req.Write(w)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) || strings.ContainsAny(host, "%/") {
		// net/http cleans zones and paths out of Host: let it.
		return req.Write(w)
	}
	ruri := req.URL.RequestURI()
	if containsCTL(ruri) {
		return req.Write(w)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(ruri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	ua := defaultUserAgent
	if v, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(v) > 0 {
			ua = v[0]
		}
	}
	if ua != "" {
		w.WriteString("User-Agent: ")
		writeValue(w, ua)
		w.WriteString("\r\n")
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	if sendsContentLength(req) {
		w.WriteString("Content-Length: ")
		var num [20]byte
		w.Write(strconv.AppendInt(num[:0], req.ContentLength, 10))
		w.WriteString("\r\n")
	}
	// Header.Write's order: keys sorted, excluded ones left out.
	keys := (*scratch)[:0]
	for k := range req.Header {
		if !excludedRequestHeader(k) && httpguts.ValidHeaderFieldName(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			writeValue(w, v)
			w.WriteString("\r\n")
		}
	}
	clear(keys)
	*scratch = keys[:0]
	w.WriteString("\r\n")
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	n, err := io.Copy(w, io.LimitReader(req.Body, req.ContentLength))
	if err == nil && n == req.ContentLength {
		var extra int64
		extra, err = io.Copy(io.Discard, req.Body)
		n += extra
	}
	cerr := req.Body.Close()
	if err != nil {
		return err
	}
	if n != req.ContentLength {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	return cerr
}

// simpleRequest: no chunking, no trailers, a body of known length, origin
// form (not CONNECT or a proxy's absolute form).
func simpleRequest(req *http.Request) bool {
	if len(req.TransferEncoding) > 0 || req.Trailer != nil || req.Method == http.MethodConnect ||
		req.URL.Opaque != "" || req.URL.Host == "" {
		return false
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	return !hasBody && req.ContentLength == 0 || hasBody && req.ContentLength > 0
}

// sendsContentLength is transferWriter.shouldSendContentLength for the
// shapes simpleRequest lets through.
func sendsContentLength(req *http.Request) bool {
	if req.ContentLength > 0 {
		return true
	}
	// "Many servers expect a Content-Length for these methods."
	return req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch
}

func excludedRequestHeader(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// writeValue writes a header value as Header.Write does: CR and LF become
// spaces, surrounding blanks are trimmed.
func writeValue(w *bufio.Writer, v string) {
	v = textproto.TrimString(v)
	if !strings.ContainsAny(v, "\r\n") {
		w.WriteString(v)
		return
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b == '\r' || b == '\n' {
			b = ' '
		}
		w.WriteByte(b)
	}
}

func containsCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// readResponse reads one response head for req like http.ReadResponse. It
// parses the common case itself: HTTP/1.1, a final status, a head already
// whole in the read buffer and within limit, canonical header names, and a
// body framed by one Content-Length (or none by its status). Anything else
// (chunked, read-to-close, 1xx, HTTP/1.0, folded lines, a head split across
// reads) is left unread for http.ReadResponse.
// The simple case's response comes with its body's slot (one allocation
// for both); net/http's has none.
func (c *conn) readResponse(req *http.Request, limit int64, header http.Header) (*http.Response, *body, error) {
	if a := c.parseSimple(req, limit, header); a != nil {
		return &a.resp, &a.body, nil
	}
	resp, err := http.ReadResponse(c.br, req)
	return resp, nil, err
}

// simpleAnswer is one simple response with what it needs, allocated together: the
// exchange's body and, for a few header lines, their values' backing array.
type simpleAnswer struct {
	resp http.Response
	body body
	vals [8]string
}

// maxSimpleHeaders bounds the header lines parseSimple takes on.
const maxSimpleHeaders = 32

// parseSimple fills header (cleared first) when it is not nil.
func (c *conn) parseSimple(req *http.Request, limit int64, header http.Header) *simpleAnswer {
	buf, _ := c.br.Peek(c.br.Buffered())
	a, headLen := parseHead(buf, req, limit, header)
	if a == nil {
		return nil
	}
	if _, err := c.br.Discard(headLen); err != nil {
		return nil
	}
	if cl := a.resp.ContentLength; cl > 0 && a.resp.Body != http.NoBody {
		c.fixed = fixedBody{r: c.br, left: cl}
		a.resp.Body = &c.fixed
	}
	return a
}

// parseHead parses a simple answer's head at the start of buf and says how
// many bytes it took; nil when the head is not whole in buf, not simple,
// or longer than limit. The answer's Body is http.NoBody, or nil when a
// Content-Length body follows (the caller frames it).
func parseHead(buf []byte, req *http.Request, limit int64, header http.Header) (*simpleAnswer, int) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || int64(end+4) > limit {
		return nil, 0
	}
	head := buf[:end+2] // every line ends in CRLF
	// Status line: "HTTP/1.1 200 OK".
	nl := bytes.IndexByte(head, '\n')
	line := head[:nl-1]
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' {
		return nil, 0
	}
	code := 0
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return nil, 0
		}
		code = code*10 + int(b-'0')
	}
	if code < 200 || containsCTL(string(line)) {
		return nil, 0
	}
	// Header lines: count them first, so values share one backing array.
	rest := head[nl+1:]
	lines := bytes.Count(rest, []byte("\n"))
	if lines > maxSimpleHeaders {
		return nil, 0
	}
	s := string(head) // the one copy: status, keys and values slice it
	a := new(simpleAnswer)
	h := header
	if h != nil {
		clear(h)
	} else {
		h = make(http.Header, lines)
	}
	var vals []string
	if lines <= len(a.vals) {
		vals = a.vals[:lines]
	} else {
		vals = make([]string, lines)
	}
	contentLength, clSeen := int64(-1), false
	closing := false
	pos := nl + 1
	for i := 0; pos < len(s); i++ {
		e := strings.IndexByte(s[pos:], '\n')
		if e < 1 || s[pos+e-1] != '\r' {
			return nil, 0 // bare LF: let net/http judge it
		}
		ln := s[pos : pos+e-1]
		pos += e + 1
		k, v, ok := strings.Cut(ln, ":")
		if !ok || k == "" || !canonicalToken(k) {
			return nil, 0 // folded, malformed or non-canonical: net/http's rules
		}
		v = textproto.TrimString(v)
		for j := 0; j < len(v); j++ {
			if b := v[j]; b < ' ' && b != '\t' || b == 0x7f {
				return nil, 0
			}
		}
		switch k {
		case "Transfer-Encoding", "Trailer", "Pragma":
			return nil, 0
		case "Content-Length":
			if clSeen {
				return nil, 0
			}
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil {
				return nil, 0
			}
			contentLength, clSeen = int64(n), true
		case "Connection":
			closing = closing || httpguts.HeaderValuesContainsToken([]string{v}, "close")
		}
		vals[i] = v
		if prev, ok := h[k]; ok {
			h[k] = append(prev, v)
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	noBody := code == http.StatusNoContent || code == http.StatusNotModified || req.Method == http.MethodHead
	if !noBody && !clSeen {
		return nil, 0 // read until close: net/http's body handles it
	}
	if closing {
		delete(h, "Connection") // as net/http's shouldClose does
	}
	status := s[9 : nl-1]
	resp := &a.resp
	*resp = http.Response{
		Status: status, StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Close: closing, Request: req, ContentLength: contentLength, Body: http.NoBody,
	}
	switch {
	case req.Method == http.MethodHead:
		// net/http keeps the announced length of a HEAD simpleAnswer.
	case noBody:
		resp.ContentLength = 0
	case contentLength > 0:
		resp.Body = nil // framed by the caller
	}
	return a, end + 4
}

// canonicalToken: a header name that is a valid token already in canonical
// form (textproto would leave it as is).
func canonicalToken(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		b := k[i]
		if !httpguts.IsTokenRune(rune(b)) {
			return false
		}
		if upper && 'a' <= b && b <= 'z' || !upper && 'A' <= b && b <= 'Z' {
			return false
		}
		upper = b == '-'
	}
	return true
}

// fixedBody reads a Content-Length body from the connection's reader. It
// lives in the conn (one exchange at a time) and is only reached through
// the exchange's body, which refuses reads after Close.
type fixedBody struct {
	r    *bufio.Reader
	left int64
}

func (f *fixedBody) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= int64(n)
	if f.left <= 0 && err == nil {
		err = io.EOF
	}
	if err == io.EOF && f.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Close leaves the rest unread: an exchange whose body was not read to the
// end closes its connection.
func (f *fixedBody) Close() error { return nil }
