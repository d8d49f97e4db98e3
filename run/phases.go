package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/contracts"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// Phase is one step of a run that fills its own section of the model.
type Phase struct {
	// Name is the section's name: in progress lines, Options.Off and the
	// run's errors ("scan: ...").
	Name string
	// Users says how many users of its own the phase wants; nil: none.
	Users func(o *Options) Need
	// Run fills the phase's section of r. An error means the phase could
	// not run: it goes into r.Errors (the gate fails) and the next phase
	// still runs. A deliberate skip is a section with check.Skip and its
	// reason, not an error.
	Run func(ctx context.Context, e *Env, r *reports.Run) error
	// Logins says which of the phase's users it logs in (each once: the
	// run shares sessions) and how many new sessions it asks for on purpose
	// (client.FreshSession, a browser form login); nil: all its users, none.
	Logins func(o *Options, users []client.Credential) (names []string, fresh int)
}

// Env is the stack as one phase sees it: only that phase's users. It
// satisfies scan.Target and contracts.Target.
type Env struct {
	*stack.Stack
	// Users are the phase's own users (shared with every phase when the
	// stack has too few; see Split).
	Users []client.Credential
	// Options are the run's options.
	Options *Options
	// Progress and Warn are the run's writers (never nil).
	Progress, Warn io.Writer
	// before are the phases that ran before this one.
	before []string
	// state is what phases of one run hand each other.
	state *state
}

// state is what phases of one run hand each other: the sampler the load
// phase fed, for the contracts section.
type state struct {
	sampler *contracts.Sampler
}

// Credentials returns the phase's own users.
func (e *Env) Credentials() []client.Credential { return e.Users }

// Settle waits until the target is healthy again after earlier phases
// restarted its cache (see settle); a phase that must not see those
// leftovers calls it first. Nothing ran before: nothing to wait for.
func (e *Env) Settle(ctx context.Context) {
	if len(e.before) > 0 {
		settle(ctx, e.Stack, e.Progress)
	}
}

// fromRun gives a section's config what every phase takes from the run:
// the progress writer, and the stack's limits unless the config has its own.
func (e *Env) fromRun(progress *io.Writer, limits *map[api.Category]api.Limit) {
	*progress = e.Progress
	if *limits == nil {
		*limits = e.Options.Stack.Limits
	}
}

// Phases are the standard phases in the order they run. The scan goes
// first (it wants the target's counters fresh), the e2e last (after the
// target settled from the cache restarts of the scan and the contracts).
func Phases() []Phase {
	return []Phase{ScanPhase(), LoadPhase(), ContractsPhase(), SecurityPhase(), ObservabilityPhase(), E2EPhase()}
}

// ScanPhase runs the rate-limit bypass probes on the users no other phase
// has (a fresh user per probe).
func ScanPhase() Phase {
	return Phase{
		Name:  "scan",
		Users: func(*Options) Need { return Need{Min: 1, Max: Rest} },
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			cfg := e.Options.Scan
			e.fromRun(&cfg.Progress, &cfg.Limits)
			if cfg.Algorithm == "" {
				cfg.Algorithm = e.Options.Stack.Limiter
			}
			if cfg.FailurePolicy == "" {
				cfg.FailurePolicy = e.Options.Stack.FailurePolicy
			}
			rep, err := scan.Run(ctx, e, cfg)
			r.Scan = rep
			return err
		},
		Logins: func(o *Options, users []client.Credential) ([]string, int) {
			n, fresh := scan.LoginPlan(o.Scan)
			return userNames(users, n), fresh
		},
	}
}

// LoadPhase runs Options.Scenarios one after another; a scenario that could
// not run does not stop the next. Unless the contracts are off (or
// Options.NoSample), every response is offered to a contracts.Sampler whose
// findings go into the contracts section (see foldSample).
func LoadPhase() Phase {
	return Phase{
		Name: "load",
		Users: func(o *Options) Need {
			n := 1
			for _, sc := range o.Scenarios {
				n = max(n, sc.Users)
			}
			return Need{Min: 1, Max: n, Flexible: true}
		},
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			var errs []error
			var observe func(*vegeta.Result)
			if !e.Options.Off["contracts"] && !e.Options.NoSample {
				set := e.Options.Contracts.Set
				if set == nil {
					var err error
					if set, err = contracts.LoadEmbedded(); err != nil {
						return fmt.Errorf("contracts for the sampler: %w", err)
					}
				}
				e.state.sampler = contracts.NewSampler(set)
				observe = e.state.sampler.ObserveVegeta
			}
			for _, sc := range e.Options.Scenarios {
				fmt.Fprintf(e.Progress, "harness: load %s\n", sc.String())
				res, err := scenarios.Run(ctx, sc, scenarios.Options{BaseURL: e.BaseURL(), Credentials: e.Users, Progress: e.Progress, TTY: e.Options.TTY, OnResult: observe})
				if err != nil {
					errs = append(errs, fmt.Errorf("scenario %s: %w", sc.Name, err))
					continue
				}
				r.Scenarios = append(r.Scenarios, res)
			}
			return errors.Join(errs...)
		},
		Logins: func(o *Options, users []client.Credential) ([]string, int) {
			n := 0
			for _, sc := range o.Scenarios {
				n = max(n, sc.Users)
			}
			return userNames(users, max(n, 1)), 0
		},
	}
}

// ContractsPhase runs the contract suite on two users of its own (it
// rewrites their first projects). With a fail-closed Redis stack it may
// stop the cache to see the 503.
func ContractsPhase() Phase {
	return Phase{
		Name:  "contracts",
		Users: func(*Options) Need { return Need{Min: 2, Max: 2} },
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			opts := e.Options.Contracts
			opts.Progress = e.Progress
			info := e.Info()
			if info.Cache == stack.CacheRedis && info.FailurePolicy == "fail-closed" {
				if ctl, err := e.Control(); err == nil {
					opts.Cache = ctl
				}
			}
			rep, err := contracts.Run(ctx, e, opts)
			r.Contracts = rep
			return err
		},
	}
}

// E2EPhase runs the browser checks as one user of its own, after the
// target settled. Without a browser it is a loud skip (a failure under CI).
func E2EPhase() Phase {
	return Phase{
		Name:  "e2e",
		Users: func(*Options) Need { return Need{Min: 1, Max: 1} },
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			cfg := e.Options.E2E
			if _, err := e2e.ChromiumPath(cfg.Chromium); err != nil && !cfg.CI {
				fmt.Fprintf(e.Warn, "!!! e2e SKIPPED: %s\n!!! (set CI=true to make this a failure)\n", err)
				r.E2E = &e2e.Report{Status: check.Skip, Reason: err.Error(), BaseURL: e.BaseURL(), Started: time.Now().UTC()}
				return nil
			}
			if len(e.Users) == 0 {
				return fmt.Errorf("the stack has no user to log in as")
			}
			e.Settle(ctx)
			cfg.BaseURL, cfg.User = e.BaseURL(), e.Users[0]
			rep, err := e2e.Run(ctx, cfg, e2e.All())
			if err != nil {
				return err
			}
			r.E2E = &rep
			if rep.Status == check.Skip {
				fmt.Fprintf(e.Warn, "!!! e2e SKIPPED: %s\n!!! (set CI=true to make this a failure)\n", rep.Reason)
			}
			return nil
		},
		// Its API session comes from the run's store and is copied into the
		// browser; the login-flow check logs in through the form on purpose.
		Logins: func(o *Options, users []client.Credential) ([]string, int) {
			return userNames(users, 1), 1
		},
	}
}

// runPhases runs every phase that is not off, in order, each with its own
// users; a phase that could not run goes into r.Errors and the next one
// still runs.
func runPhases(ctx context.Context, s *stack.Stack, o *Options, r *reports.Run) {
	var on []Phase
	var needs []Need
	for _, ph := range o.Phases {
		if o.Off[ph.Name] {
			continue
		}
		on = append(on, ph)
		var n Need
		if ph.Users != nil {
			n = ph.Users(o)
		}
		needs = append(needs, n)
	}
	users, note := Split(s.Credentials(), needs)
	if note != "" {
		fmt.Fprintf(o.Progress, "harness: %s\n", note)
	}
	store := o.sessions(s.BaseURL())
	ctx = client.WithSessions(ctx, store)
	planned := planLogins(o, on, users)
	r.Logins = &reports.Logins{Planned: planned}
	fmt.Fprintf(o.Progress, "harness: this run needs at most %d logins (each user once, sessions shared by every phase, plus the new sessions checks ask for on purpose; renewals of sessions that bounce come on top, bounded); login throttling (429 or a lockout page) is waited out, up to %s per login\n",
		planned, store.Wait)
	defer func() {
		r.Logins.Made, r.Logins.Throttled, r.Logins.Reused = store.Logins(), store.Throttled(), store.Reused()
		fmt.Fprintf(o.Progress, "harness: logins: %d made (at most %d planned), %d attempts throttled and waited out, %d sessions reused\n",
			r.Logins.Made, planned, r.Logins.Throttled, r.Logins.Reused)
	}()
	total := len(o.Phases)
	var before []string
	st := &state{}
	defer foldSample(st, r, s.BaseURL())
	for i, ph := range o.Phases {
		n := i + 1
		if o.Off[ph.Name] {
			fmt.Fprintf(o.Progress, "harness: [%d/%d] %s: off\n", n, total, ph.Name)
			continue
		}
		idx := len(before)
		fail := func(err error) {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", ph.Name, err))
			fmt.Fprintf(o.Warn, "harness: %s could not run: %v\n", ph.Name, err)
		}
		if ctx.Err() != nil {
			fail(fmt.Errorf("not started: %w", context.Cause(ctx)))
			before = append(before, ph.Name)
			continue
		}
		start := time.Now()
		fmt.Fprintf(o.Progress, "harness: [%d/%d] %s ...\n", n, total, ph.Name)
		env := &Env{Stack: s, Users: users[idx], Options: o, Progress: o.Progress, Warn: o.Warn, before: before, state: st}
		err := ph.Run(ctx, env, r)
		before = append(before, ph.Name)
		if err != nil {
			fail(err)
			continue
		}
		fmt.Fprintf(o.Progress, "harness: [%d/%d] %s done in %.1fs\n", n, total, ph.Name, time.Since(start).Seconds())
	}
}

// userNames are the usernames of the first n of users.
func userNames(users []client.Credential, n int) []string {
	out := make([]string, 0, min(n, len(users)))
	for _, u := range users[:min(n, len(users))] {
		out = append(out, u.User)
	}
	return out
}

// planLogins is the logins the phases on need: every user any of them logs
// in, once (the run's session store shares them), plus the new sessions
// they ask for on purpose.
func planLogins(o *Options, on []Phase, users [][]client.Credential) int {
	seen := map[string]bool{}
	fresh := 0
	for i, ph := range on {
		var ns []string
		f := 0
		if ph.Logins != nil {
			ns, f = ph.Logins(o, users[i])
		} else {
			ns = userNames(users[i], len(users[i]))
		}
		for _, n := range ns {
			seen[n] = true
		}
		fresh += f
	}
	return len(seen) + fresh
}

// foldSample puts what the load phase's sampler saw into the contracts
// section: sampled responses that broke their contract are findings there.
// When the contract suite itself could not run, the section holds only the
// sample (the suite's error still fails the gate).
func foldSample(st *state, r *reports.Run, base string) {
	if st.sampler == nil {
		return
	}
	sample := st.sampler.Report()
	if r.Contracts == nil {
		if sample.Validated == 0 {
			return
		}
		r.Contracts = &contracts.Report{Target: base, Started: time.Now().UTC(),
			Notes: []string{"only the load phase's sample: the contract suite did not run"}}
	}
	r.Contracts.AddSample(sample)
}
