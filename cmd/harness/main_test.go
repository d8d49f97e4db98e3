package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/target/stack"
)

// cli runs the harness in-process in dir and returns its exit code and output.
type cli struct {
	t   *testing.T
	dir string
	env []string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, dir: dir, env: []string{EnvStateDir + "=" + filepath.Join(dir, "state")}}
}

func (c *cli) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = execute(ctx, &App{Args: args, Env: c.env, Dir: c.dir, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func (c *cli) write(name, content string) {
	c.t.Helper()
	require.NoError(c.t, os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o644))
}

// spec runs the global flag and config handling and returns the stack spec
// a subcommand would get.
func (c *cli) spec(args ...string) (stack.Spec, int, string) {
	var errb bytes.Buffer
	app := &App{Env: c.env, Dir: c.dir, Stdout: &bytes.Buffer{}, Stderr: &errb}
	root := newRootCmd(app)
	var spec stack.Spec
	root.AddCommand(stackFlags(&cobra.Command{Use: "probe", RunE: func(*cobra.Command, []string) error {
		var err error
		spec, err = app.stackSpec()
		return err
	}}, &app.g))
	root.SetArgs(append([]string{"probe"}, args...))
	root.SetOut(app.Stdout)
	root.SetErr(&errb)
	err := root.Execute()
	if err != nil {
		return spec, codeOf(err, app.parsed), err.Error()
	}
	return spec, 0, ""
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top key", "stack:\n  workers: 2\nstak: {}\n", `harness.yaml:3: top level: unknown key "stak"; allowed keys: alerts, contracts, e2e, gate, scan, security, stack`},
		{"unknown stack key", "stack:\n  workers: 2\n  worker: 3\n",
			`harness.yaml:3: stack: unknown key "worker"; allowed keys: cache, defects, failure_policy, hook_timeout, hooks, limiter, limits, local_redis, mode, path_prefix, port, profile, redis_timeout, seed_projects, seed_users, session_store, start_timeout, target_bin, target_url, users, users_file, workers`},
		{"wrong type", "stack:\n  workers: many\n", `harness.yaml:2: stack.workers: "many" is not a valid whole number`},
		{"bad duration", "stack:\n  start_timeout: soon\n", `harness.yaml:2: stack.start_timeout: "soon" is not a valid duration (e.g. 30s, 2m)`},
		{"mapping for scalar", "stack:\n  cache: {kind: redis}\n", `harness.yaml:2: stack.cache: want a single string value, got a mapping`},
		{"list expected", "stack:\n  defects: naive-limiter\n", `harness.yaml:2: stack.defects: want a list, got "naive-limiter"`},
		{"bad enum", "# comment\nstack:\n  mode: local\n  cache: memcached\n", `harness.yaml:4: stack.cache: "memcached" is not allowed; use one of locmem, redis`},
		{"out of range", "stack:\n  workers: 0\n", `harness.yaml:2: stack.workers: 0 is out of range 1..64`},
		{"redis timeout out of range", "stack:\n  redis_timeout: 0s\n", `harness.yaml:2: stack.redis_timeout: 0s is out of range 1ms..1m`},
		{"bad limits", "stack:\n  limits: write=20\n", `harness.yaml:2: stack.limits: limit "write=20": want category=N/seconds, e.g. write=20/60`},
		{"bad defect", "stack:\n  defects: [naive-limiter, slow]\n", `harness.yaml:2: stack.defects: unknown defect "slow"`},
		{"bad hook name", "stack:\n  hooks:\n    redis-stop: x\n", `harness.yaml:2: stack.hooks: hook "redis-stop": unknown name; allowed: cache-stop,`},
		{"empty hook", "stack:\n  hooks:\n    logs: ''\n", `harness.yaml:2: stack.hooks: hook logs: empty command`},
		{"hooks not a mapping", "stack:\n  hooks: [logs]\n", `harness.yaml:2: stack.hooks:`},
		{"scan flag not a boolean", "scan:\n  require_ratelimit_headers: maybe\n", `harness.yaml:2: scan.require_ratelimit_headers: "maybe" is not a valid boolean`},
		{"duplicate key", "stack:\n  workers: 2\n  workers: 3\n", `harness.yaml:3: stack.workers: key given twice`},
		{"user without name", "stack:\n  users:\n    - password: x\n", `harness.yaml:3: stack.users[0]: want a user name`},
		{"yaml syntax", "stack:\n  workers: [1\n", `harness.yaml:1: did not find expected ',' or ']'`},
		{"stack not a mapping", "stack: docker\n", `harness.yaml:1: stack: want a mapping of keys (cache, defects,`},
		{"e2e unknown selector", "e2e:\n  pages:\n    selectors:\n      volume_input: '#v'\n", `harness.yaml:2: e2e.pages: e2e.pages.selectors: unknown key "volume_input"; allowed keys: add_klasifikasi,`},
		{"e2e route without pid", "e2e:\n  pages:\n    routes:\n      rekap-rab: /rekap/\n", `e2e.pages.routes.rekap-rab: "/rekap/": want a path starting with / that contains {pid}`},
		{"e2e unknown pages key", "e2e:\n  pages:\n    route: {}\n", `harness.yaml:3: e2e.pages: unknown key "route"; allowed keys: component_page, dashboard, login, roots, routes, scripts, selectors, toast_area`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.write("harness.yaml", tc.yaml)
			code, _, stderr := c.run(context.Background(), "status")
			require.Equal(t, exitcode.Usage, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.Contains(t, stderr, filepath.Join(c.dir, "harness.yaml"))
		})
	}
}

func TestProfileFlag(t *testing.T) {
	c := newCLI(t)
	spec, code, msg := c.spec("--profile", "as-deployed", "--stack", "local")
	require.Zero(t, code, msg)
	require.Equal(t, "as-deployed", spec.Profile)
	require.Zero(t, spec.Workers, "unset: the profile fills it")
	require.Empty(t, spec.Cache, "unset: the profile fills it")
	c.write("harness.yaml", "stack:\n  profile: as-deployed-redis\n  cache: locmem\n")
	spec, code, msg = c.spec("--workers", "2")
	require.Zero(t, code, msg)
	require.Equal(t, "as-deployed-redis", spec.Profile)
	require.Equal(t, 2, spec.Workers, "an explicit flag overrides the profile")
	require.Equal(t, "locmem", spec.Cache, "the config overrides the profile it names")
	require.Empty(t, spec.SessionStore)
	c.write("harness.yaml", "stack:\n  workers: 2\n  cache: redis\n")
	spec, code, msg = c.spec("--profile", "as-deployed")
	require.Zero(t, code, msg)
	require.Zero(t, spec.Workers, "a profile on the command line beats the config's workers")
	require.Empty(t, spec.Cache, "a profile on the command line beats the config's cache")
	spec, code, msg = c.spec("--profile", "as-deployed", "--cache", "redis")
	require.Zero(t, code, msg)
	require.Equal(t, "redis", spec.Cache, "a flag beats the profile")
	c.write("harness.yaml", "stack:\n  profile: prod\n")
	_, code, msg = c.spec()
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, `stack.profile: unknown profile "prod"`)
}

func TestFlagsOverrideConfig(t *testing.T) {
	c := newCLI(t)
	c.write("harness.yaml", `stack:
  mode: local
  workers: 2
  cache: locmem
  limiter: gcra
  defects: [naive-limiter]
  limits: write=5/10
  seed_users: 3
  target_bin: bin/ahsp-target
`)
	spec, code, msg := c.spec("--workers", "3", "--defect", "trust-xff")
	require.Zero(t, code, msg)
	require.Equal(t, stack.ModeLocal, spec.Mode)
	require.Equal(t, 3, spec.Workers, "flag wins")
	require.Equal(t, "locmem", spec.Cache, "config fills what flags leave")
	require.Equal(t, "gcra", spec.Limiter)
	require.Equal(t, []string{"trust-xff"}, spec.Defects, "a repeated flag replaces the config list")
	require.Equal(t, 5, spec.Limits["write"].Requests)
	require.Equal(t, stack.Seed{Users: 3, Projects: stack.DefaultSeedProjects}, spec.Seed)
	require.Equal(t, filepath.Join(c.dir, "bin/ahsp-target"), spec.TargetBin, "relative to the config file")

	// --config and $HARNESS_CONFIG pick another file.
	c.write("other.yaml", "stack:\n  workers: 7\n")
	spec, code, msg = c.spec("--config", "other.yaml")
	require.Zero(t, code, msg)
	require.Equal(t, 7, spec.Workers)
	c.env = append(c.env, EnvConfig+"=other.yaml")
	spec, _, _ = c.spec()
	require.Equal(t, 7, spec.Workers)
}

func TestExternalCredentials(t *testing.T) {
	c := newCLI(t)
	c.env = append(c.env, EnvPassword+"=s3cret")
	c.write("users.txt", "# name[:password] [projects]\nalice 1,2\nbob:pw2 3\n")
	spec, code, msg := c.spec("--target-url", "http://127.0.0.1:9/", "--users-file", "users.txt", "--user", "carol")
	require.Zero(t, code, msg)
	require.Equal(t, stack.ModeExternal, spec.Mode, "a target URL under auto means external")
	require.Len(t, spec.Credentials, 3)
	require.Equal(t, "carol", spec.Credentials[0].User)
	require.Equal(t, "s3cret", spec.Credentials[0].Password, "from HARNESS_PASSWORD")
	require.Equal(t, []int{1, 2}, spec.Credentials[1].Projects)
	require.Equal(t, "pw2", spec.Credentials[2].Password)

	c.env = c.env[:1]
	_, code, msg = c.spec("--target-url", "http://127.0.0.1:9/", "--user", "carol")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, `user "carol" has no password: write name:password or set HARNESS_PASSWORD`)

	c.write("harness.yaml", "stack:\n  target_url: http://127.0.0.1:9\n  users:\n    - user: dave\n")
	_, code, msg = c.spec()
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, `harness.yaml:4: stack.users[0]: user "dave" has no password: set $HARNESS_PASSWORD`)
}

// TestHooksConfigAndFlags: harness.yaml's hooks, then --hook replacing one
// by name; hooks outside external mode and bad --hook values are usage errors.
func TestHooksConfigAndFlags(t *testing.T) {
	c := newCLI(t)
	c.write("harness.yaml", "stack:\n  target_url: http://127.0.0.1:9\n  hook_timeout: 5s\n  hooks:\n    cache-stop: docker stop redis\n    logs: journalctl -n 50\n")
	spec, code, msg := c.spec("--hook", "logs=tail -n 20 /var/log/app.log", "--hook", "cpu=cat /tmp/cpu")
	require.Zero(t, code, msg)
	require.Equal(t, map[string]string{"cache-stop": "docker stop redis", "logs": "tail -n 20 /var/log/app.log", "cpu": "cat /tmp/cpu"}, spec.Hooks)
	require.Equal(t, 5*time.Second, spec.HookTimeout)

	_, code, msg = c.spec("--hook", "nope=true")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, `--hook: hook "nope": unknown name`)
	_, code, msg = c.spec("--hook", "logs")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, "want NAME=COMMAND")

	c2 := newCLI(t)
	_, code, msg = c2.spec("--stack", "local", "--hook", "logs=true")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, msg, "--hook/stack.hooks control an external deployment")
}

// TestRequireRateLimitHeaders: the flag wins over harness.yaml's
// scan.require_ratelimit_headers; neither means advisory.
func TestRequireRateLimitHeaders(t *testing.T) {
	yes, no := true, false
	a := &App{}
	require.False(t, a.requireRateLimitHeaders(nil))
	require.True(t, a.requireRateLimitHeaders(&yes))
	c := newCLI(t)
	c.write("harness.yaml", "scan:\n  require_ratelimit_headers: true\n")
	cfg, err := loadConfig(filepath.Join(c.dir, "harness.yaml"))
	require.NoError(t, err)
	a.cfg = cfg
	require.True(t, a.requireRateLimitHeaders(nil))
	require.False(t, a.requireRateLimitHeaders(&no))
}

func TestExitCodes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	dying := filepath.Join(t.TempDir(), "ahsp-target")
	require.NoError(t, os.WriteFile(dying, []byte("#!/bin/sh\necho 'fatal: cannot bind' >&2\nexit 1\n"), 0o755))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"version", []string{"version"}, exitcode.OK, "harness "},
		{"help lists exit codes", []string{"--help"}, exitcode.OK, "130  interrupted"},
		{"unknown command", []string{"bogus"}, exitcode.Usage, `unknown command "bogus"`},
		{"unknown flag", []string{"up", "--wrokers", "2"}, exitcode.Usage, "unknown flag: --wrokers"},
		{"bad flag value", []string{"up", "--workers", "x"}, exitcode.Usage, `invalid argument "x"`},
		{"bad mode", []string{"up", "--stack", "k8s"}, exitcode.Usage, `mode "k8s": allowed values are auto, docker, local, external`},
		{"missing target bin", []string{"up", "--stack", "local", "--target-bin", "/nonexistent/ahsp-target"}, exitcode.Usage, "target binary from --target-bin"},
		{"target dies at start", []string{"up", "--stack", "local", "--cache", "locmem", "--target-bin", dying}, exitcode.StackFailed, "fatal: cannot bind"},
		{"port in use", []string{"up", "--stack", "local", "--cache", "locmem", "--port", busyPort}, exitcode.StackFailed, "port " + busyPort + " on 127.0.0.1 is in use"},
		{"external unreachable", []string{"up", "--stack", "external", "--target-url", "http://127.0.0.1:1"}, exitcode.Unreachable, "target unreachable"},
		{"bad allow-skip", []string{"run", "--allow-skip", "browser"}, exitcode.Usage, `--allow-skip: unknown section "browser"; allowed: ` + strings.Join(reports.Sections, ", ")},
		{"status without stack", []string{"status"}, exitcode.Unreachable, "no stack is up"},
		{"stack flag on compare", []string{"compare", "old.json", "new.json", "--workers", "9"}, exitcode.Usage, "unknown flag: --workers"},
		{"stack flag on report", []string{"report", "summary.json", "--stack", "local"}, exitcode.Usage, "unknown flag: --stack"},
		{"stack flag on merge", []string{"merge", "a", "-o", "b", "--cache", "redis"}, exitcode.Usage, "unknown flag: --cache"},
		{"stack flag on status", []string{"status", "--workers", "2"}, exitcode.Usage, "unknown flag: --workers"},
		{"stack flag before the command", []string{"--stack", "local", "version"}, exitcode.Usage, "unknown flag: --stack"},
		{"down without stack", []string{"down"}, exitcode.OK, "no stack is up"},
		{"interrupted", []string{"interrupted:", "load", "read-mix", "--stack", "external", "--target-url", "http://127.0.0.1:1"}, exitcode.Interrupted, "harness: interrupted:"},
		{"usage beats interruption", []string{"interrupted:", "up", "--workers", "x"}, exitcode.Usage, `invalid argument "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			ctx := context.Background()
			if tc.args[0] == "interrupted:" { // as if Ctrl-C came first
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				ctx, tc.args = cctx, tc.args[1:]
			}
			code, stdout, stderr := c.run(ctx, tc.args...)
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout+stderr, tc.want)
		})
	}
}

// TestUpStatusSeedDown runs the whole lifecycle in-process in local mode:
// up stays in the foreground, status and seed talk to it, down stops it and
// nothing is left.
func TestUpStatusSeedDown(t *testing.T) {
	c := newCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type result struct {
		code           int
		stdout, stderr string
	}
	upDone := make(chan result, 1)
	go func() {
		code, out, errs := c.run(ctx, "up", "--stack", "local", "--workers", "2", "--cache", "redis", "--local-redis", "miniredis", "--seed-users", "2")
		upDone <- result{code, out, errs}
	}()
	statePath := filepath.Join(c.dir, "state", "state.json")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(statePath); err == nil {
			break
		}
		select {
		case r := <-upDone:
			t.Fatalf("up exited %d before writing its state:\n%s\n%s", r.code, r.stdout, r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "up wrote no state within 2 minutes")
	}

	code, out, errs := c.run(ctx, "up", "--stack", "local")
	require.Equal(t, exitcode.Usage, code, out+errs)
	require.Contains(t, errs, "a stack is already up")

	code, out, errs = c.run(ctx, "status")
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "local mode")
	require.Contains(t, out, "embedded miniredis")
	require.Contains(t, out, "user1..user2, password ahsp-pass")
	require.Regexp(t, `worker ids:  1-\d+ 2-\d+`, out)
	require.Contains(t, out, "/health/ready/ -> 200")

	code, out, errs = c.run(ctx, "seed", "--seed-users", "3", "--seed-projects", "1")
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "user1..user3")

	code, out, errs = c.run(ctx, "down")
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "is down")
	r := <-upDone
	require.Equal(t, exitcode.OK, r.code, r.stderr)
	require.Contains(t, r.stdout, "url:         http://127.0.0.1:")
	require.NoFileExists(t, statePath)

	code, _, errs = c.run(ctx, "status")
	require.Equal(t, exitcode.Unreachable, code, errs)
}

// TestStaleState: a state file whose harness is gone is reported by status
// and cleaned by down.
func TestStaleState(t *testing.T) {
	c := newCLI(t)
	app := &App{Env: c.env}
	require.NoError(t, app.writeState(&state{PID: 1 << 22, Socket: filepath.Join(c.dir, "gone.sock"), Info: stack.Info{RunID: "test-stale-run", Mode: "local"}}))
	ctx := context.Background()
	code, _, errs := c.run(ctx, "status")
	require.Equal(t, exitcode.Unreachable, code)
	require.Contains(t, errs, "does not answer")
	require.Contains(t, errs, "run 'harness down' to clean up")
	code, out, errs := c.run(ctx, "down")
	require.Equal(t, exitcode.OK, code, errs)
	require.Contains(t, out, "the harness that started stack test-stale-run is gone")
	require.NoFileExists(t, app.statePath())

	code, out, errs = c.run(ctx, "down", "--all")
	require.Equal(t, exitcode.OK, code, errs)
	require.Regexp(t, `removed \d+ leftover\(s\)`, out)
}
