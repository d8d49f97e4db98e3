package reports

import (
	"io"
)

// CompareConfig says how much worse counts as a regression, in percent.
type CompareConfig struct {
	LatencyPct    float64
	ThroughputPct float64
}

// DefaultCompare treats 10% worse latency or throughput as a regression.
func DefaultCompare() CompareConfig { return CompareConfig{LatencyPct: 10, ThroughputPct: 10} }

// Comparison is the difference between two runs.
type Comparison struct{}

// Regressed reports whether anything got worse beyond the thresholds.
func (c *Comparison) Regressed() bool { return false }

// Compare diffs two runs.
func Compare(old, new *Run, cfg CompareConfig) *Comparison { return &Comparison{} }

// WriteComparisonText writes c as a plain-text table.
func WriteComparisonText(w io.Writer, c *Comparison) error { return nil }

// WriteComparisonHTML writes c as a self-contained HTML page.
func WriteComparisonHTML(w io.Writer, c *Comparison) error { return nil }
