// Package ci holds CI templates that run the harness's quick gate against a
// deployment; its test validates them.
package ci

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// actionlintVersion is run through the Go module proxy (go run pkg@version).
const actionlintVersion = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.7"

func actionlint(t *testing.T, file string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", actionlintVersion, "-no-color", file)
	cmd.Dir = t.TempDir() // outside this module: no go.mod change
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestGitHubWorkflowActionlint: the workflow passes actionlint, and a
// broken copy does not (so the check can fail).
func TestGitHubWorkflowActionlint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs actionlint through go run (skipped with -short)")
	}
	file, err := filepath.Abs("github-actions.yml")
	require.NoError(t, err)
	if out, err := actionlint(t, file); err != nil {
		var ee *exec.ExitError
		if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
			stacktest.Need(t, "actionlint through the Go module proxy ("+actionlintVersion+")", err)
		}
		t.Fatalf("actionlint found problems:\n%s", out)
	}
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	broken := filepath.Join(t.TempDir(), "broken.yml")
	require.NoError(t, os.WriteFile(broken, []byte(strings.Replace(string(b), "${{ vars.AHSP_TARGET_URL }}", "${{ vars.AHSP_TARGET_URL ", 1)), 0o644))
	out, err := actionlint(t, broken)
	require.Error(t, err, "actionlint must reject a broken expression")
	require.Contains(t, out, "broken.yml")
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// TestGitHubWorkflowShape: what actionlint cannot know, the gate's wiring.
func TestGitHubWorkflowShape(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			If    string `yaml:"if"`
			Steps []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	b, err := os.ReadFile("github-actions.yml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &wf))
	require.Len(t, wf.Jobs, 2, "a staging job and a service job")
	for name, job := range wf.Jobs {
		var gate, upload, junit bool
		for _, s := range job.Steps {
			if strings.Contains(s.Run, "harness run --quick --stack external") {
				gate = true
				require.Contains(t, s.Run, "--out reports/quick", name)
			}
			if strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
				upload = s.With["path"] == "reports/quick/"
			}
			if strings.HasPrefix(s.Uses, "mikepenz/action-junit-report@") {
				junit = s.With["report_paths"] == "reports/quick/junit.xml"
			}
		}
		require.True(t, gate && upload && junit, "%s: gate %v, report.html upload %v, JUnit %v", name, gate, upload, junit)
		require.NotEmpty(t, job.If, "%s runs only when its variable is set", name)
	}
}

// TestGitLabTemplate is a structural check of the GitLab CI file: every job
// is in a declared stage, runs the quick gate into the folder whose
// report.html it keeps and whose junit.xml it publishes, and reaches the
// service by its alias.
func TestGitLabTemplate(t *testing.T) {
	var doc map[string]any
	b, err := os.ReadFile("gitlab-ci.yml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &doc))
	stages := map[string]bool{}
	for _, s := range doc["stages"].([]any) {
		stages[s.(string)] = true
	}
	keywords := map[string]bool{"stages": true, "variables": true, "default": true, "include": true, "workflow": true}
	jobs := 0
	for name, v := range doc {
		if keywords[name] || strings.HasPrefix(name, ".") {
			continue
		}
		jobs++
		job, ok := v.(map[string]any)
		require.True(t, ok, "job %s: want a mapping", name)
		for k := range job {
			require.Contains(t, []string{"stage", "image", "timeout", "services", "variables", "rules", "script", "before_script", "after_script", "artifacts", "tags", "needs"}, k, "job %s: unknown keyword %q", name, k)
		}
		require.True(t, stages[job["stage"].(string)], "job %s: stage %v not in stages", name, job["stage"])
		script := ""
		for _, line := range job["script"].([]any) {
			script += line.(string) + "\n"
		}
		require.Contains(t, script, "harness run --quick --stack external")
		out := regexp.MustCompile(`--out (\S+)`).FindStringSubmatch(script)
		require.NotNil(t, out, "the gate writes to a known folder")
		art := job["artifacts"].(map[string]any)
		require.Equal(t, "always", art["when"], "reports are kept when the gate fails")
		require.Contains(t, art["paths"], out[1]+"/", "report.html kept")
		require.Equal(t, out[1]+"/junit.xml", art["reports"].(map[string]any)["junit"], "JUnit published")
		svc := job["services"].([]any)[0].(map[string]any)
		alias := svc["alias"].(string)
		require.Contains(t, job["variables"].(map[string]any)["AHSP_TARGET_URL"], "http://"+alias+":", "the service is reached by its alias")
		if strings.Contains(script, "--no-e2e") {
			require.Contains(t, script, "--allow-skip e2e", "a section left out must be allowed to skip, or the gate fails")
		}
	}
	require.Equal(t, 1, jobs)
}
