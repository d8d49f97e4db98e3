package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/ahsp-harness/harness/check"
)

// maxTopFailures bounds the failure list in summary.md: the step summary is
// for a glance, the HTML report has the rest.
const maxTopFailures = 15

var statusIcon = map[check.Status]string{
	check.Pass: "✅", check.Fail: "❌", check.Error: "⛔", check.Inconclusive: "❔", check.Skip: "⏭️",
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// WriteMarkdown writes summary.md: verdict, gate table, per-section counts
// and the top failures, in GitHub-flavoured markdown.
func WriteMarkdown(w io.Writer, run *Run) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s %s: %s\n\n", statusIcon[run.Gate.Status], run.Meta.Tool, strings.ToUpper(string(run.Gate.Status)))
	fmt.Fprintf(&b, "`%s`", run.Meta.Command)
	if run.Meta.Profile != "" {
		fmt.Fprintf(&b, " (profile %s)", run.Meta.Profile)
	}
	fmt.Fprintf(&b, " · %s · %.1f s", run.Meta.Started.UTC().Format("2006-01-02 15:04:05 UTC"), run.Meta.DurationS)
	if run.Stack != nil {
		fmt.Fprintf(&b, " · %s stack, %d workers", run.Stack.Mode, run.Stack.Workers)
	}
	b.WriteString("\n\n")
	if run.Stack != nil && len(run.Stack.Defects) > 0 {
		fmt.Fprintf(&b, "> [!WARNING]\n> Defects switched ON in the target: **%s**. Failures are expected.\n\n", strings.Join(run.Stack.Defects, ", "))
	}
	for _, e := range run.Errors {
		fmt.Fprintf(&b, "> [!CAUTION]\n> Could not run: %s\n\n", mdCell(e))
	}

	b.WriteString("### Gate\n\n| Rule | Status | Observed | Expected | Message |\n|---|---|---|---|---|\n")
	for _, r := range run.Gate.Rows {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s |\n", mdCell(r.Name), statusIcon[r.Status], r.Label(), mdCell(r.Observed), mdCell(r.Expected), mdCell(r.Text()))
	}

	b.WriteString("\n### Checks\n\n| Section | Verdict | Pass | Fail | Error | Inconclusive | Skip |\n|---|---|--:|--:|--:|--:|--:|\n")
	for _, c := range sectionCounts(run) {
		if !c.Ran {
			fmt.Fprintf(&b, "| %s | %s did not run | – | – | – | – | – |\n", c.Name, statusIcon[check.Skip])
			continue
		}
		fmt.Fprintf(&b, "| %s | %s %s | %d | %d | %d | %d | %d |\n", c.Name, statusIcon[c.Status], c.Status,
			c.Of(check.Pass), c.Of(check.Fail), c.Of(check.Error), c.Of(check.Inconclusive), c.Of(check.Skip))
	}

	if len(run.Scenarios) > 0 {
		b.WriteString("\n### Load\n\n| Scenario | Requests | Errors | Rate (achieved/requested) | p50 | p95 | p99 |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, sc := range run.Scenarios {
			t := sc.Metrics.Total
			if t == nil {
				continue
			}
			rate := fmt.Sprintf("%.1f/s", sc.AchievedRate)
			if sc.RequestedRate > 0 {
				rate += fmt.Sprintf(" / %.0f/s", sc.RequestedRate)
			}
			if sc.FellBehind {
				rate += " ⚠️ fell behind"
			}
			fmt.Fprintf(&b, "| %s | %d | %d (%s) | %s | %s | %s | %s |\n", sc.Scenario, t.Requests, t.Errors,
				fmtPct(float64(t.Errors), float64(t.Requests)), rate, fmtMS(t.Latency.P50), fmtMS(t.Latency.P95), fmtMS(t.Latency.P99))
		}
	}

	if run.Capacity != nil && run.Capacity.Alerts != nil {
		b.WriteString("\n")
		run.Capacity.Alerts.WriteMarkdown(&b)
	}

	fails := topFailures(run)
	if len(fails) > 0 {
		b.WriteString("\n### Not passed\n\n")
		for i, f := range fails {
			if i == maxTopFailures {
				fmt.Fprintf(&b, "- … and %d more (see report.html)\n", len(fails)-maxTopFailures)
				break
			}
			fmt.Fprintf(&b, "- %s **%s** %s (%s): %s\n", statusIcon[f.Status], f.Suite, mdCell(f.Name), f.Status, mdCell(f.Message))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// topFailures lists the checks that did not pass or skip (fail, then
// error, then inconclusive), check sections first, then the gate rows that
// block the gate.
func topFailures(run *Run) []Case {
	var out []Case
	cases := runCases(run)
	for _, st := range []check.Status{check.Fail, check.Error, check.Inconclusive} {
		for _, c := range cases {
			if c.Status == st && c.Suite != "gate" {
				out = append(out, c)
			}
		}
	}
	for _, c := range cases {
		if c.Suite == "gate" && c.Blocking {
			out = append(out, c)
		}
	}
	return out
}
