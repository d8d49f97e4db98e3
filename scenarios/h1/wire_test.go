package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteRequestMatchesNetHTTP: writeRequest puts on the wire exactly
// what Request.Write does, for the shapes it writes itself and the ones it
// hands over.
func TestWriteRequestMatchesNetHTTP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		url    string
		body   string
		header http.Header
		edit   func(*http.Request)
		fast   bool // written by writeRequest itself
	}{
		{name: "get", method: "GET", url: "http://127.0.0.1:8080/detail_project/api/project/1/rekap/", fast: true},
		{name: "get with query and headers", method: "GET", url: "http://h/a/b?q=beton&limit=10", fast: true,
			header: http.Header{"Cookie": {"sessionid=abc; csrftoken=x"}, "X-Csrftoken": {"x"}, "Accept": {"application/json"}, "X-Multi": {"1", "2"}}},
		{name: "post json", method: "POST", url: "http://h/save/", body: `{"items":[{"id":1}]}`, fast: true,
			header: http.Header{"Content-Type": {"application/json"}, "Referer": {"http://h/"}}},
		{name: "delete without body", method: "DELETE", url: "http://h/x/", fast: true},
		{name: "post without body sends Content-Length 0", method: "POST", url: "http://h/x/", fast: true},
		{name: "patch with NoBody", method: "PATCH", url: "http://h/x/", fast: true, edit: func(r *http.Request) { r.Body = http.NoBody }},
		{name: "head", method: "HEAD", url: "http://h/x/", fast: true},
		{name: "close", method: "GET", url: "http://h/x/", fast: true, edit: func(r *http.Request) { r.Close = true }},
		{name: "close with a Connection header", method: "GET", url: "http://h/x/", header: http.Header{"Connection": {"keep-alive, close"}},
			edit: func(r *http.Request) { r.Close = true }},
		{name: "host header override", method: "GET", url: "http://127.0.0.1/x/", fast: true, edit: func(r *http.Request) { r.Host = "app.example.test" }},
		{name: "user agent set", method: "GET", url: "http://h/x/", fast: true, header: http.Header{"User-Agent": {" harness/1 "}}},
		{name: "user agent empty sends none", method: "GET", url: "http://h/x/", fast: true, header: http.Header{"User-Agent": {""}}},
		{name: "values with newlines and blanks", method: "GET", url: "http://h/x/", fast: true, header: http.Header{"X-A": {" a\r\nb ", "c\n"}}},
		{name: "excluded and invalid names are left out", method: "GET", url: "http://h/x/", fast: true,
			header: http.Header{"Host": {"other"}, "Content-Length": {"9"}, "Trailer": {"x"}, "Bad Name": {"v"}, "lower-case": {"kept as is"}}},
		{name: "escaped path", method: "GET", url: "http://h/a%20b/c%2Fd?x=%41", fast: true},
		{name: "ipv6 zone host: net/http's", method: "GET", url: "http://[fe80::1%25eth0]:80/x/"},
		{name: "chunked: net/http's", method: "POST", url: "http://h/x/", body: "abc", edit: func(r *http.Request) { r.TransferEncoding = []string{"chunked"}; r.ContentLength = -1 }},
		{name: "empty method is GET", method: "", url: "http://h/x/", fast: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() *http.Request {
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				req, err := http.NewRequest(tc.method, tc.url, body)
				require.NoError(t, err)
				for k, v := range tc.header {
					req.Header[k] = v
				}
				if tc.edit != nil {
					tc.edit(req)
				}
				return req
			}
			var want bytes.Buffer
			require.NoError(t, mk().Write(&want))
			var got bytes.Buffer
			c := &conn{bw: bufio.NewWriter(&got)}
			require.NoError(t, c.writeRequest(mk()))
			require.NoError(t, c.bw.Flush())
			require.Equal(t, want.String(), got.String())
			req := mk()
			require.Equal(t, tc.fast, simpleRequest(req) && !(req.Close && len(req.Header["Connection"]) > 0) && !strings.Contains(req.URL.Host, "%"), "fast path taken")
		})
	}
}

// TestWriteRequestBodyLength: a body shorter or longer than ContentLength
// is the same error as net/http's.
func TestWriteRequestBodyLength(t *testing.T) {
	for _, cl := range []int64{2, 5} {
		mk := func() *http.Request {
			req, err := http.NewRequest("POST", "http://h/x/", strings.NewReader("abc"))
			require.NoError(t, err)
			req.ContentLength = cl
			return req
		}
		werr := mk().Write(io.Discard)
		c := &conn{bw: bufio.NewWriter(io.Discard)}
		gerr := c.writeRequest(mk())
		require.Error(t, werr)
		require.Error(t, gerr)
		require.Equal(t, werr.Error(), gerr.Error())
	}
}

// answerCases are raw answers and whether readResponse parses them itself.
var answerCases = []struct {
	name, method, raw string
	fast              bool
}{
	{"json", "GET", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Wed, 02 Dec 2026 04:00:00 GMT\r\nContent-Length: 11\r\n\r\n{\"ok\":true}", true},
	{"429 with repeated headers", "GET", "HTTP/1.1 429 Too Many Requests\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nRetry-After: 3\r\nX-Worker-Id: 2-17\r\nContent-Length: 2\r\n\r\n{}", true},
	{"no reason phrase", "GET", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", true},
	{"content length 0", "POST", "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", true},
	{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true},
	{"connection keep-alive", "GET", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", true},
	{"204", "GET", "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n", true},
	{"304 with a length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", true},
	{"head keeps the announced length", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", true},
	{"head without a length", "HEAD", "HTTP/1.1 200 OK\r\n\r\n", true},
	{"redirect", "GET", "HTTP/1.1 302 Found\r\nLocation: /accounts/login/?next=/x/\r\nContent-Length: 0\r\n\r\n", true},
	{"blanks and tabs around values", "GET", "HTTP/1.1 200 OK\r\nX-A:  \tv w\t \r\nContent-Length:  2 \r\n\r\nok", true},
	{"chunked: net/http's", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false},
	{"non-canonical name: net/http's", "GET", "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nContent-Length: 2\r\n\r\nok", false},
	{"two lengths: net/http's", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false},
	{"pragma: net/http's", "GET", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok", false},
	{"HTTP/1.0: net/http's", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
	{"folded line: net/http's", "GET", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok", false},
	{"interim: net/http's", "GET", "HTTP/1.1 100 Continue\r\n\r\n", false},
}

// TestReadResponseMatchesNetHTTP: what readResponse returns (status,
// header, length, close, body, what is left on the connection) equals
// http.ReadResponse's, for the answers it parses itself and the ones it
// hands over.
func TestReadResponseMatchesNetHTTP(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" // a pipelined answer must stay unread
	for _, tc := range answerCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://h/x/", nil)
			require.NoError(t, err)
			raw := tc.raw + next
			want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), req)
			require.NoError(t, err)
			wantBody, err := io.ReadAll(want.Body)
			require.NoError(t, err)

			c := &conn{br: bufio.NewReader(strings.NewReader(raw))}
			_, _ = c.br.Peek(1)
			require.Equal(t, tc.fast, c.parseSimple(req, DefaultMaxResponseHeaderBytes, nil) != nil, "fast path taken")
			c = &conn{br: bufio.NewReader(strings.NewReader(raw))}
			_, _ = c.br.Peek(1)
			got, _, err := c.readResponse(req, DefaultMaxResponseHeaderBytes, nil)
			require.NoError(t, err)
			gotBody, err := io.ReadAll(got.Body)
			require.NoError(t, err)

			require.Equal(t, want.Status, got.Status)
			require.Equal(t, want.StatusCode, got.StatusCode)
			require.Equal(t, want.Proto, got.Proto)
			require.Equal(t, want.Header, got.Header)
			require.Equal(t, want.ContentLength, got.ContentLength)
			require.Equal(t, want.Close, got.Close)
			require.Equal(t, want.TransferEncoding, got.TransferEncoding)
			require.Equal(t, want.Body == http.NoBody, got.Body == http.NoBody)
			require.Equal(t, string(wantBody), string(gotBody))
			rest, err := io.ReadAll(c.br)
			require.NoError(t, err)
			require.Equal(t, next, string(rest), "the next answer stays unread")
		})
	}
}

// TestReadResponseBodyCutShort: a connection that ends inside a
// Content-Length body is an unexpected EOF, as with net/http.
func TestReadResponseBodyCutShort(t *testing.T) {
	req, err := http.NewRequest("GET", "http://h/x/", nil)
	require.NoError(t, err)
	c := &conn{br: bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))}
	_, _ = c.br.Peek(1)
	resp, _, err := c.readResponse(req, DefaultMaxResponseHeaderBytes, nil)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestParseAnswerMatchesNetHTTP: ParseAnswer on a buffer gives what
// http.ReadResponse and reading the body to the end give on a connection,
// says how many bytes the answer took, and asks for more on every shorter
// prefix (or, when the connection ended there, fails).
func TestParseAnswerMatchesNetHTTP(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	type tcase struct {
		name, method, raw string
		toClose           bool // the body ends with the connection
	}
	cases := []tcase{
		{"chunked with a trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", false},
		{"interim then final", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false},
		{"bare LF head", "GET", "HTTP/1.1 200 OK\nX-A: b\nContent-Length: 2\n\nok", false},
		{"read to close", "GET", "HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nall of it", true},
	}
	for _, c := range answerCases {
		if !strings.HasPrefix(c.raw, "HTTP/1.1 100") { // a lone interim answer is not a whole one
			cases = append(cases, tcase{c.name, c.method, c.raw, false})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://h/x/", nil)
			require.NoError(t, err)
			raw := tc.raw
			if !tc.toClose {
				raw += next
			}
			br := bufio.NewReader(strings.NewReader(raw))
			want, err := http.ReadResponse(br, req)
			for err == nil && want.StatusCode < 200 { // interim answers are skipped
				want, err = http.ReadResponse(br, req)
			}
			require.NoError(t, err)
			wantBody, err := io.ReadAll(want.Body)
			require.NoError(t, err)

			for _, hdr := range []http.Header{nil, {"Stale": {"x"}}} {
				got, err := ParseAnswer([]byte(raw), tc.toClose, req, DefaultMaxResponseHeaderBytes, hdr)
				require.NoError(t, err)
				require.Equal(t, want.Status, got.Status)
				require.Equal(t, want.StatusCode, got.StatusCode)
				require.Equal(t, want.Header, got.Header)
				require.Equal(t, want.ContentLength, got.ContentLength)
				require.Equal(t, want.Close || tc.toClose, got.Close)
				require.Equal(t, string(wantBody), string(got.Body))
				require.Equal(t, len(tc.raw), got.N, "bytes taken")
			}
			for i := range len(tc.raw) {
				_, err := ParseAnswer([]byte(tc.raw[:i]), false, req, DefaultMaxResponseHeaderBytes, nil)
				require.ErrorIs(t, err, ErrIncomplete, "prefix of %d bytes", i)
				_, err = ParseAnswer([]byte(tc.raw[:i]), true, req, DefaultMaxResponseHeaderBytes, nil)
				if tc.toClose && i >= strings.Index(tc.raw, "\r\n\r\n")+4 {
					require.NoError(t, err, "a shorter read-to-close body is whole at the end")
					continue
				}
				require.Error(t, err, "prefix of %d bytes, then the connection ended", i)
				require.NotErrorIs(t, err, ErrIncomplete)
			}
			if tc.toClose {
				_, err := ParseAnswer([]byte(raw), false, req, DefaultMaxResponseHeaderBytes, nil)
				require.ErrorIs(t, err, ErrIncomplete, "a read-to-close body is whole only at the end")
			}
		})
	}
	req, _ := http.NewRequest("GET", "http://h/x/", nil)
	_, err := ParseAnswer([]byte("HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("h", 100)), false, req, 64, nil)
	require.ErrorContains(t, err, "response headers exceeded 64 bytes")
	_, err = ParseAnswer(nil, true, req, 64, nil)
	require.ErrorIs(t, err, errNothingRead)
}
