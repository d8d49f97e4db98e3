package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/ahsp-harness/harness/bench/capacity"
	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
)

// AlertsYAML is the alerts section: the metric names (and labels) of the
// deployment's exporter that the generated Prometheus rules read. A role
// left out keeps the reference target's name (capacity.DefaultAlertMetrics).
type AlertsYAML struct {
	Metrics *AlertMetricsYAML `yaml:"metrics"`
}

// AlertMetricsYAML maps each role the rules read to a series.
type AlertMetricsYAML struct {
	RequestsTotal    *RequestsMetricYAML    `yaml:"requests_total"`
	RateLimitedTotal *RateLimitedMetricYAML `yaml:"rate_limited_total"`
	RequestDuration  *MetricYAML            `yaml:"request_duration"`
	CacheErrors      *MetricYAML            `yaml:"cache_errors"`
}

// MetricYAML is a metric name and fixed label matchers.
type MetricYAML struct {
	Name  *string           `yaml:"name"`
	Match map[string]string `yaml:"match"`
}

// RequestsMetricYAML is the answers counter; status_label holds the HTTP status.
type RequestsMetricYAML struct {
	Name        *string           `yaml:"name"`
	Match       map[string]string `yaml:"match"`
	StatusLabel *string           `yaml:"status_label"`
}

// RateLimitedMetricYAML is the 429 counter; category_label holds the
// limit's category ("" when the series carry none).
type RateLimitedMetricYAML struct {
	Name          *string           `yaml:"name"`
	Match         map[string]string `yaml:"match"`
	CategoryLabel *string           `yaml:"category_label"`
}

// alertMetrics is the mapping harness.yaml gives over the defaults.
func (c *loadedConfig) alertMetrics() (capacity.AlertMetrics, error) {
	m := capacity.DefaultAlertMetrics
	if c == nil || c.Alerts == nil || c.Alerts.Metrics == nil {
		return m, nil
	}
	y := c.Alerts.Metrics
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if r := y.RequestsTotal; r != nil {
		set(&m.Requests, r.Name)
		set(&m.StatusLabel, r.StatusLabel)
		m.RequestsMatch = r.Match
	}
	if r := y.RateLimitedTotal; r != nil {
		set(&m.RateLimited, r.Name)
		set(&m.CategoryLabel, r.CategoryLabel)
		m.RateLimitedMatch = r.Match
	}
	if r := y.RequestDuration; r != nil {
		set(&m.Latency, r.Name)
		m.LatencyMatch = r.Match
	}
	if r := y.CacheErrors; r != nil {
		set(&m.CacheErrors, r.Name)
		m.CacheErrorsMatch = r.Match
	}
	if err := m.Validate(); err != nil {
		return m, exitcode.Errorf(exitcode.Usage, "%s: %v", c.at("alerts.metrics"), err)
	}
	return m, nil
}

// writeAlertRulesFile writes rules for rep, read from the metrics m, as a
// Prometheus rule file.
func writeAlertRulesFile(path string, rep *capacity.Report, rules []capacity.Rule, m capacity.AlertMetrics) error {
	var b bytes.Buffer
	if err := capacity.WriteAlertRules(&b, rep, rules, m); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write alert rules: %w", err)
	}
	return nil
}
