package security

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/treeread"
)

// pair is the two users of the object-access checks: a asks for b's objects.
func (e *env) pair(ctx context.Context, res *Result) (a, b *session, ok bool) {
	if len(e.creds) < 2 {
		res.skip("needs two users, the deployment has " + fmt.Sprint(len(e.creds)))
		return nil, nil, false
	}
	var err error
	if a, err = e.login(ctx, 0); err != nil {
		res.fail(err)
		return nil, nil, false
	}
	if b, err = e.login(ctx, 1); err != nil {
		res.fail(err)
		return nil, nil, false
	}
	if a.project() == 0 || b.project() == 0 {
		res.fail(errNoProject)
		return nil, nil, false
	}
	if a.project() == b.project() {
		res.fail(fmt.Errorf("users %s and %s list the same project %d", a.cred.User, b.cred.User, a.project()))
		return nil, nil, false
	}
	return a, b, true
}

func otherMethod(m string) string {
	if m == http.MethodGet {
		return http.MethodPost
	}
	return http.MethodGet
}

// judgeForeign records one answer to a request for another user's object.
func judgeForeign(res *Result, what string, status int, body []byte, allowed ...int) {
	res.notef("%s: status %d", what, status)
	if isRefusal(status) {
		return
	}
	for _, a := range allowed {
		if status == a {
			return
		}
	}
	if status >= 200 && status < 300 {
		res.findf("%s: status %d: another user's project answered (%s)", what, status, short(body))
		return
	}
	res.findf("%s: status %d, want 404 or 403", what, status)
}

func checkObjectRead(ctx context.Context, e *env, res *Result) {
	a, b, ok := e.pair(ctx, res)
	if !ok {
		return
	}
	db, err := b.read(ctx, b.project())
	if err != nil {
		res.fail(err)
		return
	}
	pek := 1
	if len(db.pekerjaan) > 0 {
		pek = db.pekerjaan[0]
	}
	for _, op := range api.Operations {
		if op.Method != http.MethodGet {
			continue
		}
		path := opPath(op, b.project(), pek)
		r, err := a.do(ctx, req{method: op.Method, path: path})
		if err != nil {
			res.fail(err)
			return
		}
		judgeForeign(res, fmt.Sprintf("%s %s of %s's project as %s", op.Method, op.Name, b.cred.User, a.cred.User), r.Status, r.Body)
		r, err = a.do(ctx, req{method: otherMethod(op.Method), path: path, body: inertBody})
		if err != nil {
			res.fail(err)
			return
		}
		judgeForeign(res, fmt.Sprintf("%s %s of %s's project as %s", otherMethod(op.Method), op.Name, b.cred.User, a.cred.User), r.Status, r.Body, http.StatusMethodNotAllowed)
	}
	// b's pekerjaan under a's own project.
	get, _ := api.Lookup("detail-ahsp.get")
	r, err := a.do(ctx, req{method: http.MethodGet, path: opPath(get, a.project(), pek)})
	if err != nil {
		res.fail(err)
		return
	}
	judgeForeign(res, fmt.Sprintf("detail-ahsp.get of %s's pekerjaan %d through %s's project", b.cred.User, pek, a.cred.User), r.Status, r.Body, http.StatusBadRequest)
	res.finish(nil)
}

func checkObjectWrite(ctx context.Context, e *env, res *Result) {
	a, b, ok := e.pair(ctx, res)
	if !ok {
		return
	}
	pidB, writable := b.writable()
	if !writable {
		pidB = b.project()
	}
	var unmeasured []string
	if !writable {
		res.notef("inert bodies only (%s): nothing could change, the status is the verdict", e.cfg.WriteReason)
		for _, op := range bodyOps() {
			r, err := a.do(ctx, req{method: op.Method, path: opPath(op, pidB, 1), body: inertBody})
			if err != nil {
				res.fail(err)
				return
			}
			what := fmt.Sprintf("%s %s of %s's project as %s", op.Method, op.Name, b.cred.User, a.cred.User)
			if r.Status == http.StatusBadRequest {
				res.notef("%s: status 400", what)
				unmeasured = append(unmeasured, what+" answered 400: the body was judged before ownership")
				continue
			}
			judgeForeign(res, what, r.Status, r.Body)
		}
		res.finish(unmeasured)
		return
	}
	db, err := b.read(ctx, pidB)
	if errors.Is(err, treeread.ErrUnconfirmed) {
		res.finish(append(unmeasured, "writes to another user's project: "+err.Error()))
		return
	}
	if err != nil {
		res.fail(err)
		return
	}
	for _, w := range writes(db, "idor") {
		before, err := b.state(ctx, pidB, w)
		if err != nil {
			unmeasured = append(unmeasured, w.op.Name+": "+err.Error())
			continue
		}
		path := opPath(w.op, pidB, w.pek)
		for _, m := range []string{w.op.Method, otherMethod(w.op.Method)} {
			var body []byte
			if m == w.op.Method {
				body = w.body
			}
			r, err := a.do(ctx, req{method: m, path: path, body: body})
			if err != nil {
				res.fail(err)
				return
			}
			judgeForeign(res, fmt.Sprintf("%s %s of %s's project as %s", m, w.op.Name, b.cred.User, a.cred.User), r.Status, r.Body, http.StatusMethodNotAllowed)
		}
		after, err := b.state(ctx, pidB, w)
		if err != nil {
			unmeasured = append(unmeasured, w.op.Name+": "+err.Error())
			continue
		}
		if after != before {
			res.findf("%s: %s's %s changed after %s's requests", w.op.Name, b.cred.User, w.readOp.Name, a.cred.User)
		}
	}
	// b's custom pekerjaan through a's own project.
	if db.custom != 0 {
		for _, w := range writes(db, "idor") {
			if w.op.Name != "detail-ahsp.save" {
				continue
			}
			before, err := b.state(ctx, pidB, w)
			if err != nil {
				unmeasured = append(unmeasured, "cross-project detail save: "+err.Error())
				break
			}
			r, err := a.do(ctx, req{method: w.op.Method, path: opPath(w.op, a.project(), w.pek), body: w.body})
			if err != nil {
				res.fail(err)
				return
			}
			judgeForeign(res, fmt.Sprintf("detail-ahsp.save of %s's pekerjaan %d through %s's project", b.cred.User, w.pek, a.cred.User), r.Status, r.Body, http.StatusBadRequest)
			if after, err := b.state(ctx, pidB, w); err == nil && after != before {
				res.findf("detail-ahsp.save through another project changed %s's pekerjaan %d", b.cred.User, w.pek)
			}
		}
	}
	res.finish(unmeasured)
}
