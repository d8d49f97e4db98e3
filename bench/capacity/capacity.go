package capacity

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// HighLimits is the limit profile capacity runs give the target so the rate
// limiter never answers 429 and distorts the measured capacity.
const HighLimits = "bulk=100000000/1,write=100000000/1,read=100000000/1,export=100000000/1,login=100000000/1"

// Config is one point of the sweep. Against an external deployment there
// is one configuration per mix, the deployment as it is: Workers is 0 and
// Cache "as deployed".
type Config struct {
	Workers int    `json:"workers"`
	Cache   string `json:"cache"`
	Mix     string `json:"mix"` // a scenario (built-in name or file) whose mix and users are used
}

// AsDeployed is the Cache of an external deployment's configuration.
const AsDeployed = "as deployed"

func (c Config) String() string {
	if c.Workers == 0 {
		return fmt.Sprintf("%s %s", c.Mix, c.Cache)
	}
	return fmt.Sprintf("%s w=%d %s", c.Mix, c.Workers, c.Cache)
}

// WorkersText is the worker count, or "as deployed" when unknown.
func (c Config) WorkersText() string {
	if c.Workers == 0 {
		return AsDeployed
	}
	return fmt.Sprint(c.Workers)
}

// Options drive a sweep.
type Options struct {
	Configs []Config
	Search  Search
	// StepDuration is how long each rate is held (2-3 s keeps a sweep short).
	StepDuration time.Duration
	// MaxWorkers caps the generator's in-flight requests per step.
	MaxWorkers int
	// Up brings one configuration's stack up (see UpFunc); the run package's
	// StackUp starts a docker or local stack.
	Up UpFunc
	// Progress receives one line per step; nil discards.
	Progress io.Writer
	// External: Up returns an external deployment as it is (its own
	// limits, every account given drives load); Policy is what is declared
	// of its per-user limits, TargetURL where it is.
	External  bool
	Policy    Policy
	TargetURL string
	// Label names the run (e.g. "4 workers, redis"); compare shows it.
	Label string
	// Discover (external only): before the first ramp, map the deployment's
	// policy with the scan's discovery (bounded by DiscoverTimeout, default
	// 3 min) and size the users by it over Policy's declared limits.
	Discover        bool
	DiscoverTimeout time.Duration
}

// Discovery is what the policy discovery before the ramp did.
type Discovery struct {
	Requests int     `json:"requests"`
	Seconds  float64 `json:"duration_s"`
	// Users logged in by discovery; Spent those left out of the ramp
	// because discovery used up their quota of a limited operation.
	Users []string `json:"users"`
	Spent []string `json:"spent_users,omitempty"`
	// Map is the discovered policy map, as a scan reports it.
	Map   *scan.PolicyMap `json:"policy_map,omitempty"`
	Error string          `json:"error,omitempty"`
	Note  string          `json:"note,omitempty"`
}

// cpuReader is a Target that can say why its CPU is not measured (an
// external stack without a cpu hook).
type cpuReader interface {
	ReadCPU(ctx context.Context) (stackinfo.CPUTime, error)
}

// Target is one configuration's stack as the sweep uses it; a
// *stack.Stack satisfies it. The sweep takes it down when done.
type Target interface {
	BaseURL() string
	Credentials() []client.Credential
	Info() stackinfo.Info
	CPUTime(ctx context.Context) stackinfo.CPUTime
	Down(ctx context.Context) error
}

// UpFunc brings a stack up for one configuration with the given limits and
// at least users seeded users. It may return a non-nil Target with an error:
// the sweep takes that down too. Injected so this package (and the reports
// that hold its Report) links no Docker or Toxiproxy client.
type UpFunc func(ctx context.Context, c Config, limits map[api.Category]api.Limit, users int) (Target, error)

// Result is the search outcome of one configuration.
type Result struct {
	Config
	Stack   *stackinfo.Info `json:"stack,omitempty"`
	Outcome *Outcome        `json:"outcome,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Users says whether the users were enough for the rates tried.
	Users *Users `json:"users,omitempty"`
	// Observed are limits stated by the 429 answers seen, per operation.
	Observed []Observed `json:"observed_limits,omitempty"`
	// Notes say what the numbers mean beyond the SLO verdict (e.g. logged-in
	// requests bounced to the login page).
	Notes []string `json:"notes,omitempty"`
}

// bounceNote explains a result whose errors were redirects to the login
// page although every virtual user was logged in.
func bounceNote(o *Outcome) string {
	var n int64
	if o != nil {
		for _, st := range o.Steps {
			n += st.ErrorKinds[bounceKind]
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d logged-in request(s) were redirected to the login page: the deployment's workers do not share sessions (harness scan --probe sessions), "+
		"so its users are bounced under load and the rate measures that, not capacity (docs/ops/incidents.md, sessions bouncing)", n)
}

// bounceKind is the engine's error kind of a redirect to the login page.
const bounceKind = "redirect to login"

// Report is the capacity section of a run, as plain data.
type Report struct {
	// Label names the run; Mode is the stack mode; TargetURL the external
	// deployment measured.
	Label     string `json:"label,omitempty"`
	Mode      string `json:"mode,omitempty"`
	TargetURL string `json:"target_url,omitempty"`
	// Policy is the per-user limits the run knew of.
	Policy Policy `json:"policy"`
	// Discovery is the policy discovery run before the ramp, if any.
	Discovery *Discovery `json:"discovery,omitempty"`
	// CPUNote says why the target's CPU is not measured, when it is not.
	CPUNote         string    `json:"cpu_note,omitempty"`
	SLO             SLO       `json:"slo"`
	StepSeconds     float64   `json:"step_s"`
	Limits          string    `json:"limits"`
	LimitsNote      string    `json:"limits_note"`
	CPUs            int       `json:"cpus"`
	SharedCoresNote string    `json:"shared_cores_note"`
	Started         time.Time `json:"started"`
	DurationS       float64   `json:"duration_s"`
	Results         []*Result `json:"results"`
	// Tuning is the rate-limit tuning computed from the results (Tune).
	Tuning *Tuning `json:"tuning,omitempty"`
	// Alerts is the 429s per category to expect at capacity and the rules
	// alerting on them (NewAlertTable).
	Alerts *AlertTable `json:"alerts,omitempty"`
}

// Sweep searches every configuration with its own stack, one after another.
func Sweep(ctx context.Context, o Options) (*Report, error) {
	if o.StepDuration <= 0 {
		o.StepDuration = 2 * time.Second
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 128
	}
	if o.Search.Start == 0 {
		o.Search = DefaultSearch()
	}
	rep := &Report{
		SLO: o.Search.SLO, StepSeconds: o.StepDuration.Seconds(), Limits: HighLimits,
		LimitsNote: "the target ran with a high-limit profile (every category 100000000 requests per second) so the rate limiter never answered 429; the numbers are the app's capacity, not its limits",
		CPUs:       runtime.NumCPU(),
		SharedCoresNote: fmt.Sprintf("generator and target share this machine's %d cores: the generator's CPU is taken from the target's, so "+
			"the maximum rates are lower bounds for a target on its own machine", runtime.NumCPU()),
		Started: time.Now().UTC(),
	}
	if o.Up == nil {
		return nil, fmt.Errorf("capacity: Options.Up is nil: nothing brings a stack up")
	}
	limits, err := stackinfo.ParseLimits(HighLimits)
	if err != nil {
		return nil, err
	}
	rep.Label = o.Label
	rep.Policy = Policy{Source: highLimitSource, Limits: limits}
	if o.External {
		rep.Mode, rep.TargetURL, rep.Limits, rep.Policy = stackinfo.ModeExternal, o.TargetURL, "", o.Policy
		if rep.Policy.Source == "" {
			rep.Policy.Source = "unknown"
		}
		rep.setExternalNote(o)
		rep.SharedCoresNote = fmt.Sprintf("the generator ran on this machine (%d cores); the deployment's machine is shared with it only if the deployment runs here too", runtime.NumCPU())
	}
	for _, c := range o.Configs {
		r := &Result{Config: c}
		rep.Results = append(rep.Results, r)
		if err := runConfig(ctx, o, c, limits, r, rep); err != nil {
			r.Error = err.Error()
			progress(o.Progress, "capacity %s: %v\n", c, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.reviseUsers(o)
	rep.DurationS = time.Since(rep.Started).Seconds()
	return rep, ctx.Err()
}

// reviseUsers takes the limits the ramp's 429 answers stated into the
// policy and, when that changed it, judges each mix's users again.
func (rep *Report) reviseUsers(o Options) {
	if !o.External {
		return
	}
	var obs []Observed
	for _, r := range rep.Results {
		obs = append(obs, r.Observed...)
	}
	p, changed := rep.Policy.WithObserved(obs)
	if !changed {
		return
	}
	rep.Policy = p
	rep.setExternalNote(o)
	for _, r := range rep.Results {
		if r.Users == nil {
			continue
		}
		sc, err := scenarios.Resolve(r.Mix)
		if err != nil {
			continue
		}
		u := CheckUsers(sc, p, r.Users.Given, r.Users.Distinct, o.Search.Max)
		u.Note = "with the limits the 429 answers stated: " + u.Note
		r.Users = &u
	}
}

// setExternalNote says whose limits the deployment ran with.
func (rep *Report) setExternalNote(o Options) {
	rep.LimitsNote = "the deployment ran as deployed, with its own limits (known: " + rep.Policy.Source + "); " +
		"429 answers are counted apart from errors, and a step with more than " + fmt.Sprintf("%.1f", o.Search.SLO.MaxRateLimited) +
		"% of them measured per-user limits, not capacity"
}

// scanTarget lets the scan's discovery use a capacity Target: discovery
// breaks nothing, so it needs no Control. creds are the accounts it may use.
type scanTarget struct {
	Target
	creds []client.Credential
}

func (t scanTarget) Credentials() []client.Credential { return t.creds }

// discoveryAccounts is how many accounts discovery gets when more are given:
// it uses up their quota of every limited operation, so the rest are kept
// for the ramp (with fewer, the scan reuses them for its other sessions).
const discoveryAccounts = 2

// discoveryCredentials are the credentials of the first discoveryAccounts
// accounts, when at least one more account remains for the ramp.
func discoveryCredentials(creds []client.Credential) []client.Credential {
	if distinctUsers(creds) <= discoveryAccounts {
		return creds
	}
	var out []client.Credential
	seen := map[string]bool{}
	for _, c := range creds {
		if !seen[c.User] {
			if len(seen) == discoveryAccounts {
				break
			}
			seen[c.User] = true
		}
		out = append(out, c)
	}
	return out
}

func (scanTarget) Control() (stackinfo.Control, error) {
	return nil, fmt.Errorf("capacity's policy discovery controls nothing")
}

// discover maps the policy before the first ramp and makes it the
// report's, over the declared limits in o.Policy.
func (rep *Report) discover(ctx context.Context, o Options, s Target) {
	d := &Discovery{}
	rep.Discovery = d
	timeout := o.DiscoverTimeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	progress(o.Progress, "capacity: discovering the deployment's rate-limit policy (the scan's discovery, at most %s) ...\n", timeout)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := scan.Discover(dctx, scanTarget{s, discoveryCredentials(s.Credentials())}, scan.Config{Limits: o.Policy.Limits})
	if m != nil {
		d.Requests, d.Seconds, d.Users, d.Map = m.Sent, m.Seconds, m.Users, m
	}
	if err == nil && dctx.Err() != nil {
		err = dctx.Err()
	}
	if err != nil {
		d.Error = err.Error()
		progress(o.Progress, "capacity: policy discovery failed: %v; users are judged by %s limits\n", err, orUnknown(o.Policy.Source))
		return
	}
	p, err := PolicyFromMap(fmt.Sprintf("discovered (scan discovery, %d requests in %.1f s)", m.Sent, m.Seconds), m, o.Policy.Limits, o.Policy.Source)
	if err != nil {
		d.Error = err.Error()
		progress(o.Progress, "capacity: %v\n", err)
		return
	}
	rep.Policy = p
	rep.setExternalNote(o)
	if len(o.Policy.Limits) == 0 {
		m.Differences = nil // against the app's defaults, which nobody declared here
	}
	if len(m.Limited()) > 0 {
		d.Spent = m.Users
	}
	progress(o.Progress, "capacity: policy discovered in %.1f s (%d requests): %d limited operation(s)\n", m.Seconds, m.Sent, len(m.Limited()))
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// runConfig searches one configuration on the Target o.Up returns: a stack
// started with the high-limit profile, or an external deployment as it is.
func runConfig(ctx context.Context, o Options, c Config, limits map[api.Category]api.Limit, r *Result, rep *Report) error {
	base, err := scenarios.Resolve(c.Mix)
	if err != nil {
		return err
	}
	s, err := o.Up(ctx, c, limits, max(base.Users, 20))
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if s != nil {
			_ = s.Down(dctx)
		}
	}()
	if err != nil {
		return fmt.Errorf("start stack: %w", err)
	}
	info := s.Info()
	r.Stack = &info
	if rep.Mode == "" {
		rep.Mode = info.Mode
	}
	if o.External && o.Discover && rep.Discovery == nil {
		rep.discover(ctx, o, s)
	}
	// Against a deployment every account given drives load, so per-user
	// limits spread; a started stack seeds enough for its mix.
	creds := s.Credentials()
	if base.Writes() {
		var why string
		if creds, why = scenarios.ScratchOnly(creds); len(creds) == 0 {
			return fmt.Errorf("mix %s: %s; or measure a read-only mix (read-mix)", c.Mix, why)
		}
	}
	if o.External {
		creds = rep.rampCredentials(creds)
	}
	policy, n := rep.Policy, base.Users
	distinct := min(n, len(creds))
	if o.External {
		n = max(n, len(creds))
		distinct = distinctUsers(creds)
		if cr, ok := s.(cpuReader); ok && rep.CPUNote == "" {
			if _, err := cr.ReadCPU(ctx); err != nil {
				rep.CPUNote = "target CPU not measured: " + err.Error()
			}
		}
	}
	users := CheckUsers(base, policy, n, distinct, o.Search.Max)
	r.Users = &users
	if users.TooFew || o.External {
		progress(o.Progress, "capacity %s: %s\n", c, users.Note)
	}
	vus, err := scenarios.LoginUsers(ctx, s.BaseURL(), creds, n, scenarios.LoginOptions{Discover: true, HargaItems: true, Version: base.Version})
	if err != nil {
		return loginError(err, n)
	}
	observed := map[string]*Observed{}
	defer func() { r.Observed = sortedObserved(observed) }()
	measure := func(ctx context.Context, rate int) (Step, error) {
		sc := *base
		sc.Name = fmt.Sprintf("%s@%d", c.Mix, rate)
		sc.Kind, sc.Rate, sc.Duration = scenarios.Constant, rate, o.StepDuration
		sc.MaxWorkers, sc.MaxConnections = o.MaxWorkers, o.MaxWorkers
		sc.Timeout = 5 * time.Second
		t0, g0, c0, i0 := time.Now(), selfCPU(), s.CPUTime(ctx), machineIdle()
		res, err := scenarios.Run(ctx, &sc, scenarios.Options{BaseURL: s.BaseURL(), VUs: vus, OnResult: func(vr *vegeta.Result) {
			if vr.Code == http.StatusTooManyRequests {
				observe(observed, vr)
			}
		}})
		if err != nil {
			return Step{}, err
		}
		wall := time.Since(t0).Seconds()
		c1 := s.CPUTime(ctx)
		st := Step{Achieved: res.AchievedRate, FellBehind: res.FellBehind, GeneratorCPU: (selfCPU() - g0) / wall,
			TargetCPU: cores(c0.Target, c1.Target, wall), CacheCPU: cores(c0.Cache, c1.Cache, wall), MachineCPU: machineBusy(cores(i0, machineIdle(), wall))}
		st.Saturated = st.MachineCPU > 0.9*float64(runtime.NumCPU())
		if len(res.Metrics.Errors) > 0 {
			st.ErrorKinds = res.Metrics.Errors
		}
		for op, os := range res.Metrics.Operations {
			if n := os.Status["429"]; n > 0 {
				if st.RateLimitedOps == nil {
					st.RateLimitedOps = map[string]int64{}
				}
				st.RateLimitedOps[op] += n
				st.RateLimited += n
			}
		}
		if st.ErrorKinds != nil {
			delete(st.ErrorKinds, "http 429") // counted apart
			if len(st.ErrorKinds) == 0 {
				st.ErrorKinds = nil
			}
		}
		if t := res.Metrics.Total; t != nil {
			st.Requests, st.P50, st.P99 = t.Requests, t.Latency.P50, t.Latency.P99
			if t.Requests > 0 {
				st.ErrorRate = 100 * float64(t.Errors-st.RateLimited) / float64(t.Requests)
				st.RateLimitedRate = 100 * float64(st.RateLimited) / float64(t.Requests)
			}
		}
		progress(o.Progress, "capacity %s: %5d/s achieved %7.1f/s p50 %7.1fms p99 %7.1fms errors %5.1f%% 429s %5.1f%% cpu gen %s target %s redis %s machine %s\n",
			c, rate, st.Achieved, st.P50, st.P99, st.ErrorRate, st.RateLimitedRate, cpu(st.GeneratorCPU), cpu(st.TargetCPU), cpu(st.CacheCPU), cpu(st.MachineCPU))
		return st, ctx.Err()
	}
	out, err := o.Search.Run(ctx, measure)
	r.Outcome = out
	if n := bounceNote(out); n != "" {
		r.Notes = append(r.Notes, n)
	}
	return err
}

// rampCredentials leaves out the accounts discovery spent, when others
// remain; otherwise it keeps them and says so.
func (rep *Report) rampCredentials(creds []client.Credential) []client.Credential {
	d := rep.Discovery
	if d == nil || len(d.Spent) == 0 {
		return creds
	}
	var out []client.Credential
	for _, c := range creds {
		if !contains(d.Spent, c.User) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		d.Note = fmt.Sprintf("discovery sent %s against the limited operations (their quota may be spent for a window) and no other account was given: the first steps may see their 429s (give more accounts)", strings.Join(d.Spent, ", "))
		return creds
	}
	d.Note = fmt.Sprintf("discovery sent %s against the limited operations (their quota may be spent for a window): the ramp uses the other %d account(s)", strings.Join(d.Spent, ", "), len(out))
	return out
}

// loginError names the login limit when logging the users in ran into it:
// every login of the harness comes from one address.
func loginError(err error, n int) error {
	if client.StatusOf(err) == http.StatusTooManyRequests {
		return fmt.Errorf("log users in: the deployment's login limit answered 429 while %d virtual users logged in from this one host (each logs in once; waited up to %s): "+
			"raise the deployment's login limit for the test (it counts per client IP, and every login of the harness comes from this address), or give a mix with fewer users: %w", n, scenarios.LoginWait, err)
	}
	return fmt.Errorf("log users in: %w", err)
}

// distinctUsers counts the accounts among creds.
func distinctUsers(creds []client.Credential) int {
	seen := map[string]bool{}
	for _, c := range creds {
		seen[c.User] = true
	}
	return len(seen)
}

// observe counts a 429 answer per operation with the limit its body states.
func observe(m map[string]*Observed, vr *vegeta.Result) {
	path := vr.URL
	if u, err := url.Parse(vr.URL); err == nil {
		path = u.Path
	}
	op := scenarios.OperationOf(path)
	ob := m[op]
	if ob == nil {
		ob = &Observed{Operation: op}
		m[op] = ob
	}
	ob.Count++
	if ob.Limit.Requests == 0 {
		if l, cat, ok := parse429(vr.Body); ok {
			ob.Limit, ob.Category = l, cat
		}
	}
}

func sortedObserved(m map[string]*Observed) []Observed {
	out := make([]Observed, 0, len(m))
	for _, ob := range m {
		out = append(out, *ob)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Operation < out[j].Operation })
	if len(out) == 0 {
		return nil
	}
	return out
}

// selfCPU is this process's user+system CPU seconds (getrusage).
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// machineIdle is the idle (and iowait) CPU seconds of the whole machine so
// far, from /proc/stat's first line, or -1. Busy time is taken as cores ×
// wall minus idle: the kernel accounts idle time exactly on a tickless
// kernel, while its busy counters are tick samples that miss short bursts.
func machineIdle() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait ...
	if len(f) < 6 || f[0] != "cpu" {
		return -1
	}
	idle, err1 := strconv.ParseFloat(f[4], 64)
	iowait, err2 := strconv.ParseFloat(f[5], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (idle + iowait) / clockTicks
}

// machineBusy is the cores the whole machine used, given the idle cores
// over the same time (from two machineIdle readings), or -1.
func machineBusy(idleCores float64) float64 {
	if idleCores < 0 {
		return -1
	}
	return max(0, float64(runtime.NumCPU())-idleCores)
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// cores is the CPU used between two cumulative readings per wall second, or
// -1 when either reading is missing or the counter went back (a restart).
func cores(before, after, wall float64) float64 {
	if before < 0 || after < before || wall <= 0 {
		return -1
	}
	return (after - before) / wall
}
