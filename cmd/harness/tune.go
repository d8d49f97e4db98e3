package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/target/stack"
)

func newTuneCmd(app *App) *cobra.Command {
	var usage, alerts, jsonOut string
	cmd := &cobra.Command{
		Use:   "tune CAPACITY.json",
		Short: "Rate-limit tuning and alert rules from a saved capacity report",
		Long: `tune reads a capacity report (capacity.json, or a summary.json holding one)
and computes, for a usage profile (requests per active user per minute per
category), how many active users saturate the deployment, from which
population each limit configuration starts answering 429, how many users at
their limits saturate it, and the recommended limit per category, with the
formula and numbers behind each. The deployment's limits are the report's
policy, or --limits (which replaces it).`,
		Example: `  harness tune reports/out/latest/capacity.json --usage read=30,write=6
  harness tune capacity.json --limits write=20/60 --usage read-mix --alerts alerts.yml`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return app.tune(args[0], usage, alerts, jsonOut) },
	}
	f := cmd.Flags()
	f.StringVar(&usage, "usage", "", "usage profile: category=requests per user per minute (read=30,write=6), or a scenario (default: the first result's mix)")
	f.StringVar(&alerts, "alerts", "", "also write Prometheus alert rules derived from the capacity to this file")
	f.StringVar(&jsonOut, "json", "", "also write the tuning as JSON to this file")
	f.StringVar(&app.g.limits, "limits", "", "the deployment's per-user limits, e.g. write=20/60 (replaces the report's policy)")
	return cmd
}

// loadCapacity reads a capacity report from capacity.json or summary.json.
func loadCapacity(path string) (*capacity.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Capacity *capacity.Report `json:"capacity"`
		Results  json.RawMessage  `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %v", path, err)
	}
	if doc.Capacity != nil {
		return doc.Capacity, nil
	}
	if doc.Results == nil {
		return nil, fmt.Errorf("%s: no capacity report in it (want capacity.json from harness capacity, or its summary.json)", path)
	}
	var rep capacity.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &rep, nil
}

func (a *App) tune(path, usage, alerts, jsonOut string) error {
	rep, err := loadCapacity(a.abs(path))
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	if a.g.limits != "" {
		limits, err := stack.ParseLimits(a.g.limits)
		if err != nil {
			return exitcode.Errorf(exitcode.Usage, "--limits: %v", err)
		}
		rep.Policy = capacity.Policy{Source: "declared (--limits " + a.g.limits + ")", Limits: limits}
	}
	mix := ""
	for _, r := range rep.Results {
		if mix == "" {
			mix = r.Mix
		}
	}
	u, err := resolveUsage(usage, mix)
	if err != nil {
		return exitcode.Errorf(exitcode.Usage, "--usage: %v", err)
	}
	t, err := capacity.Tune(rep, u)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	rep.Tuning = t
	t.WriteText(a.Stdout)
	m, err := a.cfg.alertMetrics()
	if err != nil {
		return err
	}
	rules, err := capacity.AlertRules(rep, m)
	if err != nil {
		return err
	}
	if tab, err := capacity.NewAlertTable(rep, rules, m); err == nil {
		tab.WriteText(a.Stdout)
	} else {
		fmt.Fprintf(a.progress(), "harness: no alert table: %v\n", err)
	}
	if alerts != "" {
		if err := writeAlertRulesFile(a.abs(alerts), rep, rules, m); err != nil {
			return err
		}
		fmt.Fprintf(a.progress(), "harness: %d alert rules in %s\n", len(rules), alerts)
	}
	return writeJSON(a.abs(jsonOut), t)
}
