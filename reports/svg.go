package reports

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts are small hand-drawn SVGs: they open offline, print cleanly and need
// no script.

// Series is one line of a line chart.
type Series struct {
	Name   string
	Color  string
	Points [][2]float64 // x, y
}

const chartW, chartH, padL, padB, padT, padR = 560.0, 200.0, 56.0, 28.0, 22.0, 12.0

// LineChart draws series on shared axes; xLabel/yLabel name the units.
func LineChart(title, xLabel, yLabel string, series ...Series) template.HTML {
	var maxX, maxY float64
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
			n++
		}
	}
	if n == 0 {
		return ""
	}
	maxX, maxY = niceCeil(maxX), niceCeil(maxY)
	x := func(v float64) float64 { return padL + v/maxX*(chartW-padL-padR) }
	y := func(v float64) float64 { return chartH - padB - v/maxY*(chartH-padB-padT) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, chartW, chartH+legendExtra(len(series)), template.HTMLEscapeString(title))
	axes(&b, maxX, maxY, xLabel, yLabel, x, y)
	for _, s := range series {
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"><title>%s</title></polyline>`,
			s.Color, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
	}
	legend(&b, series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bar is one bar of a bar chart; Mark draws a reference line (e.g. the limit).
type Bar struct {
	Label string
	Value float64
	Color string
}

// BarChart draws vertical bars with an optional horizontal reference line at mark (<0: none).
func BarChart(title, yLabel string, bars []Bar, mark float64, markLabel string) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	maxY := mark
	for _, bar := range bars {
		maxY = math.Max(maxY, bar.Value)
	}
	maxY = niceCeil(maxY)
	y := func(v float64) float64 { return chartH - padB - v/maxY*(chartH-padB-padT) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(title))
	axes(&b, 0, maxY, "", yLabel, nil, y)
	slot := (chartW - padL - padR) / float64(len(bars))
	w := math.Min(slot*0.6, 60)
	for i, bar := range bars {
		cx := padL + slot*(float64(i)+0.5)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %g</title></rect>`,
			cx-w/2, y(bar.Value), w, y(0)-y(bar.Value), bar.Color, template.HTMLEscapeString(bar.Label), bar.Value)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s</text>`, cx, chartH-padB+14, template.HTMLEscapeString(bar.Label))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="val">%g</text>`, cx, y(bar.Value)-3, bar.Value)
	}
	if mark >= 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="mark"/><text x="%.1f" y="%.1f" class="mark-label" text-anchor="end">%s</text>`,
			padL, chartW-padR, y(mark), y(mark), chartW-padR, y(mark)-4, template.HTMLEscapeString(markLabel))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func axes(b *strings.Builder, maxX, maxY float64, xLabel, yLabel string, x, y func(float64) float64) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, padL, padT, padL, chartH-padB)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="axis"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/><text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s</text>`,
			padL, chartW-padR, y(v), y(v), padL-4, y(v)+3, short(v))
	}
	if x != nil {
		for i := 0; i <= 4; i++ {
			v := maxX * float64(i) / 4
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s</text>`, x(v), chartH-padB+14, short(v))
		}
	}
	if xLabel != "" {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" class="label">%s</text>`, chartW-padR, chartH-2, template.HTMLEscapeString(xLabel))
	}
	fmt.Fprintf(b, `<text x="4" y="%.1f" class="label">%s</text>`, padT-10, template.HTMLEscapeString(yLabel))
}

// legendPerRow items fit beside the x axis label; more wrap to new rows
// below the chart, which grows by legendExtra.
const legendPerRow, legendColW, legendRowH = 3, 130.0, 12.0

func legendExtra(n int) float64 {
	rows := (n + legendPerRow - 1) / legendPerRow
	return float64(max(rows-1, 0)) * legendRowH
}

func legend(b *strings.Builder, series []Series) {
	for i, s := range series {
		// Below the x axis, so the legend never hides a line near the top.
		lx := padL + float64(i%legendPerRow)*legendColW
		dy := float64(i/legendPerRow) * legendRowH
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="3" fill="%s"/><text x="%.1f" y="%.1f" class="tick">%s</text>`,
			lx, chartH-6+dy, s.Color, lx+14, chartH-2+dy, template.HTMLEscapeString(s.Name))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so ticks are readable.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", math.Round(v/1e5)/10)
	case v >= 1e3:
		return fmt.Sprintf("%gk", math.Round(v/1e2)/10)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
