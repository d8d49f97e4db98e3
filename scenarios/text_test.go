package scenarios

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

func TestResultTextGolden(t *testing.T) {
	m := NewMetrics()
	t0 := time.Unix(1000, 0)
	for i := range 300 {
		r := &vegeta.Result{Code: 200, Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Duration(1+i%20) * time.Millisecond,
			URL: "http://h/detail_project/api/project/1/rekap/", Headers: map[string][]string{"X-Worker-Id": {[]string{"1-10", "2-20"}[i%2]}}}
		if i%3 == 0 {
			r.URL = "http://h/detail_project/api/project/1/volume-pekerjaan/save/"
		}
		if i%10 == 0 {
			r.Code = 429
		}
		m.Add(r)
	}
	sc := &Scenario{Name: "golden", Kind: Constant, Rate: 100, Duration: 3 * time.Second, Users: 2}
	res := &Result{Scenario: "golden", Kind: Constant, Shape: sc.String(), Scheduled: 300, Sent: 300, RequestedRate: 100,
		MaxWorkers: 2, MaxConnections: 2, Metrics: m.Summary()}
	res.AchievedRate = 80 // as if the generator had lagged
	res.judgeSchedule()
	var b bytes.Buffer
	res.WriteText(&b)
	golden(t, "result.txt", b.Bytes())
}
