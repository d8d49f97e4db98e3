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

func containsCTL[T string | []byte](s T) bool {
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
func (c *conn) readResponse(req *http.Request, limit int64, hc *HeadCache) (*http.Response, *body, error) {
	if a := c.parseSimple(req, limit, hc); a != nil {
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

// maxSimpleHeaders bounds the header lines a simple head may have.
const maxSimpleHeaders = 32

func (c *conn) parseSimple(req *http.Request, limit int64, hc *HeadCache) *simpleAnswer {
	buf, _ := c.br.Peek(c.br.Buffered())
	a := new(simpleAnswer)
	hd, ok := readHead(buf, req, limit, hc, a.vals[:])
	if !ok {
		return nil
	}
	if _, err := c.br.Discard(hd.n); err != nil {
		return nil
	}
	a.resp = http.Response{
		Status: hd.status, StatusCode: hd.code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hd.header, Close: hd.closing, Request: req, ContentLength: hd.contentLength, Body: http.NoBody,
	}
	if hd.framed {
		c.fixed = fixedBody{r: c.br, left: hd.contentLength}
		a.resp.Body = &c.fixed
	}
	return a
}

// HeadCache is what one reader that neither keeps nor changes an answer's
// header once done with it reuses from answer to answer: every simple
// answer's fields go into one header map, and a name, value or status
// whose bytes repeat the previous answer's (at the same line) is that
// answer's string rather than a new one, so a steady stream of answers
// parses without allocating or touching the map. Answers that net/http
// parses still get their own map. Not safe for concurrent use.
type HeadCache struct {
	h      http.Header
	names  []string // the last simple head's field names, line by line
	vals   []string // its values; h[names[i]] is vals[i:i+1] when unique
	same   bool     // names is a whole head whose names are all different
	status string
	// raw is the last head's bytes when last may stand for a head with the
	// same bytes (to a request of the same kind): a closed loop mostly gets
	// the same answer again, and one comparison then replaces the parse.
	raw    []byte
	last   head
	isHEAD bool
}

// head is a simple answer's head as readHead found it.
type head struct {
	code          int
	status        string
	header        http.Header
	contentLength int64 // as net/http reports it (-1: not given, HEAD only)
	framed        bool  // a body of contentLength bytes follows
	closing       bool
	n             int // the head's length, its blank line included
}

var crlfcrlf = []byte("\r\n\r\n")

// readHead parses a simple answer's head at the start of buf; not ok when
// the head is not whole in buf, not simple, or longer than limit. Without
// hc, one copy of the head backs every string and values share backing
// when they fit; with hc, see HeadCache.
func readHead(buf []byte, req *http.Request, limit int64, hc *HeadCache, backing []string) (hd head, ok bool) {
	hb, n := buf, 0
	if hc != nil && len(hc.raw) > 0 {
		if len(buf) >= len(hc.raw) && hc.isHEAD == (req.Method == http.MethodHead) &&
			int64(len(hc.raw)) <= limit && bytes.Equal(buf[:len(hc.raw)], hc.raw) {
			return hc.last, true
		}
		hc.raw = hc.raw[:0] // the slots below change: last no longer stands
	}
	// Without hc the head's end is found first (its one copy needs it);
	// with hc the lines are read up to the blank line in one pass.
	if hc == nil {
		end := bytes.Index(buf, crlfcrlf)
		if end < 0 || int64(end+4) > limit {
			return hd, false
		}
		hb, n = buf[:end+2], end+4 // every line ends in CRLF
	} else if int64(len(hb)) > limit {
		hb = hb[:limit]
	}
	// Status line: "HTTP/1.1 200 OK".
	nl := bytes.IndexByte(hb, '\n')
	if nl < 1 || hb[nl-1] != '\r' {
		return hd, false // not whole yet, or a bare LF: net/http's
	}
	line := hb[:nl-1]
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' {
		return hd, false
	}
	code := 0
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return hd, false
		}
		code = code*10 + int(b-'0')
	}
	if code < 200 || containsCTL(line) {
		return hd, false
	}
	var whole string // without hc: the one copy every string slices
	var h http.Header
	var names, vals []string
	same, lastLines := false, 0 // with hc: every name so far is the last head's
	if hc == nil {
		lines := bytes.Count(hb[nl+1:], []byte("\n"))
		if lines > maxSimpleHeaders {
			return hd, false
		}
		whole = string(hb)
		h = make(http.Header, lines)
		if lines <= len(backing) {
			vals = backing[:lines]
		} else {
			vals = make([]string, lines)
		}
	} else {
		if hc.h == nil {
			hc.h = http.Header{}
			hc.names, hc.vals = make([]string, 0, maxSimpleHeaders), make([]string, 0, maxSimpleHeaders)
		}
		h = hc.h
		same, lastLines = hc.same, len(hc.names)
		// Every slot: the last heads' strings stay there to be reused.
		names, vals = hc.names[:maxSimpleHeaders], hc.vals[:maxSimpleHeaders]
		// Until this head proves whole and simple, names is no head's.
		hc.names, hc.vals, hc.same = hc.names[:0], hc.vals[:0], false
	}
	contentLength, clSeen := int64(-1), false
	closing := false
	pos, i := nl+1, 0
	for ; ; i++ {
		if hc == nil {
			if pos >= len(hb) {
				break
			}
		} else if pos+1 < len(hb) && hb[pos] == '\r' && hb[pos+1] == '\n' {
			n = pos + 2 // the blank line
			break
		} else if i == maxSimpleHeaders {
			return hd, false
		}
		e := bytes.IndexByte(hb[pos:], '\n')
		if e < 1 || hb[pos+e-1] != '\r' {
			return hd, false // not whole yet, or a bare LF: let net/http judge it
		}
		ln := hb[pos : pos+e-1]
		off := pos
		pos += e + 1
		colon := bytes.IndexByte(ln, ':')
		if colon < 1 {
			return hd, false
		}
		var k, v string
		if hc == nil {
			if k = whole[off : off+colon]; !canonicalToken(k) {
				return hd, false // non-canonical or malformed: net/http's rules
			}
			if v = textproto.TrimString(whole[off+colon+1 : off+len(ln)]); badValue(v) {
				return hd, false
			}
		} else {
			// A name or value equal to the last head's at this line passed
			// these checks then: reuse its string.
			kb, vb := ln[:colon], trimBytes(ln[colon+1:])
			if k = names[i]; string(kb) != k {
				if k = string(kb); !canonicalToken(k) {
					return hd, false
				}
				same = false
			}
			if v = vals[i]; string(vb) != v {
				if v = string(vb); badValue(v) {
					return hd, false
				}
			}
			names[i] = k
		}
		switch k {
		case "Transfer-Encoding", "Trailer", "Pragma":
			return hd, false
		case "Content-Length":
			if clSeen {
				return hd, false
			}
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil {
				return hd, false
			}
			contentLength, clSeen = int64(n), true
		case "Connection":
			closing = closing || httpguts.HeaderValuesContainsToken([]string{v}, "close")
		}
		vals[i] = v
		if hc == nil {
			if prev, ok := h[k]; ok {
				h[k] = append(prev, v)
			} else {
				h[k] = vals[i : i+1 : i+1]
			}
		}
	}
	noBody := code == http.StatusNoContent || code == http.StatusNotModified || req.Method == http.MethodHead
	if !noBody && !clSeen {
		return hd, false // read until close: net/http's body handles it
	}
	status := ""
	if hc == nil {
		status = whole[9 : nl-1]
	} else {
		hc.fill(names[:i], vals[:i], same && i == lastLines)
		if status = hc.status; string(line[9:]) != status {
			status = string(line[9:])
			hc.status = status
		}
	}
	if closing {
		delete(h, "Connection") // as net/http's shouldClose does
		if hc != nil {
			hc.same = false // the map lacks a name: rebuild it next time
		}
	}
	hd = head{code: code, status: status, header: h, contentLength: contentLength, closing: closing, n: n}
	switch {
	case req.Method == http.MethodHead:
		// net/http keeps the announced length of a HEAD answer.
	case noBody:
		hd.contentLength = 0
	default:
		hd.framed = contentLength > 0
	}
	if hc != nil && hc.same {
		hc.raw, hc.last, hc.isHEAD = append(hc.raw[:0], buf[:n]...), hd, req.Method == http.MethodHead
	}
	return hd, true
}

// fill puts a whole head's fields into the map. When the names are the
// last head's, the map already holds each name's slot in vals, whose
// values readHead just replaced: nothing to do (the map's users neither
// keep nor change it). Otherwise the map starts empty.
func (hc *HeadCache) fill(names, vals []string, same bool) {
	h := hc.h
	if !same || len(h) != len(names) {
		clear(h)
		same = true
		for i, k := range names {
			if prev, ok := h[k]; ok {
				h[k] = append(prev, vals[i])
				same = false // a repeated name: its values are no slot's
			} else {
				h[k] = vals[i : i+1 : i+1]
			}
		}
	}
	hc.names, hc.vals, hc.same = names, vals, same
}

// trimBytes is textproto.TrimString for bytes.
func trimBytes(b []byte) []byte {
	for len(b) > 0 && isASCIISpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isASCIISpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isASCIISpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// badValue: a control byte other than tab, which net/http refuses in a
// field value.
func badValue(v string) bool {
	for j := 0; j < len(v); j++ {
		if b := v[j]; b < ' ' && b != '\t' || b == 0x7f {
			return true
		}
	}
	return false
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
