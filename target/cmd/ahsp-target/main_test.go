package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/server"
)

// resolve parses serve flags with the given environment.
func resolve(t *testing.T, args []string, env map[string]string) (config, error) {
	t.Helper()
	var f rawFlags
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addServeFlags(fs, &f)
	require.NoError(t, fs.Parse(args))
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return config{}, err
	}
	if f.runDir == "" {
		f.runDir = t.TempDir()
	}
	return resolveServe(fs, &f)
}

func TestServeConfig(t *testing.T) {
	t.Run("defaults are the documented ones", func(t *testing.T) {
		c, err := resolve(t, nil, nil)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:8000", c.Addr)
		require.Equal(t, 1, c.Workers)
		require.Equal(t, "ahsp.db", c.DB)
		require.Equal(t, "locmem", c.Cache)
		require.Equal(t, "127.0.0.1:6379", c.RedisAddr)
		require.Equal(t, 250*time.Millisecond, c.RedisTimeout)
		require.Equal(t, "fixed", c.Limiter)
		require.Equal(t, server.FailClosed, c.FailurePolicy)
		require.Equal(t, "db", c.SessionStore)
		require.Equal(t, server.DefaultLimits(), c.Limits)
		require.Empty(t, c.Defects)
		require.Equal(t, 20, c.SeedUsers)
		require.Equal(t, 2, c.SeedProjects)
		require.Equal(t, "ahsp-pass", c.SeedPassword)
	})
	t.Run("env applies and flags win", func(t *testing.T) {
		env := map[string]string{
			"AHSP_WORKERS": "4", "AHSP_CACHE": "redis", "AHSP_LIMITER": "gcra",
			"AHSP_FAILURE_POLICY": "fail-open", "AHSP_SESSION_STORE": "cache",
			"AHSP_DEFECTS": "split-versions, trust-xff", "AHSP_LIMITS": "write=3/10",
			"AHSP_SEED": "users=5,projects=1", "AHSP_REDIS_TIMEOUT": "20ms", "AHSP_ADDR": ":0",
		}
		c, err := resolve(t, []string{"--workers", "2", "--defect", "raw-path-key"}, env)
		require.NoError(t, err)
		require.Equal(t, 2, c.Workers, "flag wins")
		require.Equal(t, []string{"raw-path-key"}, c.Defects, "flag wins over AHSP_DEFECTS")
		require.Equal(t, "redis", c.Cache)
		require.Equal(t, "gcra", c.Limiter)
		require.Equal(t, "fail-open", c.FailurePolicy)
		require.Equal(t, "cache", c.SessionStore)
		require.Equal(t, server.Limit{Requests: 3, Window: 10 * time.Second}, c.Limits["write"])
		require.Equal(t, server.Limit{Requests: 100, Window: time.Minute}, c.Limits["read"], "unnamed categories keep defaults")
		require.Equal(t, 5, c.SeedUsers)
		require.Equal(t, 20*time.Millisecond, c.RedisTimeout)
		require.Equal(t, ":0", c.Addr)
		c, err = resolve(t, nil, env)
		require.NoError(t, err)
		require.Equal(t, []string{"split-versions", "trust-xff"}, c.Defects)
	})
	t.Run("profile fills what flags leave unset", func(t *testing.T) {
		c, err := resolve(t, []string{"--profile", "as-deployed"}, nil)
		require.NoError(t, err)
		require.Equal(t, 4, c.Workers)
		require.Equal(t, "locmem", c.Cache)
		require.Equal(t, "db", c.SessionStore)
		require.Equal(t, defects.Profiles["as-deployed"].WithDefects(nil), c.Defects)
		c, err = resolve(t, []string{"--workers", "2", "--defect", "trust-xff"}, map[string]string{"AHSP_PROFILE": "as-deployed-redis", "AHSP_CACHE": "locmem"})
		require.NoError(t, err)
		require.Equal(t, 2, c.Workers, "flag wins over the profile")
		require.Equal(t, "locmem", c.Cache, "env wins over the profile")
		require.Contains(t, c.Defects, "trust-xff", "explicit defects add to the profile's")
		require.Contains(t, c.Defects, "no-worker-header")
		require.NotContains(t, c.Defects, "local-sessions")
	})
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"profile", []string{"--profile", "prod"}, nil, "--profile: unknown profile \"prod\": allowed values are as-deployed, as-deployed-redis"},
		{"workers zero", []string{"--workers", "0"}, nil, "--workers \"0\": want a whole number from 1 to 64"},
		{"workers from env", nil, map[string]string{"AHSP_WORKERS": "many"}, "AHSP_WORKERS (--workers) \"many\": want a whole number"},
		{"cache", []string{"--cache", "memcached"}, nil, "--cache \"memcached\": allowed values are locmem, redis"},
		{"limiter", []string{"--limiter", "token"}, nil, "allowed values are fixed, sliding, gcra"},
		{"policy", []string{"--failure-policy", "open"}, nil, "allowed values are fail-open, fail-closed"},
		{"session store", []string{"--session-store", "file"}, nil, "allowed values are db, cache"},
		{"defect", []string{"--defect", "typo"}, nil, "unknown defect \"typo\": allowed values are"},
		{"limits category", []string{"--limits", "burst=1/1"}, nil, "unknown category \"burst\", allowed categories are bulk, export, login, read, write"},
		{"limits shape", []string{"--limits", "write=20"}, nil, "want category=N/seconds"},
		{"limits too large", []string{"--limits", "read=1000000000/3600"}, nil, "too large"},
		{"redis timeout", []string{"--redis-timeout", "fast"}, nil, "want a positive duration"},
		{"seed", []string{"--seed", "users=x"}, nil, "--seed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolve(t, tc.args, tc.env)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSubcommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		out  []string
		err  string
	}{
		{[]string{"version"}, []string{"ahsp-target "}, ""},
		{[]string{"defects"}, defects.Names(), ""},
		{[]string{"serve", "--help"}, append([]string{"--workers", "AHSP_WORKERS", "--failure-policy", "--session-store"}, defects.Names()...), ""},
		{[]string{"kill-worker", "--index", "1"}, nil, "--run-dir (or AHSP_RUN_DIR): required"},
		{[]string{"kill-worker", "--run-dir", "/nonexistent", "--index", "1", "--signal", "BOGUS"}, nil, "allowed values are KILL"},
		{[]string{"kill-worker", "--run-dir", "/nonexistent", "--index", "1"}, nil, "read pid file of worker 1"},
		{[]string{"serve", "--workers", "x"}, nil, "want a whole number"},
		{[]string{"nope"}, nil, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), proc{args: tc.args, getenv: func(string) string { return "" }, stdout: &out, stderr: &errb})
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			for _, s := range tc.out {
				require.Contains(t, out.String(), s)
			}
		})
	}
}

func TestSeedCommand(t *testing.T) {
	db := t.TempDir() + "/a.db"
	var out, errb bytes.Buffer
	env := map[string]string{"AHSP_SEED": "users=2,projects=1"}
	err := run(context.Background(), proc{args: []string{"seed", "--db", db}, getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb})
	require.NoError(t, err)
	require.Contains(t, errb.String(), `"msg":"seeded"`)
	require.Contains(t, errb.String(), `"users":2`)
}

func TestBannerShoutsDefects(t *testing.T) {
	var b bytes.Buffer
	banner(newLogger(&b), config{Workers: 2, Cache: "redis", Limiter: "gcra", FailurePolicy: "fail-open",
		SessionStore: "cache", Defects: []string{"naive-limiter", "v2-drift"}, Limits: server.DefaultLimits()})
	s := b.String()
	for _, want := range []string{`"workers":2`, `"cache":"redis"`, `"limiter":"gcra"`, `"failure_policy":"fail-open"`,
		`"session_store":"cache"`, `"level":"WARN","msg":"!!! DEFECT ENABLED: NAIVE-LIMITER !!!`, `DEFECT ENABLED: V2-DRIFT`,
		`"limits":"bulk=5/300,write=20/60,read=100/60,export=10/60,login=10/60"`} {
		require.Contains(t, s, want)
	}
}
