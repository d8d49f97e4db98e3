package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// Environment variables the CLI reads.
const (
	EnvConfig    = "HARNESS_CONFIG"
	EnvPassword  = "HARNESS_PASSWORD"
	EnvTargetBin = stack.EnvTargetBin
	EnvStateDir  = "HARNESS_STATE_DIR"
)

// globalOptions are the config and quiet flags every subcommand has and the
// stack flags of the commands that start a stack (stackFlags).
type globalOptions struct {
	config        string
	quiet         bool
	mode          string
	workers       int
	cache         string
	limiter       string
	failurePolicy string
	sessionStore  string
	limits        string
	defects       []string
	profile       string
	seedUsers     int
	seedProjects  int
	targetBin     string
	port          int
	localRedis    string
	startTimeout  time.Duration
	redisTimeout  time.Duration
	targetURL     string
	pathPrefix    string
	users         []string
	usersFile     string
	hooks         []string
	hookTimeout   time.Duration
	// explicit names the flags set on the command line or in the config,
	// which a profile must not override; fromConfig those set by the config
	// alone, which a profile given on the command line does override.
	explicit   map[string]bool
	fromConfig map[string]bool
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "harness",
		Short: "Load and compatibility testing harness for the AHSP web app",
		Long: `harness brings the AHSP reference target up (in Docker containers, as local
processes, or uses an external deployment), runs load scenarios, rate-limit
probes, API contracts and browser checks against it, and writes reports.

Settings come from flags, then harness.yaml (in the working directory, or
--config / $` + EnvConfig + `), then defaults. Secrets come from the environment:
$` + EnvPassword + ` is the password of external users given without one.

Exit codes:
` + exitcode.Help(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			app.parsed = true
			return app.loadConfig(cmd.Flags())
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return exitcode.New(exitcode.Usage, err)
	})
	root.PersistentFlags().StringVar(&app.g.config, "config", "", "config file (default: "+ConfigFile+" in the working directory if present; env "+EnvConfig+")")
	root.PersistentFlags().BoolVarP(&app.g.quiet, "quiet", "q", false, "print no progress lines")
	addCommands(root, app)
	return root
}

// stackFlags adds the stack flags to a command that starts a stack (or
// reaches an external one); commands that only read files (report,
// compare, merge) have none, so `harness compare --workers 9` is a usage
// error instead of a flag silently ignored.
func stackFlags(cmd *cobra.Command, g *globalOptions) *cobra.Command {
	f := cmd.Flags()
	f.StringVar(&g.mode, "stack", stack.ModeAuto, "where the target runs: auto (docker if a Docker engine answers, else local), docker, local, external")
	f.IntVar(&g.workers, "workers", 4, "target worker processes (1..64)")
	f.StringVar(&g.cache, "cache", stack.CacheRedis, "target cache backend: locmem (per worker) or redis")
	f.StringVar(&g.limiter, "limiter", stack.DefaultLimiter, "rate-limit algorithm: fixed, sliding, gcra")
	f.StringVar(&g.failurePolicy, "failure-policy", stack.DefaultFailurePolicy, "when the cache errors: fail-open or fail-closed")
	f.DurationVar(&g.redisTimeout, "redis-timeout", stack.DefaultRedisTimeout, "the target's timeout per Redis call; past it the failure policy answers")
	f.StringVar(&g.sessionStore, "session-store", stack.DefaultSessionStore, "where sessions live: db or cache")
	f.StringVar(&g.limits, "limits", "", "per-category limits, e.g. write=20/60,read=100/60 (default: the real app's)")
	f.StringArrayVar(&g.defects, "defect", nil, "switch on a target defect (repeatable): "+strings.Join(stack.DefectNames(), ", "))
	f.StringVar(&g.profile, "profile", "", "reference target deployment profile ("+strings.Join(stack.ProfileNames(), ", ")+"): its workers, cache, session store and defects; explicit flags override, --defect adds")
	seedFlags(cmd, g)
	f.StringVar(&g.targetBin, "target-bin", "", "ahsp-target binary (default: $"+EnvTargetBin+", next to harness, else built from source)")
	f.IntVar(&g.port, "port", 0, "local mode: listening port on 127.0.0.1 (0 picks a free one)")
	f.StringVar(&g.localRedis, "local-redis", stack.LocalRedisAuto, "local mode's Redis: auto (redis-server from PATH, else embedded miniredis), redis-server, miniredis")
	f.DurationVar(&g.startTimeout, "start-timeout", stack.DefaultStartTimeout, "how long to wait for the target's /health/ready/")
	f.StringVar(&g.targetURL, "target-url", "", "external mode: the deployment's base URL, e.g. https://staging.example.test")
	f.StringVar(&g.pathPrefix, "path-prefix", "", "external mode: path the app is mounted under (e.g. /ahsp)")
	f.StringArrayVar(&g.users, "user", nil, "external mode: name:password (repeatable; name alone takes $"+EnvPassword+")")
	f.StringVar(&g.usersFile, "users-file", "", "external mode: file of 'name[:password] [project,...]' lines")
	f.StringArrayVar(&g.hooks, "hook", nil, "external mode: NAME=COMMAND run with sh -c to control or observe the deployment (repeatable; names: "+strings.Join(stack.HookNames, ", ")+")")
	f.DurationVar(&g.hookTimeout, "hook-timeout", stack.DefaultHookTimeout, "external mode: time limit of one hook run")
	return cmd
}

// seedFlags adds the seed size flags (stack commands and seed).
func seedFlags(cmd *cobra.Command, g *globalOptions) *cobra.Command {
	cmd.Flags().IntVar(&g.seedUsers, "seed-users", stack.DefaultSeedUsers, "seeded users user1..userN")
	cmd.Flags().IntVar(&g.seedProjects, "seed-projects", stack.DefaultSeedProjects, "seeded projects per user")
	return cmd
}

// loadConfig reads the config file and fills every global flag the command
// line did not set from it, then validates the values against their lines.
func (a *App) loadConfig(f *pflag.FlagSet) error {
	a.g.explicit = map[string]bool{}
	a.g.fromConfig = map[string]bool{}
	f.Visit(func(fl *pflag.Flag) { a.g.explicit[fl.Name] = true })
	explicit := a.g.config
	if explicit == "" {
		explicit = a.Getenv(EnvConfig)
	}
	path := findConfig(explicit, a.Dir)
	if path == "" {
		return nil
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	a.cfg = cfg
	s := cfg.Stack
	unset := func(name string) bool { return !f.Changed(name) }
	setStr := func(name string, dst *string, v *string) {
		if v != nil && unset(name) {
			*dst = *v
			a.g.explicit[name], a.g.fromConfig[name] = true, true
		}
	}
	setInt := func(name string, dst *int, v *int) {
		if v != nil && unset(name) {
			*dst = *v
			a.g.explicit[name], a.g.fromConfig[name] = true, true
		}
	}
	setStr("stack", &a.g.mode, s.Mode)
	setInt("workers", &a.g.workers, s.Workers)
	setStr("cache", &a.g.cache, s.Cache)
	setStr("limiter", &a.g.limiter, s.Limiter)
	setStr("failure-policy", &a.g.failurePolicy, s.FailurePolicy)
	setStr("session-store", &a.g.sessionStore, s.SessionStore)
	setStr("limits", &a.g.limits, s.Limits)
	setStr("profile", &a.g.profile, s.Profile)
	setInt("seed-users", &a.g.seedUsers, s.SeedUsers)
	setInt("seed-projects", &a.g.seedProjects, s.SeedProjects)
	setStr("target-bin", &a.g.targetBin, s.TargetBin)
	setInt("port", &a.g.port, s.Port)
	setStr("local-redis", &a.g.localRedis, s.LocalRedis)
	setStr("target-url", &a.g.targetURL, s.TargetURL)
	setStr("path-prefix", &a.g.pathPrefix, s.PathPrefix)
	setStr("users-file", &a.g.usersFile, s.UsersFile)
	if s.Defects != nil && unset("defect") {
		a.g.defects = s.Defects
	}
	if s.RedisTimeout != nil && unset("redis-timeout") {
		a.g.redisTimeout = *s.RedisTimeout
	}
	if s.HookTimeout != nil && unset("hook-timeout") {
		a.g.hookTimeout = *s.HookTimeout
	}
	if s.StartTimeout != nil && unset("start-timeout") {
		a.g.startTimeout = *s.StartTimeout
	}
	if s.TargetBin != nil && unset("target-bin") && !filepath.IsAbs(a.g.targetBin) {
		a.g.targetBin = filepath.Join(filepath.Dir(path), a.g.targetBin)
	}
	return cfg.validateStack()
}

// validateStack checks the stack section's values so a bad one is reported
// at its line, not later as a flag error.
func (c *loadedConfig) validateStack() error {
	s := c.Stack
	enums := []struct {
		key     string
		v       *string
		allowed []string
	}{
		{"stack.mode", s.Mode, []string{stack.ModeAuto, stack.ModeDocker, stack.ModeLocal, stack.ModeExternal}},
		{"stack.cache", s.Cache, []string{stack.CacheLocmem, stack.CacheRedis}},
		{"stack.limiter", s.Limiter, []string{"fixed", "sliding", "gcra"}},
		{"stack.failure_policy", s.FailurePolicy, []string{"fail-open", "fail-closed"}},
		{"stack.session_store", s.SessionStore, []string{"db", "cache"}},
		{"stack.local_redis", s.LocalRedis, []string{stack.LocalRedisAuto, stack.LocalRedisServer, stack.LocalRedisMiniredis}},
	}
	for _, e := range enums {
		if e.v == nil {
			continue
		}
		ok := false
		for _, a := range e.allowed {
			ok = ok || a == *e.v
		}
		if !ok {
			return exitcode.Errorf(exitcode.Usage, "%s: %q is not allowed; use one of %s", c.at(e.key), *e.v, strings.Join(e.allowed, ", "))
		}
	}
	for _, n := range []struct {
		key    string
		v      *int
		lo, hi int
	}{{"stack.workers", s.Workers, 1, 64}, {"stack.seed_users", s.SeedUsers, 1, 100000}, {"stack.seed_projects", s.SeedProjects, 1, 1000}, {"stack.port", s.Port, 0, 65535}} {
		if n.v != nil && (*n.v < n.lo || *n.v > n.hi) {
			return exitcode.Errorf(exitcode.Usage, "%s: %d is out of range %d..%d", c.at(n.key), *n.v, n.lo, n.hi)
		}
	}
	if s.RedisTimeout != nil && (*s.RedisTimeout < time.Millisecond || *s.RedisTimeout > time.Minute) {
		return exitcode.Errorf(exitcode.Usage, "%s: %s is out of range 1ms..1m", c.at("stack.redis_timeout"), *s.RedisTimeout)
	}
	if s.Limits != nil {
		if _, err := stack.ParseLimits(*s.Limits); err != nil {
			return exitcode.Errorf(exitcode.Usage, "%s: %v", c.at("stack.limits"), err)
		}
	}
	if s.Profile != nil {
		if err := stack.CheckProfile(*s.Profile); err != nil {
			return exitcode.Errorf(exitcode.Usage, "%s: %v", c.at("stack.profile"), err)
		}
	}
	if err := stack.CheckDefects(s.Defects); err != nil {
		return exitcode.Errorf(exitcode.Usage, "%s: %v", c.at("stack.defects"), err)
	}
	if err := stack.CheckHooks(s.Hooks); err != nil {
		return exitcode.Errorf(exitcode.Usage, "%s: %v", c.at("stack.hooks"), err)
	}
	if s.HookTimeout != nil && *s.HookTimeout <= 0 {
		return exitcode.Errorf(exitcode.Usage, "%s: %s: want a positive duration", c.at("stack.hook_timeout"), *s.HookTimeout)
	}
	for i, u := range s.Users {
		if u.User == "" {
			return exitcode.Errorf(exitcode.Usage, "%s: want a user name", c.at(fmt.Sprintf("stack.users[%d]", i)))
		}
	}
	return nil
}

// stackSpec builds the stack spec from the merged flags and config.
func (a *App) stackSpec() (stack.Spec, error) {
	g := a.g
	usage := func(err error) (stack.Spec, error) { return stack.Spec{}, exitcode.New(exitcode.Usage, err) }
	limits, err := stack.ParseLimits(g.limits)
	if err != nil {
		return usage(fmt.Errorf("--limits: %w", err))
	}
	spec := stack.Spec{
		Mode: g.mode, Workers: g.workers, Cache: g.cache, Limiter: g.limiter,
		FailurePolicy: g.failurePolicy, RedisTimeout: g.redisTimeout, SessionStore: g.sessionStore, Limits: limits,
		Defects: g.defects, Seed: stack.Seed{Users: g.seedUsers, Projects: g.seedProjects},
		TargetBin: g.targetBin, Port: g.port, LocalRedis: g.localRedis, StartTimeout: g.startTimeout,
		TargetURL: g.targetURL, PathPrefix: g.pathPrefix, HookTimeout: g.hookTimeout,
	}
	// harness.yaml's hooks first, then --hook, which replaces a hook of the same name.
	if a.cfg != nil && len(a.cfg.Stack.Hooks) > 0 {
		spec.Hooks = map[string]string{}
		for n, c := range a.cfg.Stack.Hooks {
			spec.Hooks[n] = c
		}
	}
	for _, h := range g.hooks {
		name, command, err := stack.ParseHook(h)
		if err != nil {
			return usage(fmt.Errorf("--hook: %w", err))
		}
		if spec.Hooks == nil {
			spec.Hooks = map[string]string{}
		}
		spec.Hooks[name] = command
	}
	if g.profile != "" {
		// The profile fills what the command line did not set. A profile
		// named on the command line also beats harness.yaml's values (a
		// checked-in `cache: redis` must not turn --profile as-deployed into
		// a Redis deployment); a profile from the config yields to them.
		spec.Profile = g.profile
		profileFlag := g.explicit["profile"] && !g.fromConfig["profile"]
		keep := func(name string) bool { return g.explicit[name] && !(profileFlag && g.fromConfig[name]) }
		if !keep("workers") {
			spec.Workers = 0
		}
		if !keep("cache") {
			spec.Cache = ""
		}
		if !keep("session-store") {
			spec.SessionStore = ""
		}
	}
	if spec.TargetBin == "" {
		spec.TargetBin = a.Getenv(EnvTargetBin)
	}
	if spec.TargetBin != "" && !filepath.IsAbs(spec.TargetBin) {
		spec.TargetBin = filepath.Join(a.Dir, spec.TargetBin)
	}
	if !g.quiet {
		spec.Progress = a.Stderr
	}
	pw := a.Getenv(EnvPassword)
	for _, u := range g.users {
		c, err := stack.ParseUser(u, pw)
		if err != nil {
			return usage(fmt.Errorf("--user: %w", err))
		}
		spec.Credentials = append(spec.Credentials, c)
	}
	if g.usersFile != "" {
		p := g.usersFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(a.Dir, p)
		}
		cs, err := stack.ReadUsersFile(p, pw)
		if err != nil {
			return usage(err)
		}
		spec.Credentials = append(spec.Credentials, cs...)
	}
	if a.cfg != nil && len(g.users) == 0 {
		for i, u := range a.cfg.Stack.Users {
			c := client.Credential{User: u.User, Password: u.Password, Projects: u.Projects}
			if u.Scratch {
				if len(u.Projects) == 0 {
					return usage(fmt.Errorf("%s: user %q is scratch but lists no projects: add projects: [..]", a.cfg.at(fmt.Sprintf("stack.users[%d]", i)), u.User))
				}
				c.Scratch = append([]int(nil), u.Projects...)
			}
			if c.Password == "" {
				c.Password = pw
			}
			if c.Password == "" {
				return usage(fmt.Errorf("%s: user %q has no password: set $%s (better than writing it in the file)", a.cfg.at(fmt.Sprintf("stack.users[%d]", i)), u.User, EnvPassword))
			}
			spec.Credentials = append(spec.Credentials, c)
		}
	}
	if spec.Mode != stack.ModeExternal && (len(spec.Credentials) > 0 || spec.TargetURL != "") {
		if spec.TargetURL != "" && spec.Mode == stack.ModeAuto {
			spec.Mode = stack.ModeExternal // a target URL means external
		} else if spec.TargetURL == "" {
			return usage(fmt.Errorf("--user/--users-file are for --stack external (with --target-url)"))
		}
	}
	if spec.Mode != stack.ModeExternal && len(spec.Hooks) > 0 {
		return usage(fmt.Errorf("--hook/stack.hooks control an external deployment (--stack external --target-url URL); with --stack %s the harness controls the target itself", spec.Mode))
	}
	return spec, nil
}

// progress returns where progress lines go (nowhere with --quiet).
func (a *App) progress() io.Writer {
	if a.g.quiet {
		return io.Discard
	}
	return a.Stderr
}
