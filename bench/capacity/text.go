package capacity

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// cpu formats cores, or "n/a" when not measurable.
func cpu(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteText prints one row per configuration, then the notes.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "capacity: SLO p99 <= %.0fms, errors <= %.1f%%, 429s <= %.1f%% (counted apart); %.0fs per step\n", r.SLO.P99Ms, r.SLO.MaxErrorRate, r.SLO.MaxRateLimited, r.StepSeconds)
	if r.Label != "" || r.TargetURL != "" {
		fmt.Fprintf(w, "capacity: run %q against %s (%s mode)\n", r.Label, orDash(r.TargetURL), r.Mode)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mix\tworkers\tcache\tmax rate/s\tachieved/s\tp50 ms\tp99 ms\tknee/s\tfirst bad/s\t429s max\tgen cpu\ttarget cpu\tredis cpu\tmachine cpu\tsteps\t")
	for _, res := range r.Results {
		if res.Outcome == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\tcould not run\t\t\t\t\t\t\t\t\t\t\t\t\n", res.Mix, res.WorkersText(), res.Cache)
			continue
		}
		o := res.Outcome
		at := Step{GeneratorCPU: -1, TargetCPU: -1, CacheCPU: -1, MachineCPU: -1}
		if o.AtMax != nil {
			at = *o.AtMax
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%s\t%.1f%%\t%s\t%s\t%s\t%s\t%d\t\n", res.Mix, res.WorkersText(), res.Cache,
			o.MaxRate, at.Achieved, at.P50, at.P99, o.Knee, firstBad(o.FirstBad), at.RateLimitedRate, cpu(at.GeneratorCPU), cpu(at.TargetCPU), cpu(at.CacheCPU), cpu(at.MachineCPU), len(o.Steps))
	}
	tw.Flush()
	for _, res := range r.Results {
		if res.Outcome != nil {
			fmt.Fprintf(w, "  %s: %s\n", res.Config, res.Outcome.Reason)
		} else if res.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", res.Config, res.Error)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  %s: %s\n", res.Config, n)
		}
		if res.Users != nil && (res.Users.TooFew || r.Mode == "external") {
			fmt.Fprintf(w, "  %s: users: %s\n", res.Config, res.Users.Note)
		}
		for _, ob := range res.Observed {
			lim := "no limit stated"
			if ob.Limit.Requests > 0 {
				lim = fmt.Sprintf("stated limit %d per %d s (%s)", ob.Limit.Requests, ob.Limit.WindowSeconds, orDash(ob.Category))
			}
			fmt.Fprintf(w, "  %s: %d answer(s) 429 from %s, %s\n", res.Config, ob.Count, ob.Operation, lim)
		}
	}
	r.Policy.WriteText(w)
	if d := r.Discovery; d != nil {
		if d.Error != "" {
			fmt.Fprintf(w, "  policy discovery failed: %s\n", d.Error)
		}
		if d.Note != "" {
			fmt.Fprintf(w, "  policy discovery: %s\n", d.Note)
		}
		if d.Map != nil {
			for _, diff := range d.Map.Differences {
				fmt.Fprintf(w, "  policy discovery: difference: %s\n", diff)
			}
		}
	}
	fmt.Fprintf(w, "note: %s.\nnote: %s.\n", r.LimitsNote, r.SharedCoresNote)
	if r.CPUNote != "" {
		fmt.Fprintf(w, "note: %s.\n", r.CPUNote)
	}
	if r.Tuning != nil {
		r.Tuning.WriteText(w)
	}
	if r.Alerts != nil {
		r.Alerts.WriteText(w)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// firstBad is the first rate that broke the SLO, or "–" when none did.
func firstBad(rate int) string {
	if rate == 0 {
		return "–"
	}
	return fmt.Sprint(rate)
}

// GenCPU is the generator's CPU in cores, or "n/a".
func (s Step) GenCPU() string { return cpu(s.GeneratorCPU) }

// TargetCPUText is the target's CPU in cores, or "n/a" (external mode, a
// restarted worker).
func (s Step) TargetCPUText() string { return cpu(s.TargetCPU) }

// CacheCPUText is Redis's CPU in cores, or "n/a" (locmem, the embedded
// miniredis, external mode).
func (s Step) CacheCPUText() string { return cpu(s.CacheCPU) }

// MachineCPUText is the whole machine's busy CPU in cores, or "n/a".
func (s Step) MachineCPUText() string { return cpu(s.MachineCPU) }

// WriteText prints where each operation's limit came from, when the policy
// is known per operation.
func (p Policy) WriteText(w io.Writer) {
	if len(p.PerOp) == 0 {
		return
	}
	fmt.Fprintf(w, "limits per operation (%s):\n", p.Source)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  operation\tcategory\tstate\tlimit\tfrom\thow\t")
	for _, e := range p.PerOp {
		lim := "–"
		if e.State == OpLimited && e.Limit.Requests > 0 {
			lim = fmt.Sprintf("%d/%ds", e.Limit.Requests, e.Limit.WindowSeconds)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t\n", e.Operation, e.Category, e.State, lim, orDash(e.From), truncateText(e.Detail, 110))
	}
	tw.Flush()
}

func truncateText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
