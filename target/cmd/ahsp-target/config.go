package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/server"
	"github.com/ahsp-harness/harness/target/internal/store"
)

// config is the resolved serve configuration. The master hands it to every
// worker as JSON, so workers never re-resolve flags or the temp run dir.
type config struct {
	Addr          string                  `json:"addr"`
	Workers       int                     `json:"workers"`
	DB            string                  `json:"db"`
	Cache         string                  `json:"cache"`
	RedisAddr     string                  `json:"redis_addr"`
	RedisTimeout  time.Duration           `json:"redis_timeout"`
	Limiter       string                  `json:"limiter"`
	FailurePolicy string                  `json:"failure_policy"`
	SessionStore  string                  `json:"session_store"`
	Limits        map[string]server.Limit `json:"limits"`
	Defects       []string                `json:"defects"`
	SeedUsers     int                     `json:"seed_users"`
	SeedProjects  int                     `json:"seed_projects"`
	SeedPassword  string                  `json:"seed_password"`
	RunDir        string                  `json:"run_dir"`
	DrainTimeout  time.Duration           `json:"drain_timeout"`
}

// Allowed values of the enumerated flags.
var (
	cacheValues   = []string{"locmem", "redis"}
	limiterValues = []string{"fixed", "sliding", "gcra"}
	policyValues  = []string{server.FailOpen, server.FailClosed}
	sessionValues = []string{"db", "cache"}
)

const defaultLimits = "bulk=5/300,write=20/60,read=100/60,export=10/60,login=10/60"

// rawFlags are the flag values before validation.
type rawFlags struct {
	addr, db, cache, redisAddr, limiter, policy, sessions, limits, seed, seedPassword, runDir string
	redisTimeout, drainTimeout, profile                                                       string
	workers                                                                                   string
	defects                                                                                   []string
}

// flagEnv maps each flag to its environment variable.
var flagEnv = map[string]string{
	"addr":           "AHSP_ADDR",
	"workers":        "AHSP_WORKERS",
	"db":             "AHSP_DB",
	"cache":          "AHSP_CACHE",
	"redis-addr":     "AHSP_REDIS_ADDR",
	"redis-timeout":  "AHSP_REDIS_TIMEOUT",
	"limiter":        "AHSP_LIMITER",
	"failure-policy": "AHSP_FAILURE_POLICY",
	"session-store":  "AHSP_SESSION_STORE",
	"limits":         "AHSP_LIMITS",
	"defect":         "AHSP_DEFECTS",
	"seed":           "AHSP_SEED",
	"seed-password":  "AHSP_SEED_PASSWORD",
	"run-dir":        "AHSP_RUN_DIR",
	"drain-timeout":  "AHSP_DRAIN_TIMEOUT",
	"profile":        "AHSP_PROFILE",
}

func addDBFlags(fs *pflag.FlagSet, f *rawFlags) {
	fs.StringVar(&f.db, "db", "ahsp.db", "SQLite file shared by all workers (env AHSP_DB)")
	fs.StringVar(&f.seed, "seed", "users=20,projects=2", "seed size applied when the db is new: users=N,projects=P (env AHSP_SEED)")
	fs.StringVar(&f.seedPassword, "seed-password", "ahsp-pass", "password of every seeded user (env AHSP_SEED_PASSWORD)")
}

func addServeFlags(fs *pflag.FlagSet, f *rawFlags) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8000", "listen address; :0 picks a free port, logged as {\"msg\":\"listening\"} (env AHSP_ADDR)")
	fs.StringVar(&f.workers, "workers", "1", "worker processes; the master restarts dead ones (env AHSP_WORKERS)")
	addDBFlags(fs, f)
	fs.StringVar(&f.cache, "cache", "locmem", "cache backend: locmem (per process) or redis (env AHSP_CACHE)")
	fs.StringVar(&f.redisAddr, "redis-addr", "127.0.0.1:6379", "Redis host:port for --cache redis (env AHSP_REDIS_ADDR)")
	fs.StringVar(&f.redisTimeout, "redis-timeout", "250ms", "timeout of every limiter and session call to Redis (env AHSP_REDIS_TIMEOUT)")
	fs.StringVar(&f.limiter, "limiter", "fixed", "algorithm: fixed (atomic fixed window), sliding (sliding-window counter), gcra (env AHSP_LIMITER)")
	fs.StringVar(&f.policy, "failure-policy", server.FailClosed, "when the cache errors: fail-open (allow) or fail-closed (503) (env AHSP_FAILURE_POLICY)")
	fs.StringVar(&f.sessions, "session-store", "db", "sessions in db (shared) or cache (the cache backend) (env AHSP_SESSION_STORE)")
	fs.StringVar(&f.limits, "limits", defaultLimits, "per-category limits category=N/seconds; categories bulk, write, read, export, login (env AHSP_LIMITS)")
	fs.StringArrayVar(&f.defects, "defect", nil, "switch on a known defect (repeatable or comma list; see `ahsp-target defects`): "+strings.Join(defects.Names(), ", ")+" (env AHSP_DEFECTS)")
	fs.StringVar(&f.runDir, "run-dir", "", "directory for worker-<i>.pid files (default a new temp dir) (env AHSP_RUN_DIR)")
	fs.StringVar(&f.drainTimeout, "drain-timeout", "10s", "on SIGTERM, how long in-flight requests may finish (env AHSP_DRAIN_TIMEOUT)")
	fs.StringVar(&f.profile, "profile", "", "start from a deployment profile ("+strings.Join(defects.ProfileNames(), ", ")+"): its workers, cache, session store and defects; explicit flags override, explicit defects add (env AHSP_PROFILE)")
}

// applyEnv sets every flag the command line did not set from its env var:
// flags win over the environment.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		env, ok := flagEnv[fl.Name]
		if !ok || fl.Changed || err != nil {
			return
		}
		v := getenv(env)
		if v == "" {
			return
		}
		fl.Annotations = map[string][]string{fromEnv: {env}}
		if fl.Name == "defect" {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					if e := fs.Set(fl.Name, part); e != nil {
						err = fmt.Errorf("%s=%q: %w", env, v, e)
					}
				}
			}
			return
		}
		if e := fs.Set(fl.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	return err
}

// source names where a flag's value came from, for error messages.
func source(fs *pflag.FlagSet, name string) string {
	if fl := fs.Lookup(name); fl != nil && fl.Annotations[fromEnv] != nil {
		return flagEnv[name] + " (--" + name + ")"
	}
	return "--" + name
}

// fromEnv marks a flag whose value came from its environment variable.
const fromEnv = "from-env"

func oneOf(fs *pflag.FlagSet, name, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s %q: allowed values are %s", source(fs, name), v, strings.Join(allowed, ", "))
}

func resolveDB(fs *pflag.FlagSet, f *rawFlags, c *config) error {
	if strings.TrimSpace(f.db) == "" {
		return fmt.Errorf("%s: must name a SQLite file", source(fs, "db"))
	}
	c.DB = f.db
	spec, err := store.ParseSeedSpec(f.seed)
	if err != nil {
		return fmt.Errorf("%s: %w", source(fs, "seed"), err)
	}
	c.SeedUsers, c.SeedProjects = spec.Users, spec.Projects
	if f.seedPassword == "" {
		return fmt.Errorf("%s: must not be empty", source(fs, "seed-password"))
	}
	c.SeedPassword = f.seedPassword
	return nil
}

// applyProfile sets the serve flags a profile names unless the command line
// or the environment set them; the profile's defects join explicit ones.
func applyProfile(fs *pflag.FlagSet, f *rawFlags) error {
	if f.profile == "" {
		return nil
	}
	p, err := defects.LookupProfile(f.profile)
	if err != nil {
		return fmt.Errorf("%s: %w", source(fs, "profile"), err)
	}
	for _, v := range []struct{ name, value string }{
		{"workers", strconv.Itoa(p.Workers)}, {"cache", p.Cache}, {"session-store", p.SessionStore},
	} {
		if !fs.Changed(v.name) {
			if err := fs.Set(v.name, v.value); err != nil {
				return fmt.Errorf("profile %s: %w", f.profile, err)
			}
		}
	}
	f.defects = p.WithDefects(f.defects)
	return nil
}

func resolveServe(fs *pflag.FlagSet, f *rawFlags) (config, error) {
	var c config
	if err := applyProfile(fs, f); err != nil {
		return c, err
	}
	if err := resolveDB(fs, f, &c); err != nil {
		return c, err
	}
	c.Addr = f.addr
	n, err := strconv.Atoi(strings.TrimSpace(f.workers))
	if err != nil || n < 1 || n > 64 {
		return c, fmt.Errorf("%s %q: want a whole number from 1 to 64", source(fs, "workers"), f.workers)
	}
	c.Workers = n
	for _, e := range []struct {
		name, v string
		allowed []string
		dst     *string
	}{
		{"cache", f.cache, cacheValues, &c.Cache},
		{"limiter", f.limiter, limiterValues, &c.Limiter},
		{"failure-policy", f.policy, policyValues, &c.FailurePolicy},
		{"session-store", f.sessions, sessionValues, &c.SessionStore},
	} {
		if err := oneOf(fs, e.name, e.v, e.allowed); err != nil {
			return c, err
		}
		*e.dst = e.v
	}
	c.RedisAddr = f.redisAddr
	if c.RedisTimeout, err = positiveDuration(f.redisTimeout); err != nil {
		return c, fmt.Errorf("%s: %w", source(fs, "redis-timeout"), err)
	}
	if c.DrainTimeout, err = positiveDuration(f.drainTimeout); err != nil {
		return c, fmt.Errorf("%s: %w", source(fs, "drain-timeout"), err)
	}
	if c.Limits, err = parseLimits(f.limits); err != nil {
		return c, fmt.Errorf("%s: %w", source(fs, "limits"), err)
	}
	set, err := defects.Parse(f.defects)
	if err != nil {
		return c, fmt.Errorf("%s: %w", source(fs, "defect"), err)
	}
	c.Defects = set.List()
	c.RunDir = f.runDir
	if c.RunDir == "" {
		// A FROM-scratch container has no /tmp: fall back to ./ahsp-run.
		if c.RunDir, err = os.MkdirTemp("", "ahsp-target-run-"); err != nil {
			c.RunDir = "ahsp-run"
		}
	}
	if c.RunDir, err = filepath.Abs(c.RunDir); err != nil {
		return c, fmt.Errorf("run dir: %w", err)
	}
	return c, nil
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration such as 50ms or 2s", s)
	}
	return d, nil
}

// parseLimits reads "write=20/60,read=100/60"; categories not named keep
// their defaults.
func parseLimits(s string) (map[string]server.Limit, error) {
	out := server.DefaultLimits()
	allowed := make([]string, 0, len(out))
	for k := range out {
		allowed = append(allowed, k)
	}
	sort.Strings(allowed)
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("%q: want category=N/seconds, e.g. write=20/60", part)
		}
		if _, known := out[k]; !known {
			return nil, fmt.Errorf("%q: unknown category %q, allowed categories are %s", part, k, strings.Join(allowed, ", "))
		}
		ns, ws, ok := strings.Cut(strings.TrimSpace(v), "/")
		n, err1 := strconv.Atoi(ns)
		w, err2 := strconv.Atoi(ws)
		if !ok || err1 != nil || err2 != nil || n < 1 || w < 1 {
			return nil, fmt.Errorf("%q: want category=N/seconds with N and seconds at least 1, e.g. write=20/60", part)
		}
		// The limiter keeps limit × window (µs) under 2^50 to stay exact in Lua.
		if int64(n) > (1<<50)/(int64(w)*1_000_000) {
			return nil, fmt.Errorf("%q: %d per %d s is too large (limit × window in µs must stay under 2^50)", part, n, w)
		}
		out[k] = server.Limit{Requests: n, Window: time.Duration(w) * time.Second}
	}
	return out, nil
}
