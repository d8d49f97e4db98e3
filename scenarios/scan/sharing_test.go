package scan

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeBuckets is a limiter of one user's keys: each operation counts in its
// bucket, and a bucket answers 429 past its limit.
type fakeBuckets struct {
	bucket map[string]string
	limit  map[string]int
	count  map[string]int
	sent   []string
}

func (f *fakeBuckets) send(op string) outcome {
	f.sent = append(f.sent, op)
	b := f.bucket[op]
	f.count[b]++
	if f.count[b] > f.limit[b] {
		return outcome{status: http.StatusTooManyRequests}
	}
	return outcome{status: http.StatusOK}
}

func TestCheckSharingFindsEveryPair(t *testing.T) {
	f := &fakeBuckets{
		bucket: map[string]string{"a": "ac", "c": "ac", "b": "b", "d": "de", "e": "de", "f": "f"},
		limit:  map[string]int{"ac": 5, "b": 5, "de": 20, "f": 100},
		count:  map[string]int{},
	}
	// Table order, not limit order: the check sorts by limit itself in
	// discoverSharing; here the rounds run in the order given.
	lim := []OpPolicy{{Operation: "a", Limit: 5}, {Operation: "b", Limit: 5}, {Operation: "c", Limit: 5}, {Operation: "d", Limit: 20}, {Operation: "e", Limit: 20}, {Operation: "f", Limit: 100}}
	r := checkSharing(lim, 1, func() bool { return true }, f.send)
	require.Equal(t, [][2]string{{"a", "c"}, {"d", "e"}}, r.shared, "the pair of later operations is found too, not only pairs with the first")
	require.Empty(t, r.unchecked)
	require.Equal(t, [][]string{{"a", "c"}, {"d", "e"}}, r.buckets(lim))
	require.Contains(t, r.summary(len(lim)), "shared buckets: a = c, d = e (15 pairs of 6 limited operations")
	require.Contains(t, r.summary(len(lim)), "0 unchecked")
	require.Equal(t, len(f.sent), r.sent)
	// Bounded: each round exhausts one bucket and asks each later one once.
	require.Less(t, r.sent, 5+1+5+1+20+1+100+1+15)
}

func TestCheckSharingSkipsAmbiguousPairs(t *testing.T) {
	// Limit 2: after two rounds this user's own requests could spend it,
	// so its 429 would prove nothing; the pair is reported unchecked.
	f := &fakeBuckets{
		bucket: map[string]string{"a": "a", "b": "b", "c": "c", "tiny": "tiny"},
		limit:  map[string]int{"a": 5, "b": 5, "c": 5, "tiny": 2},
		count:  map[string]int{},
	}
	lim := []OpPolicy{{Operation: "a", Limit: 5}, {Operation: "b", Limit: 5}, {Operation: "c", Limit: 5}, {Operation: "tiny", Limit: 2}}
	r := checkSharing(lim, 1, func() bool { return true }, f.send)
	require.Empty(t, r.shared, "no false sharing from the user's own count")
	require.True(t, slices.Contains(r.unchecked, "b~tiny") || slices.Contains(r.unchecked, "c~tiny"), "%v", r.unchecked)
	require.Contains(t, r.summary(len(lim)), "every limited operation counts in its own bucket")
}

func TestCheckSharingStopsWhenCancelled(t *testing.T) {
	f := &fakeBuckets{bucket: map[string]string{"a": "a", "b": "b"}, limit: map[string]int{"a": 1 << 30, "b": 5}, count: map[string]int{}}
	n := 0
	r := checkSharing([]OpPolicy{{Operation: "a", Limit: 5}, {Operation: "b", Limit: 5}}, 2, func() bool { n++; return n < 50 }, f.send)
	require.Less(t, r.sent, 50)
	require.Empty(t, r.shared)
}
