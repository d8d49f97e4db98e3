package reports

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoHeavyClients: the result model, the gate and the renderings (what
// `harness report` and `harness compare` run) link no Docker, Toxiproxy or
// browser client. A check's result type that drags one in belongs in a
// light package (as stackinfo.Info and e2eresult.Report do).
func TestNoHeavyClients(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/ahsp-harness/harness/reports", "go list answered for the wrong package")
	for _, d := range deps {
		for _, heavy := range []string{"testcontainers", "toxiproxy", "chromedp", "moby/moby", "docker/docker"} {
			require.NotContains(t, d, heavy, "package reports links %s: move the result type that needs it into a light package", d)
		}
	}
}
