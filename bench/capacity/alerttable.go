package capacity

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ahsp-harness/harness/target/api"
)

// AlertTable is what monitoring should expect of the 429s at the measured
// capacity, per category, next to the rule that alerts on them: one table
// an operator can copy into alert rules (the same rules as alerts.yml).
type AlertTable struct {
	// Capacity is C (requests/s) and Users the active users whose usage
	// reaches it (N_sat), from the tuning.
	Capacity float64 `json:"capacity_per_s"`
	Users    int64   `json:"users_at_capacity"`
	Usage    string  `json:"usage"`
	// Metric is the counter the rules read.
	Metric string     `json:"metric"`
	Rows   []AlertRow `json:"rows"`
	Notes  []string   `json:"notes,omitempty"`
}

// AlertRow is one category.
type AlertRow struct {
	Category api.Category `json:"category"`
	// Limit is the per-user limit the expectation assumes; LimitFrom where
	// it came from. Limit.Requests 0: the category is not limited.
	Limit     api.Limit `json:"limit"`
	LimitFrom string    `json:"limit_from"`
	// RequestsPerMin is the category's requests per minute at capacity
	// (N_sat × u_c).
	RequestsPerMin float64 `json:"requests_per_min"`
	// ExpectedHitsPerMin is the limit hits (429s) per minute expected at
	// capacity, and ExpectedPct their share of the category's requests.
	ExpectedHitsPerMin float64 `json:"expected_hits_per_min"`
	ExpectedPct        float64 `json:"expected_429_pct"`
	// SeenInRun is how many 429s of the category the capacity run saw.
	SeenInRun int64 `json:"seen_in_run"`
	// ThresholdPerMin is the alert's threshold in hits per minute; Alert,
	// For and Expr the rule (Expr's threshold is per second).
	ThresholdPerMin float64 `json:"threshold_per_min"`
	Alert           string  `json:"alert"`
	For             string  `json:"for"`
	Expr            string  `json:"expr"`
	// FiresAtCapacity: the expected hits already cross the threshold.
	FiresAtCapacity bool `json:"fires_at_capacity"`
}

// AllCategories is the Category of the one 429 rule written when the
// series carry no category label: its row sums every category.
const AllCategories api.Category = "all"

// alertTableFormulas say how each column is computed.
var alertTableFormulas = []string{
	"expected hits/min = N_sat × E[(X − L)+] × 60 / W, X ~ Poisson(λ_c = u_c × W / 60): the requests over the limit in a window, per user, times the users at capacity",
	"expected 429 % = expected hits/min ÷ (N_sat × u_c)",
	"threshold = the alerts.yml rule: 1 % of the category's share of C (of C for the one rule of series without a category label), in hits per minute (the rule's expression is per second)",
}

// NewAlertTable builds the table from a tuned capacity report and its alert
// rules (AlertRules). The limits are the deployment's declared or observed
// ones when the report knows them, else the app's defaults.
func NewAlertTable(rep *Report, rules []Rule, m AlertMetrics) (*AlertTable, error) {
	t := rep.Tuning
	if t == nil {
		return nil, fmt.Errorf("alert table: the capacity report has no tuning (no usage profile), so no expected 429s")
	}
	tab := &AlertTable{Capacity: t.Capacity, Users: t.SaturationUsers, Usage: t.Usage.Source, Metric: m.RateLimited,
		Notes: append([]string(nil), alertTableFormulas...)}
	limits, from := api.DefaultLimits, "the app's defaults"
	if rep.Policy.Known() && rep.Policy.Source != highLimitSource {
		limits, from = rep.Policy.Limits, rep.Policy.Source
		if len(rep.Policy.Operations) > 0 {
			tab.Notes = append(tab.Notes, fmt.Sprintf("the limits apply only to %s; a category's usage is taken as sent to them (an upper bound on the hits)", strings.Join(rep.Policy.Operations, ", ")))
		}
	}
	tab.Notes = append(tab.Notes, "the limiter keys on user + operation; a user's category usage is taken as one operation's, so the expected hits are an upper bound")
	seen := map[api.Category]int64{}
	for _, r := range rep.Results {
		for _, ob := range r.Observed {
			seen[api.Category(ob.Category)] += ob.Count
		}
	}
	for _, rule := range rules {
		if rule.Category == "" {
			continue
		}
		c := rule.Category
		row := AlertRow{Category: c, LimitFrom: from, SeenInRun: seen[c], ThresholdPerMin: rule.Threshold * 60,
			Alert: rule.Alert, For: rule.For, Expr: rule.Expr}
		cats := []api.Category{c}
		if c == AllCategories {
			cats = usageCategories(t.Usage)
			row.LimitFrom = from + ", summed over the categories (the series carry no category label)"
			row.SeenInRun = 0
			for _, n := range seen {
				row.SeenInRun += n
			}
		}
		limited := false
		for _, cc := range cats {
			u := t.Usage.PerMinute[cc]
			row.RequestsPerMin += float64(t.SaturationUsers) * u
			l, ok := limits[cc]
			if !ok || l.Requests <= 0 || l.WindowSeconds <= 0 {
				continue
			}
			limited = true
			if c != AllCategories {
				row.Limit = l
			}
			lambda := u * float64(l.WindowSeconds) / 60
			row.ExpectedHitsPerMin += float64(t.SaturationUsers) * excess(lambda, l.Requests) * 60 / float64(l.WindowSeconds)
		}
		if !limited {
			row.LimitFrom = from + ": not limited"
		}
		if row.RequestsPerMin > 0 {
			row.ExpectedPct = 100 * row.ExpectedHitsPerMin / row.RequestsPerMin
		}
		row.FiresAtCapacity = row.ExpectedHitsPerMin > row.ThresholdPerMin
		if row.FiresAtCapacity {
			tab.Notes = append(tab.Notes, fmt.Sprintf("%s: %s hits/min are expected at capacity, above the threshold %s: the alert fires under normal full load, so raise the limit (the tuning's recommendation) before relying on it", c, rate(row.ExpectedHitsPerMin), rate(row.ThresholdPerMin)))
		}
		tab.Rows = append(tab.Rows, row)
	}
	if len(tab.Rows) == 0 {
		return nil, fmt.Errorf("alert table: no 429 rule (the usage profile has no category)")
	}
	return tab, nil
}

// excess is E[(X − l)+] for X ~ Poisson(λ): λ·P(X ≥ l) − l·P(X > l).
func excess(lambda float64, l int) float64 {
	if lambda <= 0 {
		return 0
	}
	return max(lambda*poissonTail(lambda, l-1)-float64(l)*poissonTail(lambda, l), 0)
}

// rate formats a per-minute number: 3 significant digits, no float noise.
func rate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 0.001:
		return "<0.001"
	}
	return num(float64(int64(v*1000+0.5)) / 1000)
}

func limitText(c api.Category, l api.Limit) string {
	switch {
	case c == AllCategories:
		return "per category"
	case l.Requests <= 0:
		return "none"
	}
	return fmt.Sprintf("%d/%d s", l.Requests, l.WindowSeconds)
}

// WriteText prints the table for the CLI.
func (t *AlertTable) WriteText(w io.Writer) {
	fmt.Fprintf(w, "alert table: 429s per category at C = %s/s (%d active users, usage %s); metric %s\n", num(t.Capacity), t.Users, t.Usage, t.Metric)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  category\tlimit\trequests/min\texpected hits/min\texpected 429 %\tseen in run\tthreshold hits/min\talert\tfor\texpr\t")
	for _, r := range t.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", r.Category, limitText(r.Category, r.Limit), rate(r.RequestsPerMin), rate(r.ExpectedHitsPerMin),
			rate(r.ExpectedPct), r.SeenInRun, rate(r.ThresholdPerMin), r.Alert, r.For, r.Expr)
	}
	tw.Flush()
	for _, n := range t.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// WriteMarkdown writes the table as GitHub-flavoured Markdown.
func (t *AlertTable) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "### Capacity alert table\n\n429s per category at C = %s/s (%d active users, usage %s), counter `%s`:\n\n", num(t.Capacity), t.Users, t.Usage, t.Metric)
	fmt.Fprint(w, "| Category | Limit | Requests/min | Expected hits/min | Expected 429 % | Seen in run | Threshold hits/min | Alert | For | Expr |\n|---|---|--:|--:|--:|--:|--:|---|---|---|\n")
	for _, r := range t.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %s | %s | %s | `%s` |\n", r.Category, limitText(r.Category, r.Limit), rate(r.RequestsPerMin), rate(r.ExpectedHitsPerMin),
			rate(r.ExpectedPct), r.SeenInRun, rate(r.ThresholdPerMin), r.Alert, r.For, strings.ReplaceAll(r.Expr, "|", `\|`))
	}
	fmt.Fprintln(w)
	for _, n := range t.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
}

// Rate formats a per-minute number for the HTML report.
func (AlertRow) Rate(v float64) string { return rate(v) }

// LimitText is the limit as "L/W s", or "none".
func (r AlertRow) LimitText() string { return limitText(r.Category, r.Limit) }
