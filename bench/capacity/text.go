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
	fmt.Fprintf(w, "capacity: SLO p99 <= %.0fms, errors <= %.1f%%; %.0fs per step\n", r.SLO.P99Ms, r.SLO.MaxErrorRate, r.StepSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mix\tworkers\tcache\tmax rate/s\tachieved/s\tp50 ms\tp99 ms\tknee/s\tfirst bad/s\tgen cpu\ttarget cpu\tredis cpu\tmachine cpu\tsteps\t")
	for _, res := range r.Results {
		if res.Outcome == nil {
			fmt.Fprintf(tw, "%s\t%d\t%s\tcould not run\t\t\t\t\t\t\t\t\t\t\t\n", res.Mix, res.Workers, res.Cache)
			continue
		}
		o := res.Outcome
		at := Step{GeneratorCPU: -1, TargetCPU: -1, CacheCPU: -1, MachineCPU: -1}
		if o.AtMax != nil {
			at = *o.AtMax
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", res.Mix, res.Workers, res.Cache,
			o.MaxRate, at.Achieved, at.P50, at.P99, o.Knee, firstBad(o.FirstBad), cpu(at.GeneratorCPU), cpu(at.TargetCPU), cpu(at.CacheCPU), cpu(at.MachineCPU), len(o.Steps))
	}
	tw.Flush()
	for _, res := range r.Results {
		if res.Outcome != nil {
			fmt.Fprintf(w, "  %s: %s\n", res.Config, res.Outcome.Reason)
		} else if res.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", res.Config, res.Error)
		}
	}
	fmt.Fprintf(w, "note: %s.\nnote: %s.\n", r.LimitsNote, r.SharedCoresNote)
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
