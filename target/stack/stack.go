// Package stack brings the reference target up for a run and hides where it
// runs: Docker containers (testcontainers-go), local processes, or an
// external deployment given by URL. Checks see one *Stack; the ones that need
// to break things (stop Redis, kill a worker) ask for its Control, which an
// external stack declines with ErrUnsupported.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// The names checks and reports share live in stackinfo (no Docker,
// Toxiproxy or browser client); these aliases keep them reachable here.
const (
	ModeAuto     = stackinfo.ModeAuto
	ModeDocker   = stackinfo.ModeDocker
	ModeLocal    = stackinfo.ModeLocal
	ModeExternal = stackinfo.ModeExternal
	CacheLocmem  = stackinfo.CacheLocmem
	CacheRedis   = stackinfo.CacheRedis
)

type (
	// Info describes a stack that is up (stackinfo.Info).
	Info = stackinfo.Info
	// Worker is one worker process of the target (stackinfo.Worker).
	Worker = stackinfo.Worker
	// Control breaks and repairs parts of a running stack (stackinfo.Control).
	Control = stackinfo.Control
	// CPUTime is the CPU the stack's processes used so far (stackinfo.CPUTime).
	CPUTime = stackinfo.CPUTime
)

var (
	// ErrUnsupported is returned for control operations a mode cannot do.
	ErrUnsupported = stackinfo.ErrUnsupported
	// ErrNoCache is returned by cache controls when the stack runs without Redis.
	ErrNoCache = stackinfo.ErrNoCache
	// Unmeasured is a CPUTime with nothing measured.
	Unmeasured = stackinfo.Unmeasured
	// ParseLimits reads the target's --limits syntax: "read=100/60,write=20/60".
	ParseLimits = stackinfo.ParseLimits
)

// Local Redis kinds accepted in Spec.LocalRedis.
const (
	LocalRedisAuto      = "auto"
	LocalRedisServer    = "redis-server"
	LocalRedisMiniredis = "miniredis"
)

// Defaults of the reference target, repeated here so a Spec's zero values
// mean the same thing as the target's own defaults.
const (
	DefaultWorkers       = 1
	DefaultLimiter       = "fixed"
	DefaultFailurePolicy = "fail-closed"
	DefaultSessionStore  = "db"
	DefaultSeedUsers     = 20
	DefaultSeedProjects  = 2
	DefaultSeedPassword  = "ahsp-pass"
	DefaultStartTimeout  = 60 * time.Second
	// DefaultRedisTimeout bounds each limiter and session call to Redis;
	// past it the failure policy answers (fail-closed: 503). 50 ms fired
	// spuriously on 2 busy cores in docker mode (503 storms on bursts of
	// 200); 250 ms still fails fast on a dead Redis.
	DefaultRedisTimeout = 250 * time.Millisecond
	// LabelKey marks every container and network a stack creates, so that
	// leftovers of a crashed run can be found and removed (DownAll).
	LabelKey = "ahsp-harness"
	// LabelRun carries the run id of the stack that created the resource.
	LabelRun = "ahsp-harness.run"
	// LabelPID is the pid of the harness process that owns the resource.
	LabelPID = "ahsp-harness.pid"
)

var (
	// ErrInvalidSpec wraps every validation error of a Spec.
	ErrInvalidSpec = errors.New("invalid stack spec")
	// ErrStart wraps failures to bring a docker or local stack up.
	ErrStart = errors.New("stack failed to start")
	// ErrUnreachable wraps failures to reach an external target.
	ErrUnreachable = errors.New("target unreachable")
)

// Seed is the size of the deterministic seed data.
type Seed struct {
	Users    int `json:"users" yaml:"users"`
	Projects int `json:"projects" yaml:"projects"`
}

// Spec describes the stack to bring up. Zero values take the target's defaults.
type Spec struct {
	Mode          string // auto|docker|local|external
	Workers       int
	Cache         string // locmem|redis
	Limiter       string // fixed|sliding|gcra
	FailurePolicy string // fail-open|fail-closed
	// RedisTimeout bounds each of the target's Redis calls (0: 250ms).
	RedisTimeout time.Duration
	SessionStore string // db|cache
	// Limits overrides per-category limits (keys: api categories and "login").
	Limits  map[api.Category]api.Limit
	Defects []string
	// Profile names a deployment profile of the reference target
	// (as-deployed, as-deployed-redis): it fills Workers, Cache and
	// SessionStore when they are zero and adds its defects to Defects.
	Profile string
	Seed    Seed
	// SeedPassword is the password of every seeded user.
	SeedPassword string
	// TargetBin is the ahsp-target binary; empty resolves it (see ResolveTarget).
	TargetBin string
	// Port is the local mode's listening port on 127.0.0.1; 0 picks a free one.
	Port int
	// LocalRedis picks the local mode's Redis: auto, redis-server or miniredis.
	LocalRedis string
	// StartTimeout bounds the wait for /health/ready/.
	StartTimeout time.Duration

	// TargetURL is the external deployment (scheme://host[:port][/prefix]).
	TargetURL string
	// PathPrefix is appended to TargetURL (for apps mounted below /).
	PathPrefix string
	// Credentials are the external deployment's users.
	Credentials []client.Credential
	// Hooks are the external deployment's commands by hook name (HookNames),
	// run with sh -c; they give an external stack its Control, Logs and CPUTime.
	Hooks map[string]string
	// HookTimeout bounds one hook run (0: DefaultHookTimeout).
	HookTimeout time.Duration

	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// backend is one mode's implementation.
type backend interface {
	control() (Control, error)
	logs(ctx context.Context) string
	seed(ctx context.Context, seed Seed, password string) error
	down(ctx context.Context) error
	cpuTime(ctx context.Context) CPUTime
}

// Stack is a running target.
// Its methods are safe for concurrent use; all of them accept a nil *Stack
// (what Up returns when nothing was started) and return zero values.
type Stack struct {
	info     Info
	mu       sync.Mutex // guards creds, which Seed replaces
	creds    []client.Credential
	password string // of the seeded users
	be       backend
}

// BaseURL is the target's base URL, with no trailing slash.
func (s *Stack) BaseURL() string { return s.Info().BaseURL }

// Credentials are the users the harness may log in as.
func (s *Stack) Credentials() []client.Credential {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]client.Credential(nil), s.creds...)
}

// Info describes the stack.
func (s *Stack) Info() Info {
	if s == nil {
		return Info{}
	}
	return s.info
}

// Control returns the stack's control. In external mode it runs the
// configured hooks and is ErrUnsupported when none is configured.
func (s *Stack) Control() (Control, error) {
	if s == nil || s.be == nil {
		return nil, ErrUnsupported
	}
	return s.be.control()
}

// Logs returns the last lines the target logged (external mode: the logs
// hook's output, empty without one; ReadLogs says why).
func (s *Stack) Logs(ctx context.Context) string {
	if s == nil || s.be == nil {
		return ""
	}
	return s.be.logs(ctx)
}

// Seed creates or refreshes the seed data of a running docker or local stack
// (ahsp-target seed on its database) and updates Credentials to match.
func (s *Stack) Seed(ctx context.Context, seed Seed) error {
	if s == nil || s.be == nil {
		return fmt.Errorf("seed: %w", ErrUnsupported)
	}
	if seed.Users < 1 || seed.Projects < 1 {
		return fmt.Errorf("%w: seed users=%d projects=%d: want at least 1 of each", ErrInvalidSpec, seed.Users, seed.Projects)
	}
	if err := s.be.seed(ctx, seed, s.password); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	s.mu.Lock()
	s.creds = seededCredentials(seed, s.password)
	s.mu.Unlock()
	return nil
}

// Down stops everything the stack started. It is safe to call more than once
// and on the partial stack Up returns with an error.
func (s *Stack) Down(ctx context.Context) error {
	if s == nil || s.be == nil {
		return nil
	}
	return s.be.down(ctx)
}

// Up brings a stack up as spec says. On error the partial stack is returned
// too (when anything was started), so the caller can still Down it.
func Up(ctx context.Context, spec Spec) (*Stack, error) {
	start := time.Now()
	spec, err := normalize(spec)
	if err != nil {
		return nil, err
	}
	p := progress{spec.Progress}
	mode, reason := spec.Mode, "requested"
	if mode == ModeAuto {
		mode, reason = chooseMode(ctx)
	}
	p.printf("stack: %s mode (%s)", mode, reason)
	info := Info{
		Mode: mode, ModeReason: reason, RunID: newRunID(), Profile: spec.Profile,
		Workers: spec.Workers, Cache: spec.Cache, Limiter: spec.Limiter,
		FailurePolicy: spec.FailurePolicy, SessionStore: spec.SessionStore,
		Limits: formatLimits(spec.Limits), Defects: spec.Defects,
		RedisTimeoutMS: float64(spec.RedisTimeout) / float64(time.Millisecond),
	}
	var s *Stack
	switch mode {
	case ModeExternal:
		s, err = upExternal(ctx, spec, info)
	case ModeLocal:
		s, err = upLocal(ctx, spec, info)
	case ModeDocker:
		s, err = upDocker(ctx, spec, info)
	}
	if s != nil {
		s.password = spec.SeedPassword
		s.info.StartupSeconds = time.Since(start).Seconds()
	}
	if err == nil {
		p.printf("stack: up in %.2fs at %s", time.Since(start).Seconds(), s.info.BaseURL)
	}
	return s, err
}

func normalize(spec Spec) (Spec, error) {
	bad := func(format string, a ...any) (Spec, error) {
		return spec, fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, a...))
	}
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	if spec.Mode == "" || spec.Mode == ModeAuto && spec.TargetURL != "" {
		spec.Mode = ModeAuto
		if spec.TargetURL != "" {
			spec.Mode = ModeExternal // a URL means the target runs elsewhere
		}
	}
	if spec.Profile != "" {
		if spec.Mode == ModeExternal {
			return bad("profile %q configures the reference target; an external deployment is what it is (drop the profile)", spec.Profile)
		}
		p, err := defects.LookupProfile(spec.Profile)
		if err != nil {
			return bad("%v", err)
		}
		if spec.Workers == 0 {
			spec.Workers = p.Workers
		}
		def(&spec.Cache, p.Cache)
		def(&spec.SessionStore, p.SessionStore)
		spec.Defects = p.WithDefects(spec.Defects)
	}
	def(&spec.Cache, CacheLocmem)
	def(&spec.Limiter, DefaultLimiter)
	def(&spec.FailurePolicy, DefaultFailurePolicy)
	def(&spec.SessionStore, DefaultSessionStore)
	def(&spec.SeedPassword, DefaultSeedPassword)
	def(&spec.LocalRedis, LocalRedisAuto)
	if spec.Workers == 0 {
		spec.Workers = DefaultWorkers
	}
	if spec.Seed.Users == 0 {
		spec.Seed.Users = DefaultSeedUsers
	}
	if spec.Seed.Projects == 0 {
		spec.Seed.Projects = DefaultSeedProjects
	}
	if spec.StartTimeout == 0 {
		spec.StartTimeout = DefaultStartTimeout
	}
	if spec.RedisTimeout == 0 {
		spec.RedisTimeout = DefaultRedisTimeout
	}
	if spec.RedisTimeout < time.Millisecond || spec.RedisTimeout > time.Minute {
		return bad("redis timeout %s: want between 1ms and 1m", spec.RedisTimeout)
	}
	checks := []struct {
		name, v string
		allowed []string
	}{
		{"mode", spec.Mode, []string{ModeAuto, ModeDocker, ModeLocal, ModeExternal}},
		{"cache", spec.Cache, []string{CacheLocmem, CacheRedis}},
		{"limiter", spec.Limiter, []string{"fixed", "sliding", "gcra"}},
		{"failure policy", spec.FailurePolicy, []string{"fail-open", "fail-closed"}},
		{"session store", spec.SessionStore, []string{"db", "cache"}},
		{"local redis", spec.LocalRedis, []string{LocalRedisAuto, LocalRedisServer, LocalRedisMiniredis}},
	}
	for _, c := range checks {
		if !contains(c.allowed, c.v) {
			return bad("%s %q: allowed values are %s", c.name, c.v, strings.Join(c.allowed, ", "))
		}
	}
	if spec.Workers < 1 || spec.Workers > 64 {
		return bad("workers %d: want 1..64", spec.Workers)
	}
	if spec.Seed.Users < 1 || spec.Seed.Projects < 1 {
		return bad("seed users=%d projects=%d: want at least 1 of each", spec.Seed.Users, spec.Seed.Projects)
	}
	if spec.Port < 0 || spec.Port > 65535 {
		return bad("port %d: want 0..65535 (0 picks a free port)", spec.Port)
	}
	set, err := defects.Parse(spec.Defects)
	if err != nil {
		return bad("%v", err)
	}
	spec.Defects = set.List()
	for cat, l := range spec.Limits {
		if l.Requests < 1 || l.WindowSeconds < 1 {
			return bad("limit %s=%d/%d: want N/seconds with both at least 1", cat, l.Requests, l.WindowSeconds)
		}
	}
	if spec.HookTimeout == 0 {
		spec.HookTimeout = DefaultHookTimeout
	}
	if spec.HookTimeout < 0 {
		return bad("hook timeout %s: want a positive duration", spec.HookTimeout)
	}
	if err := CheckHooks(spec.Hooks); err != nil {
		return bad("%v", err)
	}
	if len(spec.Hooks) > 0 && spec.Mode != ModeExternal {
		return bad("hooks control an external deployment; with --stack %s the harness controls the target itself (remove the hooks or use --stack external)", spec.Mode)
	}
	if spec.Mode == ModeExternal {
		u, err := url.Parse(spec.TargetURL)
		if spec.TargetURL == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return bad("external mode needs a target URL like http://127.0.0.1:8000 (got %q)", spec.TargetURL)
		}
		for _, c := range spec.Credentials {
			if c.User == "" || c.Password == "" {
				return bad("external credential %q: want user and password (name:password, or HARNESS_PASSWORD)", c.User)
			}
		}
	} else if spec.TargetURL != "" {
		return bad("a target URL is only used in external mode (got %q with mode %s)", spec.TargetURL, spec.Mode)
	}
	return spec, nil
}

// Defects lists the target's defect names with one-line descriptions, for
// help texts (the names live in target/internal, out of the CLI's reach).
func Defects() map[string]string {
	out := make(map[string]string, len(defects.Known))
	for k, v := range defects.Known {
		out[k] = v
	}
	return out
}

// DefectNames returns every defect name, sorted.
func DefectNames() []string { return defects.Names() }

// ProfileNames returns every deployment profile name, sorted.
func ProfileNames() []string { return defects.ProfileNames() }

// CheckProfile validates a profile name ("" is none).
func CheckProfile(name string) error {
	if name == "" {
		return nil
	}
	_, err := defects.LookupProfile(name)
	return err
}

// CheckDefects validates defect names (comma lists allowed).
func CheckDefects(names []string) error {
	_, err := defects.Parse(names)
	return err
}

func formatLimits(m map[api.Category]api.Limit) string {
	parts := make([]string, 0, len(m))
	for c, l := range m {
		parts = append(parts, fmt.Sprintf("%s=%d/%d", c, l.Requests, l.WindowSeconds))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// seededCredentials mirrors the target's deterministic seed: user i owns
// projects (i-1)*P+1 .. i*P.
func seededCredentials(seed Seed, password string) []client.Credential {
	out := make([]client.Credential, 0, seed.Users)
	for i := 1; i <= seed.Users; i++ {
		c := client.Credential{User: fmt.Sprintf("user%d", i), Password: password}
		for p := (i-1)*seed.Projects + 1; p <= i*seed.Projects; p++ {
			c.Projects = append(c.Projects, p)
		}
		// The harness seeded these projects itself: they are scratch.
		c.Scratch = append([]int(nil), c.Projects...)
		out = append(out, c)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

type progress struct{ w io.Writer }

func progressOf(w io.Writer) progress { return progress{w} }

func (p progress) printf(format string, a ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format+"\n", a...)
	}
}
