package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ahsp-harness/harness/check"
	"github.com/stretchr/testify/require"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource(SchemaID, doc))
	s, err := c.Compile(SchemaID)
	require.NoError(t, err)
	return s
}

// TestSchemaUpToDate fails when the committed schema drifts from the Go
// types; `go generate ./reports` regenerates it (so does -update, with the
// golden files).
func TestSchemaUpToDate(t *testing.T) {
	got, err := GenerateSchema()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("summary.schema.json", got, 0o644))
		return
	}
	require.Equal(t, string(got), string(Schema), "summary.schema.json is stale: run go generate ./reports")
}

func TestSummaryMatchesSchema(t *testing.T) {
	s := compileSchema(t)
	tests := []struct {
		name  string
		run   func() *Run
		valid bool
	}{
		{"full sample", sampleRun, true},
		{"empty sections", func() *Run {
			r := &Run{SchemaVersion: SchemaVersion, Meta: Meta{Tool: "harness"}}
			r.EvaluateGate(DefaultGate())
			return r
		}, true},
		{"wrong major version", func() *Run { r := sampleRun(); r.SchemaVersion = "1.0"; return r }, false},
		{"every outcome word", func() *Run {
			r := sampleRun()
			for i, st := range check.All {
				r.Gate.Rows[i%len(r.Gate.Rows)].Status = st
			}
			return r
		}, true},
		{"bad status", func() *Run { r := sampleRun(); r.Gate.Status = "maybe"; return r }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, WriteJSON(&b, tc.run()))
			inst, err := jsonschema.UnmarshalJSON(&b)
			require.NoError(t, err)
			err = s.Validate(inst)
			if tc.valid {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestSchemaRejectsUnknownField(t *testing.T) {
	s := compileSchema(t)
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, sampleRun()))
	var m map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &m))
	m["meta"].(map[string]any)["surprise"] = 1
	require.Error(t, s.Validate(m))
}
