package contracts

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Scopes of compat entries: which comparison an accepted difference belongs to.
const (
	ScopeV1V2     = "v1-v2"    // declared v1 schemas against declared v2 schemas
	ScopeRuntime  = "runtime"  // declared v1 schemas against observed v2 responses
	ScopeBaseline = "baseline" // a baseline directory against the current schemas
)

// Compat is compat.yaml: breaking differences accepted on purpose, each with
// a reason. Every other breaking difference fails the check.
type Compat struct {
	Version  int           `yaml:"version"`
	Accepted []CompatEntry `yaml:"accepted"`
}

// CompatEntry accepts the changes it matches: change and, for a field
// change, path are required (ParseCompat), unless the entry names a finding
// (one quirk of the deployment by its id, see Quirks) and nothing else; scope, operation, kind and status
// narrow it further and match anything when empty. Operation and path are
// globs ("*" one segment, "**" any).
type CompatEntry struct {
	Scope     string     `yaml:"scope"`
	Operation string     `yaml:"operation"`
	Kind      Kind       `yaml:"kind"`
	Status    int        `yaml:"status"`
	Path      string     `yaml:"path"`
	Change    ChangeKind `yaml:"change"`
	// Finding accepts one quirk of the deployment by its stable id (see
	// Quirks); such an entry accepts nothing else.
	Finding string `yaml:"finding"`
	Reason  string `yaml:"reason"`
}

var knownChanges = map[ChangeKind]bool{
	OperationRemoved: true, OperationAdded: true, StatusRemoved: true, StatusAdded: true,
	MediaTypeChanged: true, RequestRemoved: true, RequestAdded: true, FieldRemoved: true,
	FieldAdded: true, FieldRenamed: true, TypeChanged: true, EnumNarrowed: true, EnumWidened: true,
	BecameRequired: true, BecameOptional: true, PatternChanged: true, BecameClosed: true,
}

// LoadCompat reads compat.yaml from fsys ("compat.yaml" in the embedded files
// or a file on disk through os.DirFS).
func LoadCompat(fsys fs.FS, name string) (*Compat, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read compat file: %w", err)
	}
	return ParseCompat(raw, name)
}

// LoadCompatFile reads a compat file from disk.
func LoadCompatFile(path string) (*Compat, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read compat file: %w", err)
	}
	return ParseCompat(raw, path)
}

// operationLevel are the change kinds of a whole operation, status or body:
// they have no field path, so an entry accepting one names its operation.
var operationLevel = map[ChangeKind]bool{
	OperationRemoved: true, OperationAdded: true, StatusRemoved: true, StatusAdded: true,
	MediaTypeChanged: true, RequestRemoved: true, RequestAdded: true,
}

// ParseCompat decodes and checks a compat file; name is used in errors.
// Every entry names the kind of change it accepts (change) and where: the
// field path for field changes, the operation for operation-level ones
// (operation-*, status-*, media-type-changed, request-body-*); a glob of
// wildcards only is not a name. An entry that names neither would accept
// every breaking change, so it is an error.
func ParseCompat(raw []byte, name string) (*Compat, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	var c Compat
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err != io.EOF {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	lines := entryLines(&root)
	for i, e := range c.Accepted {
		where := fmt.Sprintf("%s: accepted[%d]", name, i)
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d: accepted[%d]", name, lines[i], i)
		}
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	return &c, nil
}

// entryLines are the lines of the accepted: entries, in order.
func entryLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "accepted" || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		var out []int
		for _, n := range m.Content[i+1].Content {
			out = append(out, n.Line)
		}
		return out
	}
	return nil
}

func (e CompatEntry) check() error {
	if e.Finding != "" {
		// A quirk of the deployment, accepted by its stable id.
		if _, ok := Quirks[e.Finding]; !ok {
			return fmt.Errorf("finding %q: want one of %v", e.Finding, sortedKeys(quirkIDs()))
		}
		if e.Scope != "" || e.Operation != "" || e.Kind != "" || e.Status != 0 || e.Path != "" || e.Change != "" {
			return fmt.Errorf("an entry with finding accepts that finding only: drop scope, operation, kind, status, path and change")
		}
		if e.Reason == "" {
			return fmt.Errorf("reason is empty: every accepted finding needs a reason")
		}
		return nil
	}
	switch e.Scope {
	case "", ScopeV1V2, ScopeRuntime, ScopeBaseline:
	default:
		return fmt.Errorf("scope %q: want %s, %s or %s", e.Scope, ScopeV1V2, ScopeRuntime, ScopeBaseline)
	}
	kinds := sortedKeys(stringKeys(knownChanges))
	switch {
	case e.Change == "":
		return fmt.Errorf("change is empty: name the kind of change the entry accepts, one of %v", kinds)
	case !knownChanges[e.Change]:
		return fmt.Errorf("change %q: want one of %v", e.Change, kinds)
	}
	if e.Kind != "" && e.Kind != Request && e.Kind != Response {
		return fmt.Errorf("kind %q: want request or response", e.Kind)
	}
	if operationLevel[e.Change] {
		if e.Path != "" {
			return fmt.Errorf("path %q: a %s change has no field path; name the operation instead", e.Path, e.Change)
		}
		if onlyWildcards(e.Operation) {
			return fmt.Errorf("operation %q: a %s entry must name the operation it accepts (e.g. \"detail-ahsp.*\"), not match every one", e.Operation, e.Change)
		}
	} else if onlyWildcards(e.Path) {
		return fmt.Errorf("path %q: a %s entry must name the field path it accepts (e.g. \"data.rows[].total\"), not match every one", e.Path, e.Change)
	}
	if e.Reason == "" {
		return fmt.Errorf("reason is empty: every accepted difference needs a reason")
	}
	return nil
}

// onlyWildcards: s names nothing (empty, or only globs and separators).
func onlyWildcards(s string) bool {
	return strings.Trim(s, "*.[]/ ") == ""
}

func stringKeys(m map[ChangeKind]bool) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[string(k)] = true
	}
	return out
}

func quirkIDs() map[string]bool {
	out := map[string]bool{}
	for k := range Quirks {
		out[k] = true
	}
	return out
}

// AcceptsFinding returns the entry accepting quirk id.
func (c *Compat) AcceptsFinding(id string) (CompatEntry, bool) {
	if c == nil {
		return CompatEntry{}, false
	}
	for _, e := range c.Accepted {
		if e.Finding == id {
			return e, true
		}
	}
	return CompatEntry{}, false
}

// Accepts returns the first entry of scope that matches ch.
func (c *Compat) Accepts(scope string, ch Change) (CompatEntry, bool) {
	if c == nil {
		return CompatEntry{}, false
	}
	for _, e := range c.Accepted {
		if e.Finding != "" {
			continue
		}
		if e.Scope != "" && e.Scope != scope {
			continue
		}
		if e.Operation != "" && !glob(e.Operation).MatchString(ch.Operation) {
			continue
		}
		if e.Kind != "" && e.Kind != ch.Kind {
			continue
		}
		if e.Status != 0 && e.Status != ch.Status {
			continue
		}
		if e.Path != "" && !glob(e.Path).MatchString(ch.Path) {
			continue
		}
		if e.Change != "" && e.Change != ch.Change {
			continue
		}
		return e, true
	}
	return CompatEntry{}, false
}
