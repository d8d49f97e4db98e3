package scenarios

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error text
	}{
		{"unknown kind lists allowed values", "name: a\nkind: soak\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:2:7: kind: unknown kind \"soak\"; allowed values are burst, constant, step, concurrency"}},
		{"unknown op lists operations", "name: a\nkind: burst\nrequests: 3\nmix:\n  - op: rekapp\n",
			[]string{"f.yaml:5:9: mix[0].op: unknown operation \"rekapp\"; allowed values are list-pekerjaan.save"}},
		{"unknown field", "name: a\nkind: burst\nrequests: 3\nrats: 4\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:4:1: rats: unknown field; allowed fields are name"}},
		{"bad duration", "name: a\nkind: constant\nrate: 3\nduration: ten\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:4:11: duration: want a duration such as 10s or 500ms, got \"ten\""}},
		{"not an integer", "name: a\nkind: constant\nrate: fast\nduration: 1s\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:3:7: rate: want an integer, got \"fast\""}},
		{"missing rate names the kind line", "name: a\nkind: constant\nduration: 1s\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:2:7: rate: constant needs rate > 0"}},
		{"body on a GET", "name: a\nkind: burst\nrequests: 1\nmix:\n  - op: rekap\n    body: '{}'\n",
			[]string{"f.yaml:5:9: mix[0].body: operation rekap (GET) takes no body"}},
		{"bad template", "name: a\nkind: burst\nrequests: 1\nmix:\n  - op: volume-pekerjaan.save\n    body: '{{.Seq'\n",
			[]string{"f.yaml:6:11: mix[0].body: bad template"}},
		{"field of another kind", "name: a\nkind: burst\nrequests: 1\nrate: 5\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:4:7: rate: not used by kind burst; remove it"}},
		{"step entry problems", "name: a\nkind: step\nsteps:\n  - {rate: 0, duration: 1s}\n  - {rate: 5, speed: 2}\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:4:12: steps[0].rate: must be > 0", "f.yaml:5:15: steps[1].speed: unknown field"}},
		{"missing mix and name", "kind: burst\nrequests: 1\n",
			[]string{"name: missing", "mix: missing or empty"}},
		{"weight must be positive", "name: a\nkind: burst\nrequests: 1\nmix:\n  - op: rekap\n    weight: 0\n",
			[]string{"f.yaml:6:13: mix[0].weight: must be > 0"}},
		{"bad version", "name: a\nkind: burst\nrequests: 1\nversion: v3\nmix:\n  - op: rekap\n",
			[]string{"f.yaml:4:10: version: unknown version \"v3\"; allowed values are legacy, v1, v2"}},
		{"not a mapping", "- a\n- b\n", []string{"f.yaml:1:1: (document): want a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			require.Error(t, err)
			require.True(t, IsValidation(err), "want a validation error, got %v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseValidAndDefaults(t *testing.T) {
	s, err := Parse("f.yaml", []byte("name: a\nkind: step\nsteps:\n  - {rate: 10, duration: 2s}\n  - {rate: 30, duration: 2s}\nmix:\n  - op: rekap\n"))
	require.NoError(t, err)
	require.Equal(t, DefaultMaxWorkers, s.MaxWorkers)
	require.Equal(t, DefaultTimeout, s.Timeout)
	require.Equal(t, 1, s.Mix[0].Weight)
	require.Equal(t, 80, s.ScheduledHits())
	require.Equal(t, 20.0, s.RequestedRate())
	require.Equal(t, 4*time.Second, s.TotalDuration())
}

func TestBuiltinsAreValid(t *testing.T) {
	names := Builtins()
	require.Subset(t, names, []string{"read-mix", "write-mix", "burst-write", "constant-read", "step-read", "concurrency-mixed"})
	for _, n := range names {
		s, err := Builtin(n)
		require.NoError(t, err, n)
		require.Equal(t, n, s.Name, "file name and scenario name agree")
		_, err = NewTargeter("http://127.0.0.1:1", s, []*VU{{User: "u", Project: 1, Pekerjaan: []int{1}, HargaItems: []int{1}}})
		require.NoError(t, err, n)
	}
	_, err := Builtin("nope")
	require.ErrorContains(t, err, "built-ins are burst-write")
}

func TestMetricsMerge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	codes := []uint16{200, 0, 429, 999} // no answer and a code past the table count too
	mk := func(i int) *vegeta.Result {
		r := &vegeta.Result{Code: codes[i%4], Timestamp: t0.Add(time.Duration(i) * 10 * time.Millisecond), Latency: time.Duration(i+1) * time.Millisecond,
			URL: fmt.Sprintf("http://x/detail_project/api/project/%d/rekap/", i%3+1), BytesIn: 10}
		if i%5 != 0 { // runs of one worker, changes, and answers without the header
			r.Headers = http.Header{"X-Worker-Id": {fmt.Sprint(i / 7 % 2)}}
		}
		return r
	}
	all, a, b := NewMetrics(), NewMetrics(), NewMetrics()
	for i := range 200 {
		r := mk(i)
		all.Add(r)
		if i%2 == 0 {
			a.Add(r)
		} else {
			b.Add(r)
		}
	}
	a.Merge(b)
	want, got := all.Summary(), a.Summary()
	require.Equal(t, want.Total.Latency, got.Total.Latency)
	require.Equal(t, want.Total.Requests, got.Total.Requests)
	require.Equal(t, want.Total.BytesIn, got.Total.BytesIn)
	require.Equal(t, want.Operations["rekap"].Requests, got.Operations["rekap"].Requests)
	require.EqualValues(t, 200, got.Operations["rekap"].Requests)
	require.Equal(t, map[string]int64{"200": 50, "0": 50, "429": 50, "999": 50}, got.Total.Status)
	require.Equal(t, want.Total.Status, got.Total.Status)
	zeros := 0
	for i := range 200 {
		if i%5 != 0 && i/7%2 == 0 {
			zeros++
		}
	}
	require.EqualValues(t, zeros, got.Workers["0"].Requests)
	require.EqualValues(t, 160, got.Workers["0"].Requests+got.Workers["1"].Requests, "every answer with a worker header")
	require.Equal(t, want.Workers["0"].Requests, got.Workers["0"].Requests)
	require.Equal(t, want.Workers["1"].Latency, got.Workers["1"].Latency)
	require.Equal(t, want.Series, got.Series)
	require.InDelta(t, 100.0, want.Total.Latency.P50, 0.1)
	require.InDelta(t, 200.0, want.Total.Latency.Max, 0.2)
	require.InDelta(t, 1.0, want.Total.Latency.Min, 0.01)

	h, err := DecodeHistogram(got.Total.Histogram)
	require.NoError(t, err)
	require.EqualValues(t, 200, h.TotalCount())
	h2, err := DecodeHistogram(want.Total.Histogram)
	require.NoError(t, err)
	h.Merge(h2)
	require.EqualValues(t, 400, h.TotalCount(), "encoded histograms merge across runs")

	// More distinct URLs than the operation cache holds: still every one
	// counted under its operation, and the cache stays bounded.
	m := NewMetrics()
	n := 2*maxOpURLs + 1
	for i := range n {
		m.Add(&vegeta.Result{Code: 200, Timestamp: t0, URL: fmt.Sprintf("http://x/detail_project/api/project/%d/rekap/", i)})
	}
	require.EqualValues(t, n, m.Summary().Operations["rekap"].Requests)
	require.LessOrEqual(t, len(m.opOf), maxOpURLs)
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		r    vegeta.Result
		want string
	}{
		{vegeta.Result{Code: 200}, ""},
		{vegeta.Result{Code: 429}, "http 429"},
		{vegeta.Result{Code: 0, Error: "Get x: context deadline exceeded (Client.Timeout exceeded)"}, "timeout"},
		{vegeta.Result{Code: 0, Error: "dial tcp: connect: connection refused"}, "connection refused"},
		{vegeta.Result{Code: 302, Headers: map[string][]string{"Location": {"/accounts/login/?next=/x"}}}, "redirect to login"},
		{vegeta.Result{Code: 302, Headers: map[string][]string{"Location": {"/elsewhere"}}}, ""},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, ErrorKind(&tc.r))
	}
}
