// Package capacity finds how much load a deployment sustains: it steps the
// open-model arrival rate until the SLO breaks, bisects between the last
// good and the first bad step, and reports the maximum sustainable rate and
// the knee of the latency curve for each configuration it sweeps.
package capacity

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// SLO is what a sustainable rate must keep.
type SLO struct {
	// P99 is the latency limit of the 99th percentile.
	P99 time.Duration `json:"-"`
	// MaxErrorRate is the largest tolerated share of errors, in percent
	// (429s are not errors here: they are counted apart).
	MaxErrorRate float64 `json:"max_error_rate_pct"`
	// MaxRateLimited is the largest tolerated share of 429 answers, in
	// percent: above it the step measured per-user limits, not capacity.
	MaxRateLimited float64 `json:"max_rate_limited_pct"`
	// P99Ms mirrors P99 for JSON readers.
	P99Ms float64 `json:"p99_limit_ms"`
}

// DefaultSLO is p99 under 250 ms, errors under 1 % and 429s under 1 %.
func DefaultSLO() SLO {
	return SLO{P99: 250 * time.Millisecond, P99Ms: 250, MaxErrorRate: 1, MaxRateLimited: 1}
}

// Step is one measured rate.
type Step struct {
	Rate      int     `json:"rate_per_s"`
	Achieved  float64 `json:"achieved_per_s"`
	Requests  int64   `json:"requests"`
	ErrorRate float64 `json:"error_rate_pct"` // errors other than 429
	// RateLimited counts 429 answers, RateLimitedRate is their share in
	// percent, and RateLimitedOps counts them per operation.
	RateLimited     int64            `json:"rate_limited"`
	RateLimitedRate float64          `json:"rate_limited_pct"`
	RateLimitedOps  map[string]int64 `json:"rate_limited_ops,omitempty"`
	P50             float64          `json:"p50_ms"`
	P99             float64          `json:"p99_ms"`
	// FellBehind: the generator could not keep the schedule (below 95 %).
	FellBehind bool `json:"fell_behind"`
	// Bisect marks steps measured while bisecting (not the ramp).
	Bisect bool `json:"bisect"`
	// GeneratorCPU, TargetCPU (master and workers) and CacheCPU (Redis) are
	// cores used on average during the step (CPU seconds per wall second);
	// -1 when not measurable.
	GeneratorCPU float64 `json:"generator_cpu_cores"`
	TargetCPU    float64 `json:"target_cpu_cores"`
	CacheCPU     float64 `json:"cache_cpu_cores"`
	// MachineCPU is every process's CPU together (cores, from /proc/stat):
	// what it leaves over the three above went to the rest (docker's port
	// proxy, Toxiproxy, other work on the machine). Saturated: over 90 %
	// of the machine's cores were busy.
	MachineCPU float64 `json:"machine_cpu_cores"`
	Saturated  bool    `json:"machine_saturated,omitempty"`
	// ErrorKinds counts failed requests by kind (status or transport error).
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// Good: the step kept the SLO; Why says what broke it. Limited: it
	// broke on 429s (per-user limits), which says nothing about capacity.
	Good    bool   `json:"good"`
	Why     string `json:"why,omitempty"`
	Limited bool   `json:"limited,omitempty"`
}

// Judge sets s.Good and s.Why against slo.
func (slo SLO) Judge(s *Step) {
	s.Good, s.Why, s.Limited = true, "", false
	switch {
	case s.Requests == 0:
		s.Good, s.Why = false, "no answers"
	case s.RateLimitedRate > slo.MaxRateLimited:
		s.Good, s.Limited = false, true
		s.Why = fmt.Sprintf("429s %.1f%% > %.1f%%%s: per-user limits answered, not capacity (give more users)",
			s.RateLimitedRate, slo.MaxRateLimited, topKinds(s.RateLimitedOps))
	case s.ErrorRate > slo.MaxErrorRate:
		s.Good, s.Why = false, fmt.Sprintf("errors %.1f%% > %.1f%%%s", s.ErrorRate, slo.MaxErrorRate, topKinds(s.ErrorKinds))
	case s.P99 > float64(slo.P99)/float64(time.Millisecond):
		s.Good, s.Why = false, fmt.Sprintf("p99 %.0fms > %.0fms", s.P99, float64(slo.P99)/float64(time.Millisecond))
	case s.FellBehind:
		s.Good, s.Why = false, fmt.Sprintf("achieved %.0f/s of %d/s", s.Achieved, s.Rate)
	}
	if !s.Good && s.Saturated {
		s.Why += fmt.Sprintf(" (the machine was saturated: %.2f cores busy)", s.MachineCPU)
	}
}

// MeasureFunc drives rate arrivals per second for one short step and
// returns what it saw (Good is set by the search).
type MeasureFunc func(ctx context.Context, rate int) (Step, error)

// Search is how the rate is stepped and bisected.
type Search struct {
	Start int     // first rate
	Grow  float64 // each ramp step multiplies the rate (>1)
	Max   int     // ramp stops here (found: "not reached")
	// Resolution stops bisecting when bad-good <= max(Resolution, 5% of good).
	Resolution int
	// MaxBisect bounds the bisection steps.
	MaxBisect int
	SLO       SLO
}

// DefaultSearch starts at 25/s, doubles up to 25600/s and bisects at most 4 times.
func DefaultSearch() Search {
	return Search{Start: 25, Grow: 2, Max: 25600, Resolution: 10, MaxBisect: 4, SLO: DefaultSLO()}
}

// Outcome is the result of one search.
type Outcome struct {
	// MaxRate is the highest rate that kept the SLO (0: even the start broke it).
	MaxRate int `json:"max_rate_per_s"`
	// AtMax is the step measured at MaxRate.
	AtMax *Step `json:"at_max,omitempty"`
	// Knee is the highest good rate whose p99 stayed within twice the
	// lowest step's p99 (or a tenth of the SLO's p99, when that is more:
	// millisecond noise is no knee): beyond it latency climbs faster than load.
	Knee int `json:"knee_per_s"`
	// FirstBad is the lowest rate that broke the SLO (0: none did up to Max).
	FirstBad int    `json:"first_bad_per_s"`
	Reason   string `json:"reason"`
	// LimitedByUsers: the search stopped on 429s, so MaxRate is what the
	// users given may send under the deployment's limits, a lower bound of
	// its capacity.
	LimitedByUsers bool   `json:"limited_by_users,omitempty"`
	Steps          []Step `json:"steps"` // in the order measured
}

// Run ramps, then bisects. Every step is bounded by measure; the number of
// steps by log_Grow(Max/Start) + MaxBisect.
func (s Search) Run(ctx context.Context, measure MeasureFunc) (*Outcome, error) {
	if s.Start <= 0 || s.Grow <= 1 || s.Max < s.Start {
		return nil, fmt.Errorf("capacity search: want start > 0, grow > 1 and max >= start (got %d, %g, %d)", s.Start, s.Grow, s.Max)
	}
	out := &Outcome{}
	measureAt := func(rate int, bisect bool) (Step, error) {
		st, err := measure(ctx, rate)
		if err != nil {
			return st, fmt.Errorf("measure %d/s: %w", rate, err)
		}
		st.Rate, st.Bisect = rate, bisect
		s.SLO.Judge(&st)
		out.Steps = append(out.Steps, st)
		return st, nil
	}
	good, bad := 0, 0
	for rate := s.Start; ; {
		st, err := measureAt(rate, false)
		if err != nil {
			return out, err
		}
		if !st.Good {
			bad = rate
			out.Reason = fmt.Sprintf("SLO broke at %d/s: %s", rate, st.Why)
			break
		}
		good = rate
		if rate >= s.Max {
			out.Reason = fmt.Sprintf("the SLO held up to the search's maximum %d/s; raise --max-rate", s.Max)
			break
		}
		rate = min(int(math.Ceil(float64(rate)*s.Grow)), s.Max)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	for i := 0; bad > 0 && good > 0 && i < s.MaxBisect; i++ {
		if bad-good <= max(s.Resolution, good/20) {
			break
		}
		mid := (good + bad) / 2
		st, err := measureAt(mid, true)
		if err != nil {
			return out, err
		}
		if st.Good {
			good = mid
		} else {
			bad = mid
			out.Reason = fmt.Sprintf("SLO broke at %d/s: %s", mid, st.Why)
		}
	}
	out.MaxRate, out.FirstBad = good, bad
	for _, st := range out.Steps {
		if st.Rate == bad && st.Limited {
			out.LimitedByUsers = true
			out.Reason += "; the maximum rate is a lower bound of capacity"
		}
	}
	out.Knee = knee(out.Steps, float64(s.SLO.P99)/float64(time.Millisecond)/10)
	for i := range out.Steps {
		if out.Steps[i].Rate == good && out.Steps[i].Good {
			out.AtMax = &out.Steps[i]
		}
	}
	return out, nil
}

// knee is the highest good rate with p99 within max(twice the lowest rate's
// p99, floor ms).
func knee(steps []Step, floor float64) int {
	var good []Step
	for _, st := range steps {
		if st.Good {
			good = append(good, st)
		}
	}
	if len(good) == 0 {
		return 0
	}
	sort.Slice(good, func(i, j int) bool { return good[i].Rate < good[j].Rate })
	limit := math.Max(2*good[0].P99, floor)
	k := good[0].Rate
	for _, st := range good[1:] {
		if st.P99 > limit {
			break
		}
		k = st.Rate
	}
	return k
}

// Sorted returns the steps ordered by rate, for charts and tables.
func (o *Outcome) Sorted() []Step {
	s := append([]Step(nil), o.Steps...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Rate < s[j].Rate })
	return s
}

// topKinds names the three most frequent error kinds, e.g. " (503: 120, timeout: 4)".
func topKinds(kinds map[string]int64) string {
	if len(kinds) == 0 {
		return ""
	}
	type kv struct {
		k string
		n int64
	}
	var all []kv
	for k, n := range kinds {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].k < all[j].k })
	var parts []string
	for _, e := range all[:min(3, len(all))] {
		parts = append(parts, fmt.Sprintf("%s: %d", e.k, e.n))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
