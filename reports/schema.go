package reports

import (
	_ "embed"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Schema is summary.schema.json, the JSON Schema (draft 2020-12) of Run.
// It is generated from the Go types (GenerateSchema) so it cannot drift: a
// test fails when the committed file differs from what the types say, and
// `go generate ./reports` rewrites it.
//
//go:embed summary.schema.json
var Schema []byte

//go:generate go run ./internal/schemagen -o summary.schema.json

// SchemaID is the $id of summary.schema.json.
const SchemaID = "https://github.com/ahsp-harness/harness/reports/summary.schema.json"

// GenerateSchema derives the JSON Schema of Run from its Go types and json tags.
func GenerateSchema() ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	root := g.schemaFor(reflect.TypeOf(Run{}), true).(map[string]any)
	// The root is Run itself, not a $ref, so readers see its shape first.
	delete(g.defs, "Run")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "harness run summary (schema_version " + SchemaVersion + ")"
	root["description"] = "The result model of one harness run: summary.json. Generated from reports.Run."
	props := root["properties"].(map[string]any)
	props["schema_version"] = map[string]any{"type": "string", "pattern": "^" + strings.Split(SchemaVersion, ".")[0] + `\.[0-9]+$`}
	root["$defs"] = g.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

type schemaGen struct {
	defs map[string]any
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	statusType   = reflect.TypeOf(check.Status(""))
)

func defName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "reports" {
		return t.Name()
	}
	return pkg + "." + t.Name()
}

// schemaFor returns the schema of t; named structs go to $defs and are
// referenced, except the root.
func (g *schemaGen) schemaFor(t reflect.Type, root bool) any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case durationType:
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	case statusType:
		enum := make([]string, len(check.All))
		for i, st := range check.All {
			enum[i] = string(st)
		}
		return map[string]any{"type": "string", "enum": enum}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return map[string]any{"anyOf": []any{g.schemaFor(t.Elem(), false), map[string]any{"type": "null"}}}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": []string{"string", "null"}, "contentEncoding": "base64"}
		}
		// nil slices encode as null.
		return map[string]any{"type": []string{"array", "null"}, "items": g.schemaFor(t.Elem(), false)}
	case reflect.Map:
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": g.schemaFor(t.Elem(), false)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := defName(t)
		if !root {
			if _, ok := g.defs[name]; !ok {
				g.defs[name] = true // placeholder against recursion
				g.defs[name] = g.object(t)
			}
			return map[string]any{"$ref": "#/$defs/" + name}
		}
		return g.object(t)
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	g.fields(t, props, &required)
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schemaFor(f.Type, false)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
}
