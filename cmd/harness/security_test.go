package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSecurityJSONOnly: harness.yaml security.json_only reaches the
// security checks' config; without it a stored text/plain write is advisory.
func TestSecurityJSONOnly(t *testing.T) {
	var none *loadedConfig
	require.False(t, none.securityJSONOnly())
	c := newCLI(t)
	c.write("harness.yaml", "security:\n  json_only: true\n")
	cfg, err := loadConfig(filepath.Join(c.dir, "harness.yaml"))
	require.NoError(t, err)
	require.True(t, cfg.securityJSONOnly())
	a := &App{cfg: cfg}
	p, err := a.plan(runOptions{noScan: true, noLoad: true, noContracts: true, noE2E: true})
	require.NoError(t, err)
	require.True(t, p.Security.JSONOnly)

	c.write("harness.yaml", "security:\n  json_onyl: true\n")
	_, err = loadConfig(filepath.Join(c.dir, "harness.yaml"))
	require.ErrorContains(t, err, "json_onyl")
}
