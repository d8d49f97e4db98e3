package reports

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ahsp-harness/harness/bench/capacity"
)

// CapacityRun is one capacity report under the name compare shows for it:
// its --label, else the file it came from.
type CapacityRun struct {
	Name   string
	Report *capacity.Report
}

// CapacityCell is one configuration of one run in the side-by-side table.
type CapacityCell struct {
	Found     bool
	MaxRate   int
	Lower     bool // the search stopped on 429s: a lower bound
	P99       float64
	Knee      int
	TargetCPU float64
	Limited   float64 // 429 share at the max rate, percent
	Error     string
}

// CapacityRow is one mix (and, for started stacks, workers × cache)
// across every run.
type CapacityRow struct {
	Config string
	Cells  []CapacityCell
}

// CapacitySideBySide lays several capacity runs side by side: how a team
// compares worker counts or cache backends on a deployment the harness
// cannot restart (one labelled run per configuration).
type CapacitySideBySide struct {
	Runs []string
	Rows []CapacityRow
}

// CompareCapacity builds the side-by-side table, rows in first-seen order.
func CompareCapacity(runs []CapacityRun) *CapacitySideBySide {
	out := &CapacitySideBySide{}
	index := map[string]int{}
	for i, r := range runs {
		out.Runs = append(out.Runs, r.Name)
		for _, res := range r.Report.Results {
			key := res.Mix
			if res.Workers > 0 {
				key = res.Config.String()
			}
			j, ok := index[key]
			if !ok {
				j = len(out.Rows)
				index[key] = j
				out.Rows = append(out.Rows, CapacityRow{Config: key, Cells: make([]CapacityCell, len(runs))})
			}
			c := CapacityCell{Found: true, TargetCPU: -1, Error: res.Error}
			if o := res.Outcome; o != nil {
				c.MaxRate, c.Lower, c.Knee = o.MaxRate, o.LimitedByUsers, o.Knee
				if o.AtMax != nil {
					c.P99, c.TargetCPU, c.Limited = o.AtMax.P99, o.AtMax.TargetCPU, o.AtMax.RateLimitedRate
				}
			}
			out.Rows[j].Cells[i] = c
		}
	}
	return out
}

func (c CapacityCell) text() string {
	switch {
	case !c.Found:
		return "–"
	case c.Error != "":
		return "could not run"
	}
	s := fmt.Sprintf("%d/s", c.MaxRate)
	if c.Lower {
		s += " (lower bound)"
	}
	s += fmt.Sprintf(", p99 %.0fms, knee %d/s", c.P99, c.Knee)
	if c.TargetCPU >= 0 {
		s += fmt.Sprintf(", target cpu %.2f", c.TargetCPU)
	}
	if c.Limited > 0 {
		s += fmt.Sprintf(", 429s %.1f%%", c.Limited)
	}
	return s
}

// WriteCapacityText prints one row per configuration, one column per run.
func (s *CapacitySideBySide) WriteCapacityText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "capacity\t%s\t\n", strings.Join(s.Runs, "\t"))
	for _, r := range s.Rows {
		cells := make([]string, len(r.Cells))
		for i, c := range r.Cells {
			cells[i] = c.text()
		}
		fmt.Fprintf(tw, "%s\t%s\t\n", r.Config, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "note: max rate at the SLO of each run; runs on a shared or different machine compare only roughly.")
	return err
}

var capacityCompareTmpl = template.Must(template.New("c").Parse(`<!doctype html><meta charset="utf-8"><title>capacity side by side</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}</style>
<h1>Capacity side by side</h1>
<table><tr><th>Configuration</th>{{range .Runs}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Config}}</td>{{range .Cells}}<td>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
<p>Max rate at the SLO of each run; runs on a shared or different machine compare only roughly.</p>
`))

// Text is the cell as the table shows it.
func (c CapacityCell) Text() string { return c.text() }

// WriteCapacityHTML writes the table as a self-contained page.
func (s *CapacitySideBySide) WriteCapacityHTML(w io.Writer) error {
	return capacityCompareTmpl.Execute(w, s)
}
