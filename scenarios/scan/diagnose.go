package scan

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
)

// Root causes a counter-overshoot FAIL can have, told apart by controls.
const (
	CauseNonAtomic      = "non-atomic counter"
	CausePerProcess     = "counter per process"
	CauseConnectionKey  = "key includes the connection"
	CauseDeclaredPolicy = "limit differs from the declared policy"
	CauseNotLimited     = "operation not limited"
	CauseUnconfirmed    = "not reproduced by the controls"
)

// Diagnosis names the most likely root cause of a FAIL and the control
// experiments of the same scan that back it.
type Diagnosis struct {
	Cause    string `json:"cause"`
	Detail   string `json:"detail"`
	Controls []Row  `json:"controls,omitempty"`
}

// diagnosable are the probes whose FAIL is an overshoot of one operation's
// counter, explained by the counter experiments.
var diagnosable = map[string]bool{MultiWorker: true, Race: true}

// diagnose adds the root cause to a failed counter probe: the control
// experiments run once per operation (every probe that needs them shares
// them), and each probe gets the single cause that explains ITS burst.
func (s *scanner) diagnose(ctx context.Context, res *Result) {
	// Only an overshoot is a counter's fault; a probe that measured nothing
	// or could not set up has nothing to diagnose.
	if res.Status != check.Fail || !diagnosable[res.Probe] || res.Evidence.Overshoot <= 0 {
		return
	}
	op, ok := api.Lookup(res.Evidence.Operation)
	if !ok {
		return
	}
	// Probes of one operation may fail at the same time: the controls run
	// once, and the other waits for them.
	s.mu.Lock()
	if s.diagnoses == nil {
		s.diagnoses = map[string]*diagnosisOnce{}
	}
	once := s.diagnoses[op.Name]
	if once == nil {
		once = &diagnosisOnce{}
		s.diagnoses[op.Name] = once
	}
	s.mu.Unlock()
	once.Do(func() { once.c = s.counterControls(ctx, op) })
	c := once.c
	if c == nil {
		return
	}
	d := c.failed
	if d == nil {
		d = classify(res.Probe, c.limit, c.seqOne, c.seqFresh, c.conc)
		d.Controls = []Row{c.seqOne.row(), c.seqFresh.row(), c.conc.row()}
	}
	res.Diagnosis = d
	if d.Cause == CauseNotLimited {
		// A missing limiter is coverage's finding, never a race or a
		// per-worker bypass.
		res.Status = check.Skip
		res.Reason = fmt.Sprintf("%s is not limited (%s): a missing limiter is reported by coverage, not as %s; the probe's burst: %s",
			op.Name, d.Detail, res.Probe, res.Reason)
		return
	}
	// The probe's own explanation is a hypothesis: when the controls name
	// another cause, it is dropped so the FAIL names one cause.
	if h, ok := hypotheses[res.Probe]; ok && d.Cause != h.cause && d.Cause != CauseUnconfirmed {
		for _, clause := range h.clauses {
			res.Reason = strings.Replace(res.Reason, clause, "", 1)
		}
	}
	res.Reason += "; most likely cause: " + d.Cause + " (" + d.Detail + ")"
}

// hypothesis is the cause a probe's own reason states before the controls
// ran, and the clauses (with their separators) that state it.
type hypothesis struct {
	cause   string
	clauses []string
}

var hypotheses = map[string]hypothesis{
	Race:        {CauseNonAtomic, []string{": " + raceClause}},
	MultiWorker: {CausePerProcess, []string{"; " + perWorkerClause, "; " + oneAtATimeClause}},
}

// diagnosisOnce holds one operation's control experiments, run once.
type diagnosisOnce struct {
	sync.Once
	c *controlRuns
}

// controlRuns are the three control experiments on one operation; failed
// is the diagnosis when they could not run.
type controlRuns struct {
	limit                  int
	seqOne, seqFresh, conc counterRun
	failed                 *Diagnosis
}

// counterRun is one control experiment's outcome.
type counterRun struct {
	name              string
	sent, acc, lim    int
	max               int
	closed            bool // the server closed the connection after answers
	status            map[int]int
	accPerWorker      map[string]int
	workersIdentified bool
}

func (c counterRun) over() bool { return c.acc > c.max }

func (c counterRun) row() Row {
	note := fmt.Sprintf("at most %d allowed", c.max)
	if c.over() {
		note = fmt.Sprintf("OVER: %d accepted, at most %d allowed", c.acc, c.max)
	}
	if c.closed {
		note += "; the server closed the connection after each answer"
	}
	if c.workersIdentified && len(c.accPerWorker) > 0 {
		note += "; accepted per worker " + formatCounts(c.accPerWorker)
	}
	return Row{Name: c.name, Sent: c.sent, Accepted: c.acc, Limited: c.lim, Status: c.status, Note: note}
}

// counterDiagnosis sends the same burst three ways, each on a fresh user:
// sequentially on one connection, sequentially on a fresh connection per
// request, and concurrently on fresh connections. Sequential-in-limit but
// concurrent-over is a non-atomic counter; fresh-connections-over with
// 429s is a counter per process (about acc/limit processes); no 429 at all on
// fresh connections while one connection is limited is a key that includes
// the connection. Every request goes through a session agent (a bounce to
// the login page is resent, not counted); where sessions live in one
// worker's memory the fresh-connection controls rotate over several
// sessions of the user (sessionsFor) so they can reach every worker.
func (s *scanner) counterControls(ctx context.Context, op api.Operation) *controlRuns {
	p := s.policyOf(op.Category)
	if pol, ok := s.pm.Lookup(op.Name, api.Legacy); ok && pol.State == OpLimited {
		p = pol.Policy(s.alg) // what the deployment does, as the probes judge it
	}
	if p.Limit.Requests <= 0 {
		return nil
	}
	L := p.Limit.Requests
	// Enough to fill the counters of up to 8 processes.
	n := 8 * L
	run := func(name string, sessions int, send func(ags []*agent, t *tally) error) (counterRun, error) {
		// Discovery (a tree read) only when the path needs a pekerjaan id.
		vu, _, err := s.user(ctx, strings.Contains(op.Path, "{"))
		if err != nil {
			return counterRun{}, err
		}
		var ags []*agent
		for _, h := range s.sessionsFor(ctx, vu, sessions) {
			v := *vu
			v.Header = h
			ags = append(ags, s.agent(&v))
		}
		t := newTally(apiClass)
		if err := send(ags, t); err != nil {
			return counterRun{}, err
		}
		e := t.evidence()
		return counterRun{name: name, sent: e.Sent, acc: e.Accepted, lim: e.Limited, max: MaxAccepted(p, t.elapsed()),
			closed: t.connClose > 0, status: e.Status, accPerWorker: e.AcceptedPerWorker, workersIdentified: e.WorkersSeen > 0}, nil
	}
	// Sessions that live in one worker each land where their login did:
	// 4 per worker leave a worker out with about 4×(3/4)^16 = 4% on 4
	// workers, so both fresh-connection controls reach the same workers.
	spread := 4 * s.workerHint()
	seqOne, err := run("control: sequential, one connection", 1, func(ags []*agent, t *tally) error {
		hc := httpClient(30*time.Second, false)
		defer hc.CloseIdleConnections()
		for range 2 * L {
			o, _ := ags[0].do(ctx, hc, op, api.Legacy, "")
			t.add(o)
		}
		return ctx.Err()
	})
	if err != nil {
		return &controlRuns{failed: &Diagnosis{Cause: CauseUnconfirmed, Detail: "the control experiments could not run: " + err.Error()}}
	}
	seqFresh, err := run("control: sequential, a fresh connection each", spread, func(ags []*agent, t *tally) error {
		hc := httpClient(30*time.Second, true)
		defer hc.CloseIdleConnections()
		for i := range n {
			o, _ := ags[i%len(ags)].do(ctx, hc, op, api.Legacy, "")
			t.add(o)
		}
		return ctx.Err()
	})
	if err != nil {
		return &controlRuns{failed: &Diagnosis{Cause: CauseUnconfirmed, Detail: "the control experiments could not run: " + err.Error()}}
	}
	conc, err := run("control: concurrent, fresh connections", spread, func(ags []*agent, t *tally) error {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		// One request per goroutine, all released together, each with its
		// own agent (an agent is not shared) over the user's sessions: the
		// most concurrency every worker can see when a session reaches only
		// its own worker and bounces are resent.
		for g := range n {
			a := s.agent(&ags[g%len(ags)].vu)
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := httpClient(30*time.Second, true)
				defer hc.CloseIdleConnections()
				<-start
				o, _ := a.do(ctx, hc, op, api.Legacy, "")
				mu.Lock()
				t.add(o)
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		return ctx.Err()
	})
	if err != nil {
		return &controlRuns{failed: &Diagnosis{Cause: CauseUnconfirmed, Detail: "the control experiments could not run: " + err.Error()}}
	}
	return &controlRuns{limit: L, seqOne: seqOne, seqFresh: seqFresh, conc: conc}
}

type reqMaker func() req

// classify reads the three control experiments for one failed probe and
// names the single cause that explains that probe's burst (pure, for
// tests): multi-worker sends one request at a time, so a non-atomic counter
// cannot explain its overshoot; race sends concurrently, so a counter per
// process explains it only when the concurrent control got no more through
// than the sequential one on fresh connections.
func classify(probe string, limit int, seqOne, seqFresh, conc counterRun) *Diagnosis {
	margin := max(2, limit/10)
	reached := func(c counterRun) int { return c.acc + c.lim }
	if b := seqFresh.status[http.StatusFound] + conc.status[http.StatusFound]; b > 0 {
		// One session reaches only the workers that know it, so fresh
		// connections cannot show a per-process counter.
		return &Diagnosis{Cause: CauseUnconfirmed, Detail: fmt.Sprintf("%d control requests were bounced to the login page (sessions per worker): one session cannot reach every worker, so the controls cannot separate the causes", b)}
	}
	if reached(seqOne) < limit+1 || reached(seqFresh) < 2*limit || reached(conc) < 2*limit {
		return &Diagnosis{Cause: CauseUnconfirmed, Detail: fmt.Sprintf("the controls reached the operation too rarely to compare (%d, %d and %d answered by it; the rest were bounced or failed)",
			reached(seqOne), reached(seqFresh), reached(conc))}
	}
	// Non-atomic: a worker let more than the limit through concurrently;
	// without worker ids, clearly more were accepted concurrently than
	// sequentially on fresh connections (which a counter per process
	// already explains).
	nonAtomic := conc.acc > seqFresh.acc+margin && conc.over()
	if conc.workersIdentified && len(conc.accPerWorker) > 0 {
		nonAtomic = false
		for _, v := range conc.accPerWorker {
			nonAtomic = nonAtomic || v > limit
		}
	}
	concurrently := fmt.Sprintf("concurrently %d of %d were accepted (at most %d)", conc.acc, conc.sent, conc.max)
	if conc.workersIdentified && len(conc.accPerWorker) > 0 {
		concurrently += "; per worker " + formatCounts(conc.accPerWorker)
	}
	switch {
	case seqOne.lim == 0 && seqFresh.lim == 0 && conc.lim == 0:
		return &Diagnosis{Cause: CauseNotLimited, Detail: fmt.Sprintf("no control answered 429 (%d, %d and %d requests): the operation has no limit to bypass", seqOne.sent, seqFresh.sent, conc.sent)}
	case seqOne.over() && !seqOne.closed:
		return &Diagnosis{Cause: CauseDeclaredPolicy, Detail: fmt.Sprintf("even %d requests one after another on one connection got %d accepted, at most %d allowed", seqOne.sent, seqOne.acc, seqOne.max)}
	case seqFresh.over() && seqFresh.lim == 0 && seqOne.lim > 0:
		return &Diagnosis{Cause: CauseConnectionKey, Detail: fmt.Sprintf("one connection was limited after %d, but %d requests on fresh connections were all accepted: every new connection starts a new count", seqOne.acc, seqFresh.sent)}
	case probe == Race && nonAtomic:
		return &Diagnosis{Cause: CauseNonAtomic, Detail: fmt.Sprintf("sequentially %d and %d were accepted, %s: more than one request at a time let through, so concurrent requests read the same count before any wrote it back",
			seqOne.acc, seqFresh.acc, concurrently)}
	case seqFresh.over():
		procs := int(math.Round(float64(seqFresh.acc) / float64(limit)))
		detail := fmt.Sprintf("sequential requests on fresh connections got %d accepted (about %d× the limit %d, so about %d processes counting apart) while one connection stayed within %d",
			seqFresh.acc, procs, limit, procs, seqOne.max)
		if seqFresh.workersIdentified && len(seqFresh.accPerWorker) > 1 {
			detail += "; per worker " + formatCounts(seqFresh.accPerWorker)
		} else if !seqFresh.workersIdentified {
			detail += "; workers not identifiable"
		}
		if probe == Race {
			detail += "; " + concurrently + ", no more than one at a time: the concurrent burst spread over processes, not a race"
		}
		return &Diagnosis{Cause: CausePerProcess, Detail: detail}
	case conc.over() && probe == Race:
		return &Diagnosis{Cause: CauseNonAtomic, Detail: fmt.Sprintf("sequentially %d and %d were accepted (within %d), %s: concurrent requests read the same count before any wrote it back",
			seqOne.acc, seqFresh.acc, seqFresh.max, concurrently)}
	case conc.over():
		return &Diagnosis{Cause: CauseUnconfirmed, Detail: fmt.Sprintf("the sequential controls stayed within the limit (%d and %d accepted, at most %d); only the concurrent one went over (%s), which requests sent one at a time cannot trigger",
			seqOne.acc, seqFresh.acc, seqFresh.max, concurrently)}
	}
	return &Diagnosis{Cause: CauseUnconfirmed, Detail: fmt.Sprintf("the controls stayed within the limit (sequential %d and %d, concurrent %d of at most %d): the overshoot may be intermittent", seqOne.acc, seqFresh.acc, conc.acc, conc.max)}
}

// writeDiagnosis prints a FAIL's root cause and its controls.
func writeDiagnosis(w io.Writer, d *Diagnosis) {
	if d == nil {
		return
	}
	fmt.Fprintf(w, "  most likely cause: %s: %s\n", strings.ToUpper(d.Cause[:1])+d.Cause[1:], d.Detail)
	for _, r := range d.Controls {
		fmt.Fprintf(w, "  %-48s sent %4d accepted %4d limited %4d %s\n", r.Name, r.Sent, r.Accepted, r.Limited, r.Note)
	}
}
