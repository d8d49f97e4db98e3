package observability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

type observer struct {
	t   Target
	cfg Config
	rep *Report
	// sent are the burst's requests, each with its own user agent.
	sent []sent
	cred client.Credential
	sess *client.Client
}

// sent is one request of the burst.
type sent struct {
	op      api.Operation
	ua      string
	status  int
	limited bool
}

// uaPrefix starts every burst request's user agent; the run id and a
// sequence number follow, so each request's log lines can be found.
const uaPrefix = "ahsp-harness-observability"

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (o *observer) limitFor(cat api.Category) api.Limit {
	if l, ok := o.cfg.Limits[cat]; ok {
		return l
	}
	return api.DefaultLimits[cat]
}

// login logs in as the last user: the other sections use the first ones,
// and the burst leaves this user limited for a window.
func (o *observer) login(ctx context.Context) error {
	creds := o.t.Credentials()
	if len(creds) == 0 {
		return errors.New("the deployment has no user to log in as")
	}
	o.cred = creds[len(creds)-1]
	if len(o.cred.Projects) == 0 {
		return fmt.Errorf("user %s lists no project", o.cred.User)
	}
	c, err := client.New(o.t.BaseURL())
	if err != nil {
		return err
	}
	if err := c.Login(ctx, o.cred.User, o.cred.Password); err != nil {
		return err
	}
	o.sess = c
	o.rep.User = o.cred.User
	return nil
}

// send sends one request of op with its own user agent. Bodies are invalid
// JSON, so nothing is written whether or not the request is limited.
// Sessions kept per worker bounce a request to the login page (or the
// exports' 401) on the other workers: it is sent again, and every few tries
// the user logs in again where the requests land.
func (o *observer) send(ctx context.Context, op api.Operation, ua string) (int, error) {
	path := op.URLPath(api.Legacy, o.cred.Projects[0], 1)
	once := func() (*client.Response, error) {
		h := o.sess.Headers()
		h.Del("Cookie")
		h.Set("User-Agent", ua)
		if op.Method == http.MethodGet {
			return o.sess.DoRaw(ctx, op.Method, path, h, nil)
		}
		h.Set("Content-Type", "application/json")
		return o.sess.DoRaw(ctx, op.Method, path, h, strings.NewReader("{"))
	}
	resp, err := once()
	for try := 1; err == nil && try < 24 && (resp.Status == http.StatusUnauthorized ||
		resp.Status == http.StatusFound && strings.Contains(resp.Header.Get("Location"), api.LoginPath)); try++ {
		if try%6 == 0 {
			if err := o.sess.Login(client.FreshSession(ctx), o.cred.User, o.cred.Password); err != nil {
				return 0, fmt.Errorf("log in again after bounces to the login page: %w", err)
			}
		}
		time.Sleep(5 * time.Millisecond)
		resp, err = once()
	}
	if err != nil {
		return 0, err
	}
	return resp.Status, nil
}

// burst drives every operation past its declared limit until Extra 429s
// came back or its budget (twice the limit plus ten) is spent; an
// operation the deployment does not limit just spends its budget.
func (o *observer) burst(ctx context.Context) error {
	run := newRunID()
	seq := 0
	for _, op := range api.Operations {
		l := o.limitFor(op.Category)
		budget := 2*l.Requests + 10
		h := OpHits{Operation: op.Name, Category: op.Category, Metric: -1, Logged: -1}
		for i := 0; i < budget && h.Limited < o.cfg.Extra; i++ {
			seq++
			ua := fmt.Sprintf("%s/%s/%d", uaPrefix, run, seq)
			st, err := o.send(ctx, op, ua)
			if err != nil {
				return fmt.Errorf("%s: %w", op.Name, err)
			}
			s := sent{op: op, ua: ua, status: st, limited: st == http.StatusTooManyRequests}
			o.sent = append(o.sent, s)
			h.Sent++
			if s.limited {
				h.Limited++
			}
		}
		o.rep.Hits = append(o.rep.Hits, h)
	}
	return nil
}

// limitHits causes the 429s and judges /metrics and the logs.
func (o *observer) limitHits(ctx context.Context) (Result, Result) {
	m := Result{Name: MetricsLimitHits}
	lg := Result{Name: LogsLimitHits}
	errBoth := func(err error) (Result, Result) {
		m.Status, m.Reason = check.Error, err.Error()
		lg.Status, lg.Reason = check.Error, err.Error()
		return m, lg
	}
	before, err := scrapeMetrics(ctx, o.t.BaseURL())
	if err != nil {
		return errBoth(err)
	}
	if err := o.login(ctx); err != nil {
		return errBoth(err)
	}
	if err := o.burst(ctx); err != nil {
		return errBoth(err)
	}
	total := 0
	for _, h := range o.rep.Hits {
		total += h.Limited
	}
	o.judgeMetrics(ctx, &m, before, total)
	o.judgeLogs(ctx, &lg, total)
	return m, lg
}

func (o *observer) judgeMetrics(ctx context.Context, res *Result, before scrape, total int) {
	switch {
	case before.status == http.StatusNotFound:
		res.Status, res.Reason = check.Skip, "the deployment has no "+metricsPath+" (404)"
		return
	case before.status != http.StatusOK:
		res.Status, res.Reason = check.Skip, fmt.Sprintf("%s answered %d, not a metrics page", metricsPath, before.status)
		return
	}
	if total == 0 {
		res.Status, res.Reason = check.Inconclusive, "the burst caused no 429, so there was nothing to count"
		return
	}
	want := func(h OpHits) map[string]string { return map[string]string{"operation": h.Operation} }
	after, scrapes, err := settle(ctx, o.t.BaseURL(), func(s scrape) bool {
		for _, h := range o.rep.Hits {
			if int(s.sum(hitsMetric, want(h))-before.sum(hitsMetric, want(h))) != h.Limited {
				return false
			}
		}
		return true
	})
	if err != nil {
		res.Status, res.Reason = check.Error, err.Error()
		return
	}
	if !after.has(hitsMetric) {
		res.Status, res.Reason = check.Inconclusive, fmt.Sprintf("%s has no %s samples after %d 429s", metricsPath, hitsMetric, total)
		return
	}
	res.notef("%d scrapes until the counters settled", scrapes)
	unsure := false
	for i, h := range o.rep.Hits {
		got := int(after.sum(hitsMetric, want(h)) - before.sum(hitsMetric, want(h)))
		o.rep.Hits[i].Metric = got
		byCat := int(after.sum(hitsMetric, map[string]string{"operation": h.Operation, "category": string(h.Category)}) -
			before.sum(hitsMetric, map[string]string{"operation": h.Operation, "category": string(h.Category)}))
		res.notef("%s (%s): %d requests, %d answered 429, counter +%d", h.Operation, h.Category, h.Sent, h.Limited, got)
		switch {
		case got < h.Limited:
			res.findf("%s (%s): %d 429s, %s rose by %d: misses %d", h.Operation, h.Category, h.Limited, hitsMetric, got, h.Limited-got)
		case got > h.Limited && o.shared():
			unsure = true
			res.notef("%s: counter +%d for %d 429s; an external deployment may have other clients", h.Operation, got, h.Limited)
		case got > h.Limited:
			res.findf("%s (%s): %d 429s, %s rose by %d: double counts %d", h.Operation, h.Category, h.Limited, hitsMetric, got, got-h.Limited)
		case byCat != got:
			res.findf("%s: the counter rose under another category label than %s", h.Operation, h.Category)
		}
	}
	if unsure && len(res.Findings) == 0 {
		res.Status, res.Reason = check.Inconclusive, "counters rose by more than the harness caused; other clients may share this deployment"
	}
}

// shared: other clients may use an external deployment at the same time.
func (o *observer) shared() bool { return o.t.Info().Mode == stackinfo.ModeExternal }
