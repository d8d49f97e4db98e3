package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// djangoish is a tiny server speaking the login dialect (form + CSRF +
// sessionid) and answering every project API path, counting what it sees.
type djangoish struct {
	mu       sync.Mutex
	hits     map[string]int // operation name -> count
	bodies   []string
	inFlight atomic.Int64
	peak     atomic.Int64
	delay    time.Duration
	workers  int
	n        atomic.Int64
	all      atomic.Int64   // every request, logins included
	saves    map[string]int // project id -> volume saves
}

func newDjangoish(t *testing.T) (*djangoish, *httptest.Server) {
	d := &djangoish{hits: map[string]int{}}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return d, srv
}

func (d *djangoish) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.all.Add(1)
	if d.workers > 0 {
		w.Header().Set(api.WorkerHeader, fmt.Sprintf("%d-%d", d.n.Add(1)%int64(d.workers)+1, 100))
	}
	if r.URL.Path == api.LoginPath {
		if r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "tok", Path: "/"})
			fmt.Fprint(w, `<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="tok"></form>`)
			return
		}
		_ = r.ParseForm()
		if r.Form.Get("password") != "pw" || r.Form.Get("csrfmiddlewaretoken") != "tok" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "s-" + r.Form.Get("login"), Path: "/"})
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	ck, err := r.Cookie("sessionid")
	if err != nil || ck.Value == "" {
		http.Redirect(w, r, api.LoginPath+"?next="+r.URL.Path, http.StatusFound)
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("X-CSRFToken") != "tok" {
		http.Error(w, "CSRF verification failed", http.StatusForbidden)
		return
	}
	cur := d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	for {
		p := d.peak.Load()
		if cur <= p || d.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	if d.delay > 0 {
		time.Sleep(d.delay)
	}
	op := OperationOf(r.URL.Path)
	body, _ := io.ReadAll(r.Body)
	d.mu.Lock()
	d.hits[op]++
	if op == "volume-pekerjaan.save" {
		if d.saves == nil {
			d.saves = map[string]int{}
		}
		d.saves[strings.Split(strings.TrimPrefix(r.URL.Path, "/detail_project/api/project/"), "/")[0]]++
	}
	if len(body) > 0 && len(d.bodies) < 1000 {
		d.bodies = append(d.bodies, string(body))
	}
	d.mu.Unlock()
	if op == "list-pekerjaan.tree" {
		fmt.Fprint(w, `{"ok":true,"klasifikasi":[{"id":1,"sub":[{"id":2,"pekerjaan":[{"id":11,"source_type":"ref"},{"id":12,"source_type":"custom"}]}]}]}`)
		return
	}
	if op == "harga-items.list" {
		fmt.Fprint(w, `{"ok":true,"items":[{"id":7},{"id":8}]}`)
		return
	}
	fmt.Fprint(w, `{"ok":true}`)
}

func (d *djangoish) total() int64 { return d.all.Load() }

// saveProjects are the projects volume saves went to.
func (d *djangoish) saveProjects() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Collect(maps.Keys(d.saves))
}

func (d *djangoish) count(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits[op]
}

func creds(n int) []client.Credential {
	out := make([]client.Credential, n)
	for i := range out {
		// The test's own server: every project is disposable.
		out[i] = client.Credential{User: fmt.Sprintf("user%d", i+1), Password: "pw", Projects: []int{i + 1}, Scratch: []int{i + 1}}
	}
	return out
}

// A scenario that writes goes only to projects declared scratch: users
// without one are left out, and with none it is skipped before any login
// or request; a read-only mix runs on every user.
func TestWritesOnlyOnScratch(t *testing.T) {
	write := scenario(Burst, MixEntry{Op: "rekap", Weight: 1}, MixEntry{Op: "volume-pekerjaan.save", Weight: 1})
	read := scenario(Burst, MixEntry{Op: "rekap"})
	tests := []struct {
		name     string
		sc       *Scenario
		scratch  map[string][]int
		skipped  bool
		projects []string // projects the saves went to
	}{
		{"writes, no scratch: skipped", write, nil, true, nil},
		{"writes, user2 declares project 7", write, map[string][]int{"user2": {7}}, false, []string{"7"}},
		{"read-only, no scratch: runs", read, nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, srv := newDjangoish(t)
			cs := creds(2)
			for i := range cs {
				cs[i].Scratch = tc.scratch[cs[i].User]
			}
			sc := *tc.sc
			sc.Requests, sc.Connections = 20, 2
			res, err := Run(context.Background(), &sc, Options{BaseURL: srv.URL, Credentials: cs})
			require.NoError(t, err)
			if tc.skipped {
				require.Contains(t, res.Skipped, "none of the 2 users declares a scratch project")
				require.Zero(t, res.Sent)
				require.Zero(t, d.total(), "nothing reached the deployment")
				return
			}
			require.Empty(t, res.Skipped)
			require.EqualValues(t, 20, res.Sent)
			require.ElementsMatch(t, tc.projects, d.saveProjects())
		})
	}
}

func scenario(kind Kind, mix ...MixEntry) *Scenario {
	return &Scenario{Name: "t", Kind: kind, Users: 2, Mix: mix, MaxWorkers: 16, MaxConnections: 16, Timeout: 5 * time.Second}
}

func TestRunExactCounts(t *testing.T) {
	tree := MixEntry{Op: "list-pekerjaan.tree"}
	tests := []struct {
		name string
		sc   *Scenario
		want int
	}{
		{"constant 100/s for 1s gives exactly 100 hits", func() *Scenario {
			s := scenario(Constant, tree)
			s.Rate, s.Duration = 100, time.Second
			return s
		}(), 100},
		{"burst of 250 gives exactly 250 hits", func() *Scenario {
			s := scenario(Burst, tree)
			s.Requests, s.Connections = 250, 8
			return s
		}(), 250},
		{"steps 50/s x 1s + 100/s x 0.5s give exactly 100 hits", func() *Scenario {
			s := scenario(Step, tree)
			s.Steps = []StepSpec{{Rate: 50, Duration: time.Second}, {Rate: 100, Duration: 500 * time.Millisecond}}
			return s
		}(), 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, srv := newDjangoish(t)
			res, err := Run(context.Background(), tc.sc, Options{BaseURL: srv.URL, Credentials: creds(2)})
			require.NoError(t, err)
			// setup discovery reads the tree once per user
			require.Equal(t, tc.want, d.count("list-pekerjaan.tree")-2)
			require.EqualValues(t, tc.want, res.Sent)
			require.EqualValues(t, tc.want, res.Metrics.Total.OK)
			require.EqualValues(t, tc.want, res.Metrics.Operations["list-pekerjaan.tree"].Requests)
			require.EqualValues(t, tc.want, res.Metrics.Total.Status["200"])
			require.False(t, res.FellBehind, res.Note)
		})
	}
}

func TestRunConcurrencyKeepsExactlyCInFlight(t *testing.T) {
	d, srv := newDjangoish(t)
	d.delay = 20 * time.Millisecond
	sc := scenario(Concurrency, MixEntry{Op: "rekap"})
	sc.Concurrency, sc.Duration = 5, 300*time.Millisecond
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: creds(2)})
	require.NoError(t, err)
	require.EqualValues(t, 5, d.peak.Load(), "closed model must never exceed its concurrency")
	require.Greater(t, res.Sent, int64(5))
	require.Equal(t, -1, res.Scheduled)
}

func TestRunWeightedMixAndBodies(t *testing.T) {
	d, srv := newDjangoish(t)
	sc := scenario(Burst,
		MixEntry{Op: "rekap", Weight: 3},
		MixEntry{Op: "volume-pekerjaan.save", Weight: 1},
		MixEntry{Op: "harga-items.save", Weight: 1, Body: `{"items":[{"id":{{.HargaItem}}}],"u":"{{.User}}","p":{{.Project}},"c":{{.Custom}},"s":{{.Seq}}}`},
	)
	sc.Requests, sc.Connections = 100, 4
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: creds(2)})
	require.NoError(t, err)
	require.Equal(t, 60, d.count("rekap"))
	require.Equal(t, 20, d.count("volume-pekerjaan.save"))
	require.Equal(t, 20, d.count("harga-items.save"))
	require.EqualValues(t, 60, res.Metrics.Operations["rekap"].Requests)
	for _, b := range d.bodies {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(b), &v), "body must be valid JSON: %s", b)
		if u, ok := v["u"]; ok {
			require.Contains(t, []any{"user1", "user2"}, u)
			require.Contains(t, []any{1.0, 2.0}, v["p"])
			require.Equal(t, 12.0, v["c"], "Custom is the custom pekerjaan")
		}
	}
}

func TestRunPerWorkerAndErrors(t *testing.T) {
	d, srv := newDjangoish(t)
	d.workers = 4
	sc := scenario(Burst, MixEntry{Op: "rekap"}, MixEntry{Op: "search-ahsp"})
	sc.Requests, sc.Connections = 80, 4
	var lost atomic.Int64
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: creds(1), OnResult: func(r *vegeta.Result) {
		if r.Code != 200 {
			lost.Add(1)
		}
	}})
	require.NoError(t, err)
	require.Len(t, res.Metrics.Workers, 4)
	var sum int64
	for _, w := range res.Metrics.Workers {
		sum += w.Requests
	}
	require.EqualValues(t, 80, sum)
	require.Zero(t, lost.Load())

	// Without a session every API request is a redirect to login: an error kind.
	anon := &VU{User: "anon", Project: 1, Pekerjaan: []int{11}, Header: http.Header{}}
	res, err = Run(context.Background(), sc, Options{BaseURL: srv.URL, VUs: []*VU{anon}})
	require.NoError(t, err)
	require.EqualValues(t, 80, res.Metrics.Errors["redirect to login"])
	require.EqualValues(t, 80, res.Metrics.Total.Errors)
	require.EqualValues(t, 80, res.Metrics.Total.Status["302"])
}

func TestRunSaysWhenGeneratorFellBehind(t *testing.T) {
	d, srv := newDjangoish(t)
	d.delay = 50 * time.Millisecond
	sc := scenario(Constant, MixEntry{Op: "rekap"})
	sc.Rate, sc.Duration, sc.MaxWorkers, sc.MaxConnections = 200, 500*time.Millisecond, 2, 2
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: creds(1)})
	require.NoError(t, err)
	require.True(t, res.FellBehind)
	require.Contains(t, res.Note, "fell behind")
	require.Contains(t, res.Note, "requested 200/s")
	require.Less(t, res.AchievedRate, 0.95*200)
	require.LessOrEqual(t, d.peak.Load(), int64(2), "max workers cap in-flight requests")
}

func TestRunRawResultsAndProgress(t *testing.T) {
	_, srv := newDjangoish(t)
	sc := scenario(Burst, MixEntry{Op: "rekap"})
	sc.Requests, sc.Connections = 30, 3
	var raw, prog bytes.Buffer
	res, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: creds(1), Raw: &raw, Progress: &prog, ProgressInterval: time.Hour})
	require.NoError(t, err)
	dec := vegeta.NewDecoder(&raw)
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		require.EqualValues(t, 200, r.Code)
		n++
	}
	require.Equal(t, 30, n)
	require.EqualValues(t, 30, res.Sent)
	require.Contains(t, prog.String(), "sent 30/30")
	require.Contains(t, prog.String(), "(done)")
}

func TestRunCancel(t *testing.T) {
	_, srv := newDjangoish(t)
	sc := scenario(Constant, MixEntry{Op: "rekap"})
	sc.Rate, sc.Duration = 50, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := Run(ctx, sc, Options{BaseURL: srv.URL, Credentials: creds(1)})
	require.NoError(t, err)
	require.True(t, res.Interrupted)
	require.Contains(t, res.Note, "interrupted")
	require.False(t, res.FellBehind)
}

func TestLoginFailureIsClear(t *testing.T) {
	_, srv := newDjangoish(t)
	sc := scenario(Burst, MixEntry{Op: "rekap"})
	sc.Requests = 1
	_, err := Run(context.Background(), sc, Options{BaseURL: srv.URL, Credentials: []client.Credential{{User: "x", Password: "bad", Projects: []int{1}}}})
	require.ErrorContains(t, err, `as "x"`)
	require.ErrorIs(t, err, client.ErrLoginFailed)
}

func TestOperationOf(t *testing.T) {
	tests := map[string]string{
		"/detail_project/api/project/3/list-pekerjaan/tree/":    "list-pekerjaan.tree",
		"/detail_project/api/v1/project/3/detail-ahsp/44/":      "detail-ahsp.get",
		"/detail_project/api/v2/project/3/detail-ahsp/44/save/": "detail-ahsp.save",
		"/detail_project/api/project/3/rincian-rab/export.csv":  "export.rincian-rab-csv",
		"/detail_project/api/project/3/detail-ahsp/x/":          "other",
		"/health/": "/health/",
		"/detail_project/api/project/abc/list-pekerjaan/tree/":   "/detail_project/api/project/abc/list-pekerjaan/tree/",
		"/detail_project/api/v2/project/3/export/rekap-rab/csv/": "export.rekap-rab-csv",
	}
	for path, want := range tests {
		require.Equal(t, want, OperationOf(path), path)
	}
	require.Equal(t, "/a/b", urlPath("http://h:1/a/b?x=1"))
}

func TestStepPacerSchedule(t *testing.T) {
	p := StepPacer{Steps: []StepSpec{{Rate: 10, Duration: time.Second}, {Rate: 100, Duration: time.Second}}}
	wait, stop := p.Pace(0, 0)
	require.Zero(t, wait)
	require.False(t, stop)
	wait, _ = p.Pace(0, 5)
	require.Equal(t, 500*time.Millisecond, wait)
	wait, _ = p.Pace(time.Second, 10)
	require.Zero(t, wait)
	wait, _ = p.Pace(time.Second, 11)
	require.Equal(t, 10*time.Millisecond, wait)
	_, stop = p.Pace(2*time.Second, 110)
	require.True(t, stop)
	require.Equal(t, 100.0, p.Rate(1500*time.Millisecond))
}

func TestSmoothWheel(t *testing.T) {
	a, b := &mixItem{op: api.Operation{Name: "a"}}, &mixItem{op: api.Operation{Name: "b"}}
	var names []string
	for _, it := range smoothWheel([]*mixItem{a, b}, []int{3, 1}) {
		names = append(names, it.op.Name)
	}
	require.Equal(t, "a a b a", strings.Join(names, " "))
}
