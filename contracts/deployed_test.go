package contracts

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
	"github.com/ahsp-harness/harness/target/stack/stacktest"
)

// On the deployed app's profiles (REAL-APP.md: 4 workers, per-process cache
// and sessions or Redis, Connection: close, only the legacy family, the
// quirks) the section reports exactly: v1 and v2 not deployed, the quirks,
// and nothing else; the scratch projects are restored.
func TestIntegrationAsDeployed(t *testing.T) {
	for _, profile := range []string{"as-deployed", "as-deployed-redis"} {
		t.Run(profile, func(t *testing.T) { asDeployed(t, profile) })
	}
}

func asDeployed(t *testing.T, profile string) {
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Profile: profile, Seed: stack.Seed{Users: 3, Projects: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, s, Options{})
	require.NoError(t, err)
	var buf bytes.Buffer
	Render(&buf, rep)
	t.Log("\n" + buf.String())

	fams := map[string]string{}
	for _, f := range rep.Families {
		fams[f.Version] = string(f.Status) + " " + f.Reason
	}
	require.Contains(t, fams["legacy"], "pass deployed")
	require.Contains(t, fams["v1"], "skip not deployed")
	require.Contains(t, fams["v2"], "skip not deployed")
	var ids []string
	for _, f := range rep.Findings {
		require.Equal(t, check.Fail, f.Status, f.ID)
		ids = append(ids, f.ID)
	}
	require.ElementsMatch(t, []string{
		"export.anonymous-401",
		"export.rekap-rab-csv.bom-per-line",
		"export.rekap-rab-csv.foreign-project-500",
		"export.rincian-rab-csv.lf-no-bom",
		"health.session-skips-checks",
		"list-pekerjaan.save.blank-name-accepted",
		"list-pekerjaan.save.keeps-empty-groups",
		"list-pekerjaan.upsert.empty-list-wipes",
		"list-pekerjaan.upsert.failed-row-temp-ordering",
		"list-pekerjaan.upsert.negative-id-wipes",
		"list-pekerjaan.upsert.ordering-takeover",
		"rate-limit.no-retry-after",
		"rate-limit.retry-after-full-window",
		"search-ahsp.total-counts-returned",
		// Appended per quirk at the end (order does not matter).
		"detail-ahsp.save.lock-stamp-mismatch",
		"lock.naive-client-updated-at-500",
		"harga-items.save.string-id-refused",
		"method.head-405",
		"method.read-accepts-any-method",
		"volume-pekerjaan.save.comma-thousands-as-decimal",
		"volume-pekerjaan.save.exponent-string-accepted",
		// Quirk 16.
		"list-pekerjaan.tree.stale-after-upsert",
		// Quirk 24 on detail and harga save (issue 14 detail).
		"detail-ahsp.save.comma-thousands-as-decimal",
		"detail-ahsp.save.exponent-string-accepted",
		"harga-items.save.comma-thousands-as-decimal",
		"harga-items.save.exponent-string-accepted",
	}, ids)
	// Nothing else: every other response passes, nothing is compared (no
	// v2), the restores are proven.
	for _, r := range rep.Results {
		if r.Finding != "" {
			continue
		}
		require.Equal(t, check.Pass, r.Verdict, "%s %s: %v %s", r.Version, r.Step, r.Violations, r.Reason)
	}
	require.Empty(t, rep.Equivalence)
	require.NotEmpty(t, rep.Restores)
	for _, x := range rep.Restores {
		require.Equal(t, check.Pass, x.Status, "%s %v", x.Reason, x.Differences)
	}
	for _, c := range rep.Breaking {
		require.Equal(t, check.Pass, c.Status, c.Name)
	}
	require.Equal(t, check.Fail, rep.Status)
	if t.Failed() {
		t.Log(s.Logs(ctx))
	}

	// Accepting every quirk by id in compat.yaml leaves the section passing.
	var y strings.Builder
	y.WriteString("version: 1\naccepted:\n")
	for _, id := range ids {
		y.WriteString("  - finding: " + id + "\n    reason: the deployed app does this today\n")
	}
	base, err := LoadCompat(Embedded, "compat.yaml")
	require.NoError(t, err)
	extra, err := ParseCompat([]byte(y.String()), "test")
	require.NoError(t, err)
	extra.Accepted = append(extra.Accepted, base.Accepted...)
	for _, f := range findings(rep.Results, extra) {
		require.Equal(t, check.Pass, f.Status, f.ID)
	}
}

// recorder is a reverse proxy in front of the target that keeps every
// request it forwards.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

// noScratch hands out the stack's users with no project declared scratch,
// through the recording proxy.
type noScratch struct {
	s   *stack.Stack
	url string
}

func (n noScratch) BaseURL() string { return n.url }
func (n noScratch) Credentials() []client.Credential {
	var out []client.Credential
	for _, c := range n.s.Credentials() {
		c.Scratch = nil
		out = append(out, c)
	}
	return out
}

// No writing request reaches a project that is not declared scratch: only
// GETs (and the login form) pass the proxy, and the writing steps are skips
// that say why.
func TestIntegrationNoWritesWithoutScratch(t *testing.T) {
	s := stacktest.Up(t, stack.Spec{Mode: stack.ModeLocal, Workers: 1, Cache: stack.CacheRedis, Seed: stack.Seed{Users: 3, Projects: 1}})
	u, err := url.Parse(s.BaseURL())
	require.NoError(t, err)
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, noScratch{s, srv.URL}, Options{})
	require.NoError(t, err)
	var buf bytes.Buffer
	Render(&buf, rep)
	t.Log("\n" + buf.String())
	var writes []string
	for _, m := range rec.seen {
		if !strings.HasPrefix(m, "GET ") && m != "POST /accounts/login/" {
			writes = append(writes, m)
		}
	}
	sort.Strings(writes)
	require.Empty(t, writes, "writing requests reached a project not declared scratch")
	skipped := 0
	for _, r := range rep.Results {
		if r.Class == Writing {
			require.Equal(t, check.Skip, r.Verdict, r.Step)
			require.Contains(t, r.Reason, "not declared scratch")
			skipped++
		}
	}
	require.Greater(t, skipped, 5)
	require.Empty(t, rep.Restores)
	require.NotEqual(t, check.Fail, rep.Status, "read-only steps on the correct target pass")
}

func TestPlanListsEveryStepWithItsClass(t *testing.T) {
	var buf bytes.Buffer
	RenderPlan(&buf, Plan(), "beton")
	out := buf.String()
	for _, p := range plan {
		require.Contains(t, out, p.Step)
	}
	require.Regexp(t, `writing\s+script\s+save.tree\s+POST /detail_project/api/project/\{pid\}/list-pekerjaan/save/`, out)
	require.Regexp(t, `read-only\s+script\s+tree.initial\s+GET /detail_project/api/project/\{pid\}/list-pekerjaan/tree/`, out)
	require.Regexp(t, `writing\s+upsert.failed-row\s+tree.stale-after-upsert\s+GET /detail_project/api/project/\{pid\}/list-pekerjaan/tree/`, out)
	require.Regexp(t, `read-only\s+tree\s+tree.read.search\s+GET /detail_project/api/project/\{pid\}/list-pekerjaan/tree/\?q=\{kode\}`, out)
	require.Regexp(t, `read-only\s+discovery\s+family.v2\s+GET /detail_project/api/v2/project/\{pid\}/`, out)
	require.Contains(t, out, "?q=beton&limit=5")
	// Every step that sends a body to a POST operation is writing.
	for _, p := range plan {
		if p.Method == "POST" {
			require.Equal(t, Writing, p.Class, p.Step)
		}
	}
	require.Panics(t, func() { planned("no-such-step") })
}
