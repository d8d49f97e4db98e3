package reports

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/bench/capacity"
)

// capacityAlerts is a tuned capacity run with its alert table: C = 400/s,
// 45 reads and 15 writes per user per minute, the app's default limits.
func capacityAlerts(t *testing.T) *capacity.Report {
	t.Helper()
	rep := &capacity.Report{Label: "ref w=4 redis", SLO: capacity.DefaultSLO(),
		Results: []*capacity.Result{{Config: capacity.Config{Mix: "read-mix", Cache: capacity.AsDeployed}, Outcome: &capacity.Outcome{MaxRate: 400, Knee: 200}}}}
	usage, err := capacity.ParseUsage("read=45,write=15")
	require.NoError(t, err)
	rep.Tuning, err = capacity.Tune(rep, usage)
	require.NoError(t, err)
	rules, err := capacity.AlertRules(rep, capacity.DefaultAlertMetrics)
	require.NoError(t, err)
	rep.Alerts, err = capacity.NewAlertTable(rep, rules, capacity.DefaultAlertMetrics)
	require.NoError(t, err)
	return rep
}

// TestCapacityAlertTable: the alert table is in report.html (golden) and
// summary.md (the Markdown bench/capacity golden-tests) of a capacity run.
func TestCapacityAlertTable(t *testing.T) {
	rep := capacityAlerts(t)
	tmpl, err := parseTemplates(t.TempDir())
	require.NoError(t, err)
	var h bytes.Buffer
	require.NoError(t, tmpl.ExecuteTemplate(&h, "capacity-alerts", rep.Alerts))
	golden(t, "capacity-alerts.html", h.Bytes())

	run := &Run{SchemaVersion: SchemaVersion, Capacity: rep}
	run.EvaluateGate(GateConfig{Require: []string{"capacity"}})
	var page bytes.Buffer
	require.NoError(t, WriteHTML(&page, run, t.TempDir()))
	require.Contains(t, page.String(), h.String())

	var md, table bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, run))
	rep.Alerts.WriteMarkdown(&table)
	require.Contains(t, md.String(), table.String())
}
