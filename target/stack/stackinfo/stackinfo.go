// Package stackinfo is what checks and reports know about a stack without
// starting one: the Info that goes into reports, the Control interface of
// the probes that break things, the CPU counters and the --limits syntax.
// It imports no Docker, Toxiproxy or browser client, so the result model and
// the gate (package reports) link none of them; package stack re-exports
// every name here.
package stackinfo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Modes accepted in a stack spec's Mode.
const (
	ModeAuto     = "auto"
	ModeDocker   = "docker"
	ModeLocal    = "local"
	ModeExternal = "external"
)

// Cache backends accepted in a stack spec's Cache.
const (
	CacheLocmem = "locmem"
	CacheRedis  = "redis"
)

var (
	// ErrUnsupported is returned for control operations a mode cannot do.
	ErrUnsupported = errors.New("unsupported in external mode")
	// ErrNoCache is returned by cache controls when the stack runs without Redis.
	ErrNoCache = errors.New("no cache server in this stack (cache is locmem; use --cache redis)")
)

// Info describes a stack that is up. It goes into reports.
type Info struct {
	Mode       string `json:"mode"`
	ModeReason string `json:"mode_reason"`
	RunID      string `json:"run_id"`
	BaseURL    string `json:"base_url"`
	// Route says how BaseURL reaches a docker-mode target.
	Route         string `json:"route,omitempty"`
	Workers       int    `json:"workers"`
	Cache         string `json:"cache"`
	RedisKind     string `json:"redis_kind,omitempty"`
	RedisAddr     string `json:"redis_addr,omitempty"`
	Limiter       string `json:"limiter"`
	FailurePolicy string `json:"failure_policy"`
	// RedisTimeoutMS is the target's timeout per Redis call (0: unknown).
	RedisTimeoutMS float64  `json:"redis_timeout_ms,omitempty"`
	SessionStore   string   `json:"session_store"`
	Limits         string   `json:"limits,omitempty"`
	Defects        []string `json:"defects"`
	// Profile is the reference target's deployment profile, if one was used.
	Profile        string  `json:"profile,omitempty"`
	TargetBin      string  `json:"target_bin,omitempty"`
	StartupSeconds float64 `json:"startup_seconds"`
	// Hooks names the external deployment's configured hooks (not their commands).
	Hooks             []string `json:"hooks,omitempty"`
	ImageBuildSeconds float64  `json:"image_build_seconds,omitempty"`
}

// Worker is one worker process of the target.
type Worker struct {
	Index int `json:"index"`
	PID   int `json:"pid"`
	// ID is the worker's X-Worker-Id value: "<index>-<pid>".
	ID string `json:"id"`
}

// Control breaks and repairs parts of a running stack.
type Control interface {
	// Workers lists the current worker processes (from their pid files).
	Workers(ctx context.Context) ([]Worker, error)
	// KillWorker sends SIGKILL to worker index (from 1); the master restarts it.
	KillWorker(ctx context.Context, index int) error
	// StopCache stops the Redis server; StartCache starts it again on the same address.
	StopCache(ctx context.Context) error
	StartCache(ctx context.Context) error
	// PauseCache freezes Redis (connections hang) until ResumeCache.
	PauseCache(ctx context.Context) error
	ResumeCache(ctx context.Context) error
	// AddCacheLatency delays every reply from Redis by d until remove is called.
	AddCacheLatency(ctx context.Context, d time.Duration) (remove func(context.Context) error, err error)
}

// CPUTime is the CPU the stack's own processes have used so far, in
// seconds. Differences between two readings give the cores a step used.
// A field is -1 where it cannot be measured: external mode, no Redis, the
// embedded miniredis (its CPU is the harness's own), or a process that
// restarted between readings.
type CPUTime struct {
	// Target is the app: the master and its workers (docker: the target
	// container's cgroup).
	Target float64
	// Cache is the Redis server (docker: the Redis container).
	Cache float64
}

// Unmeasured is a CPUTime with nothing measured.
var Unmeasured = CPUTime{Target: -1, Cache: -1}

// ParseLimits reads the target's --limits syntax: "read=100/60,write=20/60".
func ParseLimits(s string) (map[api.Category]api.Limit, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[api.Category]api.Limit{}
	for _, part := range strings.Split(s, ",") {
		var name string
		var l api.Limit
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			name = strings.TrimSpace(k)
			_, err := fmt.Sscanf(v, "%d/%d", &l.Requests, &l.WindowSeconds)
			ok = err == nil && name != "" && l.Requests > 0 && l.WindowSeconds > 0
		}
		if !ok {
			return nil, fmt.Errorf("limit %q: want category=N/seconds, e.g. write=20/60", part)
		}
		out[api.Category(name)] = l
	}
	return out, nil
}

// Hook names: user-supplied shell commands that let the harness break and
// observe an external deployment it did not start.
const (
	HookCacheStop  = "cache-stop"  // stop the deployment's cache server
	HookCacheStart = "cache-start" // start it again
	HookCacheSlow  = "cache-slow"  // add latency to every cache reply ($HARNESS_CACHE_DELAY_MS)
	HookCacheFast  = "cache-fast"  // remove that latency
	HookWorkerKill = "worker-kill" // kill one worker process ($HARNESS_WORKER_INDEX)
	HookLogs       = "logs"        // print the deployment's recent log lines
	HookCPU        = "cpu"         // print the deployment's cumulative CPU seconds
)

// HookNames lists every hook name, in documentation order.
var HookNames = []string{HookCacheStop, HookCacheStart, HookCacheSlow, HookCacheFast, HookWorkerKill, HookLogs, HookCPU}

// ControlMissing reports whether ctl can run the named hooks: nil for a
// docker or local stack's Control (which needs none), else an error wrapping
// ErrUnsupported that names the first missing hook. Probes call it before
// they break anything.
func ControlMissing(ctl Control, names ...string) error {
	if m, ok := ctl.(interface{ Missing(...string) error }); ok {
		return m.Missing(names...)
	}
	return nil
}
