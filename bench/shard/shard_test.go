package shard

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/client"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"0/1", Shard{0, 1}, false},
		{"3/4", Shard{3, 4}, false},
		{" 1/2 ", Shard{1, 2}, false},
		{"4/4", Shard{}, true},
		{"-1/2", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
		{"0/0", Shard{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr {
				require.ErrorContains(t, err, "want i/N")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestApplySplitsExactly(t *testing.T) {
	tests := []struct {
		name string
		sc   scenarios.Scenario
		n    int
		sum  func(*scenarios.Scenario) []int
	}{
		{"constant", scenarios.Scenario{Name: "c", Kind: scenarios.Constant, Rate: 41, Users: 7, Duration: time.Second}, 3,
			func(s *scenarios.Scenario) []int { return []int{s.Rate, s.Users} }},
		{"step", scenarios.Scenario{Name: "s", Kind: scenarios.Step, Users: 4, Steps: []scenarios.StepSpec{{Rate: 10, Duration: time.Second}, {Rate: 25, Duration: time.Second}}}, 4,
			func(s *scenarios.Scenario) []int { return []int{s.Steps[0].Rate, s.Steps[1].Rate, s.Users} }},
		{"burst", scenarios.Scenario{Name: "b", Kind: scenarios.Burst, Requests: 101, Users: 2}, 2,
			func(s *scenarios.Scenario) []int { return []int{s.Requests, s.Users} }},
		{"concurrency", scenarios.Scenario{Name: "k", Kind: scenarios.Concurrency, Concurrency: 9, Users: 9, Duration: time.Second}, 3,
			func(s *scenarios.Scenario) []int { return []int{s.Concurrency, s.Users} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			whole := tc.sc
			whole.Steps = append([]scenarios.StepSpec(nil), tc.sc.Steps...)
			want := tc.sum(&whole)
			got := make([]int, len(want))
			for i := range tc.n {
				sc := tc.sc
				sc.Steps = append([]scenarios.StepSpec(nil), tc.sc.Steps...)
				require.NoError(t, Shard{i, tc.n}.Apply(&sc))
				for j, v := range tc.sum(&sc) {
					require.Positive(t, v)
					got[j] += v
				}
				again := tc.sc
				again.Steps = append([]scenarios.StepSpec(nil), tc.sc.Steps...)
				require.NoError(t, Shard{i, tc.n}.Apply(&again))
				require.Equal(t, sc, again, "deterministic")
			}
			require.Equal(t, want, got, "shares add up to the whole")
		})
	}
	sc := scenarios.Scenario{Name: "tiny", Kind: scenarios.Constant, Rate: 1, Users: 4}
	require.ErrorContains(t, Shard{1, 2}.Apply(&sc), "rate 1 cannot be split 2 ways")
}

func TestCredentialsPartition(t *testing.T) {
	var creds []client.Credential
	for i := range 5 {
		creds = append(creds, client.Credential{User: fmt.Sprintf("user%d", i+1)})
	}
	seen := map[string]int{}
	for i := range 2 {
		got, err := Shard{i, 2}.Credentials(creds)
		require.NoError(t, err)
		for _, c := range got {
			seen[c.User]++
		}
	}
	require.Len(t, seen, 5)
	for u, n := range seen {
		require.Equal(t, 1, n, u)
	}
	_, err := Shard{5, 6}.Credentials(creds)
	require.ErrorContains(t, err, "cannot be split")
}

// TestMergeEqualsWhole: merging two shards' raw results gives exactly the
// metrics of all results recorded by one process.
func TestMergeEqualsWhole(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	urls := []string{"http://127.0.0.1:1/detail_project/api/project/1/rekap/", "http://127.0.0.1:1/detail_project/api/project/2/list-pekerjaan/tree/"}
	whole := scenarios.NewMetrics()
	var raw [2]bytes.Buffer
	enc := [2]vegeta.Encoder{vegeta.NewEncoder(&raw[0]), vegeta.NewEncoder(&raw[1])}
	var counts [2]int
	for i := range 4000 {
		code := uint16(200)
		if i%50 == 0 {
			code = 429
		}
		r := vegeta.Result{Attack: "read-mix", Code: code, Timestamp: t0.Add(time.Duration(i) * 2500 * time.Microsecond),
			Latency: time.Duration(300+(i*37)%9000) * time.Microsecond, URL: urls[i%2], Method: "GET",
			Headers: http.Header{"X-Worker-Id": {fmt.Sprintf("%d-1", i%3+1)}}}
		whole.Add(&r)
		s := i % 2
		counts[s]++
		require.NoError(t, enc[s].Encode(&r))
	}
	part := func(i int) Part {
		return Part{Name: fmt.Sprintf("shard%d", i), Raw: &raw[i], Results: []*scenarios.Result{{
			Scenario: "read-mix", Kind: scenarios.Constant, Users: 2, Scheduled: counts[i], RequestedRate: 200, MaxWorkers: 32, MaxConnections: 32, Started: t0,
		}}}
	}
	got, err := Merge([]Part{part(0), part(1)})
	require.NoError(t, err)
	require.Len(t, got, 1)
	m := got[0]
	want := whole.Summary()
	require.Equal(t, want.Total.Requests, m.Metrics.Total.Requests)
	require.Equal(t, want.Total.Latency, m.Metrics.Total.Latency)
	require.Equal(t, want.Total.Status, m.Metrics.Total.Status)
	require.Equal(t, want.Operations, m.Metrics.Operations)
	require.Equal(t, want.Workers, m.Metrics.Workers)
	require.Equal(t, 4000, m.Scheduled)
	require.Equal(t, int64(4000), m.Sent)
	require.Equal(t, 400.0, m.RequestedRate)
	require.Equal(t, 4, m.Users)
	require.InDelta(t, 400, m.AchievedRate, 1)
	require.False(t, m.FellBehind, m.Note)
	require.Contains(t, m.Shape, "2 shards merged")

	_, err = Merge([]Part{{Name: "x", Results: part(0).Results}})
	require.ErrorContains(t, err, "run each shard with --raw")
}

func TestMergeNothing(t *testing.T) {
	_, err := Merge([]Part{{Name: "empty", Raw: &bytes.Buffer{}}})
	require.ErrorContains(t, err, "no scenario results")
	_, err = Merge(nil)
	require.ErrorContains(t, err, "no shards")
}
