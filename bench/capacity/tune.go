package capacity

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

// Usage is a usage profile: what one concurrently active user sends, in
// requests per minute per category.
type Usage struct {
	Source    string                   `json:"source"`
	PerMinute map[api.Category]float64 `json:"per_minute"`
}

// total is requests per second of one user.
func (u Usage) total() float64 {
	var t float64
	for _, v := range u.PerMinute {
		t += v
	}
	return t / 60
}

// ParseUsage reads "read=30,write=6,bulk=0.5,export=1" (requests per user
// per minute).
func ParseUsage(s string) (Usage, error) {
	u := Usage{Source: "--usage " + s, PerMinute: map[api.Category]float64{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		c := api.Category(strings.TrimSpace(k))
		if _, known := api.DefaultLimits[c]; !ok || !known {
			return Usage{}, fmt.Errorf("usage %q: want category=requests-per-minute with a category of bulk, write, read, export, e.g. read=30", part)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return Usage{}, fmt.Errorf("usage %q: %q is not a number of requests per minute (>= 0)", part, v)
		}
		u.PerMinute[c] += n
	}
	if u.total() == 0 {
		return Usage{}, fmt.Errorf("usage %q: no requests; give e.g. read=30,write=6", s)
	}
	return u, nil
}

// UsageFromScenario is one user of an open-model scenario: its rate split
// over its users and its mix's categories.
func UsageFromScenario(sc *scenarios.Scenario) (Usage, error) {
	if sc.Rate <= 0 || sc.Users <= 0 {
		return Usage{}, fmt.Errorf("scenario %s has no rate per user (kind %s); give --usage category=N per minute instead", sc.Name, sc.Kind)
	}
	u := Usage{Source: fmt.Sprintf("scenario %s (%d/s over %d users)", sc.Name, sc.Rate, sc.Users), PerMinute: map[api.Category]float64{}}
	perUser := float64(sc.Rate) / float64(sc.Users) * 60
	for name, share := range MixShares(sc) {
		op, ok := api.Lookup(name)
		if !ok {
			return Usage{}, fmt.Errorf("scenario %s: unknown operation %q", sc.Name, name)
		}
		u.PerMinute[op.Category] += perUser * share
	}
	return u, nil
}

// LimitConfig is one limit configuration judged against the capacity and
// the usage profile.
type LimitConfig struct {
	Name   string                     `json:"name"`
	Limits map[api.Category]api.Limit `json:"limits"`
	// AtLimitUsers is how many users each sending at every limit of every
	// operation saturate the deployment: floor(C / Σ_ops limit/window);
	// -1 when some operation of the profile is unlimited (then one user
	// alone may saturate it).
	AtLimitUsers int `json:"at_limit_users"`
	// Onset is, per category, the active population from which 429s start
	// for the usage profile (-1: not before 10^12 users).
	Onset map[api.Category]int64 `json:"onset_users"`
	// FirstOnset is the smallest Onset; BeforeSaturation says 429s start
	// before the deployment saturates.
	FirstOnset       int64 `json:"first_onset_users"`
	BeforeSaturation bool  `json:"before_saturation"`
}

// Recommendation is the suggested limit of one category, with the numbers.
type Recommendation struct {
	Category api.Category `json:"category"`
	Limit    api.Limit    `json:"limit"`
	// Mean is a typical user's requests per window (λ); Tail the chance
	// one user exceeds Limit in a window; Onset the population where one
	// user per window is expected to exceed it.
	Mean    float64 `json:"mean_per_window"`
	Tail    float64 `json:"tail"`
	Onset   int64   `json:"onset_users"`
	Formula string  `json:"formula"`
}

// Tuning is the rate-limit tuning section.
type Tuning struct {
	// Capacity is the sustainable rate used (requests per second), from
	// CapacityFrom; LowerBound when that search stopped on 429s.
	Capacity     float64 `json:"capacity_per_s"`
	CapacityFrom string  `json:"capacity_from"`
	LowerBound   bool    `json:"lower_bound,omitempty"`
	Usage        Usage   `json:"usage"`
	// SaturationUsers is the active population whose usage reaches the
	// capacity: floor(C × 60 / Σ_c u_c).
	SaturationUsers int64            `json:"saturation_users"`
	Configs         []LimitConfig    `json:"configs"`
	Recommended     []Recommendation `json:"recommended"`
	Formulas        []string         `json:"formulas"`
	Notes           []string         `json:"notes,omitempty"`
}

// Formulas of the tuning section, in words a reader can recompute.
var tuningFormulas = []string{
	"C = the sustainable rate measured (max rate at the SLO), requests/s",
	"u_c = requests per active user per minute in category c (the usage profile)",
	"N_sat = floor(C × 60 / Σ_c u_c): active users whose usage reaches C",
	"λ_c = u_c × W_c / 60: a user's mean requests per window W_c (arrivals taken as Poisson)",
	"p_c(L) = P(Poisson(λ_c) > L): the chance one user exceeds L in a window",
	"onset_c(L) = ceil(1 / p_c(L)): the population at which one user per window is expected to get a 429",
	"L*_c = the smallest L >= λ_c with N_sat × p_c(L) < 1: no user expected to get a 429 before the deployment saturates",
	"at-limit users = floor(C / Σ_ops L_c(op)/W_c): users each sending at every limit that saturate the deployment (limits key on user + operation)",
}

// Tune computes the tuning section from a capacity report: the lowest
// sustainable rate among its results (the conservative one), the usage
// profile, and the limit configurations to judge (the report's policy when
// it is the deployment's, the app's defaults, and the recommendation).
func Tune(rep *Report, usage Usage) (*Tuning, error) {
	var from *Result
	for _, r := range rep.Results {
		if r.Outcome == nil || r.Outcome.MaxRate <= 0 {
			continue
		}
		if from == nil || r.Outcome.MaxRate < from.Outcome.MaxRate {
			from = r
		}
	}
	if from == nil {
		return nil, fmt.Errorf("tune: the capacity report has no configuration with a sustainable rate")
	}
	if usage.total() <= 0 {
		return nil, fmt.Errorf("tune: the usage profile has no requests")
	}
	t := &Tuning{
		Capacity: float64(from.Outcome.MaxRate), CapacityFrom: labelOf(rep, from), LowerBound: from.Outcome.LimitedByUsers,
		Usage: usage, Formulas: tuningFormulas,
	}
	t.SaturationUsers = int64(math.Floor(t.Capacity / usage.total()))
	if t.LowerBound {
		t.Notes = append(t.Notes, "the capacity search stopped on 429s (too few users): C is a lower bound, and so is N_sat")
	}
	if len(rep.Results) > 1 {
		t.Notes = append(t.Notes, fmt.Sprintf("C is the lowest sustainable rate of the %d configurations measured; capacity depends on the mix, and the usage profile's cost per request is taken as the measured mix's", len(rep.Results)))
	}
	cats := usageCategories(usage)
	rec := map[api.Category]api.Limit{}
	for _, c := range cats {
		w := api.DefaultLimits[c].WindowSeconds
		if l, ok := rep.Policy.Limits[c]; ok && rep.Policy.Source != highLimitSource && l.WindowSeconds > 0 {
			w = l.WindowSeconds
		}
		lambda := usage.PerMinute[c] * float64(w) / 60
		l := recommend(lambda, t.SaturationUsers)
		tail := poissonTail(lambda, l)
		rec[c] = api.Limit{Requests: l, WindowSeconds: w}
		t.Recommended = append(t.Recommended, Recommendation{
			Category: c, Limit: rec[c], Mean: lambda, Tail: tail, Onset: onset(tail),
			Formula: fmt.Sprintf("λ = %.4g/min × %d s / 60 = %.3g per window; smallest L >= λ with %d × P(Poisson(%.3g) > L) < 1: L = %d (P = %.2g, 429s from %s users)",
				usage.PerMinute[c], w, lambda, t.SaturationUsers, lambda, l, tail, onsetText(onset(tail))),
		})
	}
	if rep.Policy.Known() && rep.Policy.Source != highLimitSource {
		t.Configs = append(t.Configs, t.judge(rep.Policy.Source, rep.Policy.Limits, rep.Policy.Operations, cats))
	}
	t.Configs = append(t.Configs, t.judge("the app's defaults", api.DefaultLimits, nil, cats))
	t.Configs = append(t.Configs, t.judge("recommended", rec, nil, cats))
	return t, nil
}

const highLimitSource = "the high-limit profile the harness started"

func labelOf(rep *Report, r *Result) string {
	s := fmt.Sprintf("%s: max rate %d/s at p99 <= %.0f ms", r.Config, r.Outcome.MaxRate, rep.SLO.P99Ms)
	if rep.Label != "" {
		s = rep.Label + ", " + s
	}
	return s
}

func usageCategories(u Usage) []api.Category {
	var out []api.Category
	for c, v := range u.PerMinute {
		if v > 0 {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// judge computes a LimitConfig for limits over the profile's categories.
func (t *Tuning) judge(name string, limits map[api.Category]api.Limit, only []string, cats []api.Category) LimitConfig {
	lc := LimitConfig{Name: name, Limits: limits, Onset: map[api.Category]int64{}, FirstOnset: -1}
	var perUser float64
	unlimited := false
	for _, c := range cats {
		l, ok := limits[c]
		if !ok || l.Requests <= 0 || l.WindowSeconds <= 0 {
			unlimited = true
			lc.Onset[c] = -1
			continue
		}
		ops := 0
		for _, op := range api.Operations {
			if op.Category == c && (len(only) == 0 || contains(only, op.Name)) {
				ops++
			}
		}
		if ops == 0 {
			unlimited = true
			lc.Onset[c] = -1
			continue
		}
		perUser += float64(ops) * float64(l.Requests) / float64(l.WindowSeconds)
		lambda := t.Usage.PerMinute[c] * float64(l.WindowSeconds) / 60
		o := onset(poissonTail(lambda, l.Requests))
		lc.Onset[c] = o
		if o >= 0 && (lc.FirstOnset < 0 || o < lc.FirstOnset) {
			lc.FirstOnset = o
		}
	}
	lc.AtLimitUsers = -1
	if !unlimited && perUser > 0 {
		lc.AtLimitUsers = int(math.Floor(t.Capacity / perUser))
	}
	lc.BeforeSaturation = lc.FirstOnset >= 0 && lc.FirstOnset <= t.SaturationUsers
	return lc
}

// recommend is the smallest L >= λ (and >= 1) with n × P(X > L) < 1.
func recommend(lambda float64, n int64) int {
	l := max(int(math.Ceil(lambda)), 1)
	for limit := l + int(20*math.Sqrt(lambda)) + 200; l < limit; l++ {
		if float64(n)*poissonTail(lambda, l) < 1 {
			break
		}
	}
	return l
}

// poissonTail is P(X > l) for X ~ Poisson(λ), summed in log space so a
// large λ does not underflow.
func poissonTail(lambda float64, l int) float64 {
	if lambda <= 0 {
		return 0
	}
	var sum float64
	end := l + 1 + int(40*math.Sqrt(lambda)) + 200
	for k := l + 1; k <= end; k++ {
		lg, _ := math.Lgamma(float64(k) + 1)
		term := math.Exp(-lambda + float64(k)*math.Log(lambda) - lg)
		sum += term
		if float64(k) > lambda && term < sum*1e-16 {
			break
		}
	}
	return math.Min(sum, 1)
}

// onset is ceil(1/p), or -1 when p is below 1e-12 (never in practice).
func onset(p float64) int64 {
	if p < 1e-12 {
		return -1
	}
	return int64(math.Ceil(1 / p))
}

func onsetText(n int64) string {
	if n < 0 {
		return "no realistic population (> 10^12)"
	}
	return strconv.FormatInt(n, 10)
}

// WriteText prints the tuning section.
func (t *Tuning) WriteText(w io.Writer) {
	fmt.Fprintf(w, "rate-limit tuning: C = %.0f/s (%s)", t.Capacity, t.CapacityFrom)
	if t.LowerBound {
		fmt.Fprint(w, ", a lower bound")
	}
	fmt.Fprintf(w, "\n  usage per active user (%s):", t.Usage.Source)
	for _, c := range usageCategories(t.Usage) {
		fmt.Fprintf(w, " %s %.3g/min", c, t.Usage.PerMinute[c])
	}
	fmt.Fprintf(w, "\n  N_sat = floor(%.0f × 60 / %.4g) = %d active users saturate the deployment\n", t.Capacity, t.Usage.total()*60, t.SaturationUsers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  limits\tper category\t429s start at (users)\tbefore saturation\tat-limit users saturating\t")
	for _, lc := range t.Configs {
		var parts, onsets []string
		for _, c := range sortedCats(lc.Onset) {
			if l, ok := lc.Limits[c]; ok {
				parts = append(parts, fmt.Sprintf("%s=%d/%d", c, l.Requests, l.WindowSeconds))
			} else {
				parts = append(parts, string(c)+"=none")
			}
			onsets = append(onsets, fmt.Sprintf("%s %s", c, onsetText(lc.Onset[c])))
		}
		atLimit := "unbounded (an unlimited operation)"
		if lc.AtLimitUsers >= 0 {
			atLimit = strconv.Itoa(lc.AtLimitUsers)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%v\t%s\t\n", lc.Name, strings.Join(parts, ","), strings.Join(onsets, ", "), lc.BeforeSaturation, atLimit)
	}
	tw.Flush()
	for _, r := range t.Recommended {
		fmt.Fprintf(w, "  recommend %s=%d/%d: %s\n", r.Category, r.Limit.Requests, r.Limit.WindowSeconds, r.Formula)
	}
	for _, f := range t.Formulas {
		fmt.Fprintf(w, "  formula: %s\n", f)
	}
	for _, n := range t.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func sortedCats(m map[api.Category]int64) []api.Category {
	out := make([]api.Category, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
