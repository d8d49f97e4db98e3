// Package observability checks what a deployment tells its operators about
// rate limiting: that /metrics counts exactly the 429s the harness caused,
// per operation and category, and the cache errors of a cache outage; and
// that every limit hit is logged once with the user, the operation, the
// client IP and the user agent. It causes the 429s itself (a bounded burst
// per operation, with a user agent unique per request) so that it knows
// the exact count to expect. Checks return plain data with the outcome
// words of package check; a deployment without /metrics or without readable
// logs is a skip with that reason.
package observability

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// Check names, the same in JSON and reports.
const (
	MetricsLimitHits   = "metrics.limit-hits"
	MetricsCacheErrors = "metrics.cache-errors"
	LogsLimitHits      = "logs.limit-hits"
)

// Names lists every check in run order.
var Names = []string{MetricsLimitHits, LogsLimitHits, MetricsCacheErrors}

// Target is what the checks need; a *stackinfo.Stack satisfies it.
type Target interface {
	BaseURL() string
	Credentials() []client.Credential
	Info() stackinfo.Info
	Control() (stackinfo.Control, error)
	// ReadLogs returns the deployment's recent log lines, or why it cannot.
	ReadLogs(ctx context.Context) (string, error)
}

// Config tunes the checks.
type Config struct {
	// Limits are the declared limits: they size the burst per operation
	// (nil: the app's defaults).
	Limits map[api.Category]api.Limit
	// Extra is how many 429s to cause per limited operation (0: 3).
	Extra int
	// Timeout bounds the whole section (0: 3 minutes).
	Timeout time.Duration
	// Progress receives one line per check; nil discards.
	Progress io.Writer
}

// Report is the observability section of a run.
type Report struct {
	Status    check.Status `json:"status"`
	Reason    string       `json:"reason,omitempty"`
	BaseURL   string       `json:"base_url"`
	Started   time.Time    `json:"started"`
	DurationS float64      `json:"duration_s"`
	// User is who the 429s were caused as.
	User string `json:"user,omitempty"`
	// Hits are the 429s the harness caused, per operation.
	Hits   []OpHits `json:"hits,omitempty"`
	Checks []Result `json:"checks"`
}

// OpHits is one operation's burst: how many requests, how many 429s, and
// what /metrics and the logs said about them.
type OpHits struct {
	Operation string       `json:"operation"`
	Category  api.Category `json:"category"`
	Sent      int          `json:"sent"`
	Limited   int          `json:"limited"`
	// Metric is the counter's increase for this operation (-1: not read).
	Metric int `json:"metric"`
	// Logged is how many limit-hit lines name the 429s (-1: not read).
	Logged int `json:"logged"`
}

// Result is one check's verdict.
type Result struct {
	Name       string       `json:"name"`
	Status     check.Status `json:"status"`
	Reason     string       `json:"reason,omitempty"`
	Findings   []string     `json:"findings,omitempty"`
	Evidence   []string     `json:"evidence,omitempty"`
	DurationMS float64      `json:"duration_ms"`
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

func (r *Result) findf(format string, a ...any) {
	r.Findings = append(r.Findings, fmt.Sprintf(format, a...))
}

func (r *Result) notef(format string, a ...any) {
	r.Evidence = append(r.Evidence, fmt.Sprintf(format, a...))
}

// done sets the verdict: findings fail, else pass (unless already set).
func (r *Result) done() {
	if r.Status != "" {
		return
	}
	r.Status = check.Pass
	if len(r.Findings) > 0 {
		r.Status = check.Fail
	}
}

// Run causes the 429s and judges /metrics and the logs, then the cache
// outage. It returns an error only when it could not start at all.
func Run(ctx context.Context, t Target, cfg Config) (*Report, error) {
	if cfg.Extra <= 0 {
		cfg.Extra = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep := &Report{BaseURL: t.BaseURL(), Started: time.Now().UTC()}
	o := &observer{t: t, cfg: cfg, rep: rep}
	add := func(r Result, start time.Time) {
		r.done()
		took := time.Since(start)
		r.DurationMS = float64(took.Microseconds()) / 1000
		rep.Checks = append(rep.Checks, r)
		check.Progress(cfg.Progress, "observability", 22, r.Name, r.Status, took, r.Reason, r.Findings)
	}
	start := time.Now()
	mres, lres := o.limitHits(ctx)
	add(mres, start)
	add(lres, start)
	start = time.Now()
	add(o.cacheErrors(ctx), start)
	rep.Status = check.SummarizeBy(rep.Checks, func(r Result) check.Status { return r.Status })
	rep.DurationS = time.Since(rep.Started).Seconds()
	return rep, nil
}
