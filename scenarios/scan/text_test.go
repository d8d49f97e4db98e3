package scan

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/stack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestReportTextGolden(t *testing.T) {
	rep := &Report{
		Target:    stack.Info{BaseURL: "http://127.0.0.1:8000", Mode: "local", Workers: 4, Cache: "locmem", Defects: []string{"raw-path-key"}},
		Algorithm: Fixed, FailurePolicy: "fail-closed",
		Limits:  map[api.Category]api.Limit{api.Write: {Requests: 10, WindowSeconds: 2}, LoginCategory: {Requests: 10, WindowSeconds: 2}},
		Status:  check.Fail,
		Started: time.Unix(0, 0).UTC(), Seconds: 1.5,
		Probes: []Result{
			{Probe: MultiWorker, Status: check.Fail, Reason: "accepted 39 of 50 from one user in 0.05s, the policy allows at most 10 (29 over)",
				Evidence: Evidence{Operation: "volume-pekerjaan.save", Policy: "10 per 2s (fixed)", User: "user1", Sent: 50, Accepted: 39, Limited: 11,
					ExpectedMax: 10, Overshoot: 29, AcceptedPerWorker: map[string]int{"1-11": 10, "2-12": 10, "3-13": 9, "4-14": 10}, ElapsedSeconds: 0.05,
					Samples: []Sample{{What: "limited", Method: "POST", URL: "/detail_project/api/project/1/volume-pekerjaan/save/", Status: 429, Worker: "1-11", Body: `{"code":"RATE_LIMIT_EXCEEDED"}`}}}},
			{Probe: Coverage, Status: check.Pass, Reason: "all 13 operations answered 429 within 2×limit", Evidence: Evidence{Sent: 582, Accepted: 290, Limited: 292}},
			{Probe: CacheDown, Status: check.Skip, Reason: "unsupported in external mode: the probe needs to control the stack"},
		},
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	path := filepath.Join("testdata", "report.txt")
	if *update {
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), b.String())
}
