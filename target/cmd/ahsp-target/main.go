// Command ahsp-target is the reference AHSP app: the project API, the
// frontend and a gunicorn-style master with N worker processes sharing one
// socket. Subcommands: serve, seed, kill-worker, defects, version.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/target/internal/defects"
	"github.com/ahsp-harness/harness/target/internal/master"
)

// version is set with -ldflags "-X main.version=..."; otherwise the build info.
var version = ""

// envWorkerConfig carries the master's resolved config to a worker.
const envWorkerConfig = "AHSP_WORKER_CONFIG"

// proc is the process state the commands use, so tests can run the CLI
// in-process.
type proc struct {
	args   []string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	p := proc{args: os.Args[1:], getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}
	if err := run(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, "ahsp-target:", err)
		os.Exit(1)
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" {
			return "dev-" + rev[:min(12, len(rev))] + dirty + " " + bi.GoVersion
		}
		return "dev " + bi.GoVersion
	}
	return "dev"
}

func run(ctx context.Context, p proc) error {
	root := &cobra.Command{
		Use:           "ahsp-target",
		Short:         "Reference AHSP app (API + frontend) with gunicorn-style workers and real rate limiting",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(p.args)
	root.SetOut(p.stdout)
	root.SetErr(p.stderr)
	root.AddCommand(serveCmd(ctx, p), seedCmd(ctx, p), killWorkerCmd(p), defectsCmd(p), versionCmd(p))
	return root.ExecuteContext(ctx)
}

func serveCmd(ctx context.Context, p proc) *cobra.Command {
	var f rawFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the master and N worker processes on one listening socket",
		Long: "Run the master and N worker processes on one listening socket.\n" +
			"Every flag can also be set by its environment variable; flags win.\n\n" +
			"Defects (--defect NAME, off unless named):\n" + defectHelp(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, isWorker, err := master.FromEnv()
			if err != nil {
				return err
			}
			if isWorker {
				var c config
				if err := json.Unmarshal([]byte(p.getenv(envWorkerConfig)), &c); err != nil {
					return fmt.Errorf("worker %d: read %s from the master: %w", w.Index, envWorkerConfig, err)
				}
				return runWorker(ctx, p, c, w)
			}
			if err := applyEnv(cmd.Flags(), p.getenv); err != nil {
				return err
			}
			c, err := resolveServe(cmd.Flags(), &f)
			if err != nil {
				return err
			}
			return runMaster(ctx, p, c)
		},
	}
	addServeFlags(cmd.Flags(), &f)
	return cmd
}

func defectHelp() string {
	var b strings.Builder
	for _, n := range defects.Names() {
		fmt.Fprintf(&b, "  %-22s %s\n", n, defects.Known[n])
	}
	return b.String()
}

func runMaster(ctx context.Context, p proc, c config) error {
	log := newLogger(p.stderr).With("role", "master")
	banner(log, c)
	// Workers sum each other's metrics-<i>.json in the run dir (see
	// server.Config.MetricsDir); a previous run's counters must not count.
	if old, _ := filepath.Glob(filepath.Join(c.RunDir, "metrics-*.json")); len(old) > 0 {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	cj, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode worker config: %w", err)
	}
	return master.Run(ctx, master.Options{
		Addr:         c.Addr,
		Workers:      c.Workers,
		RunDir:       c.RunDir,
		Args:         append([]string{"serve"}, p.args[1:]...),
		Env:          []string{envWorkerConfig + "=" + string(cj)},
		DrainTimeout: c.DrainTimeout,
		Logger:       log,
		Prepare: func(ctx context.Context, _ string) error {
			return seedDB(ctx, log, c)
		},
	})
}

// banner logs the configuration and, at warning level and in capitals, each
// switched-on defect so nobody mistakes a defective target for a correct one.
func banner(log *slog.Logger, c config) {
	limits := make([]string, 0, len(c.Limits))
	for _, k := range []string{"bulk", "write", "read", "export", "login"} {
		if l, ok := c.Limits[k]; ok {
			limits = append(limits, k+"="+l.String())
		}
	}
	defs := c.Defects
	if defs == nil {
		defs = []string{}
	}
	log.Info("ahsp-target starting",
		"version", versionString(),
		"addr", c.Addr, "workers", c.Workers, "db", c.DB,
		"cache", c.Cache, "redis_addr", c.RedisAddr, "redis_timeout", c.RedisTimeout.String(),
		"limiter", c.Limiter, "failure_policy", c.FailurePolicy, "session_store", c.SessionStore,
		"limits", strings.Join(limits, ","), "run_dir", c.RunDir,
		"seed", fmt.Sprintf("users=%d,projects=%d", c.SeedUsers, c.SeedProjects),
		"defects", defs)
	if len(c.Defects) == 0 {
		log.Info("no defects: this target is the correct reference")
	}
	for _, d := range c.Defects {
		log.Warn("!!! DEFECT ENABLED: "+strings.ToUpper(d)+" !!! "+defects.Known[d], "defect", d)
	}
}

func seedCmd(ctx context.Context, p proc) *cobra.Command {
	var f rawFlags
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create or refresh the SQLite database and its seed data, then exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd.Flags(), p.getenv); err != nil {
				return err
			}
			var c config
			if err := resolveDB(cmd.Flags(), &f, &c); err != nil {
				return err
			}
			return seedDB(ctx, newLogger(p.stderr), c)
		},
	}
	addDBFlags(cmd.Flags(), &f)
	return cmd
}

func killWorkerCmd(p proc) *cobra.Command {
	var runDir, sig string
	var index int
	cmd := &cobra.Command{
		Use:   "kill-worker",
		Short: "Signal one worker of a running master (reads <run-dir>/worker-<i>.pid)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runDir == "" {
				runDir = p.getenv("AHSP_RUN_DIR")
			}
			if runDir == "" {
				return fmt.Errorf("--run-dir (or AHSP_RUN_DIR): required, the serve command's run dir")
			}
			if index < 1 {
				return fmt.Errorf("--index %d: want a worker index from 1", index)
			}
			s, err := master.ParseSignal(sig)
			if err != nil {
				return fmt.Errorf("--signal: %w", err)
			}
			pid, err := master.KillWorker(runDir, index, s)
			if err != nil {
				return err
			}
			fmt.Fprintf(p.stdout, "signalled worker %d (pid %d) with %s\n", index, pid, s)
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run-dir", "", "the serve command's run dir (env AHSP_RUN_DIR)")
	cmd.Flags().IntVar(&index, "index", 0, "worker index, from 1")
	cmd.Flags().StringVar(&sig, "signal", "KILL", "signal: KILL, TERM, INT, QUIT, STOP, CONT or a number")
	return cmd
}

func defectsCmd(p proc) *cobra.Command {
	return &cobra.Command{
		Use:   "defects",
		Short: "List defect names with one-line descriptions",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(p.stdout, defectHelp())
			return err
		},
	}
}

func versionCmd(p proc) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(p.stdout, "ahsp-target", versionString())
			return err
		},
	}
}
