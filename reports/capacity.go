package reports

import (
	"html/template"
	"sort"
	"strconv"
)

// capacityColors tell configurations apart in the capacity charts.
var capacityColors = []string{"#0969da", "#cf222e", "#1a7f37", "#bc4c00", "#8250df", "#0891b2", "#bf3989", "#57606a"}

// CapacityCharts draws p99 latency against achieved throughput, one chart
// per mix with one line per workers × cache, for the capacity section.
func (r *Run) CapacityCharts() []template.HTML {
	if r.Capacity == nil {
		return nil
	}
	var mixes []string
	byMix := map[string][]Series{}
	for _, res := range r.Capacity.Results {
		if res.Outcome == nil {
			continue
		}
		if _, ok := byMix[res.Mix]; !ok {
			mixes = append(mixes, res.Mix)
		}
		s := Series{Name: fmtConfig(res.Workers, res.Cache), Color: capacityColors[len(byMix[res.Mix])%len(capacityColors)]}
		for _, st := range res.Outcome.Steps {
			s.Points = append(s.Points, [2]float64{st.Achieved, st.P99})
		}
		// By achieved rate: a step the generator fell behind on lands where it really was.
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i][0] < s.Points[j][0] })
		byMix[res.Mix] = append(byMix[res.Mix], s)
	}
	var out []template.HTML
	for _, m := range mixes {
		chart := LineChart(m+": p99 latency vs throughput", "achieved req/s", "p99 ms", byMix[m]...)
		out = append(out, template.HTML("<h4>"+template.HTMLEscapeString(m)+": p99 vs throughput</h4>")+chart)
	}
	return out
}

func fmtConfig(workers int, cache string) string {
	return cache + " w" + strconv.Itoa(workers)
}
