package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// state is what `harness up` records so that down, status and seed (in other
// processes) find the stack. The running `up` answers on a unix socket next
// to it; a state whose socket does not answer is stale.
type state struct {
	PID          int                 `json:"pid"`
	Socket       string              `json:"socket"`
	Started      time.Time           `json:"started"`
	Info         stack.Info          `json:"info"`
	Credentials  []client.Credential `json:"credentials"`
	SeedPassword string              `json:"seed_password,omitempty"`
}

// stateDir is $HARNESS_STATE_DIR, else <user cache dir>/ahsp-harness/state.
func (a *App) stateDir() string {
	if d := a.Getenv(EnvStateDir); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "ahsp-harness", "state")
}

func (a *App) statePath() string { return filepath.Join(a.stateDir(), "state.json") }

func (a *App) readState() (*state, error) {
	b, err := os.ReadFile(a.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stack state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read stack state %s: %w (remove it, or run 'harness down --all')", a.statePath(), err)
	}
	return &st, nil
}

func (a *App) writeState(st *state) error {
	if err := os.MkdirAll(a.stateDir(), 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write stack state: %w", err)
	}
	return os.Rename(tmp, a.statePath())
}

// controlRequest and controlReply travel as one JSON line each on the socket.
type controlRequest struct {
	Cmd  string     `json:"cmd"` // status | down | seed
	Seed stack.Seed `json:"seed,omitempty"`
}

type controlReply struct {
	Error       string              `json:"error,omitempty"`
	Info        stack.Info          `json:"info"`
	Workers     []stack.Worker      `json:"workers,omitempty"`
	Credentials []client.Credential `json:"credentials,omitempty"`
}

// ask sends req to the running `up` and waits up to timeout for its reply.
func ask(ctx context.Context, socket string, req controlRequest, timeout time.Duration) (*controlReply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("send %s: %w", req.Cmd, err)
	}
	var rep controlReply
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("read %s reply: %w", req.Cmd, err)
	}
	if rep.Error != "" {
		return &rep, errors.New(rep.Error)
	}
	return &rep, nil
}
