package contracts

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Embedded holds the contract schemas and the mapping and compat files, so
// the harness binary needs nothing on disk.
//
//go:embed schemas mapping.yaml compat.yaml
var Embedded embed.FS

// schemaBase is the identifier under which schema files are registered. The
// .invalid TLD never resolves and no loader is installed for it, so a broken
// $ref fails compilation instead of reaching out anywhere.
const schemaBase = "https://contracts.invalid/"

// Kind says whether a schema describes a request body or a response.
type Kind string

// Schema kinds.
const (
	Request  Kind = "request"
	Response Kind = "response"
)

// Key names one contract: a request body (Status 0) or the response of one
// status code, of one operation in one schema version ("v1" or "v2").
type Key struct {
	Version   string `json:"version"`
	Operation string `json:"operation"`
	Kind      Kind   `json:"kind"`
	Status    int    `json:"status,omitempty"`
}

func (k Key) String() string {
	if k.Kind == Request {
		return fmt.Sprintf("%s %s request", k.Version, k.Operation)
	}
	return fmt.Sprintf("%s %s %d", k.Version, k.Operation, k.Status)
}

// Entry is one loaded contract.
type Entry struct {
	Key
	// File is the schema's path inside the set ("v1/rekap.response.200.json").
	File string
	// MediaTypes are ["application/json"] unless the schema declares others
	// with "x-media-type" (a string or a list: CSV exports, Django's HTML 404
	// page). Bodies of other media types are checked by media type only.
	MediaTypes []string
	Schema     *jsonschema.Schema
}

// JSONMediaType is the media type of schema-validated bodies.
const JSONMediaType = "application/json"

// JSON reports whether the entry allows a JSON body (validated by the schema).
func (e *Entry) JSON() bool { return contains(e.MediaTypes, JSONMediaType) }

// Allows reports whether a Content-Type value is one of the entry's media types.
func (e *Entry) Allows(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return contains(e.MediaTypes, mt)
}

// Set is a compiled set of contract schemas laid out as
// <version>/<operation>.request.json and <version>/<operation>.response.<status>.json,
// with shared definitions under common/.
type Set struct {
	// Source says where the set came from ("embedded" or a directory).
	Source  string
	entries map[Key]*Entry
}

// LoadEmbedded compiles the schemas built into the binary.
func LoadEmbedded() (*Set, error) {
	sub, err := fs.Sub(Embedded, "schemas")
	if err != nil {
		return nil, fmt.Errorf("open embedded schemas: %w", err)
	}
	return Load(sub, "embedded")
}

// Load compiles every schema in fsys (the directory that holds v1/, v2/ and
// common/). source names it in messages.
func Load(fsys fs.FS, source string) (*Set, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	type file struct {
		key Key
		rel string
		doc any
	}
	var files []file
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("parse %s/%s: %w", source, p, err)
		}
		if err := c.AddResource(schemaBase+p, doc); err != nil {
			return fmt.Errorf("add %s/%s: %w", source, p, err)
		}
		dir := path.Dir(p)
		if dir == "common" || dir == "." {
			return nil
		}
		key, err := parseName(dir, path.Base(p))
		if err != nil {
			return fmt.Errorf("%s/%s: %w", source, p, err)
		}
		files = append(files, file{key, p, doc})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load schemas from %s: %w", source, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load schemas from %s: no <version>/<operation>.response.<status>.json files found", source)
	}
	s := &Set{Source: source, entries: map[Key]*Entry{}}
	for _, f := range files {
		sch, err := c.Compile(schemaBase + f.rel)
		if err != nil {
			return nil, fmt.Errorf("compile %s/%s: %w", source, f.rel, err)
		}
		e := &Entry{Key: f.key, File: f.rel, MediaTypes: []string{JSONMediaType}, Schema: sch}
		if m, ok := f.doc.(map[string]any); ok {
			switch mt := m["x-media-type"].(type) {
			case string:
				e.MediaTypes = []string{mt}
			case []any:
				e.MediaTypes = nil
				for _, x := range mt {
					if s, ok := x.(string); ok {
						e.MediaTypes = append(e.MediaTypes, s)
					}
				}
			}
			sort.Strings(e.MediaTypes)
		}
		s.entries[f.key] = e
	}
	return s, nil
}

// parseName reads "<op>.request.json" or "<op>.response.<status>.json".
func parseName(version, name string) (Key, error) {
	base := strings.TrimSuffix(name, ".json")
	if op, ok := strings.CutSuffix(base, ".request"); ok {
		return Key{Version: version, Operation: op, Kind: Request}, nil
	}
	i := strings.LastIndex(base, ".response.")
	if i <= 0 {
		return Key{}, fmt.Errorf("schema file name %q: want <operation>.request.json or <operation>.response.<status>.json", name)
	}
	st, err := strconv.Atoi(base[i+len(".response."):])
	if err != nil || st < 100 || st > 599 {
		return Key{}, fmt.Errorf("schema file name %q: status %q is not an HTTP status code", name, base[i+len(".response."):])
	}
	return Key{Version: version, Operation: base[:i], Kind: Response, Status: st}, nil
}

// Get returns the contract for key.
func (s *Set) Get(k Key) (*Entry, bool) {
	e, ok := s.entries[k]
	return e, ok
}

// Response returns the response contract of op in version for status.
func (s *Set) Response(version, op string, status int) (*Entry, bool) {
	return s.Get(Key{Version: version, Operation: op, Kind: Response, Status: status})
}

// Keys returns every contract key, sorted by version, operation, kind, status.
func (s *Set) Keys() []Key {
	out := make([]Key, 0, len(s.entries))
	for k := range s.entries {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Status < b.Status
	})
	return out
}

// Statuses returns the declared response status codes of op in version, sorted.
func (s *Set) Statuses(version, op string) []int {
	var out []int
	for k := range s.entries {
		if k.Version == version && k.Operation == op && k.Kind == Response {
			out = append(out, k.Status)
		}
	}
	sort.Ints(out)
	return out
}

// Operations returns the operations that have contracts in version, sorted.
func (s *Set) Operations(version string) []string {
	seen := map[string]bool{}
	for k := range s.entries {
		if k.Version == version {
			seen[k.Operation] = true
		}
	}
	return sortedKeys(seen)
}

// Versions returns the schema versions in the set, sorted.
func (s *Set) Versions() []string {
	seen := map[string]bool{}
	for k := range s.entries {
		seen[k.Version] = true
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Violation is one way a message broke its contract.
type Violation struct {
	// Where: "status", "header" or "body".
	Where string `json:"where"`
	// InstancePath is the JSON pointer of the offending value ("/data/items/0/quantity"),
	// or the header name.
	InstancePath string `json:"instance_path,omitempty"`
	// SchemaPath is the schema file and keyword ("v1/rekap.response.200.json#/properties/rows/items/required").
	SchemaPath string `json:"schema_path,omitempty"`
	Message    string `json:"message"`
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Where)
	if v.InstancePath != "" {
		b.WriteString(" " + v.InstancePath)
	}
	b.WriteString(": " + v.Message)
	if v.SchemaPath != "" {
		b.WriteString(" [" + v.SchemaPath + "]")
	}
	return b.String()
}

var printer = message.NewPrinter(language.English)

// ValidateBody checks body against the entry's schema. A body that is not
// JSON is one violation; a contract without JSON (CSV, HTML) checks nothing here.
func (e *Entry) ValidateBody(body []byte) []Violation {
	if !e.JSON() {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []Violation{{Where: "body", SchemaPath: e.File, Message: "body is not JSON: " + snippet(body)}}
	}
	return e.ValidateValue(inst)
}

// ValidateValue checks a decoded instance (from jsonschema.UnmarshalJSON or
// encoding/json with UseNumber) against the entry's schema.
func (e *Entry) ValidateValue(inst any) []Violation {
	err := e.Schema.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []Violation{{Where: "body", SchemaPath: e.File, Message: err.Error()}}
	}
	var out []Violation
	var walk func(*jsonschema.ValidationError)
	walk = func(v *jsonschema.ValidationError) {
		if len(v.Causes) > 0 {
			for _, c := range v.Causes {
				walk(c)
			}
			return
		}
		out = append(out, Violation{
			Where:        "body",
			InstancePath: pointer(v.InstanceLocation),
			SchemaPath:   strings.TrimPrefix(v.SchemaURL, schemaBase) + pointer(v.ErrorKind.KeywordPath()),
			Message:      v.ErrorKind.LocalizedString(printer),
		})
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].InstancePath < out[j].InstancePath })
	return out
}

func pointer(tokens []string) string {
	if len(tokens) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// snippet is the start of a body for messages, JSON-quoted so it stays on one line.
func snippet(b []byte) string {
	const max = 120
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
