package contracts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mapping is mapping.yaml: where each v1 field lives in v2, and what the
// equivalence check ignores. Paths use the Field notation ("a[].b", "m.{}").
type Mapping struct {
	Version int `yaml:"version"`
	// Success and Errors map v1 paths to v2 paths for responses below 400 and
	// from 400 on. A key "*" stands for any other top-level v1 field ("*": "data.*").
	Success Rules `yaml:"success"`
	Errors  Rules `yaml:"errors"`
	// Identical lists statuses whose bodies are the same in both versions (429, 503).
	Identical []int `yaml:"identical_statuses"`
	// V2Only are v2 paths with no v1 counterpart (globs).
	V2Only []string `yaml:"v2_only"`
	// Ignore: paths (v2 layout, globs) never compared, such as timestamps.
	Ignore []string `yaml:"ignore"`
	// IgnoreAcrossProjects: also ignored when the two responses come from
	// different projects (generated ids).
	IgnoreAcrossProjects []string `yaml:"ignore_across_projects"`
	// Operations override the defaults per operation (their rules win).
	Operations map[string]OperationMapping `yaml:"operations"`
	// Statuses maps a v1 status to the v2 status of the same outcome, when they differ.
	Statuses map[int]int `yaml:"statuses"`
	// IgnoreByStatus: paths (v2 layout) not compared for a v1 status, for
	// declared envelope differences such as v1 ok=false / v2 success=true on 207.
	IgnoreByStatus map[int][]string `yaml:"ignore_by_status"`
}

// OperationMapping is one operation's overrides.
type OperationMapping struct {
	Success Rules    `yaml:"success"`
	Errors  Rules    `yaml:"errors"`
	V2Only  []string `yaml:"v2_only"`
	Ignore  []string `yaml:"ignore"`
}

// Rules maps v1 paths to v2 paths.
type Rules map[string]string

// LoadMapping reads a mapping file from fsys.
func LoadMapping(fsys fs.FS, name string) (*Mapping, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	return ParseMapping(raw, name)
}

// ParseMapping decodes and checks a mapping file; name is used in errors.
func ParseMapping(raw []byte, name string) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	check := func(where string, r Rules) error {
		for from, to := range r {
			if strings.Count(from, "[]") != strings.Count(to, "[]") {
				return fmt.Errorf("%s: %s: %q -> %q: both sides need the same number of [] (array levels)", name, where, from, to)
			}
			if (from == "*") != strings.Contains(to, "*") {
				return fmt.Errorf("%s: %s: %q -> %q: \"*\" maps only to a path containing \"*\"", name, where, from, to)
			}
		}
		return nil
	}
	if err := check("success", m.Success); err != nil {
		return nil, err
	}
	if err := check("errors", m.Errors); err != nil {
		return nil, err
	}
	for op, om := range m.Operations {
		if err := check("operations."+op+".success", om.Success); err != nil {
			return nil, err
		}
		if err := check("operations."+op+".errors", om.Errors); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// rules returns the merged rules for op and v1 status.
func (m *Mapping) rules(op string, status int) Rules {
	for _, s := range m.Identical {
		if s == status {
			return nil
		}
	}
	base, over := m.Success, m.Operations[op].Success
	if status >= 400 {
		base, over = m.Errors, m.Operations[op].Errors
	}
	out := Rules{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// V2Status is the v2 status expected for a v1 status.
func (m *Mapping) V2Status(v1 int) int {
	if s, ok := m.Statuses[v1]; ok {
		return s
	}
	return v1
}

// MapPath moves a normalized v1 path (no indices) to its v2 path.
func (r Rules) MapPath(p string) string {
	if r == nil {
		return p
	}
	best := ""
	for from := range r {
		if from == "*" {
			continue
		}
		if (p == from || strings.HasPrefix(p, from+".") || strings.HasPrefix(p, from+"[")) && len(from) > len(best) {
			best = from
		}
	}
	if best != "" {
		return r[best] + p[len(best):]
	}
	if to, ok := r["*"]; ok && p != "" {
		return strings.Replace(to, "*", p, 1)
	}
	return p
}

// MapShape moves a v1 response shape into the v2 layout; parents that the
// move creates (like "data") are required objects.
func (m *Mapping) MapShape(op string, status int, sh *Shape) *Shape {
	r := m.rules(op, status)
	out := &Shape{Fields: map[string]*Field{}, Inferred: sh.Inferred}
	for _, p := range sh.Paths() {
		f := *sh.Fields[p]
		f.Path = r.MapPath(p)
		if prev, ok := out.Fields[f.Path]; ok {
			// Two v1 fields land on one v2 field (v1 "ok" and "success"):
			// keep the stricter requirement.
			prev.Required = prev.Required || f.Required
			continue
		}
		out.Fields[f.Path] = &f
	}
	for _, p := range out.Paths() {
		for q := parent(p); q != ""; q = parent(q) {
			if _, ok := out.Fields[q]; ok {
				break
			}
			out.Fields[q] = &Field{Path: q, Types: []string{"object"}, Required: true}
		}
	}
	return out
}

// Difference is one field that differs between the v1 and v2 response of the
// same step.
type Difference struct {
	// Path is the v2 path ("data.items[0].quantity"); for a field missing in
	// v2 it is where the mapping says it should be.
	Path string `json:"path"`
	// V1Path is the field's path in the v1 body.
	V1Path string `json:"v1_path,omitempty"`
	// What: "missing in v2", "only in v2", "value differs", "renamed", "status differs".
	What string `json:"what"`
	V1   string `json:"v1"`
	V2   string `json:"v2"`
}

// Compare turns both bodies into a comparable form (v1 moved into the v2
// layout, ignored paths dropped) and reports every difference field by field.
// sameProject is false when the two responses come from different projects,
// so generated ids are ignored too.
func (m *Mapping) Compare(op string, v1Status int, v1Body []byte, v2Status int, v2Body []byte, sameProject bool) []Difference {
	var out []Difference
	if m.V2Status(v1Status) != v2Status {
		out = append(out, Difference{Path: "(status)", What: "status differs", V1: strconv.Itoa(v1Status), V2: strconv.Itoa(v2Status)})
	}
	a, errA := leaves(v1Body)
	b, errB := leaves(v2Body)
	if errA != nil || errB != nil {
		if !bytes.Equal(v1Body, v2Body) {
			out = append(out, Difference{Path: "(body)", What: "not comparable (not JSON)", V1: snippet(v1Body), V2: snippet(v2Body)})
		}
		return out
	}
	r := m.rules(op, v1Status)
	ignore := m.ignorePatterns(op, sameProject)
	ignore = append(ignore, compileGlobs(m.IgnoreByStatus[v1Status])...)
	v2Only := compileGlobs(append(append([]string{}, m.V2Only...), m.Operations[op].V2Only...))
	mapped := map[string]string{}
	origin := map[string]string{}
	for p, v := range a {
		norm, idx := normalize(p)
		q := fill(r.MapPath(norm), idx)
		if matchAny(ignore, stripIndices(q)) {
			continue
		}
		if prev, ok := mapped[q]; ok && prev != v {
			out = append(out, Difference{Path: q, V1Path: p, What: "v1 fields disagree", V1: prev + " / " + v})
			continue
		}
		mapped[q], origin[q] = v, p
	}
	var missing, extra []Difference
	for q, v := range mapped {
		w, ok := b[q]
		switch {
		case !ok:
			missing = append(missing, Difference{Path: q, V1Path: origin[q], What: "missing in v2", V1: v})
		case w != v && !sameNumber(v, w):
			out = append(out, Difference{Path: q, V1Path: origin[q], What: "value differs", V1: v, V2: w})
		}
	}
	for q, w := range b {
		if _, ok := mapped[q]; ok {
			continue
		}
		n := stripIndices(q)
		if matchAny(ignore, n) || matchAny(v2Only, n) {
			continue
		}
		extra = append(extra, Difference{Path: q, What: "only in v2", V2: w})
	}
	// A field missing in v2 and a new one beside it holding the same value:
	// a rename, reported once with both names.
	used := map[int]bool{}
	for _, d := range missing {
		renamed := false
		for j, e := range extra {
			if !used[j] && parentConcrete(e.Path) == parentConcrete(d.Path) && e.V2 == d.V1 {
				used[j] = true
				out = append(out, Difference{Path: e.Path, V1Path: d.V1Path, What: "renamed", V1: d.V1, V2: e.V2})
				renamed = true
				break
			}
		}
		if !renamed {
			out = append(out, d)
		}
	}
	for j, e := range extra {
		if !used[j] {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if len(out) > MaxDifferences {
		n := len(out) - MaxDifferences
		out = append(out[:MaxDifferences], Difference{Path: fmt.Sprintf("... %d more differences not listed", n)})
	}
	return out
}

// sameNumber: two encoded scalars hold the same number, one as a JSON
// number and the other as a decimal string (the deployed app's floats
// against v2's decimals, 2000000.0 and "2000000.00"). The type change itself
// is the breaking-change analysis's business.
func sameNumber(a, b string) bool {
	num := func(s string) (float64, bool) {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	if strings.HasPrefix(a, `"`) == strings.HasPrefix(b, `"`) {
		return false // same JSON type: the encodings must agree ("12.500" is not "12.5")
	}
	x, okA := num(a)
	y, okB := num(b)
	return okA && okB && x == y
}

// MaxDifferences bounds the differences kept for one pair of responses.
const MaxDifferences = 200

func (m *Mapping) ignorePatterns(op string, sameProject bool) []*regexp.Regexp {
	ps := append(append([]string{}, m.Ignore...), m.Operations[op].Ignore...)
	if !sameProject {
		ps = append(ps, m.IgnoreAcrossProjects...)
	}
	return compileGlobs(ps)
}

func compileGlobs(ps []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(ps))
	for i, p := range ps {
		out[i] = glob(p)
	}
	return out
}

func matchAny(rs []*regexp.Regexp, s string) bool {
	for _, r := range rs {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}

// leaves flattens a JSON body to concrete path -> JSON-encoded scalar; empty
// arrays and objects are leaves too.
func leaves(body []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(string, any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				out[p] = "{}"
			}
			for k, c := range x {
				walk(join(p, k), c)
			}
		case []any:
			if len(x) == 0 {
				out[p] = "[]"
			}
			for i, c := range x {
				walk(fmt.Sprintf("%s[%d]", p, i), c)
			}
		default:
			out[p] = encode(x)
		}
	}
	walk("", v)
	return out, nil
}

var indexRe = regexp.MustCompile(`\[\d+\]`)

// normalize replaces array indices with [] and returns them in order.
func normalize(p string) (string, []string) {
	idx := indexRe.FindAllString(p, -1)
	return indexRe.ReplaceAllString(p, "[]"), idx
}

func stripIndices(p string) string { return indexRe.ReplaceAllString(p, "[]") }

// fill puts indices back into the [] of a mapped path, in order.
func fill(p string, idx []string) string {
	var b strings.Builder
	for i := 0; ; {
		j := strings.Index(p, "[]")
		if j < 0 || i >= len(idx) {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:j])
		b.WriteString(idx[i])
		p = p[j+2:]
		i++
	}
}

func parentConcrete(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndex(p, "["); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndex(p, "."); i >= 0 {
		return p[:i]
	}
	return ""
}
