package run

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/stack"
)

// external is an external "deployment" that only answers its readiness
// path: enough for Gate to bring the stack up and run phases that record
// what they were given.
func external(t *testing.T, users int) stack.Spec {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == stack.ReadyPath {
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return stack.Spec{Mode: stack.ModeExternal, TargetURL: srv.URL, Credentials: creds(users)}
}

// recorder is a phase that records the users it got and then does what
// fn says: fill its section, or fail to run.
func recorder(name string, need Need, got map[string][]string, fn func(r *reports.Run) error) Phase {
	return Phase{
		Name:  name,
		Users: func(*Options) Need { return need },
		Run: func(_ context.Context, e *Env, r *reports.Run) error {
			for _, c := range e.Credentials() {
				got[name] = append(got[name], c.User)
			}
			return fn(r)
		},
	}
}

func TestGatePhases(t *testing.T) {
	passScan := func(r *reports.Run) error {
		r.Scan = &scan.Report{Probes: []scan.Result{{Probe: scan.MultiWorker, Status: check.Pass}}}
		return nil
	}
	cannot := func(*reports.Run) error { return errors.New("login refused") }
	for _, tc := range []struct {
		name      string
		phases    func(got map[string][]string) []Phase
		off       map[string]bool
		status    check.Status
		errors    []string
		users     map[string][]string
		progress  []string
		gateRules []string
		allow     []string
	}{
		{
			name: "every phase ran and passed: pass",
			phases: func(got map[string][]string) []Phase {
				return []Phase{recorder("scan", Need{Min: 1, Max: Rest}, got, passScan), recorder("extra", Need{Min: 2, Max: 2}, got, func(*reports.Run) error { return nil })}
			},
			status:   check.Pass,
			users:    map[string][]string{"extra": {"user1", "user2"}, "scan": {"user3", "user4", "user5", "user6"}},
			progress: []string{"[1/2] scan ...", "[2/2] extra done in"},
		},
		{
			name: "a phase that could not run fails the gate and the next still runs",
			phases: func(got map[string][]string) []Phase {
				return []Phase{recorder("broken", Need{Min: 1, Max: 1}, got, cannot), recorder("scan", Need{Min: 1, Max: Rest}, got, passScan)}
			},
			status: check.Fail,
			errors: []string{"broken: login refused"},
			users:  map[string][]string{"broken": {"user1"}, "scan": {"user2", "user3", "user4", "user5", "user6"}},
		},
		{
			name: "a phase of a section allowed to skip could not run: an error row that does not fail the gate",
			phases: func(got map[string][]string) []Phase {
				return []Phase{recorder("e2e", Need{Min: 1, Max: 1}, got, cannot), recorder("scan", Need{Min: 1, Max: Rest}, got, passScan)}
			},
			allow:  []string{"e2e"},
			status: check.Pass,
			errors: []string{"e2e: login refused"},
			users:  map[string][]string{"e2e": {"user1"}, "scan": {"user2", "user3", "user4", "user5", "user6"}},
		},
		{
			name: "an off phase gets no users and does not run",
			phases: func(got map[string][]string) []Phase {
				return []Phase{recorder("scan", Need{Min: 1, Max: Rest}, got, passScan), recorder("broken", Need{Min: 3, Max: 3}, got, cannot)}
			},
			off:      map[string]bool{"broken": true},
			status:   check.Pass,
			users:    map[string][]string{"scan": {"user1", "user2", "user3", "user4", "user5", "user6"}},
			progress: []string{"[2/2] broken: off"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string][]string{}
			var progress, warn bytes.Buffer
			r, err := Gate(context.Background(), Options{
				Stack: external(t, 6), Gate: reports.GateConfig{Require: []string{"scan"}, AllowSkip: tc.allow},
				Phases: tc.phases(got), Off: tc.off, Progress: &progress, Warn: &warn,
				Meta: reports.Meta{Tool: "harness", Command: "go test"},
			})
			require.NoError(t, err)
			require.Equal(t, tc.status, r.Gate.Status, "gate rows: %+v", r.Gate.Rows)
			require.Equal(t, tc.errors, r.Errors)
			require.Equal(t, tc.users, got)
			require.NotNil(t, r.Stack)
			require.Equal(t, stack.ModeExternal, r.Stack.Mode)
			require.False(t, r.Meta.Finished.IsZero())
			for _, p := range tc.progress {
				require.Contains(t, progress.String(), p)
			}
			for _, e := range tc.errors {
				phase, msg, _ := strings.Cut(e, ": ")
				require.Contains(t, warn.String(), phase+" could not run: "+msg)
				var row *reports.GateRow
				for i := range r.Gate.Rows {
					if r.Gate.Rows[i].Message == e {
						row = &r.Gate.Rows[i]
					}
				}
				require.NotNil(t, row, "no gate row for %q in %+v", e, r.Gate.Rows)
				require.Equal(t, check.Error, row.Status, "a phase that could not run is shown as an error")
			}
		})
	}
}

// TestGateStackUnreachable: a stack that does not come up is the error (for
// the exit code) and a failed gate in the run, which still comes back.
func TestGateStackUnreachable(t *testing.T) {
	ran := false
	r, err := Gate(context.Background(), Options{
		Stack:  stack.Spec{Mode: stack.ModeExternal, TargetURL: "http://127.0.0.1:1"},
		Gate:   reports.DefaultGate(),
		Phases: []Phase{{Name: "scan", Run: func(context.Context, *Env, *reports.Run) error { ran = true; return nil }}},
	})
	require.ErrorIs(t, err, stack.ErrUnreachable)
	require.False(t, ran)
	require.NotNil(t, r)
	require.Equal(t, check.Fail, r.Gate.Status)
	require.Len(t, r.Errors, 1)
	require.Contains(t, r.Errors[0], "stack: ")
}

// TestGateInterrupted: after Ctrl-C no phase starts; each is an error that
// says so, and the gate fails.
func TestGateInterrupted(t *testing.T) {
	spec := external(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	ran := 0
	count := func(context.Context, *Env, *reports.Run) error { ran++; cancel(); return nil }
	r, err := Gate(ctx, Options{Stack: spec, Gate: reports.GateConfig{},
		Phases: []Phase{{Name: "first", Run: count}, {Name: "second", Run: count}}})
	require.NoError(t, err)
	require.Equal(t, 1, ran)
	require.Equal(t, []string{"second: not started: context canceled"}, r.Errors)
	require.Equal(t, check.Fail, r.Gate.Status)
	require.Less(t, r.Meta.DurationS, (time.Minute).Seconds())
}
