package reports

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ahsp-harness/harness/check"
	e2e "github.com/ahsp-harness/harness/e2e/e2eresult"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
)

//go:embed templates/*.tmpl templates/style.css
var templateFS embed.FS

// Chart colours, colour-blind friendly and distinct in greyscale print.
const (
	colorBlue   = "#0969da"
	colorOrange = "#bc4c00"
	colorGreen  = "#1a7f37"
	colorRed    = "#cf222e"
)

func parseTemplates(dir string) (*template.Template, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	funcs := htmlFuncs(dir)
	funcs["css"] = func() template.CSS { return template.CSS(css) }
	return template.New("report").Funcs(funcs).ParseFS(templateFS, "templates/*.tmpl")
}

// WriteHTML renders report.html, one self-contained file; dir resolves
// screenshot paths that are relative (the report folder).
func WriteHTML(w io.Writer, run *Run, dir string) error {
	t, err := parseTemplates(dir)
	if err != nil {
		return fmt.Errorf("parse report templates: %w", err)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "report.html.tmpl", run); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// img is one embedded screenshot.
type img struct {
	Name string
	Src  template.URL
	Err  string
}

type scenarioCharts struct {
	Throughput, P95 template.HTML
}

type sectionCount struct {
	Name, Section, Anchor string
	Ran                   bool
	Status                check.Status
	Counts                check.Counts
	N                     int
}

// Of is the count of one outcome, for templates.
func (c sectionCount) Of(s check.Status) int { return c.Counts[s] }

func htmlFuncs(dir string) template.FuncMap {
	return template.FuncMap{
		"ms":   func(v float64) string { return fmtMS(v) },
		"f1":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"f2":   func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
		"pct":  func(a, b float64) string { return fmtPct(a, b) },
		"i64":  func(v int64) float64 { return float64(v) },
		"int":  func(v int) float64 { return float64(v) },
		"secs": func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', 2, 64) + " s" },
		"bytes": func(v uint64) string {
			switch {
			case v >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20))
			case v >= 1<<10:
				return fmt.Sprintf("%.1f KiB", float64(v)/(1<<10))
			}
			return fmt.Sprintf("%d B", v)
		},
		"join":        strings.Join,
		"isFail":      func(s check.Status) bool { return s == check.Fail },
		"open":        isOpen,
		"outcomes":    func() []check.Status { return check.All },
		"firstChecks": func(cs []CheckRef) []CheckRef { return cs[:min(len(cs), maxNamed)] },
		"moreChecks":  func(cs []CheckRef) int { return max(len(cs)-maxNamed, 0) },
		"sectionStatus": func(r *Run, name string) check.Status {
			if s, ok := SectionByName(name); ok {
				return s.Of(r).Verdict()
			}
			return check.Error
		},
		"sectionAnchor": func(name string) string {
			if s, ok := SectionByName(name); ok {
				return s.Anchor
			}
			return "gate"
		},
		"upper":    func(s check.Status) string { return strings.ToUpper(string(s)) },
		"charts":   chartsFor,
		"workers":  workerChart,
		"shots":    func(r e2e.Result) []img { return screenshots(r, dir) },
		"counts":   sectionCounts,
		"statuses": sortedStatus,
		"errRate":  func(st *scenarios.Stats) string { return fmtPct(float64(st.Errors), float64(st.Requests)) },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"passedProbes": func(ps []scan.Result) int {
			n := 0
			for _, p := range ps {
				if !isOpen(probeStatus(p)) {
					n++
				}
			}
			return n
		},
		"probeStatus": probeStatus,
		"attempts":    attemptsNote,
		"inc":         func(i int) int { return i + 1 },
		"failedE2E": func(r *e2e.Report) int {
			return len(r.Failed())
		},
		"unaccepted": func(r *Run) int {
			n := 0
			if r.Contracts != nil {
				for _, c := range r.Contracts.Breaking {
					n += c.Unaccepted
				}
			}
			return n
		},
	}
}

// isOpen: a check whose evidence the report shows unfolded (fail, error,
// inconclusive); passes and skips are folded away.
func isOpen(s check.Status) bool { return s != check.Pass && s != check.Skip }

func fmtMS(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

func fmtPct(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*a/b, 'f', 1, 64) + "%"
}

func chartsFor(r *scenarios.Result) scenarioCharts {
	var thr, errs, p95 []([2]float64)
	for _, p := range r.Metrics.Series {
		x := float64(p.Second)
		thr = append(thr, [2]float64{x, float64(p.Requests)})
		errs = append(errs, [2]float64{x, float64(p.Errors)})
		p95 = append(p95, [2]float64{x, p.P95})
	}
	var c scenarioCharts
	if len(thr) > 0 {
		c.Throughput = LineChart("requests per second", "second", "req/s",
			Series{Name: "responses/s", Color: colorBlue, Points: thr},
			Series{Name: "errors/s", Color: colorRed, Points: errs})
		c.P95 = LineChart("p95 latency per second", "second", "ms",
			Series{Name: "p95 latency", Color: colorOrange, Points: p95})
	}
	return c
}

func workerChart(ev scan.Evidence) template.HTML {
	if len(ev.AcceptedPerWorker) == 0 {
		return ""
	}
	ids := make([]string, 0, len(ev.AcceptedPerWorker))
	for id := range ev.AcceptedPerWorker {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	bars := make([]Bar, 0, len(ids))
	for _, id := range ids {
		bars = append(bars, Bar{Label: "worker " + id, Value: float64(ev.AcceptedPerWorker[id]), Color: colorBlue})
	}
	if len(ids) > 1 {
		// The limit is shared by all workers: the total bar shows the overshoot.
		color := colorGreen
		if ev.Accepted > ev.ExpectedMax {
			color = colorRed
		}
		bars = append(bars, Bar{Label: "all workers", Value: float64(ev.Accepted), Color: color})
	}
	return BarChart("accepted per worker", "accepted", bars, float64(ev.ExpectedMax), fmt.Sprintf("limit %d", ev.ExpectedMax))
}

func screenshots(r e2e.Result, dir string) []img {
	var out []img
	for _, s := range r.Screenshots {
		data := s.PNG
		var errMsg string
		if len(data) == 0 && s.Path != "" {
			p := s.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			var err error
			if data, err = os.ReadFile(p); err != nil {
				errMsg = "screenshot not readable: " + s.Path
			}
		}
		im := img{Name: s.Name, Err: errMsg}
		if len(data) > 0 {
			im.Src = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(data))
		}
		out = append(out, im)
	}
	return out
}

type statusCount struct {
	Code  string
	Count int64
}

func sortedStatus(m map[string]int64) []statusCount {
	out := make([]statusCount, 0, len(m))
	for k, v := range m {
		out = append(out, statusCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// sectionCounts tallies verdicts per section for the banner and summary:
// the gate rows first, then every section of sectionTable.
func sectionCounts(r *Run) []sectionCount {
	var gate []check.Status
	for _, g := range r.Gate.Rows {
		gate = append(gate, g.Status)
	}
	out := []sectionCount{{Name: "gate rows", Anchor: "gate", Ran: true, Status: r.Gate.Status, Counts: check.Count(gate...), N: len(gate)}}
	for _, sec := range sectionTable {
		sr := sec.Of(r)
		if !sr.Ran && !sec.Default {
			continue // an optional section (capacity) that is not part of this kind of run
		}
		sc := sectionCount{Name: sec.Label, Section: sec.Name, Anchor: sec.Anchor, Ran: sr.Ran, Status: sr.Verdict(), N: len(sr.Cases)}
		var sts []check.Status
		for _, c := range sr.Cases {
			sts = append(sts, c.Status)
		}
		sc.Counts = check.Count(sts...)
		out = append(out, sc)
	}
	return out
}
