package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
)

func TestContractsDiffCLI(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t)

	code, out, errOut := c.run(ctx, "contracts", "export", "base")
	require.Equal(t, exitcode.OK, code, errOut)
	require.Contains(t, out, "wrote the built-in schemas")
	require.FileExists(t, filepath.Join(c.dir, "base", "v1", "rekap.response.200.json"))

	// The built-in schemas against themselves: nothing breaks.
	code, out, errOut = c.run(ctx, "contracts", "diff", "--base", "base", "--json", "diff.json")
	require.Equal(t, exitcode.OK, code, errOut+out)
	require.Contains(t, out, "baseline (base -> embedded): PASS, 0 changes")
	var rep struct {
		Status   string `json:"status"`
		Breaking []struct {
			Name string `json:"name"`
		} `json:"breaking"`
	}
	raw, err := os.ReadFile(filepath.Join(c.dir, "diff.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Equal(t, "pass", rep.Status)
	require.Len(t, rep.Breaking, 2)

	// A baseline that had a field the current schemas lack: breaking, exit 1.
	p := filepath.Join(c.dir, "base", "v2", "search-ahsp.response.200.json")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	data := doc["properties"].(map[string]any)["data"].(map[string]any)
	data["properties"].(map[string]any)["page"] = map[string]any{"type": "integer"}
	data["required"] = append(data["required"].([]any), "page")
	b, _ = json.Marshal(doc)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	code, out, _ = c.run(ctx, "contracts", "diff", "--base", "base")
	require.Equal(t, exitcode.GateFailed, code, out)
	require.Contains(t, out, "BREAKING")
	require.Contains(t, out, "v2 search-ahsp 200")
	require.Contains(t, out, "data.page")

	// Accepting it in a compat file (the exported one plus an entry) makes it pass.
	builtin, err := os.ReadFile(filepath.Join(c.dir, "base", "compat.yaml"))
	require.NoError(t, err)
	c.write("compat.yaml", string(builtin)+"  - scope: baseline\n    path: data.page\n    change: field-removed\n    reason: paging moved to a header\n")
	code, out, errOut = c.run(ctx, "contracts", "diff", "--base", "base", "--compat", "compat.yaml")
	require.Equal(t, exitcode.OK, code, errOut+out)
	require.Contains(t, out, "paging moved to a header")

	// Bad inputs are usage errors that say what to do.
	code, _, errOut = c.run(ctx, "contracts", "diff", "--base", "missing")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errOut, "harness contracts export DIR")
	c.write("bad.yaml", "accepted:\n  - change: field-gone\n    reason: x\n")
	code, _, errOut = c.run(ctx, "contracts", "diff", "--compat", "bad.yaml")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errOut, "field-gone")
	code, _, errOut = c.run(ctx, "contracts", "export", "base")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errOut, "already holds schemas")
}

// `contracts plan` prints every request with its class and sends nothing:
// it runs with no stack and no target at all.
func TestContractsPlanCLI(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t)
	code, out, errOut := c.run(ctx, "contracts", "plan", "--search-term", "semen")
	require.Equal(t, exitcode.OK, code, errOut)
	require.Regexp(t, `writing\s+script\s+save.tree\s+POST /detail_project/api/project/\{pid\}/list-pekerjaan/save/`, out)
	require.Regexp(t, `read-only\s+discovery\s+family.v1\s+GET /detail_project/api/v1/project/\{pid\}/list-pekerjaan/tree/`, out)
	require.Contains(t, out, "?q=semen&limit=5")
	require.Regexp(t, `\d+ steps: \d+ read-only, \d+ writing`, out)
	require.NotContains(t, errOut, "stack", "plan brings nothing up")

	// The deprecation policy is checked before anything runs.
	c.write("harness.yaml", "contracts:\n  deprecation: sometimes\n")
	code, _, errOut = c.run(ctx, "contracts", "diff")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errOut, "harness.yaml:2: contracts.deprecation")
	require.Contains(t, errOut, "want required, advisory or off")
	code, _, errOut = c.run(ctx, "contracts", "diff", "--deprecation", "never")
	require.Equal(t, exitcode.Usage, code)
	require.Contains(t, errOut, "--deprecation")
}
