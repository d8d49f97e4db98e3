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

// TestReadResponseMatchesNetHTTP: what readResponse returns (status,
// header, length, close, body, what is left on the connection) equals
// http.ReadResponse's, for the answers it parses itself and the ones it
// hands over.
func TestReadResponseMatchesNetHTTP(t *testing.T) {
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" // a pipelined answer must stay unread
	for _, tc := range []struct {
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
	} {
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
