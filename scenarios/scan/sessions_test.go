package scan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
)

func TestSessionsVerdictWording(t *testing.T) {
	rows := func(names ...string) []Row {
		var out []Row
		for _, n := range names {
			out = append(out, Row{Name: "worker " + n})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		e        Evidence
		bounced  map[string]int
		status   check.Status
		want     string
		notWants []string
	}{
		{"no X-Worker-Id, all served", Evidence{Accepted: 32, Rows: rows("unknown")}, nil, check.Pass,
			"(workers not identifiable, 32 requests on new connections)", []string{"1 workers", "1 worker"}},
		{"one identified worker", Evidence{Accepted: 32, WorkersSeen: 1, Rows: rows("1")}, nil, check.Pass,
			"(1 worker, 32 requests", []string{"1 workers"}},
		{"four identified workers", Evidence{Accepted: 32, WorkersSeen: 4, Rows: rows("1", "2", "3", "4")}, nil, check.Pass,
			"(4 workers, 32 requests", nil},
		{"no X-Worker-Id, bounced", Evidence{Accepted: 8, Rows: rows("unknown")}, map[string]int{"unknown": 24}, check.Fail,
			"24 of 32 requests of a logged-in user were redirected to the login page (workers not identifiable)", []string{"unknown=", "worker(s)"}},
		{"every answer a 429", Evidence{Limited: 32, Rows: rows("unknown")}, nil, check.Inconclusive,
			"all 32 answered requests were refused with 429", nil},
		{"nothing answered", Evidence{Status: map[int]int{500: 32}, Rows: rows("unknown")}, nil, check.Inconclusive,
			"no request reached the operation", nil},
		{"identified workers bounced", Evidence{Accepted: 8, WorkersSeen: 3, Rows: rows("1", "2", "3")}, map[string]int{"2": 20, "3": 4}, check.Fail,
			"redirected to the login page by 2 workers (2=20 3=4)", []string{"worker(s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sessionsVerdict(tc.e, 32, 4, tc.bounced)
			require.Equal(t, tc.status, r.Status, r.Reason)
			require.Contains(t, r.Reason, tc.want)
			for _, nw := range tc.notWants {
				require.NotContains(t, r.Reason, nw)
			}
		})
	}
}
