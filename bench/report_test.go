package bench

import (
	"html"
	"io"
	"strconv"

	"bytes"
	"github.com/ahsp-harness/harness/reports"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCapacitySection renders the HTML report of a run with a capacity
// section and checks the table, the per-step rows, the chart and the notes.
func TestCapacitySection(t *testing.T) {
	run := sampleRun(t)
	run.Capacity.SharedCoresNote = "generator and target share this machine's 2 cores"
	run.Capacity.LimitsNote = "high-limit profile"
	run.Capacity.Limits = "read=100000000/1"
	var buf bytes.Buffer
	require.NoError(t, writeHTML(&buf, run, t.TempDir()))
	page := buf.String()
	i := strings.Index(page, `<h2 id="capacity">`)
	require.GreaterOrEqual(t, i, 0, "capacity section missing")
	sec := page[i:]
	o := run.Capacity.Results[0].Outcome
	for _, want := range []string{
		"share this machine", "high-limit profile", "--limits read=100000000/1",
		`<polyline`, "locmem w1", "<h4>read-mix: p99 vs throughput</h4>", // the chart's series and title
		`href="#capacity-read-mix-1-locmem"`, `id="capacity-read-mix-1-locmem"`,
	} {
		require.Contains(t, sec, want)
	}
	require.Contains(t, sec, "<b>"+itoa(o.MaxRate)+"/s</b>")
	require.Equal(t, len(o.Steps), strings.Count(sec, "<td>ramp</td>")+strings.Count(sec, "<td>bisect</td>"), "one row per measured step")
	require.Contains(t, sec, html.EscapeString(o.Reason))
}

func itoa(n int) string { return strconv.Itoa(n) }

func writeHTML(w io.Writer, run *reports.Run, dir string) error {
	return reports.WriteHTML(w, run, dir)
}
