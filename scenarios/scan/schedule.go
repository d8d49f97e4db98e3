package scan

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// A scan's length is set by the probes that wait for or spend a window (the
// polite stream, the edge bursts, Retry-After): run one after another they
// add up to several windows. The scheduler runs probes at the same time when
// what they hold is disjoint: each probe takes fresh users, and claims the
// rate-limit buckets it spends (from the policy map), so no two running
// probes count on one bucket. Probes that disturb the whole deployment
// (cache down, worker kill) or the harness's own login counter (xff-spoof)
// hold everything and run alone.

// claimAll is a claim that conflicts with every other claim.
const claimAll = "*"

// maxParallelProbes bounds how many probes run at once (a 2-core machine
// generates the load and often runs the target too).
const maxParallelProbes = 4

// job is one probe to run: what it holds while it runs, and whether it is
// window-bound (started first, since it sets the scan's length).
type job struct {
	name   string
	claims []string
	long   bool
	run    func(ctx context.Context) Result
}

// conflicts reports whether two jobs may not run at once: they hold a
// bucket in common, or one holds everything (even against a job that
// holds nothing: it runs alone).
func conflicts(a, b []string) bool {
	if slices.Contains(a, claimAll) || slices.Contains(b, claimAll) {
		return true
	}
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// launchOrder is the order jobs are considered for starting: window-bound
// ones first, then the rest in catalog order, then those that hold
// everything (in catalog order, so xff-spoof stays last).
func launchOrder(jobs []job) []int {
	rank := func(j job) int {
		switch {
		case slices.Contains(j.claims, claimAll):
			return 2
		case j.long:
			return 0
		}
		return 1
	}
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rank(jobs[a]) - rank(jobs[b]) })
	return order
}

// setupWait bounds how long the scheduler holds other probes back while a
// window-bound probe logs its users in.
const setupWait = 2 * time.Minute

// setupKey carries a job's setup signal in its context.
type setupKey struct{}

// setupSignal is closed once when a job's users are logged in.
type setupSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newSetupSignal() *setupSignal { return &setupSignal{ch: make(chan struct{})} }

func (g *setupSignal) done() { g.once.Do(func() { close(g.ch) }) }

// setupDone tells the scheduler that the calling probe has its users (its
// logins are done): where logins are throttled per client address, the
// window-bound probes log in before any other probe, so none of them waits
// out the login limit and lengthens the scan by a window.
func setupDone(ctx context.Context) {
	if g, ok := ctx.Value(setupKey{}).(*setupSignal); ok {
		g.done()
	}
}

// runJobs runs jobs concurrently where their claims are disjoint, at most
// parallel at once. A job never overtakes an earlier job (in launch order)
// it conflicts with, so conflicting probes keep their relative order.
// Results come back in the jobs' own order, whatever order they finished in.
// After starting a window-bound job it waits (at most setupWait) until that
// job has its users (setupDone) or has ended before starting another.
func runJobs(ctx context.Context, jobs []job, parallel int) []Result {
	out := make([]Result, len(jobs))
	pending := launchOrder(jobs)
	running := map[int]bool{}
	done := make(chan int)
	var finished []int // ended while the scheduler waited for a setup
	var wg sync.WaitGroup
	for len(pending) > 0 || len(running) > 0 {
		for k := 0; k < len(pending) && len(running) < max(parallel, 1); {
			i := pending[k]
			blocked := false
			for r := range running {
				blocked = blocked || conflicts(jobs[i].claims, jobs[r].claims)
			}
			for _, e := range pending[:k] {
				blocked = blocked || conflicts(jobs[i].claims, jobs[e].claims)
			}
			if blocked {
				k++
				continue
			}
			pending = slices.Delete(pending, k, k+1)
			running[i] = true
			setup := newSetupSignal()
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i] = jobs[i].run(context.WithValue(ctx, setupKey{}, setup))
				setup.done()
				done <- i
			}()
			if jobs[i].long {
				timer := time.NewTimer(setupWait)
			wait:
				for {
					select {
					case <-setup.ch:
						break wait
					case <-timer.C:
						break wait
					case <-ctx.Done():
						break wait
					case f := <-done:
						finished = append(finished, f)
					}
				}
				timer.Stop()
			}
		}
		if len(finished) > 0 {
			for _, f := range finished {
				delete(running, f)
			}
			finished = finished[:0]
			continue
		}
		if len(running) == 0 {
			break // cannot happen: the first pending job always starts
		}
		delete(running, <-done)
	}
	wg.Wait()
	return out
}

// bucket names the rate-limit bucket op counts in: the discovered group of
// operations that share one (the first of them in table order), else op.
func (m *PolicyMap) bucket(op string) string {
	group := []string{op}
	for changed := true; changed; {
		changed = false
		for _, p := range m.legacy() {
			if !slices.Contains(group, p.Operation) {
				continue
			}
			for _, o := range p.SharesWith {
				if !slices.Contains(group, o) {
					group, changed = append(group, o), true
				}
			}
		}
	}
	for _, o := range api.Operations {
		if slices.Contains(group, o.Name) {
			return "bucket:" + o.Name
		}
	}
	return "bucket:" + op
}

func (m *PolicyMap) legacy() []OpPolicy {
	if m == nil {
		return nil
	}
	var out []OpPolicy
	for _, p := range m.Ops {
		if p.Version == api.Legacy {
			out = append(out, p)
		}
	}
	return out
}

// claims is what probe holds while it runs: the buckets of the operations
// it will send to (the same picks the probe makes), or everything.
func (s *scanner) claims(probe string) []string {
	b := func(ops ...string) []string {
		var out []string
		for _, o := range ops {
			if o == "" {
				continue
			}
			if c := s.pm.bucket(o); !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
		return out
	}
	picked := func(prefer ...api.Category) string {
		p, _, sk := s.pick(prefer...)
		if sk != nil {
			return ""
		}
		return p.Operation
	}
	switch probe {
	case CacheDown, CacheSlow, WorkerKill, XFFSpoof:
		return []string{claimAll}
	case Coverage:
		return nil
	case Sessions:
		return b("volume-pekerjaan.list")
	case LimitedWrite:
		op, _, sk := s.pickWrite()
		if sk != nil {
			return nil
		}
		return b(op.Name)
	case Window:
		polite, edge := s.windowOps()
		return b(polite.Operation, edge.Operation)
	case Headers:
		return b(s.headersOp().Operation)
	}
	return b(picked(api.Write, api.Bulk, api.Export, api.Read))
}

// attemptsSideBySide says whether probe's attempts may run at once: the
// window probe (a retry would cost its whole length again), when every
// operation it sends to counts per user, so fresh users never share a key,
// and no login limit is declared (where logins are throttled per address,
// the extra attempts' logins can cost a login window of their own).
func (s *scanner) attemptsSideBySide(probe string) bool {
	if probe != Window || s.limits[LoginCategory].Requests > 0 {
		return false
	}
	polite, edge := s.windowOps()
	for _, p := range []OpPolicy{polite, edge} {
		if p.Operation != "" && p.PerUser != "yes" {
			return false
		}
	}
	return polite.Operation != ""
}

// windowBound says which probes wait for or spend whole windows.
func windowBound(probe string) bool { return probe == Window || probe == Headers }

// counterOp is the operation the counter probes (multi-worker, race,
// path-variants) and the bypass classes use; the window-bound probes avoid
// its bucket where another limited one exists, so they run beside them.
func (s *scanner) counterOp() OpPolicy {
	p, _, _ := s.pick(api.Write, api.Bulk, api.Export, api.Read)
	return p
}

// windowOps are the window probe's operations: the polite stream's (an
// export first: the smallest limit makes the shortest stream), and the edge
// bursts', in another bucket than both the polite stream's and the counter
// probes' when there is one; else the polite one's when the key is per user
// (a fresh user's key is its own). edge.Operation is "" when neither.
func (s *scanner) windowOps() (polite, edge OpPolicy) {
	polite, _, sk := s.pick(api.Export, api.Write, api.Bulk, api.Read)
	if sk != nil {
		return OpPolicy{}, OpPolicy{}
	}
	edge = s.pickAvoiding([]string{polite.Operation, s.counterOp().Operation}, api.Write, api.Bulk, api.Export, api.Read)
	if edge.Operation == "" {
		edge = s.pickAvoiding([]string{polite.Operation}, api.Write, api.Bulk, api.Export, api.Read)
	}
	if edge.Operation == "" && polite.PerUser == "yes" {
		edge = polite
	}
	return polite, edge
}

// headersOp is the operation the headers probe exhausts and waits on: a
// limited one in a bucket neither the window probe nor the counter probes
// use when there is one, else the counter probes' (a write first).
func (s *scanner) headersOp() OpPolicy {
	polite, edge := s.windowOps()
	avoid := []string{polite.Operation, edge.Operation, s.counterOp().Operation}
	for len(avoid) > 0 {
		if p := s.pickAvoiding(avoid, api.Write, api.Export, api.Bulk, api.Read); p.Operation != "" {
			return p
		}
		avoid = avoid[:len(avoid)-1]
	}
	p, _, _ := s.pick(api.Write, api.Export, api.Bulk, api.Read)
	return p
}

// pickAvoiding is the first limited operation (prefer's order) whose bucket
// is none of avoid's buckets; --op pins every probe to one operation, so
// then there is no other.
func (s *scanner) pickAvoiding(avoid []string, prefer ...api.Category) OpPolicy {
	if s.pm == nil || s.cfg.Op != "" {
		return OpPolicy{}
	}
	var taken []string
	for _, a := range avoid {
		if a != "" {
			taken = append(taken, s.pm.bucket(a))
		}
	}
	for _, p := range s.pm.Limited(prefer...) {
		if !slices.Contains(taken, s.pm.bucket(p.Operation)) {
			return p
		}
	}
	return OpPolicy{}
}
