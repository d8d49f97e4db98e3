package capacity

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteText(t *testing.T) {
	at := &Step{Rate: 6400, Achieved: 6351.7, P50: 11.1, P99: 64.1, GeneratorCPU: 0.26, TargetCPU: 1.71, CacheCPU: -1, MachineCPU: 1.98}
	rep := &Report{
		SLO: SLO{P99Ms: 250, MaxErrorRate: 1}, StepSeconds: 2,
		Results: []*Result{
			{Config: Config{Workers: 4, Cache: "locmem", Mix: "read-mix"}, Outcome: &Outcome{MaxRate: 6400, Knee: 3200, AtMax: at, Reason: "the SLO held up to the search's maximum 6400/s; raise --max-rate"}},
			{Config: Config{Workers: 1, Cache: "redis", Mix: "write-mix"}, Error: "start stack: redis-server not found"},
		},
		LimitsNote: "high limits", SharedCoresNote: "shared cores",
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	out := b.String()
	for _, want := range []string{
		"redis cpu  machine cpu", // headers
		"6400      6351.7    11.1    64.1    3200            –      0.0%     0.26        1.71        n/a         1.98",
		"could not run",
		"write-mix w=1 redis: start stack: redis-server not found",
		"note: high limits.\nnote: shared cores.",
	} {
		require.Contains(t, out, want)
	}
}
