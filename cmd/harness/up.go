package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

func newUpCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Start the target stack and keep it up until Ctrl-C or 'harness down'",
		Long: `up starts the target as the global flags and harness.yaml say, prints its URL,
Redis address, workers and credentials, and stays in the foreground until
Ctrl-C, SIGTERM or 'harness down' (from another shell). Everything it started
is removed when it stops. 'harness status' and 'harness seed' talk to it.`,
		Example: `  harness up --stack docker --workers 4 --cache redis
  harness up --stack local --defect naive-limiter`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return app.up(cmd.Context()) },
	}
}

func (a *App) up(ctx context.Context) error {
	if st, err := a.readState(); err != nil {
		return exitcode.New(exitcode.Usage, err)
	} else if st != nil {
		if _, err := ask(ctx, st.Socket, controlRequest{Cmd: "status"}, 2*time.Second); err == nil {
			return exitcode.Errorf(exitcode.Usage, "a stack is already up at %s (run %s, pid %d): run 'harness down' first, or set %s to run another",
				st.Info.BaseURL, st.Info.RunID, st.PID, EnvStateDir)
		}
		fmt.Fprintf(a.progress(), "harness: removing stale stack state of run %s (its harness is gone)\n", st.Info.RunID)
		if removed, err := stack.DownRun(ctx, st.Info.RunID); err != nil {
			fmt.Fprintf(a.Stderr, "harness: clean up run %s: %v\n", st.Info.RunID, err)
		} else {
			for _, r := range removed {
				fmt.Fprintf(a.progress(), "  removed %s\n", r)
			}
		}
		_ = os.Remove(a.statePath())
	}
	spec, err := a.stackSpec()
	if err != nil {
		return err
	}
	s, err := stack.Up(ctx, spec)
	down := func() error {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return s.Down(dctx)
	}
	if err != nil {
		if derr := down(); derr != nil {
			fmt.Fprintf(a.Stderr, "harness: clean up after failed start: %v\n", derr)
		}
		return err
	}

	if err := os.MkdirAll(a.stateDir(), 0o700); err != nil {
		_ = down()
		return fmt.Errorf("create state dir: %w", err)
	}
	sock := filepath.Join(a.stateDir(), "up.sock")
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		_ = down()
		return fmt.Errorf("listen on control socket %s: %w", sock, err)
	}
	st := &state{PID: os.Getpid(), Socket: sock, Started: time.Now().UTC(), Info: s.Info(),
		Credentials: s.Credentials(), SeedPassword: seedPassword(s)}
	if err := a.writeState(st); err != nil {
		ln.Close()
		_ = down()
		return err
	}
	printStack(a.Stdout, s.Info(), s.Credentials(), st.SeedPassword)
	fmt.Fprintln(a.Stdout, "Stop with Ctrl-C or 'harness down'.")

	srv := &controlServer{s: s, downReq: make(chan net.Conn, 1)}
	go srv.serve(ctx, ln)
	var requester net.Conn
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.progress(), "harness: interrupted; taking the stack down")
	case requester = <-srv.downReq:
		fmt.Fprintln(a.progress(), "harness: 'harness down' received; taking the stack down")
	}
	ln.Close()
	err = down()
	_ = os.Remove(a.statePath())
	_ = os.Remove(sock)
	if requester != nil {
		rep := controlReply{Info: s.Info()}
		if err != nil {
			rep.Error = err.Error()
		}
		_ = json.NewEncoder(requester).Encode(rep)
		requester.Close()
	}
	if err != nil {
		return fmt.Errorf("stack down: %w", err)
	}
	fmt.Fprintln(a.progress(), "harness: stack down")
	return nil
}

// seedPassword is the seeded users' password, empty for external stacks.
func seedPassword(s *stack.Stack) string {
	if s.Info().Mode == stack.ModeExternal || len(s.Credentials()) == 0 {
		return ""
	}
	return s.Credentials()[0].Password
}

// controlServer answers status, seed and down requests from other harness
// processes while `up` runs.
type controlServer struct {
	mu      sync.Mutex // one request at a time touches the stack
	s       *stack.Stack
	downReq chan net.Conn
}

func (c *controlServer) serve(ctx context.Context, ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go c.handle(ctx, conn)
	}
}

func (c *controlServer) handle(ctx context.Context, conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var req controlRequest
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&req); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if req.Cmd == "down" {
		select {
		case c.downReq <- conn: // up replies once the stack is down
		default:
			_ = json.NewEncoder(conn).Encode(controlReply{Error: "already going down"})
			conn.Close()
		}
		return
	}
	defer conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	rep := controlReply{}
	switch req.Cmd {
	case "status":
		if ctl, err := c.s.Control(); err == nil {
			ws, err := ctl.Workers(ctx)
			if err != nil {
				rep.Error = err.Error()
			}
			rep.Workers = ws
		}
	case "seed":
		if err := c.s.Seed(ctx, req.Seed); err != nil {
			rep.Error = err.Error()
		}
	default:
		rep.Error = fmt.Sprintf("unknown request %q", req.Cmd)
	}
	rep.Info, rep.Credentials = c.s.Info(), c.s.Credentials()
	_ = json.NewEncoder(conn).Encode(rep)
}

// printStack writes the human summary of a stack.
func printStack(w io.Writer, info stack.Info, creds []client.Credential, password string) {
	fmt.Fprintf(w, "stack up: %s mode (%s)\n", info.Mode, info.ModeReason)
	fmt.Fprintf(w, "  url:         %s\n", info.BaseURL)
	if info.Route != "" {
		fmt.Fprintf(w, "  route:       %s\n", info.Route)
	}
	if info.RedisAddr != "" {
		fmt.Fprintf(w, "  redis:       %s (%s)\n", info.RedisAddr, info.RedisKind)
	}
	if info.Mode != stack.ModeExternal {
		fmt.Fprintf(w, "  workers:     %d\n", info.Workers)
		fmt.Fprintf(w, "  target:      cache %s, limiter %s, %s, sessions in %s\n", info.Cache, info.Limiter, info.FailurePolicy, info.SessionStore)
		if info.Cache == stack.CacheRedis && info.RedisTimeoutMS > 0 {
			fmt.Fprintf(w, "  redis:       timeout %gms per call\n", info.RedisTimeoutMS)
		}
		if info.Limits != "" {
			fmt.Fprintf(w, "  limits:      %s\n", info.Limits)
		}
		d := "none"
		if len(info.Defects) > 0 {
			d = strings.Join(info.Defects, ", ") + "  (DEFECTIVE TARGET)"
		}
		fmt.Fprintf(w, "  defects:     %s\n", d)
	}
	switch {
	case len(creds) == 0:
		fmt.Fprintf(w, "  credentials: none\n")
	case password != "":
		users := creds[0].User
		if len(creds) > 1 {
			users += ".." + creds[len(creds)-1].User
		}
		fmt.Fprintf(w, "  credentials: %s, password %s (%s owns projects %s)\n",
			users, password, creds[0].User, ints(creds[0].Projects))
	default:
		names := make([]string, len(creds))
		for i, c := range creds {
			names[i] = c.User
		}
		fmt.Fprintf(w, "  credentials: %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "  run id:      %s\n", info.RunID)
	fmt.Fprintf(w, "  startup:     %.2fs", info.StartupSeconds)
	if info.ImageBuildSeconds > 0 {
		fmt.Fprintf(w, " (of which image builds %.2fs)", info.ImageBuildSeconds)
	}
	fmt.Fprintln(w)
}

func ints(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

var errNoStack = errors.New("no stack is up")
