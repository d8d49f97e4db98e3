package scan

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

func pol(alg string, n, w int) Policy {
	return Policy{Limit: api.Limit{Requests: n, WindowSeconds: w}, Algorithm: alg}
}

func TestMaxAccepted(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		d    time.Duration
		want int
	}{
		{"fixed, instant burst: the limit", pol(Fixed, 20, 60), 0, 20},
		{"fixed, burst inside one window", pol(Fixed, 20, 60), 59 * time.Second, 20},
		{"fixed, a fresh key's second window starts at w", pol(Fixed, 20, 60), 60 * time.Second, 40},
		{"fixed, just over two windows", pol(Fixed, 20, 60), 121 * time.Second, 60},
		{"sliding, instant", pol(Sliding, 20, 60), 0, 20},
		{"sliding, half a window", pol(Sliding, 20, 60), 30 * time.Second, 30},
		{"gcra, instant", pol(GCRA, 20, 60), 0, 20},
		{"gcra, one interval (3s) later", pol(GCRA, 20, 60), 3 * time.Second, 21},
		{"gcra, interval rounds up: ceil(10s/3)=3.334s", pol(GCRA, 3, 10), 3333 * time.Millisecond, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, MaxAccepted(tc.p, tc.d))
		})
	}
}

func TestMaxAcceptedAnyInterval(t *testing.T) {
	// docs/limiter.md: a fixed window may accept 2L−1 within any 0<D<W.
	require.Equal(t, 39, MaxAcceptedAnyInterval(pol(Fixed, 20, 60), time.Second))
	require.Equal(t, 20, MaxAcceptedAnyInterval(pol(Fixed, 20, 60), 0))
	require.Equal(t, 40, MaxAcceptedAnyInterval(pol(Fixed, 20, 60), 60*time.Second))
	require.Equal(t, 30, MaxAcceptedAnyInterval(pol(Sliding, 20, 60), 30*time.Second))
}

func TestPoliteIntervalStaysBelowMustPassRate(t *testing.T) {
	for _, l := range []int{1, 2, 3, 4, 5, 7, 10, 20, 100} {
		p := pol(Sliding, l, 60)
		got := PoliteInterval(p)
		if l > 1 {
			// docs/limiter.md: spacing more than W/(L−1) always passes;
			// a late send of up to 250ms must not close a gap below it.
			mustPass := 60 * time.Second / time.Duration(l-1)
			require.GreaterOrEqual(t, got, mustPass+250*time.Millisecond, "L=%d", l)
			require.GreaterOrEqual(t, got, mustPass*5/4, "a 25%% margin, L=%d", l)
		}
		// L+2 requests must outlast one window (the TTL refresh shows only
		// past it) and stay short: under 2 windows for L ≥ 5.
		span := got * time.Duration(l+1)
		require.Greater(t, span, 60*time.Second, "L=%d", l)
		if l >= 5 {
			require.Less(t, span, 120*time.Second, "L=%d", l)
		}
	}
}

func TestPathVariants(t *testing.T) {
	op, _ := api.Lookup("volume-pekerjaan.save")
	got := map[string]string{}
	for _, v := range pathVariants(op, 7, 0) {
		got[v[0]] = v[1]
	}
	require.Equal(t, map[string]string{
		"canonical (legacy)": "/detail_project/api/project/7/volume-pekerjaan/save/",
		"no trailing slash":  "/detail_project/api/project/7/volume-pekerjaan/save",
		"double slash":       "/detail_project/api/project/7//volume-pekerjaan/save/",
		"upper case":         "/detail_project/api/project/7/VOLUME-PEKERJAAN/SAVE/",
		"percent-encoded":    "/detail_project/api/project/7/volume-pekerjaan/s%61ve/",
		"query string":       "/detail_project/api/project/7/volume-pekerjaan/save/?harness=1",
		"v1":                 "/detail_project/api/v1/project/7/volume-pekerjaan/save/",
		"v2":                 "/detail_project/api/v2/project/7/volume-pekerjaan/save/",
	}, got)
}

func TestParseRetryAfter(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := parseRetryAfter("7", at)
	require.NoError(t, err)
	require.Equal(t, 7*time.Second, d)
	d, err = parseRetryAfter(at.Add(3*time.Second).Format(http.TimeFormat), at)
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, d)
	_, err = parseRetryAfter("soon", at)
	require.Error(t, err)
}

func TestClasses(t *testing.T) {
	tests := []struct {
		status      int
		api, login_ class
	}{
		{200, accepted, accepted},
		{207, accepted, other},
		{400, accepted, other},
		{409, accepted, other},
		{302, other, accepted},
		{404, other, other},
		{403, other, other},
		{429, limited, limited},
		{500, other, other},
		{503, other, other},
		{0, other, other},
	}
	for _, tc := range tests {
		require.Equal(t, tc.api, apiClass(tc.status), "api %d", tc.status)
		require.Equal(t, tc.login_, loginClass(tc.status), "login %d", tc.status)
	}
}

func TestStoredQuantity(t *testing.T) {
	legacy := outcome{status: 200, body: []byte(`{"ok":true,"items":[{"pekerjaan_id":3,"quantity":"12.500"},{"pekerjaan_id":4,"quantity":"1.000"}]}`)}
	q, err := storedQuantity(legacy, 3)
	require.NoError(t, err)
	require.Equal(t, 12.5, q)
	v2 := outcome{status: 200, body: []byte(`{"success":true,"data":{"items":[{"pekerjaan_id":4,"quantity":2}]}}`)}
	q, err = storedQuantity(v2, 4)
	require.NoError(t, err)
	require.Equal(t, 2.0, q)
	_, err = storedQuantity(legacy, 9)
	require.ErrorContains(t, err, "not in the list")
}

func TestTallyEvidence(t *testing.T) {
	tl := newTally(apiClass)
	t0 := time.Unix(100, 0)
	for i, st := range []int{200, 200, 429, 400, 404} {
		tl.add(outcome{req: req{label: "a"}, status: st, worker: []string{"1-10", "2-20"}[i%2], header: http.Header{}, start: t0.Add(time.Duration(i) * time.Second), end: t0.Add(time.Duration(i)*time.Second + 10*time.Millisecond)})
	}
	e := tl.evidence()
	require.Equal(t, 5, e.Sent)
	require.Equal(t, 3, e.Accepted)
	require.Equal(t, 1, e.Limited)
	require.Equal(t, 1, e.Other)
	require.Equal(t, map[string]int{"1-10": 1, "2-20": 2}, e.AcceptedPerWorker)
	require.Equal(t, 4.01, e.ElapsedSeconds)
	require.Len(t, e.Samples, 3, "one sample per kind")
	require.Equal(t, []Row{{Name: "a", Sent: 5, Accepted: 3, Limited: 1, Status: map[int]int{200: 2, 429: 1, 400: 1, 404: 1}}}, e.Rows)
}

// external is a Target without control, as a --stack external deployment.
type external struct{ url string }

func (e external) BaseURL() string { return e.url }
func (e external) Credentials() []client.Credential {
	return []client.Credential{{User: "u", Password: "p", Projects: []int{1}}}
}
func (e external) Info() stack.Info {
	return stack.Info{Mode: stack.ModeExternal, Workers: 1, Limiter: "fixed", FailurePolicy: "fail-closed"}
}
func (e external) Control() (stack.Control, error) { return nil, stack.ErrUnsupported }

func TestControlProbesSkipInExternalMode(t *testing.T) {
	rep, err := Run(context.Background(), external{url: "http://127.0.0.1:1"}, Config{Probes: []string{CacheDown, CacheSlow, WorkerKill}})
	require.NoError(t, err)
	require.Len(t, rep.Probes, 3)
	for _, p := range rep.Probes {
		require.Equal(t, check.Skip, p.Status, p.Probe)
		require.Contains(t, p.Reason, "unsupported in external mode")
	}
	require.Equal(t, check.Skip, rep.Status)
}

func TestConfigErrors(t *testing.T) {
	_, err := Run(context.Background(), external{url: "http://127.0.0.1:1"}, Config{Probes: []string{"nope"}})
	require.ErrorContains(t, err, `unknown probe "nope": allowed values are multi-worker, race`)
	_, err = Run(context.Background(), external{url: "http://127.0.0.1:1"}, Config{Algorithm: "leaky"})
	require.ErrorContains(t, err, "allowed values are fixed, sliding, gcra")
}

func TestDeclaredLimitsComeFromInfo(t *testing.T) {
	s, err := newScanner(infoLimits{external{}}, Config{})
	require.NoError(t, err)
	require.Equal(t, api.Limit{Requests: 10, WindowSeconds: 2}, s.limits[api.Write])
	require.Equal(t, api.DefaultLimits[api.Read], s.limits[api.Read], "unlisted categories keep the real app's defaults")
	_, declared := s.limits[LoginCategory]
	require.False(t, declared, "no login limit is assumed of an external deployment")
	s, err = newScanner(infoMode{external{}, stack.ModeLocal, nil}, Config{})
	require.NoError(t, err)
	require.Equal(t, DefaultLoginLimit, s.limits[LoginCategory], "the reference target's own")
	s, err = newScanner(infoMode{external{}, stack.ModeLocal, []string{"no-login-limit"}}, Config{})
	require.NoError(t, err)
	_, declared = s.limits[LoginCategory]
	require.False(t, declared, "a target started without a login limit is not assumed to have one")
}

type infoMode struct {
	external
	mode    string
	defects []string
}

func (i infoMode) Info() stack.Info {
	in := i.external.Info()
	in.Mode, in.Defects = i.mode, i.defects
	return in
}

type infoLimits struct{ external }

func (i infoLimits) Info() stack.Info {
	in := i.external.Info()
	in.Limits = "write=10/2"
	return in
}

// TestTooFewReached: a burst judges only when more requests reached the
// operation than the policy allows, and only on a quota that was not spent
// before it started (0 accepted is no evidence of a correct limiter).
func TestTooFewReached(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    Evidence
		want string // "" = enough to judge
	}{
		{"enough reached", Evidence{Sent: 60, Accepted: 20, Limited: 40, ExpectedMax: 20}, ""},
		{"bounced", Evidence{Sent: 40, Accepted: 2, Status: map[int]int{200: 2, 302: 38}, ExpectedMax: 20}, "only 2 of 40"},
		{"quota spent before", Evidence{Sent: 120, Limited: 120, ExpectedMax: 40}, "already spent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tooFewReached(tc.e)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tc.want)
		})
	}
}

// TestDensest: the most sends within one window, the evidence that "no 429"
// was tested at a rate above the limit.
func TestDensest(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  int
	}{
		{"none", nil, 0},
		{"all within", at(0, 100, 200, 1999), 4},
		{"spread over two windows", at(0, 1000, 2000, 3000, 4000), 2},
		{"a dense middle", at(0, 3000, 3100, 3200, 3300, 9000), 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, densest(tc.times, 2*time.Second))
		})
	}
}

// TestRightAfterJudged: a request right after a 429 proves a dishonest
// Retry-After only when it came before the promised wait could end:
// "Retry-After: 1" may end at once (GCRA 10 per 2 s lets one through every
// 200 ms; a fixed window may be about to reset).
func TestRightAfterJudged(t *testing.T) {
	for _, tc := range []struct {
		gap, retryAfter time.Duration
		want            bool
	}{
		{5 * time.Millisecond, time.Second, false},
		{5 * time.Millisecond, 2 * time.Second, true},
		{900 * time.Millisecond, 2 * time.Second, true},
		{1100 * time.Millisecond, 2 * time.Second, false},
		{2 * time.Second, 60 * time.Second, true},
	} {
		require.Equal(t, tc.want, rightAfterJudged(tc.gap, tc.retryAfter), "%s after, Retry-After %s", tc.gap, tc.retryAfter)
	}
}
