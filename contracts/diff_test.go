package contracts

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ahsp-harness/harness/check"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func shapeOf(t *testing.T, doc string) *Shape {
	t.Helper()
	c := jsonschema.NewCompiler()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	require.NoError(t, err)
	require.NoError(t, c.AddResource("mem://s.json", v))
	s, err := c.Compile("mem://s.json")
	require.NoError(t, err)
	return Flatten(s)
}

type want struct {
	path     string
	change   ChangeKind
	breaking bool
}

func TestDiffShapes(t *testing.T) {
	obj := func(props string, required string, extra ...string) string {
		ap := ""
		if len(extra) > 0 {
			ap = `,"additionalProperties":` + extra[0]
		}
		return `{"type":"object","properties":{` + props + `},"required":[` + required + `]` + ap + `}`
	}
	cases := []struct {
		name     string
		kind     Kind
		old, new string
		want     []want
	}{
		{"identical", Response, obj(`"a":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"}`, `"a"`), nil},
		{"response field removed", Response,
			obj(`"a":{"type":"string"},"b":{"type":"integer"}`, `"a","b"`), obj(`"a":{"type":"string"}`, `"a"`),
			[]want{{"b", FieldRemoved, true}}},
		{"response optional field removed is still breaking", Response,
			obj(`"a":{"type":"string"},"b":{"type":"integer"}`, `"a"`), obj(`"a":{"type":"string"}`, `"a"`),
			[]want{{"b", FieldRemoved, true}}},
		{"response field added", Response,
			obj(`"a":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"},"b":{"type":"integer"}`, `"a","b"`),
			[]want{{"b", FieldAdded, false}}},
		{"subtree removed is reported once", Response,
			obj(`"m":`+obj(`"x":{"type":"string"},"y":{"type":"string"}`, `"x","y"`), `"m"`), obj(``, ``),
			[]want{{"m", FieldRemoved, true}}},
		{"response type changed", Response,
			obj(`"q":{"type":"string"}`, `"q"`), obj(`"q":{"type":"number"}`, `"q"`),
			[]want{{"q", TypeChanged, true}}},
		{"response type narrowed number to integer", Response,
			obj(`"q":{"type":"number"}`, `"q"`), obj(`"q":{"type":"integer"}`, `"q"`),
			[]want{{"q", TypeChanged, false}}},
		{"response becomes nullable", Response,
			obj(`"q":{"type":"integer"}`, `"q"`), obj(`"q":{"type":["integer","null"]}`, `"q"`),
			[]want{{"q", TypeChanged, true}}},
		{"response drops null via anyOf", Response,
			obj(`"q":{"anyOf":[{"type":"integer"},{"type":"null"}]}`, `"q"`), obj(`"q":{"type":"integer"}`, `"q"`),
			[]want{{"q", TypeChanged, false}}},
		{"request type widened", Request,
			obj(`"q":{"type":"string"}`, `"q"`), obj(`"q":{"type":["string","number"]}`, `"q"`),
			[]want{{"q", TypeChanged, false}}},
		{"request type narrowed", Request,
			obj(`"q":{"type":["string","number"]}`, `"q"`), obj(`"q":{"type":"string"}`, `"q"`),
			[]want{{"q", TypeChanged, true}}},
		{"request enum narrowed", Request,
			obj(`"k":{"enum":["TK","BHN","ALT","LAIN"]}`, `"k"`), obj(`"k":{"enum":["TK","BHN","ALT"]}`, `"k"`),
			[]want{{"k", EnumNarrowed, true}}},
		{"request enum widened", Request,
			obj(`"k":{"enum":["TK","BHN"]}`, `"k"`), obj(`"k":{"enum":["TK","BHN","ALT"]}`, `"k"`),
			[]want{{"k", EnumWidened, false}}},
		{"response enum widened", Response,
			obj(`"k":{"enum":["ref","custom"]}`, `"k"`), obj(`"k":{"enum":["ref","custom","ref_modified"]}`, `"k"`),
			[]want{{"k", EnumWidened, true}}},
		{"response enum narrowed", Response,
			obj(`"k":{"enum":["ref","custom"]}`, `"k"`), obj(`"k":{"const":"ref"}`, `"k"`),
			[]want{{"k", EnumNarrowed, false}}},
		{"request field newly required", Request,
			obj(`"a":{"type":"string"},"b":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"},"b":{"type":"string"}`, `"a","b"`),
			[]want{{"b", BecameRequired, true}}},
		{"new required request field", Request,
			obj(`"a":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"},"c":{"type":"string"}`, `"a","c"`),
			[]want{{"c", FieldAdded, true}}},
		{"new optional request field", Request,
			obj(`"a":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"},"c":{"type":"string"}`, `"a"`),
			[]want{{"c", FieldAdded, false}}},
		{"request field removed from closed object", Request,
			obj(`"a":{"type":"string"},"b":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"}`, `"a"`, "false"),
			[]want{{"b", FieldRemoved, true}, {"", BecameClosed, true}}},
		{"request field removed from open object", Request,
			obj(`"a":{"type":"string"},"b":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"}`, `"a"`),
			[]want{{"b", FieldRemoved, false}}},
		{"response field became optional", Response,
			obj(`"a":{"type":"string"}`, `"a"`), obj(`"a":{"type":"string"}`, ``),
			[]want{{"a", BecameOptional, true}}},
		{"decimal pattern changed", Response,
			obj(`"q":{"type":"string","pattern":"^-?\\d+\\.\\d{3}$"}`, `"q"`), obj(`"q":{"type":"string","pattern":"^-?\\d+\\.\\d{2}$"}`, `"q"`),
			[]want{{"q", PatternChanged, true}}},
		{"response pattern dropped", Response,
			obj(`"q":{"type":"string","pattern":"^\\d+$"}`, `"q"`), obj(`"q":{"type":"string"}`, `"q"`),
			[]want{{"q", PatternChanged, true}}},
		{"request pattern dropped", Request,
			obj(`"q":{"type":"string","pattern":"^\\d+$"}`, `"q"`), obj(`"q":{"type":"string"}`, `"q"`),
			[]want{{"q", PatternChanged, false}}},
		{"renamed field", Response,
			obj(`"saved_rows":{"type":"integer"},"x":{"type":"string"}`, `"saved_rows","x"`), obj(`"rows_saved":{"type":"integer"},"x":{"type":"string"}`, `"rows_saved","x"`),
			[]want{{"saved_rows", FieldRenamed, true}}},
		{"rename pairs the most similar name", Response,
			obj(`"satuan":{"type":"string"},"koefisien":{"type":"string"}`, `"satuan","koefisien"`), obj(`"coefficient":{"type":"string"}`, `"coefficient"`),
			[]want{{"koefisien", FieldRenamed, true}, {"satuan", FieldRemoved, true}}},
		{"rename pairs the most similar name whatever the order", Response,
			obj(`"aaa_koefisien":{"type":"string"},"zzz":{"type":"string"}`, `"aaa_koefisien","zzz"`), obj(`"zz":{"type":"string"}`, `"zz"`),
			[]want{{"zzz", FieldRenamed, true}, {"aaa_koefisien", FieldRemoved, true}}},
		{"array item field removed", Response,
			obj(`"items":{"type":"array","items":`+obj(`"pekerjaan_id":{"type":"integer"},"quantity":{"type":"string"}`, `"pekerjaan_id","quantity"`)+`}`, `"items"`),
			obj(`"items":{"type":"array","items":`+obj(`"pekerjaan_id":{"type":"integer"}`, `"pekerjaan_id"`)+`}`, `"items"`),
			[]want{{"items[].quantity", FieldRemoved, true}}},
		{"ref is followed", Response,
			`{"$defs":{"d":{"type":"string","pattern":"^\\d+\\.\\d{3}$"}},"type":"object","properties":{"q":{"$ref":"#/$defs/d"}},"required":["q"]}`,
			`{"$defs":{"d":{"type":"number"}},"type":"object","properties":{"q":{"$ref":"#/$defs/d"}},"required":["q"]}`,
			[]want{{"q", PatternChanged, true}, {"q", TypeChanged, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := DiffShapes(shapeOf(t, tc.old), shapeOf(t, tc.new), tc.kind)
			var gotW []want
			for _, c := range got {
				gotW = append(gotW, want{c.Path, c.Change, c.Breaking})
			}
			require.ElementsMatch(t, tc.want, gotW)
		})
	}
}

func TestDiffShapesAgainstObserved(t *testing.T) {
	declared := shapeOf(t, `{"type":"object","required":["ok","items","note"],"properties":{
		"ok":{"const":true},"note":{"type":"string"},"opt":{"type":"string"},
		"m":{"type":"object","additionalProperties":{"type":"integer"}},
		"items":{"type":"array","items":{"type":"object","required":["saved_rows","quantity"],"properties":{"saved_rows":{"type":"integer"},"quantity":{"type":"string"}}}}}}`)
	var bodies []any
	for _, b := range []string{
		`{"ok":true,"m":{"t1":3,"t2":4},"items":[{"rows_saved":1,"quantity":"1.000"}]}`,
		`{"ok":true,"items":[]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(b))
		require.NoError(t, err)
		bodies = append(bodies, v)
	}
	got := DiffShapes(declared, Infer(bodies, declared), Response)
	var gotW []want
	for _, c := range got {
		gotW = append(gotW, want{c.Path, c.Change, c.Breaking})
	}
	// "opt" was never seen but is optional: not judged. "m" keys fold into m.{}.
	require.ElementsMatch(t, []want{
		{"note", FieldRemoved, true},
		{"items[].saved_rows", FieldRenamed, true},
	}, gotW)
}

func schemaFS(files map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for name, body := range files {
		fs[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fs
}

const okBody = `{"type":"object","required":["ok","n"],"properties":{"ok":{"const":true},"n":{"type":"integer"}},"additionalProperties":false}`

func TestDiffSets(t *testing.T) {
	base := map[string]string{
		"v1/a.response.200.json": okBody,
		"v1/a.response.400.json": okBody,
		"v1/a.request.json":      `{"type":"object","properties":{"x":{"type":"string"}}}`,
		"v1/b.response.200.json": okBody,
		"v1/c.response.200.json": `{"x-media-type":"text/csv"}`,
	}
	cases := []struct {
		name   string
		change func(map[string]string)
		want   []want
	}{
		{"same", func(map[string]string) {}, nil},
		{"status removed", func(m map[string]string) { delete(m, "v1/a.response.400.json") }, []want{{"", StatusRemoved, true}}},
		{"status added", func(m map[string]string) { m["v1/b.response.207.json"] = okBody }, []want{{"", StatusAdded, false}}},
		{"operation removed", func(m map[string]string) { delete(m, "v1/b.response.200.json") }, []want{{"", OperationRemoved, true}}},
		{"operation added", func(m map[string]string) { m["v1/d.response.200.json"] = okBody }, []want{{"", OperationAdded, false}}},
		{"request body added", func(m map[string]string) { m["v1/b.request.json"] = `{"type":"object"}` }, []want{{"", RequestAdded, true}}},
		{"media type changed", func(m map[string]string) { m["v1/c.response.200.json"] = okBody }, []want{{"", MediaTypeChanged, true}}},
		{"request field newly required", func(m map[string]string) {
			m["v1/a.request.json"] = `{"type":"object","required":["x"],"properties":{"x":{"type":"string"}}}`
		}, []want{{"x", BecameRequired, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := map[string]string{}
			for k, v := range base {
				cur[k] = v
			}
			tc.change(cur)
			old, err := Load(schemaFS(base), "base")
			require.NoError(t, err)
			nw, err := Load(schemaFS(cur), "current")
			require.NoError(t, err)
			var gotW []want
			for _, c := range DiffSets(old, "v1", nw, "v1", nil) {
				gotW = append(gotW, want{c.Path, c.Change, c.Breaking})
			}
			require.ElementsMatch(t, tc.want, gotW)
		})
	}
}

func TestLoadRejectsBadNames(t *testing.T) {
	for name, file := range map[string]string{
		"no status":  "v1/a.response.json",
		"bad status": "v1/a.response.abc.json",
		"not http":   "v1/a.response.42.json",
		"no kind":    "v1/a.json",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(schemaFS(map[string]string{file: okBody}), "dir")
			require.ErrorContains(t, err, "schema file name")
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create %s", p)
	require.Equal(t, string(want), string(got))
}

func TestCompatJudgeAndRender(t *testing.T) {
	cmp := Comparison{Name: "baseline", Old: "testdata/base", New: "embedded", Changes: []Change{
		{Operation: "detail-ahsp.save", Kind: Response, Status: 200, Path: "data.saved_rows", Change: FieldRenamed, Old: "data.saved_rows", New: "data.rows_saved", Breaking: true},
		{Operation: "rekap", Kind: Response, Status: 200, Path: "data.meta.rounding_base", Change: FieldRemoved, Old: "number required", Breaking: true},
		{Operation: "search-ahsp", Kind: Response, Status: 200, Path: "message", Change: FieldAdded, New: "string required"},
		{Operation: "volume-pekerjaan.save", Kind: Request, Path: "items[].quantity", Change: TypeChanged, Old: "number|string", New: "string", Breaking: true},
	}}
	compat, err := ParseCompat([]byte(`version: 1
accepted:
  - scope: baseline
    operation: rekap
    path: data.meta.*
    change: field-removed
    reason: rounding moved to the export
`), "compat.yaml")
	require.NoError(t, err)
	cmp.Judge(compat, ScopeBaseline)
	require.Equal(t, 2, cmp.Unaccepted)
	require.Equal(t, "fail", string(cmp.Status))
	var buf bytes.Buffer
	RenderComparison(&buf, cmp)
	golden(t, "comparison.golden", buf.Bytes())
}

func TestParseCompatErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"no reason", "accepted:\n  - change: field-removed\n    path: data.x\n", "compat.yaml:2: accepted[0]: reason is empty"},
		{"bad change", "accepted:\n  - change: field-gone\n    path: data.x\n    reason: x\n", `compat.yaml:2: accepted[0]: change "field-gone"`},
		{"bad scope", "accepted:\n  - scope: prod\n    change: field-removed\n    path: data.x\n    reason: x\n", `scope "prod"`},
		{"unknown field", "accepted:\n  - reasn: x\n", "compat.yaml"},
		{"only a reason accepts everything", "version: 1\naccepted:\n  - path: data.x\n    change: field-removed\n    reason: ok\n  - reason: we said so\n",
			"compat.yaml:6: accepted[1]: change is empty: name the kind of change"},
		{"field change without a path", "accepted:\n  - operation: rekap\n    change: type-changed\n    reason: x\n",
			`compat.yaml:2: accepted[0]: path "": a type-changed entry must name the field path`},
		{"field change with a wildcard path", "accepted:\n  - path: \"**\"\n    change: field-removed\n    reason: x\n",
			`path "**": a field-removed entry must name the field path`},
		{"operation change without an operation", "accepted:\n  - change: operation-removed\n    reason: x\n",
			`operation "": a operation-removed entry must name the operation`},
		{"operation change with a path", "accepted:\n  - operation: rekap\n    path: data\n    change: status-removed\n    reason: x\n",
			`path "data": a status-removed change has no field path`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCompat([]byte(tc.doc), "compat.yaml")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestEmbeddedCompatValid: the shipped compat.yaml passes its own rules.
func TestEmbeddedCompatValid(t *testing.T) {
	c, err := LoadCompat(Embedded, "compat.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, c.Accepted)
}

func TestRenderReport(t *testing.T) {
	rep := &Report{Target: "http://127.0.0.1:8000", Duration: 2345 * time.Millisecond,
		Results: []Result{
			{Version: "v1", Step: "rekap", Operation: "rekap", Method: "GET", Path: "/detail_project/api/v1/project/1/rekap/", WantStatus: 200, Status: 200, Verdict: check.Pass, Schema: "v1/rekap.response.200.json"},
			{Version: "v2", Step: "rate-limited", Operation: "export.rekap-rab-csv", Method: "GET", Path: "/detail_project/api/v2/project/2/export/rekap-rab/csv/", WantStatus: 429, Status: 429,
				Verdict: check.Fail, Schema: "v2/export.rekap-rab-csv.response.429.json", Reason: "429 after 9 calls",
				Violations: []Violation{{Where: "header", InstancePath: "Retry-After", Message: "missing: a 429 response must tell the client when to retry"}}},
			{Version: "v2", Step: "volume.list", Operation: "volume-pekerjaan.list", Method: "GET", Path: "/detail_project/api/v2/project/2/volume-pekerjaan/list/", WantStatus: 200, Status: 200,
				Verdict: check.Fail, Schema: "v2/volume-pekerjaan.list.response.200.json",
				Violations: []Violation{
					{Where: "body", InstancePath: "/data/items/0/quantity", SchemaPath: "common/defs.json#/$defs/decimal3/type", Message: "got number, want string"},
					{Where: "body", InstancePath: "/data/items/1/quantity", SchemaPath: "common/defs.json#/$defs/decimal3/type", Message: "got number, want string"},
					{Where: "body", InstancePath: "/data/items/12/quantity", SchemaPath: "common/defs.json#/$defs/decimal3/type", Message: "got number, want string"},
				}},
		},
		Equivalence: []Equivalence{
			{Step: "rekap", Operation: "rekap", Status: check.Pass},
			{Step: "same-project.detail-ahsp.get", Operation: "detail-ahsp.get", SameProject: true, Status: check.Fail, Differences: []Difference{
				{Path: "data.pekerjaan.satuan_kerja", V1Path: "pekerjaan.satuan", What: "renamed", V1: `"m3"`, V2: `"m3"`},
				{Path: "data.pekerjaan.detail_ready", V1Path: "pekerjaan.detail_ready", What: "missing in v2", V1: "true"},
				{Path: "data.items[0].coefficient", V1Path: "items[0].koefisien", What: "renamed", V1: `"0.750000"`, V2: `"0.750000"`},
				{Path: "data.items[1].coefficient", V1Path: "items[1].koefisien", What: "renamed", V1: `"0.025000"`, V2: `"0.025000"`},
			}},
		},
		Breaking: []Comparison{{Name: ScopeRuntime, Old: "embedded v1 schemas", New: "observed v2 responses", Status: check.Fail, Unaccepted: 1, Changes: []Change{
			{Operation: "detail-ahsp.get", Kind: Response, Status: 200, Path: "data.pekerjaan.detail_ready", Change: FieldRemoved, Old: "boolean required", Breaking: true},
		}}},
		Sample: &SampleReport{Status: check.Fail, Observed: 1200, Validated: 80, Failed: 1,
			ByStatus: map[string]int{"list-pekerjaan.upsert v2 200": 5, "list-pekerjaan.upsert v2 429": 1194, "list-pekerjaan.upsert v2 500": 1},
			Violations: []SampleViolation{{Operation: "list-pekerjaan.upsert", Version: "v2", Status: 500, ContentType: "text/html",
				Violations: []Violation{{Where: "status", InstancePath: "500", Message: "status 500 is not in the v2 contract of list-pekerjaan.upsert"}}}}},
		Notes: []string{"503 fail-closed contract not exercised at runtime"},
	}
	rep.finish()
	require.Equal(t, check.Fail, rep.Status)
	var buf bytes.Buffer
	Render(&buf, rep)
	golden(t, "report.golden", buf.Bytes())
}

// FuzzDiffIdentity: any schema that compiles flattens without hanging and
// shows no change against itself.
func FuzzDiffIdentity(f *testing.F) {
	set, err := LoadEmbedded()
	require.NoError(f, err)
	for _, k := range set.Keys()[:20] {
		e, _ := set.Get(k)
		raw, err := Embedded.ReadFile("schemas/" + e.File)
		require.NoError(f, err)
		f.Add(string(raw))
	}
	f.Add(`{"type":"object","properties":{"a":{"$ref":"#"},"b":{"$ref":"#"},"c":{"items":{"$ref":"#"}}}}`)
	f.Add(`{"anyOf":[{"type":"string"},{"enum":[1,null]}],"oneOf":[{"const":"x"}],"allOf":[{"pattern":"^a"}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		c := jsonschema.NewCompiler()
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			return
		}
		if c.AddResource("mem://f.json", v) != nil {
			return
		}
		s, err := c.Compile("mem://f.json")
		if err != nil {
			return
		}
		for _, kind := range []Kind{Request, Response} {
			if cs := DiffShapes(Flatten(s), Flatten(s), kind); len(cs) > 0 {
				t.Fatalf("schema differs from itself: %v", cs)
			}
		}
	})
}

func TestRecursiveSchemaFlattens(t *testing.T) {
	sh := shapeOf(t, `{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}}}`)
	require.Contains(t, sh.Paths(), "children[]")
	require.Less(t, len(sh.Paths()), 10)
}
