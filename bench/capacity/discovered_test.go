package capacity

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
)

// asDeployedMap is what discovery finds on the deployed app: list save
// limited 20/60 (stated in the 429 body), every other operation unlimited,
// except one it could not measure.
func asDeployedMap() *scan.PolicyMap {
	m := &scan.PolicyMap{Users: []string{"user1", "user2"}, Sent: 2400, Seconds: 4.2}
	for _, op := range api.Operations {
		p := scan.OpPolicy{Operation: op.Name, Version: api.Legacy, Category: op.Category, State: scan.OpUnlimited, Note: "no 429 within 801 requests"}
		switch op.Name {
		case "list-pekerjaan.save":
			p.State, p.Limit, p.WindowSeconds = scan.OpLimited, 20, 60
			p.LimitFrom, p.WindowFrom = "429 body details.max_requests", "429 body details.window_seconds"
		case "export.rincian-rab-csv":
			p.State, p.Note = scan.OpUnmeasured, "only 3 of 90 requests reached the operation"
		}
		m.Ops = append(m.Ops, p)
	}
	return m
}

// editMix is an editor's mix with the one limited operation in it.
func editMix(t *testing.T) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("edit.yaml", []byte("name: edit\nkind: constant\nusers: 4\nrate: 4\nduration: 1s\nmix:\n  - op: list-pekerjaan.save\n    weight: 1\n  - op: list-pekerjaan.upsert\n    weight: 1\n  - op: list-pekerjaan.tree\n    weight: 2\n"))
	require.NoError(t, err)
	return sc
}

func TestPolicyFromMap(t *testing.T) {
	p, err := PolicyFromMap("discovered", asDeployedMap(), nil, "")
	require.NoError(t, err)
	require.Equal(t, map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}}, p.Limits)
	require.Equal(t, []string{"list-pekerjaan.save"}, p.Operations)
	save, _ := p.entry("list-pekerjaan.save")
	require.Equal(t, OpLimit{Operation: "list-pekerjaan.save", Category: api.Write, State: OpLimited, Limit: api.Limit{Requests: 20, WindowSeconds: 60},
		From: FromDiscovered, Detail: "limit from 429 body details.max_requests, window from 429 body details.window_seconds"}, save)
	// Another write operation is not limited although its category is.
	vol, _ := api.Lookup("volume-pekerjaan.save")
	_, limited := p.limitOf(vol)
	require.False(t, limited, "volume save answered no 429: the write category's limit must not apply to it")
	unm, _ := p.entry("export.rincian-rab-csv")
	require.Equal(t, OpUnmeasured, unm.State)
	rincian, _ := api.Lookup("export.rincian-rab-csv")
	_, limited = p.limitOf(rincian)
	require.False(t, limited, "an unmeasured operation is not treated as limited")

	// A declared category fills what the map could not measure, and only that.
	p, err = PolicyFromMap("discovered", asDeployedMap(), map[api.Category]api.Limit{api.Export: {Requests: 10, WindowSeconds: 60}, api.Read: {Requests: 100, WindowSeconds: 60}}, "declared (--limits)")
	require.NoError(t, err)
	unm, _ = p.entry("export.rincian-rab-csv")
	require.Equal(t, FromDeclared, unm.From)
	require.Equal(t, api.Limit{Requests: 10, WindowSeconds: 60}, unm.Limit)
	tree, _ := p.entry("list-pekerjaan.tree")
	require.Equal(t, OpUnlimited, tree.State, "discovered unlimited wins over a declared read limit")

	_, err = PolicyFromMap("x.json", &scan.PolicyMap{}, nil, "")
	require.ErrorContains(t, err, "lists no operation")
}

// TestCheckUsersDiscovered: the users an editor's mix needs come from the
// one limited operation, not its category.
func TestCheckUsersDiscovered(t *testing.T) {
	p, err := PolicyFromMap("discovered", asDeployedMap(), nil, "")
	require.NoError(t, err)
	// list save is 1/4 of the mix: 2 users × 0.8 × 20/60 / 0.25 = 2.13/s;
	// 100/s needs ceil(100 × 0.25 / (0.8 × 20/60)) = 94 users.
	u := CheckUsers(editMix(t), p, 2, 2, 100)
	require.True(t, u.TooFew)
	require.InDelta(t, 2.1, u.SupportedRate, 0.001)
	require.Equal(t, 94, u.Needed)
	require.Equal(t, "list-pekerjaan.save", u.Binding)
	require.Contains(t, u.Note, "too few users")
	require.Contains(t, u.Note, "give at least 94 users")
	require.Contains(t, u.Note, "(20 per 60 s per user, discovered policy)")

	// With the category alone (declared write=20/60), upsert (bulk) is not
	// limited either, so the binding operation is the same.
	read, err := scenarios.Builtin("read-mix")
	require.NoError(t, err)
	u = CheckUsers(read, p, 2, 2, 100)
	require.False(t, u.TooFew)
	require.Contains(t, u.Note, "no operation of read-mix is limited")
}

func TestWithObserved(t *testing.T) {
	p, err := PolicyFromMap("discovered", asDeployedMap(), nil, "")
	require.NoError(t, err)
	same, changed := p.WithObserved([]Observed{{Operation: "list-pekerjaan.save", Limit: api.Limit{Requests: 20, WindowSeconds: 60}, Count: 9}})
	require.False(t, changed, "a 429 stating the known limit changes nothing")
	require.Equal(t, p.Source, same.Source)

	got, changed := p.WithObserved([]Observed{{Operation: "list-pekerjaan.upsert", Limit: api.Limit{Requests: 5, WindowSeconds: 300}, Count: 3}})
	require.True(t, changed)
	up, _ := got.entry("list-pekerjaan.upsert")
	require.Equal(t, From429Body, up.From)
	require.Equal(t, OpLimited, up.State)
	require.Contains(t, up.Detail, "3 answer(s) 429 during the ramp stated 5 per 300 s; was unlimited")
	require.Equal(t, api.Limit{Requests: 5, WindowSeconds: 300}, got.Limits[api.Bulk])
	require.Contains(t, got.Source, "429 answers")

	// The unknown policy learns from a 429 body alone.
	got, changed = Policy{Source: "unknown"}.WithObserved([]Observed{{Operation: "list-pekerjaan.save", Limit: api.Limit{Requests: 20, WindowSeconds: 60}, Count: 1}})
	require.True(t, changed)
	require.True(t, got.Known())
	u := CheckUsers(editMix(t), got, 2, 2, 100)
	require.Equal(t, 94, u.Needed)

	// A declared category limit restricted to list save turns per operation.
	decl := Policy{Source: "declared", Limits: map[api.Category]api.Limit{api.Write: {Requests: 20, WindowSeconds: 60}}, Operations: []string{"list-pekerjaan.save"}}
	got, changed = decl.WithObserved([]Observed{{Operation: "list-pekerjaan.upsert", Count: 2}})
	require.True(t, changed)
	vol, _ := got.entry("volume-pekerjaan.save")
	require.Equal(t, OpUnmeasured, vol.State, "outside the declared operations")
	up, _ = got.entry("list-pekerjaan.upsert")
	require.Contains(t, up.Detail, "no limit stated")
}

func TestLoadPolicyMap(t *testing.T) {
	dir := t.TempDir()
	m := asDeployedMap()
	scanJSON, err := json.Marshal(map[string]any{"policy_map": m})
	require.NoError(t, err)
	runJSON, err := json.Marshal(map[string]any{"schema_version": 1, "scan": map[string]any{"policy_map": m}})
	require.NoError(t, err)
	capJSON, err := json.Marshal(Report{Discovery: &Discovery{Map: m}})
	require.NoError(t, err)
	for name, b := range map[string][]byte{"scan.json": scanJSON, "summary.json": runJSON, "capacity.json": capJSON} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		got, err := LoadPolicyMap(path)
		require.NoError(t, err, name)
		require.Len(t, got.Ops, len(api.Operations), name)
	}
	path := filepath.Join(dir, "other.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"results": []}`), 0o644))
	_, err = LoadPolicyMap(path)
	require.ErrorContains(t, err, "no policy map in it")
	require.NoError(t, os.WriteFile(path, []byte(`nope`), 0o644))
	_, err = LoadPolicyMap(path)
	require.ErrorContains(t, err, "not JSON")
}

func TestPolicyText(t *testing.T) {
	p, err := PolicyFromMap("discovered (scan discovery)", asDeployedMap(), nil, "")
	require.NoError(t, err)
	var b bytes.Buffer
	p.WriteText(&b)
	out := b.String()
	require.Contains(t, out, "limits per operation (discovered (scan discovery)):")
	require.Regexp(t, `list-pekerjaan\.save +write +limited +20/60s +discovered +limit from 429 body details\.max_requests`, out)
	require.Regexp(t, `volume-pekerjaan\.save +write +unlimited +– +discovered +no 429 within 801 requests`, out)
	require.Regexp(t, `export\.rincian-rab-csv +export +unmeasured +– +– +unmeasured: only 3 of 90`, out)
}

// TestBounceNote: logged-in requests redirected to the login page say the
// sessions are not shared, in the report's text; none, no note.
func TestBounceNote(t *testing.T) {
	require.Empty(t, bounceNote(nil))
	require.Empty(t, bounceNote(&Outcome{Steps: []Step{{ErrorKinds: map[string]int64{"http 500": 3}}}}))
	o := &Outcome{Steps: []Step{{ErrorKinds: map[string]int64{"redirect to login": 3}}, {ErrorKinds: map[string]int64{"redirect to login": 2, "timeout": 1}}}}
	note := bounceNote(o)
	require.Contains(t, note, "5 logged-in request(s) were redirected to the login page")
	rep := &Report{Mode: "external", Results: []*Result{{Config: Config{Mix: "read-mix", Cache: AsDeployed}, Outcome: o, Notes: []string{note}}}}
	var b bytes.Buffer
	rep.WriteText(&b)
	require.Contains(t, b.String(), "read-mix as deployed: 5 logged-in request(s) were redirected to the login page: the deployment's workers do not share sessions")
}
