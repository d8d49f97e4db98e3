// Package security checks a deployment's web security over HTTP only, so it
// runs the same against the reference target and an external deployment:
// response headers, session and CSRF cookie flags, CSRF on every unsafe
// operation, object access across users, CORS and hostile input. Each check
// returns plain data with the outcome words of package check; writing checks
// run only where the harness may write (its own stack, or scratch projects).
package security

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// Check names, the same in flags, JSON and reports.
const (
	Headers      = "headers"
	Cookies      = "cookies"
	CSRF         = "csrf"
	ObjectRead   = "object-access.read"
	ObjectWrite  = "object-access.write"
	CORS         = "cors"
	HostileQuery = "hostile-input.query"
	HostileBody  = "hostile-input.body"
)

// Names lists every check in run order.
var Names = []string{Headers, Cookies, CORS, CSRF, ObjectRead, ObjectWrite, HostileQuery, HostileBody}

// Target is what the checks need from a deployment; a *stack.Stack (or a
// view of it with fewer users) satisfies it.
type Target interface {
	BaseURL() string
	Credentials() []client.Credential
}

// Config says what the checks may do.
type Config struct {
	// Writes is true when the checks may change data in the users' first
	// projects: the harness's own stack, or scratch projects on an external
	// deployment. Without it the writing checks send only inert bodies or
	// skip, with WriteReason.
	Writes      bool
	WriteReason string
	// Limits are the declared rate limits, used to wait out a 429 that
	// carries no Retry-After (nil: the app's defaults).
	Limits map[api.Category]api.Limit
	// JSONOnly is the declared policy that unsafe operations take JSON
	// only as application/json: a JSON body sent as text/plain and stored
	// is then a finding. Without it that is an advisory note, as the issue
	// allows "a 200 that stores the text inert" and the real app parses
	// request.body whatever its content type (harness.yaml
	// security.json_only).
	JSONOnly bool
	// Only runs these checks (nil: all).
	Only []string
	// CheckTimeout bounds each check (0: 90s).
	CheckTimeout time.Duration
	// Progress receives one line per check; nil discards.
	Progress io.Writer
}

// Report is the security section of a run.
type Report struct {
	Status    check.Status `json:"status"`
	Reason    string       `json:"reason,omitempty"`
	BaseURL   string       `json:"base_url"`
	Started   time.Time    `json:"started"`
	DurationS float64      `json:"duration_s"`
	Checks    []Result     `json:"checks"`
}

// Result is one check's verdict.
type Result struct {
	Name   string       `json:"name"`
	Status check.Status `json:"status"`
	// Reason says why it did not pass (or what limited it).
	Reason string `json:"reason,omitempty"`
	// Findings are the defects found, one line each.
	Findings []string `json:"findings,omitempty"`
	// Advisories are what the declared policy does not forbid but an
	// operator should know (a pass may carry them), one line each.
	Advisories []string `json:"advisories,omitempty"`
	// Evidence is what was sent and seen, one line each.
	Evidence   []string `json:"evidence,omitempty"`
	Requests   int      `json:"requests"`
	DurationMS float64  `json:"duration_ms"`
}

// Failed lists the checks that did not pass or skip.
func (r *Report) Failed() []Result {
	var out []Result
	for _, c := range r.Checks {
		if c.Status != check.Pass && c.Status != check.Skip {
			out = append(out, c)
		}
	}
	return out
}

type checkFunc func(ctx context.Context, e *env, res *Result)

var checks = map[string]checkFunc{
	Headers:      checkHeaders,
	Cookies:      checkCookies,
	CORS:         checkCORS,
	CSRF:         checkCSRF,
	ObjectRead:   checkObjectRead,
	ObjectWrite:  checkObjectWrite,
	HostileQuery: checkHostileQuery,
	HostileBody:  checkHostileBody,
}

// Run runs the checks in order. It returns an error only for bad input; a
// check that cannot run is an Error result and the next one still runs.
func Run(ctx context.Context, t Target, cfg Config) (*Report, error) {
	names := Names
	if len(cfg.Only) > 0 {
		for _, n := range cfg.Only {
			if _, ok := checks[n]; !ok {
				return nil, fmt.Errorf("security check %q: allowed values are %v", n, Names)
			}
		}
		names = cfg.Only
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 90 * time.Second
	}
	rep := &Report{BaseURL: t.BaseURL(), Started: time.Now().UTC()}
	e := &env{base: t.BaseURL(), creds: t.Credentials(), cfg: cfg}
	for _, n := range names {
		if ctx.Err() != nil {
			rep.Checks = append(rep.Checks, Result{Name: n, Status: check.Error, Reason: "not started: " + context.Cause(ctx).Error()})
			continue
		}
		start := time.Now()
		res := Result{Name: n}
		cctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
		e.requests, e.bounces = 0, 0
		checks[n](cctx, e, &res)
		cancel()
		res.Requests = e.requests
		if e.bounces > 0 {
			res.notef("%d requests were bounced to the login page and sent again (sessions kept per worker?)", e.bounces)
		}
		if res.Status == "" {
			res.Status = check.Pass
			if len(res.Findings) > 0 {
				res.Status = check.Fail
			}
		}
		took := time.Since(start)
		res.DurationMS = float64(took.Microseconds()) / 1000
		check.Progress(cfg.Progress, "security", 20, n, res.Status, took, res.Reason, res.Findings)
		rep.Checks = append(rep.Checks, res)
	}
	rep.Status = check.SummarizeBy(rep.Checks, func(r Result) check.Status { return r.Status })
	rep.DurationS = time.Since(rep.Started).Seconds()
	return rep, nil
}

// finish sets a verdict from what the check saw: findings fail it,
// otherwise unmeasured items make it inconclusive.
func (r *Result) finish(unmeasured []string) {
	if len(r.Findings) > 0 {
		r.Status = check.Fail
		if len(unmeasured) > 0 {
			r.Evidence = append(r.Evidence, "not measured: "+join(unmeasured))
		}
		return
	}
	if len(unmeasured) > 0 {
		r.Status = check.Inconclusive
		r.Reason = "not measured: " + join(unmeasured)
		return
	}
	r.Status = check.Pass
	if len(r.Advisories) > 0 {
		r.Reason = "advisory: " + join(r.Advisories)
	}
}

func (r *Result) skip(reason string) { r.Status, r.Reason = check.Skip, reason }

func (r *Result) fail(err error) { r.Status, r.Reason = check.Error, err.Error() }

func (r *Result) findf(format string, a ...any) {
	r.Findings = append(r.Findings, fmt.Sprintf(format, a...))
}

func (r *Result) advisef(format string, a ...any) {
	r.Advisories = append(r.Advisories, fmt.Sprintf(format, a...))
}

func (r *Result) notef(format string, a ...any) {
	r.Evidence = append(r.Evidence, fmt.Sprintf(format, a...))
}
