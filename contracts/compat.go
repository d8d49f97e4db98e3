package contracts

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"

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

// CompatEntry accepts the changes it matches. Empty fields match anything;
// operation and path are globs ("*" one segment, "**" any).
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

// ParseCompat decodes and checks a compat file; name is used in errors.
func ParseCompat(raw []byte, name string) (*Compat, error) {
	var c Compat
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	for i, e := range c.Accepted {
		where := fmt.Sprintf("%s: accepted[%d]", name, i)
		switch e.Scope {
		case "", ScopeV1V2, ScopeRuntime, ScopeBaseline:
		default:
			return nil, fmt.Errorf("%s: scope %q: want %s, %s or %s", where, e.Scope, ScopeV1V2, ScopeRuntime, ScopeBaseline)
		}
		if e.Change != "" && !knownChanges[e.Change] {
			return nil, fmt.Errorf("%s: change %q: want one of %v", where, e.Change, sortedKeys(stringKeys(knownChanges)))
		}
		if e.Kind != "" && e.Kind != Request && e.Kind != Response {
			return nil, fmt.Errorf("%s: kind %q: want request or response", where, e.Kind)
		}
		if e.Finding != "" {
			if _, ok := Quirks[e.Finding]; !ok {
				return nil, fmt.Errorf("%s: finding %q: want one of %v", where, e.Finding, sortedKeys(quirkIDs()))
			}
			if e.Scope != "" || e.Operation != "" || e.Kind != "" || e.Status != 0 || e.Path != "" || e.Change != "" {
				return nil, fmt.Errorf("%s: an entry with finding accepts that finding only: drop scope, operation, kind, status, path and change", where)
			}
		}
		if e.Reason == "" {
			return nil, fmt.Errorf("%s: reason is empty: every accepted difference needs a reason", where)
		}
	}
	return &c, nil
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
