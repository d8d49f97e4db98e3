package contracts

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Field is what a schema (or a set of observed bodies) says about one path.
// Paths use dots for object keys, "[]" for array items and "{}" for the
// values of a map ("data.klasifikasi[].sub[].name", "id_map.pekerjaan.{}");
// the root is "".
type Field struct {
	Path string `json:"path"`
	// Types are JSON types ("integer" is a subset of "number"); empty means any.
	Types []string `json:"types,omitempty"`
	// Required: the key must be present whenever its parent object is.
	Required bool `json:"required"`
	// Enum lists the allowed values JSON-encoded, sorted; nil means unconstrained.
	Enum    []string `json:"enum,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
	// Closed: an object that allows no properties beyond the declared ones.
	Closed bool `json:"closed,omitempty"`
}

// Shape is a schema flattened to its paths. Inferred shapes come from
// observed bodies and carry no enums, patterns or closedness.
type Shape struct {
	Fields   map[string]*Field `json:"fields"`
	Inferred bool              `json:"inferred,omitempty"`
}

// Paths returns the shape's paths, sorted.
func (s *Shape) Paths() []string { return sortedKeys(s.Fields) }

// Flatten turns a compiled schema into a Shape. $ref and allOf are merged in;
// the branches of anyOf/oneOf are united (a key is required only when every
// branch requires it).
func Flatten(s *jsonschema.Schema) *Shape {
	sh := &Shape{Fields: map[string]*Field{}}
	f := flatten(s, map[*jsonschema.Schema]bool{})
	f.inParent = true
	f.addTo(sh, "")
	return sh
}

// node is an intermediate tree built from a schema before flattening.
type node struct {
	types    map[string]bool // nil = any
	enum     map[string]bool // nil = unconstrained
	pattern  string
	closed   bool
	props    map[string]*node
	required map[string]bool
	items    *node
	values   *node // additionalProperties schema (maps)
	inParent bool  // this node is required in its parent
}

// flatten describes s; path holds the schemas being flattened above it, so a
// recursive schema ("children": {"$ref": "#"}) stops at its first repeat
// (described as "any") instead of unrolling forever.
func flatten(s *jsonschema.Schema, path map[*jsonschema.Schema]bool) *node {
	n := &node{}
	if s == nil || path[s] || len(path) > 64 {
		return n
	}
	path[s] = true
	defer delete(path, s)
	if s.Bool != nil {
		return n
	}
	var parts []*node
	if s.Ref != nil {
		parts = append(parts, flatten(s.Ref, path))
	}
	for _, a := range s.AllOf {
		parts = append(parts, flatten(a, path))
	}
	if s.Types != nil && !s.Types.IsEmpty() {
		n.types = map[string]bool{}
		for _, t := range s.Types.ToStrings() {
			n.types[t] = true
		}
	}
	if s.Const != nil {
		n.enum = map[string]bool{encode(*s.Const): true}
	}
	if s.Enum != nil {
		n.enum = map[string]bool{}
		for _, v := range s.Enum.Values {
			n.enum[encode(v)] = true
		}
	}
	if n.enum != nil && n.types == nil {
		n.types = map[string]bool{}
		for v := range n.enum {
			n.types[jsonType(v)] = true
		}
	}
	if s.Pattern != nil {
		n.pattern = s.Pattern.String()
	}
	if len(s.Properties) > 0 || len(s.Required) > 0 {
		n.props = map[string]*node{}
		n.required = map[string]bool{}
		for k, p := range s.Properties {
			n.props[k] = flatten(p, path)
		}
		for _, r := range s.Required {
			n.required[r] = true
			if n.props[r] == nil {
				n.props[r] = &node{}
			}
		}
	}
	switch ap := s.AdditionalProperties.(type) {
	case bool:
		n.closed = !ap
	case *jsonschema.Schema:
		n.values = flatten(ap, path)
	}
	if s.Items2020 != nil {
		n.items = flatten(s.Items2020, path)
	}
	if n.types == nil && (n.props != nil || n.values != nil) {
		n.types = map[string]bool{"object": true}
	}
	if n.types == nil && n.items != nil {
		n.types = map[string]bool{"array": true}
	}
	for _, p := range parts {
		n = mergeAll(n, p)
	}
	var branches []*jsonschema.Schema
	branches = append(branches, s.AnyOf...)
	branches = append(branches, s.OneOf...)
	if len(branches) > 0 {
		var u *node
		for _, b := range branches {
			u = unite(u, flatten(b, path))
		}
		n = mergeAll(n, u)
	}
	return n
}

// mergeAll combines two descriptions of the same value that both apply (allOf, $ref).
func mergeAll(a, b *node) *node {
	if a.types == nil {
		a.types = b.types
	} else if b.types != nil {
		for t := range a.types {
			if !b.types[t] && !(t == "number" && b.types["integer"]) {
				delete(a.types, t)
			}
		}
		if b.types["integer"] && a.types["number"] {
			delete(a.types, "number")
			a.types["integer"] = true
		}
	}
	if a.enum == nil {
		a.enum = b.enum
	}
	if a.pattern == "" {
		a.pattern = b.pattern
	}
	a.closed = a.closed || b.closed
	if b.props != nil {
		if a.props == nil {
			a.props, a.required = map[string]*node{}, map[string]bool{}
		}
		for k, p := range b.props {
			if a.props[k] == nil {
				a.props[k] = p
			} else {
				a.props[k] = mergeAll(a.props[k], p)
			}
		}
		for k := range b.required {
			a.required[k] = true
		}
	}
	if a.items == nil {
		a.items = b.items
	} else if b.items != nil {
		a.items = mergeAll(a.items, b.items)
	}
	if a.values == nil {
		a.values = b.values
	}
	return a
}

// unite combines alternatives (anyOf/oneOf): the value may be either.
func unite(a, b *node) *node {
	if a == nil {
		return b
	}
	if a.enum != nil && b.enum != nil {
		for v := range b.enum {
			a.enum[v] = true
		}
	} else {
		a.enum = unionOrNil(a, b)
	}
	if a.pattern != b.pattern {
		a.pattern = pickPattern(a, b)
	}
	if a.types == nil || b.types == nil {
		a.types = nil
	} else {
		for t := range b.types {
			a.types[t] = true
		}
	}
	a.closed = a.closed && b.closed
	switch {
	case a.props == nil:
		a.props, a.required = b.props, map[string]bool{}
	case b.props != nil:
		req := map[string]bool{}
		for k := range a.required {
			if b.required[k] {
				req[k] = true
			}
		}
		for k, p := range b.props {
			if a.props[k] == nil {
				a.props[k] = p
			} else {
				a.props[k] = unite(a.props[k], p)
			}
		}
		a.required = req
	default:
		a.required = map[string]bool{}
	}
	if a.items == nil {
		a.items = b.items
	} else if b.items != nil {
		a.items = unite(a.items, b.items)
	}
	if a.values == nil {
		a.values = b.values
	}
	return a
}

// unionOrNil keeps an enum only when the other branch adds values of a type
// the enum does not constrain (like the null of a nullable enum).
func unionOrNil(a, b *node) map[string]bool {
	withEnum, other := a, b
	if a.enum == nil {
		withEnum, other = b, a
	}
	if withEnum.enum == nil || other.types == nil {
		return nil
	}
	for t := range other.types {
		if t != "null" {
			return nil
		}
	}
	out := map[string]bool{}
	for v := range withEnum.enum {
		out[v] = true
	}
	out["null"] = true
	return out
}

// pickPattern keeps the pattern of a nullable string ("decimal or null").
func pickPattern(a, b *node) string {
	if a.pattern == "" && onlyNull(a.types) {
		return b.pattern
	}
	if b.pattern == "" && onlyNull(b.types) {
		return a.pattern
	}
	return ""
}

func onlyNull(t map[string]bool) bool { return len(t) == 1 && t["null"] }

func (n *node) addTo(sh *Shape, path string) {
	f := &Field{Path: path, Required: n.inParent, Pattern: n.pattern, Closed: n.closed}
	if n.types != nil {
		f.Types = sortedKeys(n.types)
	}
	if n.enum != nil {
		f.Enum = sortedKeys(n.enum)
	}
	sh.Fields[path] = f
	for k, p := range n.props {
		p.inParent = n.required[k]
		p.addTo(sh, join(path, k))
	}
	if n.items != nil {
		n.items.inParent = true
		n.items.addTo(sh, path+"[]")
	}
	if n.values != nil {
		n.values.inParent = false
		n.values.addTo(sh, join(path, "{}"))
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent returns the path of the object or array holding path.
func parent(path string) string {
	if strings.HasSuffix(path, "[]") {
		return strings.TrimSuffix(path, "[]")
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// jsonType is the JSON type of an encoded value.
func jsonType(enc string) string {
	switch {
	case enc == "null":
		return "null"
	case enc == "true" || enc == "false":
		return "boolean"
	case strings.HasPrefix(enc, `"`):
		return "string"
	case strings.HasPrefix(enc, "["):
		return "array"
	case strings.HasPrefix(enc, "{"):
		return "object"
	case strings.ContainsAny(enc, ".eE"):
		return "number"
	}
	return "integer"
}

// Infer builds a shape from observed JSON values: the types seen at each
// path, and keys required when present in every observed instance of their
// parent. Arrays that were always empty contribute no item paths.
//
// guide, when not nil, is the declared shape the values are compared with:
// where it declares a map ("x.{}"), observed keys are folded into "{}".
func Infer(values []any, guide *Shape) *Shape {
	sh := &Shape{Fields: map[string]*Field{}, Inferred: true}
	counts := map[string]int{}
	for _, v := range values {
		observe(sh, guide, counts, "", v)
	}
	for p, f := range sh.Fields {
		if p == "" {
			f.Required = true
			continue
		}
		if strings.HasSuffix(p, "[]") {
			f.Required = true
			continue
		}
		if strings.HasSuffix(p, "{}") {
			continue
		}
		f.Required = counts[p] == counts[parent(p)]
	}
	return sh
}

func observe(sh, guide *Shape, counts map[string]int, path string, v any) {
	f := sh.Fields[path]
	if f == nil {
		f = &Field{Path: path}
		sh.Fields[path] = f
	}
	counts[path]++
	t := valueType(v)
	if !contains(f.Types, t) {
		f.Types = append(f.Types, t)
		sort.Strings(f.Types)
	}
	switch x := v.(type) {
	case map[string]any:
		isMap := guide != nil && guide.Fields[join(path, "{}")] != nil
		for k, c := range x {
			if isMap {
				k = "{}"
			}
			observe(sh, guide, counts, join(path, k), c)
		}
	case []any:
		for _, c := range x {
			observe(sh, guide, counts, path+"[]", c)
		}
	}
}

func valueType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "any"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
