package security

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/treeread"
)

// csrfVariant is one way of sending an unsafe request without the session's
// own token.
type csrfVariant struct {
	name string
	set  func(r *req, other string)
}

var csrfVariants = []csrfVariant{
	{"no token", func(r *req, _ string) { r.noCSRF = true }},
	{"wrong token", func(r *req, _ string) { r.csrf = randomToken() }},
	{"another session's token", func(r *req, other string) { r.csrf = other }},
}

// randomToken is a well-formed token (Django's length and alphabet) that no
// session holds.
func randomToken() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 32)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// inertBody is invalid JSON: an accepted request still changes nothing, so it
// can be sent where the checks may not write; a 400 then means the CSRF
// check let it through.
var inertBody = []byte("{")

func checkCSRF(ctx context.Context, e *env, res *Result) {
	a, err := e.login(ctx, 0)
	if err != nil {
		res.fail(err)
		return
	}
	// Another session (of another user when there is one): its token is
	// valid for it, not for a.
	b, err := e.login(ctx, e.userIndex(1))
	if err != nil {
		res.fail(err)
		return
	}
	other := b.c.CSRFToken()
	if other == "" || other == a.c.CSRFToken() {
		res.fail(fmt.Errorf("could not get a second session's CSRF token (got %q)", other))
		return
	}
	pid := a.project()
	if pid == 0 {
		res.fail(errNoProject)
		return
	}
	var unmeasured []string
	if wp, ok := a.writable(); ok {
		pid = wp
		// Each write is built from a fresh read: an accepted upsert
		// replaces rows and their ids.
		for i := 0; ; i++ {
			d, err := a.read(ctx, pid)
			if errors.Is(err, treeread.ErrUnconfirmed) {
				// The writes are built on the tree: not measured, not failed.
				unmeasured = append(unmeasured, err.Error())
				break
			}
			if err != nil {
				res.fail(err)
				return
			}
			ws := writes(d, "csrf")
			if i >= len(ws) {
				break
			}
			unmeasured = append(unmeasured, csrfEffective(ctx, a, pid, ws[i], other, res)...)
		}
	} else {
		res.notef("inert bodies only (%s): a refused request is judged by its 403, nothing could change", e.cfg.WriteReason)
		for _, op := range bodyOps() {
			for _, v := range csrfVariants {
				r := req{method: op.Method, path: opPath(op, pid, 1), body: inertBody}
				v.set(&r, other)
				resp, err := a.do(ctx, r)
				if err != nil {
					res.fail(err)
					return
				}
				res.notef("%s, %s: status %d", op.Name, v.name, resp.Status)
				if resp.Status != http.StatusForbidden {
					res.findf("%s with %s: status %d, want 403", op.Name, v.name, resp.Status)
				}
			}
		}
	}
	unmeasured = append(unmeasured, csrfLogin(ctx, e, res)...)
	res.finish(unmeasured)
}

// csrfEffective sends w with each bad token, reads back that nothing
// changed, then sends it with the right token to prove the read-back would
// have shown a change.
func csrfEffective(ctx context.Context, a *session, pid int, w write, other string, res *Result) (unmeasured []string) {
	path := opPath(w.op, pid, w.pek)
	before, err := a.state(ctx, pid, w)
	if err != nil {
		return []string{w.op.Name + ": " + err.Error()}
	}
	for _, v := range csrfVariants {
		r := req{method: w.op.Method, path: path, body: w.body}
		v.set(&r, other)
		resp, err := a.do(ctx, r)
		if err != nil {
			return []string{w.op.Name + ": " + err.Error()}
		}
		res.notef("%s, %s: status %d", w.op.Name, v.name, resp.Status)
		if resp.Status != http.StatusForbidden {
			res.findf("%s with %s: status %d, want 403", w.op.Name, v.name, resp.Status)
		}
	}
	after, err := a.state(ctx, pid, w)
	if err != nil {
		return []string{w.op.Name + ": " + err.Error()}
	}
	if after != before {
		res.findf("%s: %s changed after the requests without a valid token", w.op.Name, w.readOp.Name)
		return nil
	}
	resp, err := a.do(ctx, req{method: w.op.Method, path: path, body: w.body})
	if err != nil {
		return []string{w.op.Name + ": " + err.Error()}
	}
	if resp.Status < 200 || resp.Status > 299 {
		return []string{fmt.Sprintf("%s: the same write with the valid token answered %d (%s), so the refusals prove nothing", w.op.Name, resp.Status, short(resp.Body))}
	}
	control, err := a.state(ctx, pid, w)
	if err != nil {
		return []string{w.op.Name + ": " + err.Error()}
	}
	if control == after {
		return []string{w.op.Name + ": the read-back does not show an accepted write, so it cannot show a refused one"}
	}
	res.notef("%s: valid token accepted (%d) and visible in %s; the refused ones changed nothing", w.op.Name, resp.Status, w.readOp.Name)
	if resp.Status != http.StatusOK {
		res.notef("%s: the valid write answered %d: %s", w.op.Name, resp.Status, short(resp.Body))
	}
	return nil
}

// csrfLogin posts the login form without and with a wrong token: refused
// with 403 and no session.
func csrfLogin(ctx context.Context, e *env, res *Result) (unmeasured []string) {
	cred := e.creds[0]
	for _, v := range []struct {
		name  string
		token string
	}{{"no token", ""}, {"wrong token", randomToken()}} {
		s, err := e.anon()
		if err != nil {
			return []string{"login: " + err.Error()}
		}
		if _, err := s.do(ctx, req{method: http.MethodGet, path: api.LoginPath}); err != nil {
			return []string{"login: " + err.Error()}
		}
		form := url.Values{"login": {cred.User}, "password": {cred.Password}}
		if v.token != "" {
			form.Set("csrfmiddlewaretoken", v.token)
		}
		resp, err := s.do(ctx, req{method: http.MethodPost, path: api.LoginPath, noCSRF: true, body: []byte(form.Encode()),
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"text/html"}, "X-Requested-With": nil}})
		if err != nil {
			return []string{"login: " + err.Error()}
		}
		res.notef("login form, %s: status %d", v.name, resp.Status)
		if resp.Status != http.StatusForbidden {
			res.findf("login form with %s: status %d, want 403", v.name, resp.Status)
		}
		if s.c.SessionID() != "" {
			res.findf("login form with %s: a session was created", v.name)
		}
	}
	return nil
}

// isRefusal: the answers that deny access to another user's object.
func isRefusal(status int) bool {
	return status == http.StatusNotFound || status == http.StatusForbidden
}
