package run

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

// BypassWorkers is how many workers both halves of the repro run.
const BypassWorkers = 4

// Bypass is the multi-worker rate-limit bypass reproduced side by side:
// the same probes against 4 workers with the per-process locmem cache (the
// bug must show) and with a shared Redis (it must not).
type Bypass struct {
	Mode    string   `json:"mode"`
	Limits  string   `json:"limits"`
	Defects []string `json:"defects,omitempty"`
	// Locmem and Redis are the two halves' scan reports (nil: not reached).
	Locmem *scan.Report `json:"locmem"`
	Redis  *scan.Report `json:"redis"`
	// Status is pass when both halves agree with their expectation, else
	// fail; Disagreements says which did not and how.
	Status        check.Status `json:"status"`
	Disagreements []string     `json:"disagreements,omitempty"`
}

// ReproBypass brings the stack up twice as spec says, with 4 workers and
// first the locmem then the redis cache, runs the multi-worker and race
// probes on each and judges both halves: the locmem half must reproduce the
// bypass (multi-worker fails), the redis half must not (every probe passes).
// err is a stack that did not come up or a scan that could not run.
func ReproBypass(ctx context.Context, spec stack.Spec, progress io.Writer) (*Bypass, error) {
	if progress == nil {
		progress = io.Discard
	}
	if spec.Mode == stack.ModeExternal || spec.TargetURL != "" {
		return nil, fmt.Errorf("%w: repro bypass starts its own stacks: use --stack auto, docker or local", stack.ErrInvalidSpec)
	}
	if spec.Limits == nil {
		l, err := stack.ParseLimits(scan.FastLimits)
		if err != nil {
			return nil, err
		}
		spec.Limits = l
	}
	spec.Workers = BypassWorkers
	b := &Bypass{Mode: spec.Mode, Limits: formatLimits(spec), Defects: spec.Defects}
	probes := []string{scan.MultiWorker, scan.Race}
	for _, cache := range []string{stack.CacheLocmem, stack.CacheRedis} {
		spec.Cache = cache
		fmt.Fprintf(progress, "harness: repro bypass: %d workers, cache %s\n", BypassWorkers, cache)
		err := WithStack(ctx, spec, progress, func(ctx context.Context, s *stack.Stack) error {
			rep, err := scan.Run(ctx, s, scan.Config{Probes: probes, Progress: progress})
			if cache == stack.CacheLocmem {
				b.Locmem = rep
			} else {
				b.Redis = rep
			}
			return err
		})
		if err != nil {
			return b, err
		}
	}
	b.judge()
	return b, nil
}

// judge compares each half with its expectation.
func (b *Bypass) judge() {
	b.Disagreements = nil
	lr, rr := byProbe(b.Locmem), byProbe(b.Redis)
	if mw, ok := lr[scan.MultiWorker]; !ok {
		b.Disagreements = append(b.Disagreements, "locmem: multi-worker did not run")
	} else if mw.Status != check.Fail {
		b.Disagreements = append(b.Disagreements, fmt.Sprintf("locmem: multi-worker %s, want fail (the bypass did not reproduce: %s)", mw.Status, orDash(mw.Reason)))
	}
	for _, p := range []string{scan.MultiWorker, scan.Race} {
		r, ok := rr[p]
		switch {
		case !ok:
			b.Disagreements = append(b.Disagreements, "redis: "+p+" did not run")
		case r.Status != check.Pass:
			b.Disagreements = append(b.Disagreements, fmt.Sprintf("redis: %s %s, want pass (%s)", p, r.Status, orDash(r.Reason)))
		}
	}
	b.Status = check.Pass
	if len(b.Disagreements) > 0 {
		b.Status = check.Fail
	}
}

// WriteText prints both halves side by side, why they differ, the verdict
// and the commands to rerun each half.
func (b *Bypass) WriteText(w io.Writer) {
	lr, rr := byProbe(b.Locmem), byProbe(b.Redis)
	algo := ""
	if b.Locmem != nil {
		algo = b.Locmem.Algorithm
	}
	fmt.Fprintf(w, "\nRate-limit bypass with several workers (limits %s, limiter %s)\n\n", b.Limits, algo)
	fmt.Fprintf(w, "%-14s | %-44s | %-44s\n", "", "4 workers, locmem (per-process cache)", "4 workers, redis (shared cache)")
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 108))
	for _, p := range []string{scan.MultiWorker, scan.Race} {
		l, r := lr[p], rr[p]
		cell := func(x scan.Result) []string {
			e := x.Evidence
			return []string{
				strings.ToUpper(string(orStatus(x.Status))),
				fmt.Sprintf("accepted %d of %d, allowed %d", e.Accepted, e.Sent, e.ExpectedMax),
				"per worker: " + perWorker(e.AcceptedPerWorker),
			}
		}
		lc, rc := cell(l), cell(r)
		for i := range lc {
			name := ""
			if i == 0 {
				name = p
			}
			fmt.Fprintf(w, "%-14s | %-44s | %-44s\n", name, lc[i], rc[i])
		}
		fmt.Fprintf(w, "%s\n", strings.Repeat("-", 108))
	}
	mw, rmw := lr[scan.MultiWorker], rr[scan.MultiWorker]
	fmt.Fprintf(w, "\nWhy:\n")
	switch {
	case mw.Status == check.Fail:
		fmt.Fprintf(w, "  - locmem: every worker process keeps its own counter. One user's burst, spread over\n")
		fmt.Fprintf(w, "    connections, reached %d workers and each let requests through on its own count\n", max(len(mw.Evidence.AcceptedPerWorker), 1))
		fmt.Fprintf(w, "    (%s): %d accepted where %d are allowed.\n", perWorker(mw.Evidence.AcceptedPerWorker), mw.Evidence.Accepted, mw.Evidence.ExpectedMax)
	default:
		fmt.Fprintf(w, "  - locmem: multi-worker %s (%s): %s\n", orStatus(mw.Status), perWorker(mw.Evidence.AcceptedPerWorker), mw.Reason)
	}
	if rmw.Status == check.Pass {
		fmt.Fprintf(w, "  - redis: all workers count in one shared place with one atomic step, so the burst\n")
		fmt.Fprintf(w, "    gets the limit once, wherever it lands (%s).\n", perWorker(rmw.Evidence.AcceptedPerWorker))
	} else {
		fmt.Fprintf(w, "  - redis: multi-worker %s: %d accepted where %d are allowed (%s). %s\n",
			orStatus(rmw.Status), rmw.Evidence.Accepted, rmw.Evidence.ExpectedMax, perWorker(rmw.Evidence.AcceptedPerWorker), rmw.Reason)
	}
	if lr[scan.Race].Status == check.Fail || rr[scan.Race].Status == check.Fail {
		fmt.Fprintf(w, "  - race FAILED: requests pinned to ONE worker, released together, got past the limit:\n")
		fmt.Fprintf(w, "    the counter is read and written in separate steps, so concurrent requests all see\n")
		fmt.Fprintf(w, "    the same count. Sharing the cache cannot fix that; an atomic increment (INCR or a\n")
		fmt.Fprintf(w, "    Lua script in Redis) does.\n")
	} else if lr[scan.Race].Status == check.Pass && rr[scan.Race].Status == check.Pass {
		fmt.Fprintf(w, "  - race pins its connections to one worker and passes on both: the counter's\n")
		fmt.Fprintf(w, "    read-modify-write is atomic (compare with --defect naive-limiter).\n")
	}
	if b.Status == check.Pass {
		fmt.Fprintf(w, "\nverdict: PASS (locmem reproduced the bypass, redis did not)\n")
	} else {
		fmt.Fprintf(w, "\nverdict: FAIL (a half disagreed with its expectation)\n")
		for _, d := range b.Disagreements {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
	fmt.Fprintf(w, "\nRerun:\n")
	extra := ""
	for _, d := range b.Defects {
		extra += " --defect " + d
	}
	for _, c := range []string{stack.CacheLocmem, stack.CacheRedis} {
		fmt.Fprintf(w, "  harness scan --stack %s --workers %d --cache %s --limits %s%s --probe multi-worker --probe race\n", b.Mode, BypassWorkers, c, b.Limits, extra)
	}
}

func formatLimits(spec stack.Spec) string {
	parts := make([]string, 0, len(spec.Limits))
	for c, l := range spec.Limits {
		parts = append(parts, fmt.Sprintf("%s=%d/%d", c, l.Requests, l.WindowSeconds))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func byProbe(rep *scan.Report) map[string]scan.Result {
	m := map[string]scan.Result{}
	if rep != nil {
		for _, p := range rep.Probes {
			m[p.Probe] = p
		}
	}
	return m
}

func perWorker(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("w%s=%d", api.WorkerIndex(k), m[k])
	}
	return strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orStatus(s check.Status) check.Status {
	if s == "" {
		return "not run"
	}
	return s
}
