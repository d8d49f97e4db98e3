package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Hostile strings: quotes, SQL and script fragments.
var hostileText = []string{
	`' OR '1'='1`,
	`"; DROP TABLE detail_project_klasifikasi; --`,
	`' UNION SELECT username, password FROM auth_user --`,
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`{{7*7}}${7*7}`,
	"\x00\u202e\ufeff",
}

// leakMarkers are what an error page that leaks internals shows: stack
// traces, debug pages, SQL and settings.
var leakMarkers = []*regexp.Regexp{
	regexp.MustCompile(`Traceback \(most recent call last\)`),
	regexp.MustCompile(`File "[^"]+\.py", line \d+`),
	regexp.MustCompile(`Exception Value|Request Method:|DEBUG = True|SECRET_KEY|settings\.py`),
	regexp.MustCompile(`\b(OperationalError|IntegrityError|ProgrammingError|DatabaseError|AttributeError|TypeError|KeyError|ValueError|IndexError)\b`),
	regexp.MustCompile(`sqlite3|psycopg|django\.db|constraint failed`),
	regexp.MustCompile(`\bSELECT\b[^<>]{1,200}\bFROM\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b`),
	regexp.MustCompile(`goroutine \d+ \[|panic: |runtime error:|\.go:\d+`),
}

// leaks returns the markers found in body, after removing what was sent (an
// echoed input is not a leak).
func leaks(body []byte, sent ...string) []string {
	text := string(body)
	for _, s := range sent {
		if len(s) > 3 {
			text = strings.ReplaceAll(text, s, "")
			if b, err := json.Marshal(s); err == nil {
				text = strings.ReplaceAll(text, strings.Trim(string(b), `"`), "")
			}
		}
	}
	var out []string
	for _, m := range leakMarkers {
		if f := m.FindString(text); f != "" {
			out = append(out, fmt.Sprintf("%q", f))
		}
	}
	return out
}

// judgeHostile records one answer to a hostile input: never a 5xx, never a leak.
func judgeHostile(res *Result, what string, status int, body []byte, sent ...string) (measured bool) {
	if status == http.StatusTooManyRequests {
		return false
	}
	if status >= 500 {
		res.findf("%s: status %d (%s)", what, status, short(body))
	}
	if l := leaks(body, sent...); len(l) > 0 {
		res.findf("%s: status %d, the answer leaks internals: %s", what, status, strings.Join(l, ", "))
	}
	return true
}

func checkHostileQuery(ctx context.Context, e *env, res *Result) {
	s, err := e.login(ctx, e.userIndex(2))
	if err != nil {
		res.fail(err)
		return
	}
	pid := s.project()
	if pid == 0 {
		res.fail(errNoProject)
		return
	}
	search, _ := api.Lookup("search-ahsp")
	tree, _ := api.Lookup("list-pekerjaan.tree")
	type q struct {
		op     api.Operation
		params url.Values
		sent   string
	}
	var qs []q
	for _, t := range append(hostileText, strings.Repeat("A", 8000)) {
		qs = append(qs, q{search, url.Values{"q": {t}}, t}, q{tree, url.Values{"search": {t}}, t})
	}
	for _, l := range []string{"-1", "0", "99999999999999999999999", "1e309", "abc", "' OR 1=1"} {
		qs = append(qs, q{search, url.Values{"q": {"beton"}, "limit": {l}}, l})
	}
	var unmeasured []string
	statuses := map[int]int{}
	for _, x := range qs {
		path := opPath(x.op, pid, 0) + "?" + x.params.Encode()
		r, err := s.do(ctx, req{method: http.MethodGet, path: path})
		if err != nil {
			res.fail(err)
			return
		}
		statuses[r.Status]++
		what := fmt.Sprintf("%s ?%s", x.op.Name, clip(x.params.Encode(), 60))
		if !judgeHostile(res, what, r.Status, r.Body, x.sent) {
			unmeasured = append(unmeasured, what+": still 429 after waiting")
		}
	}
	res.notef("%d hostile queries: statuses %v", len(qs), statuses)
	res.finish(unmeasured)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// hostileBody is one bad request body.
type hostileBody struct {
	name        string
	body        []byte
	contentType string
	sent        string
}

// hostileBodies builds the bad bodies for op in a project with pekerjaan pek.
func hostileBodies(op api.Operation, pek int) []hostileBody {
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	deep := bytes.Repeat([]byte("["), 20000)
	deep = append(deep, bytes.Repeat([]byte("]"), 20000)...)
	generic := []hostileBody{
		{name: "deeply nested JSON (20000 levels)", body: deep},
		{name: "body over the size limit (3 MiB)", body: append(append([]byte(`{"klasifikasi":[],"x":"`), bytes.Repeat([]byte("A"), 3<<20)...), '"', '}')},
		{name: "text/plain content type", body: []byte(`{"items":[]}`), contentType: "text/plain"},
		{name: "form content type", body: []byte("klasifikasi=1&items=2"), contentType: "application/x-www-form-urlencoded"},
		{name: "top-level array of strings", body: []byte(`["x", 1, null]`)},
		{name: "top-level string", body: []byte(`"x"`)},
		{name: "invalid UTF-8", body: []byte("{\"x\":\"\xff\xfe\"}")},
	}
	var out []hostileBody
	text := func(i int) string { return hostileText[i%len(hostileText)] }
	switch op.Name {
	case "list-pekerjaan.save", "list-pekerjaan.upsert":
		for i := 0; i < 3; i++ {
			out = append(out, hostileBody{name: "klasifikasi name " + clip(text(i), 30), sent: text(i),
				body: enc(map[string]any{"klasifikasi": []any{map[string]any{"name": text(i), "ordering_index": 800000 + i, "sub": []any{
					map[string]any{"name": text(i + 3), "pekerjaan": []any{map[string]any{"source_type": "custom", "snapshot_uraian": text(i + 4)}}}}}}})})
		}
		out = append(out,
			hostileBody{name: "non-object klasifikasi item", body: []byte(`{"klasifikasi":["x", 1]}`)},
			hostileBody{name: "string ordering_index", body: []byte(`{"klasifikasi":[{"name":"x","ordering_index":"abc"}]}`)},
			hostileBody{name: "huge ordering_index", body: []byte(`{"klasifikasi":[{"name":"x","ordering_index":99999999999999999999999}]}`)},
			hostileBody{name: "negative id", body: []byte(`{"klasifikasi":[{"id":-5,"name":"x","ordering_index":-1}]}`)})
	case "volume-pekerjaan.save":
		for _, q := range []string{`1e309`, `-1`, `99999999999999999999999999`, `"NaN"`, `"1' OR '1'='1"`} {
			out = append(out, hostileBody{name: "quantity " + q, body: []byte(fmt.Sprintf(`[{"pekerjaan_id":%d,"quantity":%s}]`, pek, q))})
		}
		out = append(out, hostileBody{name: "non-object row", body: []byte(`["x"]`)},
			hostileBody{name: "string pekerjaan_id", body: []byte(`[{"pekerjaan_id":"1 OR 1=1","quantity":1}]`)})
	case "detail-ahsp.save":
		for i := 0; i < 2; i++ {
			out = append(out, hostileBody{name: "row uraian " + clip(text(i+3), 30), sent: text(i + 3),
				body: enc(map[string]any{"rows": []any{map[string]any{"kategori": "TK", "kode": text(i), "uraian": text(i + 3), "satuan": "OH", "koefisien": "1"}}})})
		}
		out = append(out,
			hostileBody{name: "koefisien 1e309", body: []byte(`{"rows":[{"kategori":"TK","kode":"X","uraian":"x","koefisien":1e309}]}`)},
			hostileBody{name: "negative koefisien", body: []byte(`{"rows":[{"kategori":"TK","kode":"X","uraian":"x","koefisien":-1}]}`)},
			hostileBody{name: "naive client_updated_at", body: []byte(`{"rows":[],"client_updated_at":"2026-01-01T00:00:00"}`)},
			hostileBody{name: "rows not a list", body: []byte(`{"rows":{"a":1}}`)})
	case "harga-items.save":
		out = append(out,
			hostileBody{name: "markup 1e309", body: []byte(`{"markup_percent":1e309}`)},
			hostileBody{name: "negative price", body: []byte(`{"items":[{"id":1,"harga_satuan":-1}]}`)},
			hostileBody{name: "huge price", body: []byte(`{"items":[{"id":1,"harga_satuan":99999999999999999999999999999}]}`)},
			hostileBody{name: "SQL in id", body: []byte(`{"items":[{"id":"1 OR 1=1","harga_satuan":1}]}`)},
			hostileBody{name: "naive client_updated_at", body: []byte(`{"markup_percent":10,"client_updated_at":"2026-01-01T00:00:00"}`)})
	}
	// The operation's own inputs first: a long-window limit cuts the tail.
	return append(out, generic...)
}

// hostileUser is one user the hostile bodies are spread over: each user has
// its own rate-limit counters, so spreading them shortens the waits.
type hostileUser struct {
	s   *session
	pid int
	pek int
}

func (e *env) hostileUsers(ctx context.Context) ([]hostileUser, error) {
	var out []hostileUser
	seen := map[int]bool{}
	for _, i := range []int{2, 0, 1} {
		i = e.userIndex(i)
		if seen[i] {
			continue
		}
		seen[i] = true
		s, err := e.login(ctx, i)
		if err != nil {
			return nil, err
		}
		pid, ok := s.writable()
		if !ok {
			continue // no project this user's inputs may write to
		}
		d, err := s.read(ctx, pid)
		if err != nil {
			return nil, err
		}
		pek := 1
		if d.custom != 0 {
			pek = d.custom
		} else if len(d.pekerjaan) > 0 {
			pek = d.pekerjaan[0]
		}
		out = append(out, hostileUser{s: s, pid: pid, pek: pek})
	}
	return out, nil
}

func checkHostileBody(ctx context.Context, e *env, res *Result) {
	users, err := e.hostileUsers(ctx)
	if err != nil {
		res.fail(err)
		return
	}
	if len(users) == 0 {
		res.skip("hostile bodies may store data: " + e.cfg.WriteReason)
		return
	}
	// Round-robin over the operations so no one of them meets its limit
	// early, and over the users.
	ops := bodyOps()
	most := 0
	count := map[string]int{}
	for _, op := range ops {
		n := len(hostileBodies(op, 1))
		// A window longer than the checks wait (the app's bulk limit is 5
		// per 300 s) bounds how many inputs each user can send.
		// The other checks used up to three of the first users' requests.
		if l := e.limitFor(op.Category); time.Duration(l.WindowSeconds)*time.Second > maxWait && n > len(users)*(l.Requests-1)-3 {
			k := max(len(users)*(l.Requests-1)-3, 1)
			res.notef("%s: %d of %d hostile bodies sent (declared limit %d per %d s, %d users)", op.Name, k, n, l.Requests, l.WindowSeconds, len(users))
			n = k
		}
		count[op.Name] = n
		most = max(most, n)
	}
	var unmeasured []string
	sent := 0
	for i := 0; i < most; i++ {
		for _, op := range ops {
			if i >= count[op.Name] {
				continue
			}
			u := users[i%len(users)]
			hb := hostileBodies(op, u.pek)[i]
			r := req{method: op.Method, path: opPath(op, u.pid, u.pek), body: hb.body}
			if hb.contentType != "" {
				r.header = http.Header{"Content-Type": {hb.contentType}}
			}
			resp, err := u.s.do(ctx, r)
			// A user whose window is spent hands the input to the next one.
			for k := 1; err == nil && resp.Status == http.StatusTooManyRequests && k < len(users); k++ {
				v := users[(i+k)%len(users)]
				hb = hostileBodies(op, v.pek)[i]
				r.path, r.body = opPath(op, v.pid, v.pek), hb.body
				resp, err = v.s.do(ctx, r)
			}
			if err != nil {
				res.fail(fmt.Errorf("%s %s: %w", op.Name, hb.name, err))
				return
			}
			sent++
			what := op.Name + ", " + hb.name
			if !judgeHostile(res, what, resp.Status, resp.Body, hb.sent) {
				unmeasured = append(unmeasured, what+": still 429 after waiting")
			}
		}
	}
	res.notef("%d hostile bodies over %d operations, spread over %d users", sent, len(ops), len(users))
	unmeasured = append(unmeasured, textPlainWrites(ctx, e, users[0], res)...)
	// The projects still read: nothing the inputs did broke the store.
	for _, u := range users {
		if _, err := u.s.read(ctx, u.pid); err != nil {
			res.findf("after the hostile bodies: %v", err)
		}
	}
	res.finish(unmeasured)
}

// textPlainOps are the saves whose effective JSON is also sent as
// text/plain: a cross-site form can send that content type without a CORS
// preflight, so whether the app takes it is worth knowing.
var textPlainOps = []string{"detail-ahsp.save", "harga-items.save"}

// textPlainWrites sends an effective write of each textPlainOps operation as
// text/plain and reads back whether it was stored. A refusal (4xx) passes; a
// stored write is a finding under Config.JSONOnly and an advisory without
// it; a 5xx is a finding either way.
func textPlainWrites(ctx context.Context, e *env, u hostileUser, res *Result) (unmeasured []string) {
	d, err := u.s.read(ctx, u.pid)
	if err != nil {
		return []string{"text/plain writes: " + err.Error()}
	}
	found := map[string]bool{}
	for _, w := range writes(d, "text-plain") {
		if !slices.Contains(textPlainOps, w.op.Name) {
			continue
		}
		found[w.op.Name] = true
		what := w.op.Name + ", JSON as text/plain"
		before, err := u.s.state(ctx, u.pid, w)
		if err != nil {
			unmeasured = append(unmeasured, what+": "+err.Error())
			continue
		}
		r, err := u.s.do(ctx, req{method: w.op.Method, path: opPath(w.op, u.pid, w.pek), body: w.body,
			header: http.Header{"Content-Type": {"text/plain"}}})
		if err != nil {
			unmeasured = append(unmeasured, what+": "+err.Error())
			continue
		}
		if !judgeHostile(res, what, r.Status, r.Body) {
			unmeasured = append(unmeasured, what+": still 429 after waiting")
			continue
		}
		after, err := u.s.state(ctx, u.pid, w)
		if err != nil {
			unmeasured = append(unmeasured, what+": "+err.Error())
			continue
		}
		switch {
		case after == before:
			res.notef("%s: status %d, %s unchanged", what, r.Status, w.readOp.Name)
		case e.cfg.JSONOnly:
			res.findf("%s: status %d and stored (%s changed), but the declared policy takes JSON only as application/json", what, r.Status, w.readOp.Name)
		default:
			res.advisef("%s: status %d and stored (%s changed)", what, r.Status, w.readOp.Name)
		}
	}
	if len(res.Advisories) > 0 {
		res.notef("JSON sent as text/plain is stored: a cross-site form can send that content type without a CORS preflight, so only the CSRF check stops it; harness.yaml security.json_only: true makes it a finding")
	}
	for _, n := range textPlainOps {
		if found[n] {
			continue
		}
		why := n + " as text/plain: not sent, no effective write for it (detail-ahsp.save needs a custom pekerjaan)"
		if e.cfg.JSONOnly {
			unmeasured = append(unmeasured, why) // the declared policy asks for it
		} else {
			res.notef("%s", why)
		}
	}
	return unmeasured
}
