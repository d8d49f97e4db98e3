package reports

import "html/template"

// capacityColors tell configurations apart in the capacity chart.
var capacityColors = []string{"#0969da", "#cf222e", "#1a7f37", "#bc4c00", "#8250df", "#0891b2", "#bf3989", "#57606a"}

// CapacityChart draws p99 latency against achieved throughput, one line per
// configuration, for the capacity section ("" when there is none).
func (r *Run) CapacityChart() template.HTML {
	if r.Capacity == nil {
		return ""
	}
	var series []Series
	for i, res := range r.Capacity.Results {
		if res.Outcome == nil {
			continue
		}
		s := Series{Name: res.Config.String(), Color: capacityColors[i%len(capacityColors)]}
		for _, st := range res.Outcome.Sorted() {
			s.Points = append(s.Points, [2]float64{st.Achieved, st.P99})
		}
		series = append(series, s)
	}
	return LineChart("p99 latency vs throughput per configuration", "achieved requests/s", "p99 ms", series...)
}
