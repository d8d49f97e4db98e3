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
	var err error
	if c.Gate.Require != nil {
		if g.Require, err = addSections(nil, c.Gate.Require, func(i int) string { return c.at(fmt.Sprintf("gate.require[%d]", i)) + ": " }); err != nil {
			return g, err
		}
	}
	g.AllowSkip, err = addSections(g.AllowSkip, c.Gate.AllowSkip, func(i int) string { return c.at(fmt.Sprintf("gate.allow_skip[%d]", i)) + ": " })
	return g, err
}

// allowSkip adds --allow-skip sections to g.
func allowSkip(g *reports.GateConfig, secs []string) error {
	var err error
	g.AllowSkip, err = addSections(g.AllowSkip, secs, func(int) string { return "--allow-skip: " })
	return err
}

// addSections appends the section names in add to list once each; an
// unknown name is a usage error prefixed with where(i).
func addSections(list, add []string, where func(i int) string) ([]string, error) {
	for i, sec := range add {
		if !slices.Contains(reports.Sections, sec) {
			return list, exitcode.Errorf(exitcode.Usage, "%sunknown section %q; allowed: %s", where(i), sec, strings.Join(reports.Sections, ", "))
		}
		if !slices.Contains(list, sec) {
			list = append(list, sec)
		}
	}
	return list, nil
}

// where is "file:line" of key, for rules that carry their origin.
func (c *loadedConfig) where(key string) string {
	if l, ok := c.lines[key]; ok {
		return fmt.Sprintf("%s:%d", c.path, l)
	}
	return c.path
}
