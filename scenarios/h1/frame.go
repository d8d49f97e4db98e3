package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"time"
)

// Encoder renders requests to bytes exactly as a Transport writes them, for
// a caller that does its own socket I/O (the load engine's event loop). It
// is not safe for concurrent use.
type Encoder struct {
	buf  bytes.Buffer
	bw   *bufio.Writer
	keys []string
	last lastRequest
}

// lastRequest is what the bytes in an Encoder's buffer were rendered from,
// when that was a request without a body: a closed loop sends the same one
// again and again, and rendering it is much of its CPU per request.
type lastRequest struct {
	ok     bool
	method string
	url    url.URL
	host   string
	close  bool
	names  []string // the header's contents then (a caller may change its map)
	counts []int
	values []string
}

// Encode returns req's bytes, valid until the next call. It consumes and
// closes req.Body, as a Transport does.
func (e *Encoder) Encode(req *http.Request) ([]byte, error) {
	if e.last.ok && e.last.same(req) {
		return e.buf.Bytes(), nil
	}
	e.last.ok = false
	e.buf.Reset()
	if e.bw == nil {
		e.bw = bufio.NewWriterSize(&e.buf, 4096)
	} else {
		e.bw.Reset(&e.buf)
	}
	if err := writeRequestTo(e.bw, &e.keys, req); err != nil {
		return nil, err
	}
	if err := e.bw.Flush(); err != nil {
		return nil, err
	}
	e.last.remember(req)
	return e.buf.Bytes(), nil
}

// repeatable: req's bytes depend on nothing but what same compares: no
// body, and no trace hooks (Request.Write calls them).
func repeatable(req *http.Request) bool {
	return (req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 && req.TransferEncoding == nil &&
		req.Trailer == nil && req.URL != nil && httptrace.ContextClientTrace(req.Context()) == nil
}

// remember notes req when it is repeatable.
func (l *lastRequest) remember(req *http.Request) {
	if !repeatable(req) {
		return
	}
	l.method, l.url, l.host, l.close = req.Method, *req.URL, req.Host, req.Close
	l.names, l.counts, l.values = l.names[:0], l.counts[:0], l.values[:0]
	for k, vs := range req.Header {
		l.names = append(l.names, k)
		l.counts = append(l.counts, len(vs))
		l.values = append(l.values, vs...)
	}
	l.ok = true
}

// same: req would be rendered to the remembered bytes.
func (l *lastRequest) same(req *http.Request) bool {
	if !repeatable(req) || req.Method != l.method || *req.URL != l.url || req.Host != l.host || req.Close != l.close ||
		len(req.Header) != len(l.names) {
		return false
	}
	j := 0
	for i, k := range l.names {
		vs, ok := req.Header[k]
		if !ok || len(vs) != l.counts[i] {
			return false
		}
		for _, v := range vs {
			if v != l.values[j] {
				return false
			}
			j++
		}
	}
	return true
}

// ErrIncomplete says a buffer does not hold a whole answer yet.
var ErrIncomplete = errors.New("h1: incomplete response")

// Answer is one response read whole from a buffer.
type Answer struct {
	StatusCode    int
	Status        string // "200 OK"
	Header        http.Header
	ContentLength int64 // -1: unknown (chunked or read to close)
	// Body is the whole body, decoded; it may point into the parsed buffer.
	Body []byte
	// Close: the connection cannot carry another request after this one.
	Close bool
	// N is how many bytes of the buffer the answer took, interim 1xx
	// answers included.
	N int
	// End is when RunLoop woke to the answer's last bytes (one clock
	// reading per wake-up, not per answer); zero from ParseAnswer.
	End time.Time
}

// ParseAnswer reads the answer to req at the start of buf, exactly as
// http.ReadResponse and reading its body to the end would. eof says the
// connection ended after buf. It returns ErrIncomplete while buf holds
// only part of the answer and the connection is open; a head longer than
// maxHead is an error. With hc (a caller that keeps nothing of an answer
// past its use), simple answers parse into hc's map and strings.
func ParseAnswer(buf []byte, eof bool, req *http.Request, maxHead int64, hc *HeadCache) (Answer, error) {
	off := 0
	for interim := 0; ; interim++ {
		a, err := parseOne(buf[off:], eof, req, maxHead, hc)
		if err != nil {
			return Answer{}, err
		}
		if a.StatusCode >= 100 && a.StatusCode < 200 && a.StatusCode != http.StatusSwitchingProtocols {
			if interim+1 >= maxInterim {
				return Answer{}, errors.New("h1: too many 1xx informational responses")
			}
			off += a.N
			continue
		}
		if a.StatusCode == http.StatusSwitchingProtocols {
			a.Close = true // what follows is not HTTP/1.1
		}
		a.N += off
		return a, nil
	}
}

func parseOne(buf []byte, eof bool, req *http.Request, maxHead int64, hc *HeadCache) (Answer, error) {
	if hd, ok := readHead(buf, req, maxHead, hc, nil); ok {
		a := Answer{StatusCode: hd.code, Status: hd.status, Header: hd.header, ContentLength: hd.contentLength, Close: hd.closing, N: hd.n}
		if !hd.framed {
			return a, nil
		}
		end := int64(hd.n) + hd.contentLength
		if int64(len(buf)) < end {
			if eof {
				return Answer{}, io.ErrUnexpectedEOF
			}
			return Answer{}, ErrIncomplete
		}
		a.Body, a.N = buf[hd.n:end], int(end)
		return a, nil
	}
	headEnd := endOfHead(buf)
	if headEnd < 0 {
		switch {
		case int64(len(buf)) > maxHead:
			return Answer{}, headTooLarge(maxHead)
		case !eof:
			return Answer{}, ErrIncomplete
		case len(buf) == 0:
			return Answer{}, fmt.Errorf("%w: %w", errNothingRead, io.EOF)
		}
		return Answer{}, io.ErrUnexpectedEOF
	}
	if int64(headEnd) > maxHead {
		return Answer{}, headTooLarge(maxHead)
	}
	// Anything else is net/http's to parse, from the start, each time more
	// bytes come: such answers (chunked, read to close, 1xx) are the rare ones.
	src := bytes.NewReader(buf)
	br := bufio.NewReader(src)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if !eof && endOfInput(err) {
			return Answer{}, ErrIncomplete
		}
		return Answer{}, err
	}
	toClose := resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && resp.Body != http.NoBody
	if toClose && !eof {
		return Answer{}, ErrIncomplete // the body ends where the connection does
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		// net/http refuses a trailer whose end it cannot see yet as too long.
		cutTrailer := strings.Contains(err.Error(), "suspiciously long trailer") && !bytes.Contains(buf[headEnd:], []byte("\r\n\r\n"))
		if !eof && (endOfInput(err) || cutTrailer) {
			return Answer{}, ErrIncomplete
		}
		return Answer{}, err
	}
	a := Answer{
		StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, ContentLength: resp.ContentLength,
		Body: body, Close: resp.Close || toClose, N: len(buf) - src.Len() - br.Buffered(),
	}
	return a, nil
}

// endOfInput: net/http ran out of bytes (some of its errors, such as a
// chunked trailer's, say so only in words).
func endOfInput(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF")
}

// endOfHead is the length of the head at the start of buf, its blank line
// included (CRLF or a bare LF, as net/http accepts), or -1.
func endOfHead(buf []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(buf[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(buf) && buf[i] == '\n':
			return i + 1
		case i+1 < len(buf) && buf[i] == '\r' && buf[i+1] == '\n':
			return i + 2
		}
	}
}

func headTooLarge(limit int64) error {
	return fmt.Errorf("h1: response headers exceeded %d bytes; aborted", limit)
}
