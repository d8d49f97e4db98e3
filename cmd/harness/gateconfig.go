package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/reports"
)

// gateConfig turns the config's gate section into a reports.GateConfig,
// reporting a bad rule at its file:line (exit 2). Without a gate section, or
// for a key the section leaves out, reports.DefaultGate applies.
func (c *loadedConfig) gateConfig() (reports.GateConfig, error) {
	def := reports.DefaultGate()
	if c == nil || c.Gate == nil {
		return def, nil
	}
	g := def
	if c.Gate.Thresholds != nil {
		g.Thresholds = nil
		for i, expr := range c.Gate.Thresholds {
			key := fmt.Sprintf("gate.thresholds[%d]", i)
			t, err := reports.ParseThreshold(expr)
			if err != nil {
				return g, exitcode.Errorf(exitcode.Usage, "%s: %v", c.at(key), err)
			}
			t.Where = c.where(key)
			g.Thresholds = append(g.Thresholds, t)
		}
	}
	if c.Gate.Require != nil {
		g.Require = nil
		for i, sec := range c.Gate.Require {
			if !slices.Contains(reports.Sections, sec) {
				return g, exitcode.Errorf(exitcode.Usage, "%s: unknown section %q; allowed: %s",
					c.at(fmt.Sprintf("gate.require[%d]", i)), sec, strings.Join(reports.Sections, ", "))
			}
			if !slices.Contains(g.Require, sec) {
				g.Require = append(g.Require, sec)
			}
		}
	}
	return g, nil
}

// where is "file:line" of key, for rules that carry their origin.
func (c *loadedConfig) where(key string) string {
	if l, ok := c.lines[key]; ok {
		return fmt.Sprintf("%s:%d", c.path, l)
	}
	return c.path
}
