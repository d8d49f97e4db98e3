package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// TestPrintStack pins the summary `up` and `status` print (update with -update).
func TestPrintStack(t *testing.T) {
	var buf bytes.Buffer
	for _, tc := range []struct {
		info     stack.Info
		creds    []client.Credential
		password string
	}{
		{
			info: stack.Info{Mode: "docker", ModeReason: "Docker engine answered at unix:///var/run/docker.sock", RunID: "20261123-100000-abcdef",
				BaseURL: "http://127.0.0.1:32800", Workers: 4, Cache: "redis", RedisKind: "scratch image from host redis-server 7.0.15",
				RedisAddr: "127.0.0.1:32798", Limiter: "fixed", FailurePolicy: "fail-closed", SessionStore: "db",
				Limits: "write=5/60", Defects: []string{"naive-limiter", "trust-xff"}, StartupSeconds: 3.3, ImageBuildSeconds: 2.07},
			creds:    []client.Credential{{User: "user1", Projects: []int{1, 2}}, {User: "user2", Projects: []int{3, 4}}},
			password: "ahsp-pass",
		},
		{
			info: stack.Info{Mode: "local", ModeReason: "no Docker engine at unix:///var/run/docker.sock; using local mode", RunID: "20261123-100001-123456",
				BaseURL: "http://127.0.0.1:40000", Workers: 1, Cache: "locmem", Limiter: "gcra", FailurePolicy: "fail-open", SessionStore: "cache",
				Defects: []string{}, StartupSeconds: 0.05},
			creds:    []client.Credential{{User: "user1", Projects: []int{1}}},
			password: "ahsp-pass",
		},
		{
			info:  stack.Info{Mode: "external", ModeReason: "requested", RunID: "20261123-100002-654321", BaseURL: "https://staging.example.test/ahsp"},
			creds: []client.Credential{{User: "alice"}, {User: "bob"}},
		},
	} {
		printStack(&buf, tc.info, tc.creds, tc.password)
		buf.WriteString("--\n")
	}
	golden := filepath.Join("testdata", "stack-summary.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestPrintStack -update to create it")
	require.Equal(t, string(want), buf.String())
}
