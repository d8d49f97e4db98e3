package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
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

// TestEncoderFollowsEveryRequest: one Encoder rendering a stream of
// requests (the same one again, its header map or URL changed in place,
// another method, host, close flag, body or context) gives each request's
// bytes exactly as Request.Write does.
func TestEncoderFollowsEveryRequest(t *testing.T) {
	req, err := http.NewRequest("GET", "http://h/a/?q=1", nil)
	require.NoError(t, err)
	req.Header.Set("Cookie", "sessionid=a")
	type ctxKey struct{}
	traced := 0
	steps := []struct {
		name string
		edit func(r *http.Request) *http.Request
	}{
		{"first", func(r *http.Request) *http.Request { return r }},
		{"again", func(r *http.Request) *http.Request { return r }},
		{"a value changed in the same map", func(r *http.Request) *http.Request { r.Header.Set("Cookie", "sessionid=b"); return r }},
		{"a value added to a name", func(r *http.Request) *http.Request { r.Header.Add("Cookie", "x=1"); return r }},
		{"a name added", func(r *http.Request) *http.Request { r.Header.Set("X-Csrftoken", "t"); return r }},
		{"a name swapped", func(r *http.Request) *http.Request {
			r.Header.Del("X-Csrftoken")
			r.Header.Set("Accept", "t")
			return r
		}},
		{"an empty user agent", func(r *http.Request) *http.Request { r.Header["User-Agent"] = nil; return r }},
		{"the URL changed in place", func(r *http.Request) *http.Request { r.URL.Path = "/b/"; return r }},
		{"the query changed in place", func(r *http.Request) *http.Request { r.URL.RawQuery = "q=2"; return r }},
		{"another method", func(r *http.Request) *http.Request { r.Method = "DELETE"; return r }},
		{"another host", func(r *http.Request) *http.Request { r.Host = "app.test"; return r }},
		{"close", func(r *http.Request) *http.Request { r.Close = true; return r }},
		{"a body", func(r *http.Request) *http.Request {
			r.Method = "POST"
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("abc")), 3
			return r
		}},
		{"the same body again", func(r *http.Request) *http.Request {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("xyz")), 3
			return r
		}},
		{"no body", func(r *http.Request) *http.Request { r.Body, r.ContentLength = nil, 0; return r }},
		{"a context", func(r *http.Request) *http.Request {
			return r.WithContext(context.WithValue(context.Background(), ctxKey{}, 1))
		}},
		{"back to the background", func(r *http.Request) *http.Request { return r.WithContext(context.Background()) }},
		{"trace hooks", func(r *http.Request) *http.Request {
			return r.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{WroteHeaders: func() { traced++ }}))
		}},
	}
	var e Encoder
	for _, st := range steps {
		req = st.edit(req)
		var body []byte
		if req.Body != nil {
			body, err = io.ReadAll(req.Body)
			require.NoError(t, err)
		}
		r1, r2 := *req, *req
		r1.Body, r2.Body = io.NopCloser(bytes.NewReader(body)), io.NopCloser(bytes.NewReader(body))
		if body == nil {
			r1.Body, r2.Body = nil, nil
		}
		var want bytes.Buffer
		require.NoError(t, r1.Write(&want), st.name)
		got, err := e.Encode(&r2)
		require.NoError(t, err, st.name)
		require.Equal(t, want.String(), string(got), st.name)
	}
	require.Equal(t, 2, traced, "the hooks ran for net/http's rendering and the encoder's, not skipped as a repeat")
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
	{"bare LF after the status line: net/http's", "GET", "HTTP/1.1 200 OK\nX-A: b\r\nContent-Length: 2\r\n\r\nok", false},
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

// staleCache is a HeadCache that parsed an answer with other fields.
func staleCache(t *testing.T) *HeadCache {
	hc := new(HeadCache)
	req, err := http.NewRequest("GET", "http://h/x/", nil)
	require.NoError(t, err)
	_, err = ParseAnswer([]byte("HTTP/1.1 200 OK\r\nStale: x\r\nContent-Length: 0\r\n\r\n"), false, req, DefaultMaxResponseHeaderBytes, hc)
	require.NoError(t, err)
	return hc
}

// TestHeadCacheFollowsEveryAnswer: one HeadCache parsing a stream of
// answers (the same names with new values, other names, repeated names,
// Connection: close, answers net/http parses, in several orders) gives
// each answer's fields exactly as a parse without a cache does.
func TestHeadCacheFollowsEveryAnswer(t *testing.T) {
	var stream []string
	for _, c := range answerCases {
		if c.method == "GET" && !strings.HasPrefix(c.raw, "HTTP/1.1 100") {
			stream = append(stream, c.raw)
		}
	}
	json := answerCases[0].raw
	variants := []string{
		json,
		strings.Replace(json, "04:00:00", "04:00:01", 1),          // a new value
		strings.Replace(json, "application/json", "text/html", 1), // another
		strings.Replace(json, "Content-Type", "X-Worker-Id", 1),   // a new name
		strings.Replace(json, "Date: ", "Content-Type: ", 1),      // a repeated name
		strings.Replace(json, "200 OK", "200 Fine", 1),            // a new reason
		strings.Replace(json, "Content-Length: 11", "Connection: close\r\nContent-Length: 11", 1),
	}
	var order []string
	order = append(order, stream...)
	order = append(order, variants...)
	order = append(order, variants...)
	for i := len(stream) - 1; i >= 0; i-- {
		order = append(order, stream[i], json, stream[i])
	}
	req, err := http.NewRequest("GET", "http://h/x/", nil)
	require.NoError(t, err)
	hc := new(HeadCache)
	for i, raw := range order {
		want, err := ParseAnswer([]byte(raw), true, req, DefaultMaxResponseHeaderBytes, nil)
		require.NoError(t, err)
		got, err := ParseAnswer([]byte(raw), true, req, DefaultMaxResponseHeaderBytes, hc)
		require.NoError(t, err)
		require.Equal(t, want.Header, got.Header, "answer %d: %q", i, raw)
		require.Equal(t, want.Status, got.Status, "answer %d", i)
		require.Equal(t, want.Close, got.Close, "answer %d", i)
		require.Equal(t, want.ContentLength, got.ContentLength, "answer %d", i)
	}
	// The same bytes answering a HEAD and a GET in turn are two answers.
	head, err := http.NewRequest("HEAD", "http://h/x/", nil)
	require.NoError(t, err)
	raw := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	for i, r := range []*http.Request{req, head, head, req, req, head} {
		want, err := ParseAnswer(raw, false, r, DefaultMaxResponseHeaderBytes, nil)
		require.NoError(t, err)
		got, err := ParseAnswer(raw, false, r, DefaultMaxResponseHeaderBytes, hc)
		require.NoError(t, err)
		require.Equal(t, want.N, got.N, "%d: %s", i, r.Method)
		require.Equal(t, string(want.Body), string(got.Body), "%d: %s", i, r.Method)
		require.Equal(t, want.Header, got.Header, "%d: %s", i, r.Method)
	}
}

// TestHeadCacheParsesRepeatsWithoutAllocating: the load engine's steady
// state, the same simple answer again and again, costs no allocation.
func TestHeadCacheParsesRepeatsWithoutAllocating(t *testing.T) {
	req, err := http.NewRequest("GET", "http://h/x/", nil)
	require.NoError(t, err)
	raw := []byte(answerCases[0].raw)
	hc := new(HeadCache)
	_, err = ParseAnswer(raw, false, req, DefaultMaxResponseHeaderBytes, hc)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseAnswer(raw, false, req, DefaultMaxResponseHeaderBytes, hc); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
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

			for _, hc := range []*HeadCache{nil, staleCache(t)} {
				got, err := ParseAnswer([]byte(raw), tc.toClose, req, DefaultMaxResponseHeaderBytes, hc)
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
