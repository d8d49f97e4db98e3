// Package run is the harness's main job as a Go API: bring a stack up, run
// the phases (scan, load, contracts, e2e, ...) on disjoint users, settle the
// target between them, fold everything into one reports.Run and judge it
// with the gate. cmd/harness only turns flags into Options; a Go test can
// run a gate the same way:
//
//	r, err := run.Gate(ctx, run.Options{Stack: spec, Gate: reports.DefaultGate(), Scenarios: scs})
//
// Adding a section is one Phase in Phases (see docs/run.md).
package run

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/security"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// Options is one gated run.
type Options struct {
	// Stack is brought up by Gate and taken down before it returns.
	Stack stack.Spec
	// Gate judges the finished run.
	Gate reports.GateConfig
	// Off names phases not to run ("scan", "load", ...): their required
	// gate rows say they did not run.
	Off map[string]bool
	// Scenarios are the load phase's scenarios, run one after another.
	Scenarios []*scenarios.Scenario
	// Scan configures the scan phase (probes, retries). Empty Limits,
	// Algorithm and FailurePolicy take the Stack's: the policy the stack
	// was started with, or the one the user states for an external one.
	Scan scan.Config
	// NoSample switches off the contracts Sampler that checks the load
	// phase's responses against the schemas.
	NoSample bool
	// Contracts are the contract suite's inputs (schemas, mapping, compat);
	// zero values take the embedded ones. The phase sets Progress and Cache.
	Contracts contracts.Options
	// E2E configures the browser phase (Chromium, CI, ScreenshotDir); the
	// phase sets BaseURL and User. Without a browser the phase is skipped
	// loudly, or fails when E2E.CI is set.
	E2E e2e.Config
	// Security and Observability configure the audit phases (run/audit.go);
	// empty Limits take the Stack's.
	Security      security.Config
	Observability observability.Config
	// Meta says what ran; Gate fills Finished and DurationS.
	Meta reports.Meta
	// Progress receives one line per step; nil discards.
	Progress io.Writer
	// Warn receives the loud lines (a skipped or failed phase); nil discards.
	Warn io.Writer
	// TTY lets the load phase redraw its progress line.
	TTY bool
	// Phases replaces the standard phases (Phases()) when not nil.
	Phases []Phase
	// Sessions is the run's session store (nil: a new one per run, whose
	// logins wait out throttling up to LoginWait).
	Sessions *client.Sessions
}

// LoginWait bounds how long one login of a run waits out login throttling:
// the app's failed-login lockout lasts 300 s, a per-IP limit a minute.
const LoginWait = 330 * time.Second

// sessions is the run's session store; a throttled login is said on the
// progress output (the first try and every tenth).
func (o *Options) sessions(base string) *client.Sessions {
	if o.Sessions != nil {
		return o.Sessions
	}
	s := client.NewSessions(LoginWait)
	progress := o.Progress
	s.OnThrottle = func(user string, attempt int, err error) {
		if attempt == 1 || attempt%10 == 0 {
			fmt.Fprintf(progress, "harness: login of %s at %s throttled (try %d: %v); waiting it out, up to %s\n", user, base, attempt, err, s.Wait)
		}
	}
	o.Sessions = s
	return s
}

func (o *Options) defaults() {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	if o.Phases == nil {
		o.Phases = Phases()
	}
	if o.Meta.Started.IsZero() {
		o.Meta.Started = time.Now().UTC()
	}
}

// Gate brings the stack up, runs every phase that is not off, takes the
// stack down and returns the run with its gate evaluated. The run is never
// nil: when the stack does not come up, the run holds that error (a failed
// gate) and err is the stack's error (stack.ErrStart, stack.ErrUnreachable,
// stack.ErrInvalidSpec) for the caller's exit code. A phase that could not
// run is in the run's Errors, not in err.
func Gate(ctx context.Context, o Options) (*reports.Run, error) {
	o.defaults()
	r := &reports.Run{SchemaVersion: reports.SchemaVersion, Meta: o.Meta}
	entered := false
	err := WithStack(ctx, o.Stack, o.Warn, func(ctx context.Context, s *stack.Stack) error {
		entered = true
		info := s.Info()
		r.Stack = &info
		runPhases(ctx, s, &o, r)
		return nil
	})
	if err != nil && !entered {
		r.Errors = append(r.Errors, "stack: "+err.Error())
	}
	r.Meta.Finished = time.Now().UTC()
	r.Meta.DurationS = r.Meta.Finished.Sub(r.Meta.Started).Seconds()
	r.EvaluateGate(o.Gate)
	return r, err
}

// WithStack brings the stack up, runs fn and takes the stack down again,
// also when ctx is cancelled (Ctrl-C): with a fresh bounded context, since
// leftovers are worse than a late exit. Down errors go to warn.
func WithStack(ctx context.Context, spec stack.Spec, warn io.Writer, fn func(ctx context.Context, s *stack.Stack) error) error {
	s, err := stack.Up(ctx, spec)
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := s.Down(dctx); derr != nil && warn != nil {
			fmt.Fprintf(warn, "harness: stack down: %v\n", derr)
		}
	}()
	if err != nil {
		return err
	}
	return fn(ctx, s)
}
