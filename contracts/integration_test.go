package contracts

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// A stack is a Target, and its Control can stop the cache.
var (
	_ Target       = (*stack.Stack)(nil)
	_ CacheControl = (stack.Control)(nil)
)

// upTarget brings the reference target up in local mode (Redis from
// redis-server or the embedded miniredis, so the fail-closed 503 runs too).
func upTarget(t *testing.T, defects ...string) (*stack.Stack, CacheControl) {
	t.Helper()
	return upTargetLimits(t, nil, defects...)
}

func upTargetLimits(t *testing.T, limits map[api.Category]api.Limit, defects ...string) (*stack.Stack, CacheControl) {
	t.Helper()
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 2, Cache: stack.CacheRedis,
		Defects: defects, Limits: limits, Seed: stack.Seed{Users: 4, Projects: 1}})
	ctl, err := s.Control()
	require.NoError(t, err)
	return s, ctl
}

// roomyUpserts raises the correct target's bulk budget (5/300 s) for proofs
// of one quirk each: a group that shows its quirk restores the project at
// once, one upsert more than the budget holds, and the restore would wait
// out the window. The limiter is not under test there.
var roomyUpserts = map[api.Category]api.Limit{api.Bulk: {Requests: 50, WindowSeconds: 300}}

func runSuite(t *testing.T, defects ...string) *Report {
	rep, _ := runSuiteAndBurst(t, defects...)
	return rep
}

// runSuiteAndBurst runs the suite, then a short concurrent burst on the
// upsert operation (bulk: 5 per 300 s) as two other users, once per version,
// every response handed to a Sampler the way a load scenario does.
func runSuiteAndBurst(t *testing.T, defects ...string) (*Report, SampleReport) {
	t.Helper()
	s, ctl := upTarget(t, defects...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, s, Options{Cache: ctl})
	require.NoError(t, err)
	var buf bytes.Buffer
	Render(&buf, rep)
	t.Log("\n" + buf.String())
	set, err := LoadEmbedded()
	require.NoError(t, err)
	sampler := NewSampler(set)
	creds := s.Credentials()
	require.GreaterOrEqual(t, len(creds), 4)
	for i, v := range []api.Version{api.V1, api.V2} {
		c, err := client.New(s.BaseURL())
		require.NoError(t, err)
		require.NoError(t, c.Login(ctx, creds[2+i].User, creds[2+i].Password))
		op, _ := api.Lookup("list-pekerjaan.upsert")
		path := op.URLPath(v, creds[2+i].Projects[0], 0)
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 5; k++ {
					resp, err := c.Do(ctx, op.Method, path, map[string]any{})
					if err != nil {
						return
					}
					sampler.ObserveURL(op.Method, c.URL(path), resp.Status, resp.Header, resp.Body)
				}
			}()
		}
		wg.Wait()
	}
	// The scenarios engine's burst (100 volume saves on 16 connections, v2)
	// hands every result to the same sampler.
	sc, err := scenarios.Builtin("burst-write")
	require.NoError(t, err)
	sc.Version = api.V2
	_, err = scenarios.Run(ctx, sc, scenarios.Options{BaseURL: s.BaseURL(), Credentials: creds, OnResult: sampler.ObserveVegeta})
	require.NoError(t, err)
	sample := sampler.Report()
	buf.Reset()
	RenderSample(&buf, sample)
	t.Log("\n" + buf.String())
	if t.Failed() {
		t.Log(s.Logs(ctx))
	}
	return rep, sample
}

func TestIntegrationCorrectTargetPasses(t *testing.T) {
	rep, sample := runSuiteAndBurst(t)
	require.Equal(t, check.Pass, sample.Status, "sampled 400s and 429s match their contracts")
	require.Equal(t, 140, sample.Observed)
	require.Positive(t, sample.ByStatus["volume-pekerjaan.save v2 429"], "the engine's burst was rate limited")
	require.Equal(t, 30, sample.ByStatus["list-pekerjaan.upsert v1 429"]+sample.ByStatus["list-pekerjaan.upsert v2 429"])
	require.Equal(t, check.Pass, rep.Status, "the correct target must satisfy every contract")
	steps := map[string]bool{}
	for _, r := range rep.Results {
		steps[r.Version+" "+r.Step] = r.Verdict == check.Pass
	}
	for _, v := range []string{"legacy", "v2"} {
		for _, s := range []string{"save.tree", "upsert", "volume.save", "volume.list", "detail.save", "detail.save.conflict",
			"detail.save.read-only", "detail.save.resend", "detail.save.naive-stamp", "search", "search.total", "harga.save", "harga.save.naive-stamp", "harga.save.string-id", "method.post.harga-list", "method.post.rekap", "method.head.tree", "volume.save.comma-thousands", "volume.save.exponent",
			"detail.save.comma-thousands", "detail.save.exponent", "detail.save.kategori-clash", "harga.save.comma-thousands", "harga.save.exponent",
			"harga.save.markup.comma-thousands", "harga.save.markup.exponent", "rekap", "export.rekap-rab", "export.rincian-rab",
			"bad.save.empty-name", "bad.save.malformed-json", "bad.upsert.negative-id", "bad.upsert.empty-list", "bad.volume.quantity", "bad.detail.kategori",
			"not-found.pekerjaan", "not-found.foreign-project", "not-found.foreign-export", "save.partial", "save.groups-only", "unauthenticated",
			"unauthenticated.export", "rate-limited", "limiter-unavailable", "upsert.takeover", "upsert.failed-row", "tree.stale-after-upsert"} {
			require.True(t, steps[v+" "+s], "%s %s ran and passed", v, s)
		}
	}
	require.True(t, steps["legacy health.session"], "logged-in /health/ checks the cache too")
	require.True(t, steps["legacy same-project.detail-ahsp.get"])
	require.True(t, steps["v1 same-project.list-pekerjaan.tree"], "v1 read beside legacy")
	require.Empty(t, rep.Findings, "the correct target shows none of the deployed app's quirks")
	for _, f := range rep.Families {
		require.True(t, f.Deployed, f.Version)
	}
	require.Len(t, rep.Restores, 2)
	for _, x := range rep.Restores {
		require.Equal(t, check.Pass, x.Status, "%s %v", x.Reason, x.Differences)
	}
	require.GreaterOrEqual(t, len(rep.Equivalence), 30)
}

func TestIntegrationV2DriftFails(t *testing.T) {
	rep := runSuite(t, "v2-drift")
	require.Equal(t, check.Fail, rep.Status)

	var diffs []Difference
	for _, e := range rep.Equivalence {
		diffs = append(diffs, e.Differences...)
	}
	whats := map[string][]string{}
	for _, d := range diffs {
		whats[d.What] = append(whats[d.What], d.V1Path+" -> "+d.Path)
	}
	// The drift: v2 detail items rename koefisien to coefficient and drop satuan.
	require.Contains(t, whats["renamed"], "items[0].koefisien -> data.items[0].coefficient", "equivalence names the renamed field: %v", whats)
	require.Contains(t, whats["missing in v2"], "items[0].satuan -> data.items[0].satuan", "equivalence names the dropped field: %v", whats)

	var runtime *Comparison
	for i := range rep.Breaking {
		if rep.Breaking[i].Name == ScopeRuntime {
			runtime = &rep.Breaking[i]
		}
	}
	require.NotNil(t, runtime)
	require.Equal(t, check.Fail, runtime.Status)
	kinds := map[ChangeKind][]string{}
	for _, c := range runtime.Changes {
		if c.Breaking && !c.Accepted {
			kinds[c.Change] = append(kinds[c.Change], c.Where()+" "+c.Path+" "+c.New)
		}
	}
	require.Equal(t, []string{"detail-ahsp.get 200 data.items[].koefisien data.items[].coefficient"}, kinds[FieldRenamed], "breaking-change check names the renamed field")
	require.Equal(t, []string{"detail-ahsp.get 200 data.items[].satuan "}, kinds[FieldRemoved], "breaking-change check names the dropped field")
}

func TestIntegrationNoRetryAfterFails(t *testing.T) {
	rep, sample := runSuiteAndBurst(t, "no-retry-after")
	require.Equal(t, check.Fail, rep.Status)
	require.Equal(t, check.Fail, sample.Status, "the sampler catches the 429s without Retry-After under load")
	for _, v := range sample.Violations {
		require.Equal(t, 429, v.Status)
		require.Equal(t, "Retry-After", v.Violations[len(v.Violations)-1].InstancePath)
	}
	// The missing header is the deployed app's quirk: a finding by id, in
	// both families.
	var ids []string
	for _, f := range rep.Findings {
		ids = append(ids, f.ID)
		require.Len(t, f.Steps, 2, "legacy and v2 both showed it")
	}
	require.Equal(t, []string{"rate-limit.no-retry-after"}, ids)
}

// The deployed search counts the rows it returns: alone, that defect is
// exactly the finding, in both families (the proof-matrix row of
// search-total-returned; the correct target above shows none).
func TestIntegrationSearchTotalReturnedFails(t *testing.T) {
	rep := runSuite(t, "search-total-returned")
	require.Equal(t, check.Fail, rep.Status)
	require.Len(t, rep.Findings, 1)
	f := rep.Findings[0]
	require.Equal(t, "search-ahsp.total-counts-returned", f.ID)
	require.ElementsMatch(t, []string{"legacy search.total", "v2 search.total"}, f.Steps)
	require.Contains(t, f.Evidence, "limit=1 answered total 1 with 1 result; limit=5 had returned 5 results")
}

// quirkRows are the proof-matrix rows of the deployed app's quirks: each
// defect alone, on the correct target otherwise (v2 deployed), is exactly
// its finding, seen by the listed steps of both families, with that
// evidence. TestIntegrationCorrectTargetPasses is the other half: no
// finding without the defect.
var quirkRows = []struct {
	defect, id string
	steps      []string
	evidence   string
	// also: the defect's other findings (id -> steps), when one defect is
	// two quirks.
	also map[string][]string
}{
	{"detail-lock-project-stamp", "detail-ahsp.save.lock-stamp-mismatch",
		[]string{"legacy detail.save.resend", "v2 detail.save.resend"}, "which detail-ahsp.get handed out after the save, answered 409 with server_updated_at", nil},
	{"naive-timestamp-500", "lock.naive-client-updated-at-500",
		[]string{"legacy detail.save.naive-stamp", "legacy harga.save.naive-stamp", "v2 detail.save.naive-stamp", "v2 harga.save.naive-stamp"},
		"with client_updated_at", nil},
	{"harga-string-id-refused", "harga-items.save.string-id-refused",
		[]string{"legacy harga.save.string-id", "v2 harga.save.string-id"}, "refused with 400: items[0].id \"Item ini tidak digunakan di Detail AHSP proyek\"; user_message \"⚠️ Data tersimpan sebagian", nil},
	{"read-method-quirks", "method.read-accepts-any-method",
		[]string{"legacy method.post.harga-list", "legacy method.post.rekap", "v2 method.post.harga-list", "v2 method.post.rekap"},
		"/harga-items/list/ answered 200", map[string][]string{"method.head-405": {"legacy method.head.tree", "v2 method.head.tree"}}},
	{"lax-number-parser", "volume-pekerjaan.save.comma-thousands-as-decimal",
		[]string{"legacy volume.save.comma-thousands", "v2 volume.save.comma-thousands"}, `quantity "1,000" accepted with 200 and listed as 1.000`,
		map[string][]string{"volume-pekerjaan.save.exponent-string-accepted": {"legacy volume.save.exponent", "v2 volume.save.exponent"}}},
	{"lax-number-parser-detail", "detail-ahsp.save.comma-thousands-as-decimal",
		[]string{"legacy detail.save.comma-thousands", "v2 detail.save.comma-thousands"}, `koefisien "1,000" accepted with 200 and stored as 1.000000`,
		map[string][]string{"detail-ahsp.save.exponent-string-accepted": {"legacy detail.save.exponent", "v2 detail.save.exponent"}}},
	{"lax-number-parser-harga", "harga-items.save.comma-thousands-as-decimal",
		[]string{"legacy harga.save.comma-thousands", "legacy harga.save.markup.comma-thousands", "v2 harga.save.comma-thousands", "v2 harga.save.markup.comma-thousands"},
		`harga_satuan "1,000" accepted with 200 and listed as 1.00`,
		map[string][]string{"harga-items.save.exponent-string-accepted": {"legacy harga.save.exponent", "legacy harga.save.markup.exponent", "v2 harga.save.exponent", "v2 harga.save.markup.exponent"}}},
}

func TestIntegrationQuirkDefectAlone(t *testing.T) {
	for _, row := range quirkRows {
		t.Run(row.defect, func(t *testing.T) {
			s, _ := upTargetLimits(t, roomyUpserts, row.defect)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := Run(ctx, s, Options{})
			require.NoError(t, err)
			var buf bytes.Buffer
			Render(&buf, rep)
			t.Log("\n" + buf.String())
			require.Equal(t, check.Fail, rep.Status)
			require.Len(t, rep.Findings, 1+len(row.also), "exactly the defect's findings")
			for _, f := range rep.Findings {
				if steps, ok := row.also[f.ID]; ok {
					require.ElementsMatch(t, steps, f.Steps)
					continue
				}
				require.Equal(t, row.id, f.ID)
				require.ElementsMatch(t, row.steps, f.Steps)
				require.Contains(t, f.Evidence, row.evidence)
			}
			for _, r := range rep.Results {
				if r.Finding == "" {
					require.NotEqual(t, check.Fail, r.Verdict, "%s %s: %v %s", r.Version, r.Step, r.Violations, r.Reason)
				}
			}
			for _, c := range rep.Breaking {
				require.Equal(t, check.Pass, c.Status, c.Name)
			}
		})
	}
}

// Proof-matrix rows of the upsert and health quirks (REAL-APP.md section 8
// items 14, 15, 26): each defect alone is exactly its finding, with the
// evidence the operators read; the correct target above shows none.
func TestIntegrationUpsertAndHealthQuirks(t *testing.T) {
	for _, tc := range []struct {
		defect, id string
		steps      []string
		evidence   string
	}{
		{"upsert-ordering-takeover", "list-pekerjaan.upsert.ordering-takeover", []string{"legacy upsert.takeover", "v2 upsert.takeover"},
			`^input new pekerjaan at ordering_index \d+ \(pekerjaan \d+'s, also in the body\) accepted with 200; 0 rows created, want 1 \(\d+ -> \d+ klasifikasi\+sub\+pekerjaan: the new row vanished into pekerjaan \d+\); pekerjaan \d+'s volume 7.000 deleted \(listed (none|0\.000)\)$`},
		{"upsert-failed-row-temp-ordering", "list-pekerjaan.upsert.failed-row-temp-ordering", []string{"legacy upsert.failed-row", "v2 upsert.failed-row"},
			`^input pekerjaan \d+ switched from \w+ to \w+ without ref_id answered 207; the failed row was left at ordering_index 10000\d\d \(was \d+\)$`},
		{"tree-cache-stale", "list-pekerjaan.tree.stale-after-upsert", []string{"legacy tree.stale-after-upsert", "v2 tree.stale-after-upsert"},
			`^after an upsert renamed klasifikasi \d+ from "[^"]+" to "[^"]+ \(diperbarui\)" \(207\), [1-8] of 8 unsearched tree reads served an older tree \(\d with the old name, \d without klasifikasi \d+\) while a search \(\?q=, not cached\) showed "[^"]+ \(diperbarui\)": the unsearched tree is served from a cache the upsert does not invalidate$`},
		{"health-session-simple", "health.session-skips-checks", []string{"legacy health.session"},
			`^GET /health/ with a session cookie answered 200 .*"mode\\":\\"simple\\".* without checking the database or cache \(anonymous /health/ checks both\): a health probe that sends a session cookie reports ok while the cache is down`},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			s, ctl := upTargetLimits(t, roomyUpserts, tc.defect)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := Run(ctx, s, Options{Cache: ctl})
			require.NoError(t, err)
			var buf bytes.Buffer
			Render(&buf, rep)
			t.Log("\n" + buf.String())
			require.Equal(t, check.Fail, rep.Status)
			require.Len(t, rep.Findings, 1, "%+v", rep.Findings)
			f := rep.Findings[0]
			require.Equal(t, tc.id, f.ID)
			require.ElementsMatch(t, tc.steps, f.Steps)
			require.Regexp(t, tc.evidence, f.Evidence)
			for _, r := range rep.Results {
				if r.Finding == "" {
					require.Contains(t, []check.Status{check.Pass}, r.Verdict, "%s %s: %v %s", r.Version, r.Step, r.Violations, r.Reason)
				}
			}
			for _, x := range rep.Restores {
				require.Equal(t, check.Pass, x.Status, "%s %v", x.Reason, x.Differences)
			}
		})
	}
}
