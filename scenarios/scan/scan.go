// Package scan is the rate-limit bypass scanner: a catalog of probes, each
// sending a planned burst or sequence at the target and judging it with an
// oracle that knows the declared policy (limit, window, algorithm), so a
// fixed window's edge effect is not called a bug and real overshoot is. Each
// probe yields a verdict with the evidence a developer needs.
package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// Target is what the scanner needs from a running deployment; a
// *stack.Stack satisfies it.
type Target interface {
	BaseURL() string
	Credentials() []client.Credential
	Info() stackinfo.Info
	Control() (stackinfo.Control, error)
}

// Probe names, the same in flags, JSON and reports.
const (
	MultiWorker  = "multi-worker"
	Race         = "race"
	Window       = "window"
	PathVariants = "path-variants"
	XFFSpoof     = "xff-spoof"
	Coverage     = "coverage"
	Headers      = "headers"
	Sessions     = "sessions"
	CacheDown    = "cache-down"
	CacheSlow    = "cache-slow"
	WorkerKill   = "worker-kill"
)

// LoginCategory is the login limit's category name in --limits.
const LoginCategory api.Category = "login"

// DefaultLoginLimit is the reference target's login limit (per client IP).
var DefaultLoginLimit = api.Limit{Requests: 10, WindowSeconds: 60}

type probeFunc func(ctx context.Context, s *scanner) Result

type probeDef struct {
	name, summary string
	run           probeFunc
}

var catalog = []probeDef{
	{MultiWorker, "one user's burst spread over many connections (and so workers): accepted ≤ the policy's maximum", probeMultiWorker},
	{Race, "a concurrent burst pinned to one worker: catches non-atomic read-modify-write counters", probeRace},
	{Window, "a polite client (slower than the limit) is never throttled; bursts around a window edge stay within the algorithm's allowance", probeWindow},
	{PathVariants, "spellings and versions of one operation share one limit", probePathVariants},
	{Coverage, "every write, read and export operation answers 429 within 2×limit requests", probeCoverage},
	{Headers, "a 429 carries an honest Retry-After (RateLimit headers advisory unless required)", probeHeaders},
	{Sessions, "a logged-in user stays logged in on every worker", probeSessions},
	{CacheDown, "with the cache stopped the failure policy is honoured, health degrades, and service recovers", probeCacheDown},
	{CacheSlow, "with a slow cache no request hangs past the limiter timeout and the policy is honoured", probeCacheSlow},
	{WorkerKill, "a worker killed under write load is restarted and no acknowledged write is lost", probeWorkerKill},
	{IdentityRotation, "the same user logging in again (a new session) gets no fresh quota", probeIdentityRotation},
	{IdentityHeaders, "forged client/user identity headers (X-Forwarded-For, X-Real-IP, X-User-Id, ...) do not move a limited operation to another bucket", probeIdentityHeaders},
	{LimitedWrite, "a write refused with 429 has no effect (read back)", probeLimitedWrite},
	{MethodVariants, "HEAD, PUT, PATCH and X-HTTP-Method-Override share the operation's limit or are refused", probeMethodVariants},
	// Last: its failed logins use up the login limit of the harness's own address.
	{XFFSpoof, "the login limit ignores forged X-Forwarded-For / X-Real-IP", probeXFF},
}

// Probes lists every probe name in run order.
func Probes() []string {
	out := make([]string, len(catalog))
	for i, p := range catalog {
		out[i] = p.name
	}
	return out
}

// Describe returns a probe's one-line summary.
func Describe(name string) string {
	for _, p := range catalog {
		if p.name == name {
			return p.summary
		}
	}
	return ""
}

// Config is the declared policy and what to run.
type Config struct {
	// Limits are the declared per-category limits. Nil: the target's
	// --limits from Info, over api.DefaultLimits.
	Limits map[api.Category]api.Limit
	// Algorithm is fixed, sliding or gcra. Empty: Info().Limiter, else fixed.
	Algorithm string
	// FailurePolicy is fail-open or fail-closed. Empty: Info().FailurePolicy,
	// else fail-closed.
	FailurePolicy string
	// LimiterTimeout is the target's cache call timeout (default: the
	// stack's, else the reference target's 250ms); no request may take
	// longer than it plus HangSlack while the cache is bad.
	LimiterTimeout time.Duration
	HangSlack      time.Duration
	// Probes to run (default all), in catalog order.
	Probes []string
	// Connections for bursts (default 16).
	Connections int
	// Progress receives one line per probe; nil discards.
	Progress io.Writer
	// RequireRateLimitHeaders makes a 429 without RateLimit/X-RateLimit
	// headers a finding; otherwise their absence is advisory.
	RequireRateLimitHeaders bool
	// Retries re-runs a failed probe (on fresh users) to tell a consistent
	// finding from an intermittent one; every attempt is kept, and a failure
	// in any attempt stays a finding (marked intermittent "k of n").
	Retries int
	// Workers is a sizing hint: how many per-process counters a burst must
	// be able to expose (default: the stack's workers, else 8).
	Workers int
	// Op pins the operation the limit probes use (an api operation name);
	// it must be limited in the discovered policy.
	Op string
}

// Evidence is what a probe saw, for a developer to act on.
type Evidence struct {
	Operation string `json:"operation,omitempty"`
	Policy    string `json:"policy,omitempty"`
	User      string `json:"user,omitempty"`
	Sent      int    `json:"sent"`
	Accepted  int    `json:"accepted"`
	Limited   int    `json:"limited"`
	Other     int    `json:"other"`
	// ExpectedMax is the oracle's maximum accepted; Overshoot how many more
	// were accepted (0 when within).
	ExpectedMax int `json:"expected_max"`
	Overshoot   int `json:"overshoot"`
	// AcceptedPerWorker is keyed by X-Worker-Id.
	AcceptedPerWorker map[string]int `json:"accepted_per_worker,omitempty"`
	// WorkersSeen counts the distinct workers that answered at all.
	WorkersSeen int         `json:"workers_seen,omitempty"`
	Status      map[int]int `json:"status,omitempty"`
	// ElapsedSeconds is from the first send to the last answer.
	ElapsedSeconds float64  `json:"elapsed_s"`
	Rows           []Row    `json:"rows,omitempty"`
	Samples        []Sample `json:"samples,omitempty"`
	Notes          []string `json:"notes,omitempty"`
}

// Row is one line of a probe's breakdown (a path variant, an endpoint, a
// worker, a phase).
type Row struct {
	Name     string      `json:"name"`
	Sent     int         `json:"sent"`
	Accepted int         `json:"accepted"`
	Limited  int         `json:"limited"`
	Status   map[int]int `json:"status,omitempty"`
	Note     string      `json:"note,omitempty"`
}

// Sample is one response worth showing.
type Sample struct {
	What      string            `json:"what"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Status    int               `json:"status"`
	Worker    string            `json:"worker,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	LatencyMS float64           `json:"latency_ms"`
}

// Result is one probe's verdict.
type Result struct {
	Probe           string       `json:"probe"`
	Status          check.Status `json:"status"`
	Reason          string       `json:"reason"`
	Evidence        Evidence     `json:"evidence"`
	DurationSeconds float64      `json:"duration_s"`
	Attempts        int          `json:"attempts,omitempty"`
	// AttemptLog holds every attempt when the probe ran more than once.
	AttemptLog []Attempt `json:"attempt_log,omitempty"`
	// Intermittent is "k of n" when k of n attempts failed and the rest passed.
	Intermittent string `json:"intermittent,omitempty"`
	// Diagnosis is a FAIL's most likely root cause, from control experiments.
	Diagnosis *Diagnosis `json:"diagnosis,omitempty"`
	// Findings are faults seen besides the probe's subject, by stable id
	// (cache-down: data served wrong while the cache was stopped).
	Findings []Finding `json:"findings,omitempty"`
}

// Report is a whole scan.
type Report struct {
	Target        stackinfo.Info             `json:"target"`
	Algorithm     string                     `json:"algorithm"`
	FailurePolicy string                     `json:"failure_policy"`
	Limits        map[api.Category]api.Limit `json:"limits"`
	Status        check.Status               `json:"status"`
	Probes        []Result                   `json:"probes"`
	// PolicyMap is the policy discovered before the probes judged it.
	PolicyMap *PolicyMap `json:"policy_map,omitempty"`
	// Logins counts the scan's logins (one per user); Bounces the requests
	// redirected to the login page although their session was valid.
	Logins  int `json:"logins"`
	Bounces int `json:"bounces"`
	// LoginsPlanned is the logins the scan said up front it needs (sessions
	// per worker add up to a bound more); LoginsThrottled the login attempts
	// refused for their rate (429 or a lockout page) and waited out.
	LoginsPlanned   int       `json:"logins_planned,omitempty"`
	LoginsThrottled int       `json:"logins_throttled,omitempty"`
	Started         time.Time `json:"started"`
	Seconds         float64   `json:"duration_s"`
}

// Failed reports whether any probe failed.
func (r *Report) Failed() bool { return r.Status == check.Fail }

// Run discovers the policy, then runs the configured probes, at the same
// time where they hold disjoint buckets (schedule.go), and returns the
// report with the probes in catalog order.
func Run(ctx context.Context, t Target, cfg Config) (*Report, error) {
	s, err := newScanner(t, cfg)
	if err != nil {
		return nil, err
	}
	rep := &Report{Target: t.Info(), Algorithm: s.alg, FailurePolicy: s.policy, Limits: s.limits, Started: time.Now().UTC(), Status: check.Skip}
	start := time.Now()
	defer func() {
		rep.Logins, rep.Bounces, rep.LoginsThrottled = int(s.logins.Load()), int(s.bounces.Load()), int(s.throttled.Load())
	}()
	if !s.needsMap() {
		s.printf("scan: %s", s.planLogins(rep))
	}
	if s.needsMap() {
		s.printf("scan: %s", s.planLogins(rep))
		s.printf("scan: discovering the policy of %d operations ...", len(api.Operations))
		pm, err := s.discover(ctx)
		switch {
		case ctx.Err() != nil:
			return rep, fmt.Errorf("scan interrupted during discovery: %w", ctx.Err())
		case err != nil:
			// The probes that need the map say so (error); the others run.
			s.discoverErr = err
			s.printf("scan: discovery failed: %v", err)
		default:
			rep.PolicyMap, s.pm = pm, pm
			s.printf("scan: discovery done in %.1fs (%d requests): %d limited operation(s), %d difference(s) from the declared policy", pm.Seconds, pm.Sent, len(pm.Limited()), len(pm.Differences))
			if b := s.bounces.Load(); b > 0 {
				s.printf("scan: %d discovery requests bounced to the login page (sessions live in one worker each): up to %d more logins to reach the workers", b, 2*s.reloginBudget())
			}
		}
		if s.cfg.Op != "" {
			if _, ok := api.Lookup(s.cfg.Op); !ok {
				return rep, fmt.Errorf("scan: --op %q: allowed values are %s", s.cfg.Op, strings.Join(api.Names(), ", "))
			}
		}
	}
	var jobs []job
	for _, p := range catalog {
		if !slices.Contains(s.probes, p.name) {
			continue
		}
		jobs = append(jobs, job{name: p.name, claims: s.claims(p.name), long: windowBound(p.name), run: func(ctx context.Context) Result {
			return s.runProbe(ctx, p)
		}})
	}
	rep.Probes = runJobs(ctx, jobs, maxParallelProbes)
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("scan interrupted: %w", err)
	}
	rep.Status = check.Skip
	if len(rep.Probes) > 0 {
		sts := make([]check.Status, len(rep.Probes))
		for i, p := range rep.Probes {
			sts[i] = p.Status
		}
		rep.Status = check.Summarize(sts...)
	}
	rep.Seconds = round3(time.Since(start).Seconds())
	return rep, nil
}

// runProbe runs one probe with its retries and diagnosis.
func (s *scanner) runProbe(ctx context.Context, p probeDef) Result {
	s.printf("scan: %s ...", p.name)
	var atts []Attempt
	if n := 1 + s.cfg.Retries; n > 1 && s.attemptsSideBySide(p.name) {
		// A retry after the window probe would cost its whole length again:
		// its attempts run at once, each on its own fresh users, and all
		// count (a failure in any stays a finding).
		s.printf("scan: %s runs its %d attempts side by side on disjoint users (keys are per user)", p.name, n)
		atts = make([]Attempt, n)
		var wg sync.WaitGroup
		setups := make([]*setupSignal, n)
		for i := range atts {
			setups[i] = newSetupSignal()
			wg.Go(func() {
				defer setups[i].done()
				t0 := time.Now()
				r := safeRun(context.WithValue(ctx, setupKey{}, setups[i]), s, p)
				atts[i] = Attempt{Status: r.Status, Reason: r.Reason, Evidence: r.Evidence, Findings: r.Findings, DurationSeconds: round3(time.Since(t0).Seconds())}
			})
		}
		// The probe has its users when every attempt has them.
		go func() {
			for _, g := range setups {
				<-g.ch
			}
			setupDone(ctx)
		}()
		wg.Wait()
		res := foldAttempts(p.name, atts)
		res.DurationSeconds = 0
		for _, a := range atts {
			res.DurationSeconds = max(res.DurationSeconds, a.DurationSeconds)
		}
		s.diagnose(ctx, &res)
		s.printf("scan: %s %s in %.1fs: %s", p.name, strings.ToUpper(string(res.Status)), res.DurationSeconds, res.Reason)
		return res
	}
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		r := safeRun(ctx, s, p)
		atts = append(atts, Attempt{Status: r.Status, Reason: r.Reason, Evidence: r.Evidence, Findings: r.Findings, DurationSeconds: round3(time.Since(t0).Seconds())})
		if r.Status != check.Fail || attempt > s.cfg.Retries || ctx.Err() != nil {
			break
		}
		s.printf("scan: %s failed (%s); retrying on fresh users", p.name, r.Reason)
	}
	res := foldAttempts(p.name, atts)
	s.diagnose(ctx, &res)
	s.printf("scan: %s %s in %.1fs: %s", p.name, strings.ToUpper(string(res.Status)), res.DurationSeconds, res.Reason)
	return res
}

func safeRun(ctx context.Context, s *scanner, p probeDef) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			res = Result{Status: check.Fail, Reason: fmt.Sprintf("probe crashed: %v", v)}
		}
	}()
	return p.run(ctx, s)
}

// scanner holds what every probe shares: the target, the declared policy,
// and the pool of users not yet used by a probe.
type scanner struct {
	t        Target
	cfg      Config
	base     string
	limits   map[api.Category]api.Limit
	alg      string
	policy   string
	probes   []string
	creds    []client.Credential
	mu       sync.Mutex
	nextUser int
	timeout  time.Duration
	slack    time.Duration
	conns    int
	pm       *PolicyMap
	// discoverErr is why there is no policy map.
	discoverErr error
	sessions    map[string]*scenarios.VU // by user name
	logins      atomic.Int64
	bounces     atomic.Int64
	relogins    atomic.Int64             // logins replacing a bounced session (sessions per worker)
	spreads     atomic.Int64             // extra sessions of one user to reach several workers
	spread      map[string][]http.Header // those sessions, by user (under mu)
	throttled   atomic.Int64             // login attempts refused for their rate, waited out
	// diagnoses caches the control experiments per operation.
	diagnoses map[string]*diagnosisOnce
}

func newScanner(t Target, cfg Config) (*scanner, error) {
	info := t.Info()
	s := &scanner{t: t, cfg: cfg, base: strings.TrimRight(t.BaseURL(), "/"), creds: t.Credentials(), sessions: map[string]*scenarios.VU{}}
	s.limits = maps.Clone(api.DefaultLimits)
	// A login limit is declared only where one is known to exist: the
	// reference target's own (unless switched off), or one the user states.
	if info.Mode != stackinfo.ModeExternal && !slices.Contains(info.Defects, "no-login-limit") {
		s.limits[LoginCategory] = DefaultLoginLimit
	}
	switch {
	case cfg.Limits != nil:
		maps.Copy(s.limits, cfg.Limits)
	case info.Limits != "":
		l, err := stackinfo.ParseLimits(info.Limits)
		if err != nil {
			return nil, fmt.Errorf("read the target's declared limits: %w", err)
		}
		maps.Copy(s.limits, l)
	}
	s.alg = firstNonEmpty(cfg.Algorithm, known(info.Limiter, Fixed, Sliding, GCRA), Fixed)
	if !slices.Contains([]string{Fixed, Sliding, GCRA}, s.alg) {
		return nil, fmt.Errorf("scan: algorithm %q: allowed values are fixed, sliding, gcra", s.alg)
	}
	s.policy = firstNonEmpty(cfg.FailurePolicy, known(info.FailurePolicy, "fail-open", "fail-closed"), "fail-closed")
	if s.policy != "fail-open" && s.policy != "fail-closed" {
		return nil, fmt.Errorf("scan: failure policy %q: allowed values are fail-open, fail-closed", s.policy)
	}
	s.probes = cfg.Probes
	if len(s.probes) == 0 {
		s.probes = Probes()
	}
	for _, p := range s.probes {
		if Describe(p) == "" {
			return nil, fmt.Errorf("scan: unknown probe %q: allowed values are %s", p, strings.Join(Probes(), ", "))
		}
	}
	if len(s.creds) == 0 {
		return nil, errors.New("scan: the target has no credentials; give --user name:password")
	}
	s.timeout = cmp.Or(cfg.LimiterTimeout, time.Duration(info.RedisTimeoutMS*float64(time.Millisecond)), 250*time.Millisecond)
	s.slack = cmp.Or(cfg.HangSlack, 2*time.Second)
	s.conns = cmp.Or(cfg.Connections, 16)
	return s, nil
}

func (s *scanner) printf(format string, a ...any) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, format+"\n", a...)
	}
}

func (s *scanner) policyOf(cat api.Category) Policy {
	return Policy{Limit: s.limits[cat], Algorithm: s.alg}
}

// needsMap reports whether a selected probe judges the rate-limit policy.
func (s *scanner) needsMap() bool { return needsMap(s.probes) }

func needsMap(probes []string) bool {
	for _, p := range probes {
		switch p {
		case WorkerKill, Sessions, XFFSpoof:
		default:
			return true
		}
	}
	return false
}

// session logs the next credential in and discovers its project. Each
// credential is logged in once per scan (the login budget): when the pool
// wraps around its first session is reused.
func (s *scanner) session(ctx context.Context, _ string) (*scenarios.VU, error) {
	vu, _, err := s.user(ctx, true)
	return vu, err
}

// cred returns the credential of a user name.
func (s *scanner) cred(user string) (client.Credential, bool) {
	for _, c := range s.creds {
		if c.User == user {
			return c, true
		}
	}
	return client.Credential{}, false
}

// freshUser hands out the next unused credential, so each probe starts from
// counters nobody touched. When the pool runs out users are reused, with a
// note: reuse can only lower accepted counts, never raise them.
func (s *scanner) freshUser() (client.Credential, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.nextUser
	s.nextUser++
	c := s.creds[i%len(s.creds)]
	if i >= len(s.creds) {
		return c, fmt.Sprintf("user %s reused (only %d credentials): its counters may be partly used, which can only lower accepted counts", c.User, len(s.creds))
	}
	return c, ""
}

// known returns v when it is one of allowed (an external stack says "unknown").
func known(v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return ""
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// WriteText prints the report as a readable table.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "target %s (%s mode, %d workers, cache %s, limiter %s, %s)\n", r.Target.BaseURL, r.Target.Mode, r.Target.Workers, r.Target.Cache, r.Algorithm, r.FailurePolicy)
	if len(r.Target.Defects) > 0 {
		fmt.Fprintf(w, "defects switched on: %s\n", strings.Join(r.Target.Defects, ", "))
	}
	cats := make([]string, 0, len(r.Limits))
	for c, l := range r.Limits {
		cats = append(cats, fmt.Sprintf("%s=%d/%ds", c, l.Requests, l.WindowSeconds))
	}
	sort.Strings(cats)
	fmt.Fprintf(w, "declared limits: %s\n\n", strings.Join(cats, " "))
	if r.PolicyMap != nil {
		r.PolicyMap.WriteText(w)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-17s %-12s %6s %8s %8s %9s  %s\n", "PROBE", "", "SENT", "ACCEPTED", "EXPECTED", "OVERSHOOT", "REASON")
	for _, p := range r.Probes {
		exp := "-"
		if p.Evidence.ExpectedMax > 0 {
			exp = fmt.Sprint(p.Evidence.ExpectedMax)
		}
		fmt.Fprintf(w, "%-17s %-12s %6d %8d %8s %9d  %s\n", p.Probe, strings.ToUpper(string(p.Status)), p.Evidence.Sent, p.Evidence.Accepted, exp, p.Evidence.Overshoot, p.Reason)
	}
	for _, p := range r.Probes {
		if p.Status != check.Fail {
			continue
		}
		fmt.Fprintf(w, "\n%s FAILED: %s\n", p.Probe, p.Reason)
		for _, f := range p.Findings {
			fmt.Fprintf(w, "  finding %s\n", f.ID)
		}
		e := p.Evidence
		if e.Policy != "" {
			who := ""
			if e.User != "" {
				who = ", user " + e.User
			}
			fmt.Fprintf(w, "  policy %s, operation %s%s, %.3fs\n", e.Policy, e.Operation, who, e.ElapsedSeconds)
		}
		if len(e.AcceptedPerWorker) > 0 {
			fmt.Fprintf(w, "  accepted per worker: %s\n", formatCounts(e.AcceptedPerWorker))
		}
		for _, row := range e.Rows {
			fmt.Fprintf(w, "  %-48s sent %4d accepted %4d limited %4d %s\n", row.Name, row.Sent, row.Accepted, row.Limited, row.Note)
		}
		for _, n := range e.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		writeDiagnosis(w, p.Diagnosis)
		writeAttempts(w, p)
		for _, sm := range e.Samples {
			fmt.Fprintf(w, "  sample (%s): %s %s -> %d worker %s %s\n", sm.What, sm.Method, sm.URL, sm.Status, sm.Worker, truncate(sm.Body, 160))
		}
	}
	if r.Logins > 0 || r.Bounces > 0 {
		fmt.Fprintf(w, "\nsessions: %d logins (%d planned), %d requests bounced to the login page", r.Logins, r.LoginsPlanned, r.Bounces)
		if r.LoginsThrottled > 0 {
			fmt.Fprintf(w, ", %d login attempts throttled and waited out", r.LoginsThrottled)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nscan %s in %.1fs\n", strings.ToUpper(string(r.Status)), r.Seconds)
}

func formatCounts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// LoginPlan is what a scan with cfg logs in: how many users of the pool
// (each once: the first ones of Credentials), and how many new sessions of
// a user already logged in it asks for on purpose. Renewals of sessions that
// bounce (sessions per worker) come on top, within the relogin budget.
func LoginPlan(cfg Config) (users, fresh int) {
	probes := cfg.Probes
	if len(probes) == 0 {
		probes = Probes()
	}
	return loginPlan(probes)
}

func loginPlan(probes []string) (users, fresh int) {
	if needsMap(probes) {
		users += 3 + len(api.Versions) - 1 // discovery: two users, bucket sharing, one per other URL family
	}
	diag := false
	for _, p := range probes {
		users += probeUsers[p]
		diag = diag || diagnosable[p]
	}
	if diag {
		users += 3 // the counter diagnosis's controls
	}
	if slices.Contains(probes, IdentityRotation) {
		fresh = 1
	}
	return users, fresh
}

// probeUsers is how many users of the pool each probe takes (s.user);
// identity-rotation also logs its user in once more (a new session).
var probeUsers = map[string]int{
	MultiWorker: 1, Race: 1, Window: 2, PathVariants: 2, Headers: 1, Sessions: 1,
	CacheDown: 1, CacheSlow: 1, WorkerKill: 4,
	IdentityRotation: 1, IdentityHeaders: 1, LimitedWrite: 1, MethodVariants: 1,
}

// planLogins says up front how many logins the scan needs: each credential
// is logged in once and its session shared by every probe that gets it, so
// the users asked for beyond the pool cost nothing. It records the number
// in rep.LoginsPlanned.
func (s *scanner) planLogins(rep *Report) string {
	users, fresh := loginPlan(s.probes)
	logins := min(users, len(s.creds)) + fresh
	extra := ""
	if fresh > 0 {
		extra = ", 1 more for identity-rotation's new session"
	}
	rep.LoginsPlanned = logins
	return fmt.Sprintf("needs at most %d logins: %d users asked for, over %d credentials each logged in once (sessions shared by every probe)%s; "+
		"login throttling (429 or a lockout page) is waited out, up to %s per login", logins, users, len(s.creds), extra, scanLoginWait)
}
