package scenarios

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ahsp-harness/harness/target/api"
)

// FieldError is one problem in a scenario file, with its position.
type FieldError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Field  string `json:"field"`
	Msg    string `json:"message"`
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Field, e.Msg)
}

// ValidationError lists every problem found in one file.
type ValidationError struct{ Errs []*FieldError }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		lines[i] = fe.Error()
	}
	return "invalid scenario:\n  " + strings.Join(lines, "\n  ")
}

// LoadFile reads and validates a scenario YAML file.
func LoadFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates a scenario document; file names it in errors.
func Parse(file string, data []byte) (*Scenario, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: parse YAML: %w", file, err)
	}
	p := &parser{file: file, lines: map[string]*yaml.Node{}}
	if len(root.Content) == 0 {
		return nil, &ValidationError{Errs: []*FieldError{{File: file, Line: 1, Column: 1, Field: "(document)", Msg: "empty file: want a mapping with name, kind and mix"}}}
	}
	s := p.scenario(root.Content[0])
	if len(p.errs) == 0 {
		s.Normalize()
		p.validate(s)
	}
	if len(p.errs) > 0 {
		return nil, &ValidationError{Errs: p.errs}
	}
	return s, nil
}

type parser struct {
	file  string
	errs  []*FieldError
	lines map[string]*yaml.Node // field path -> value node, for semantic errors
}

func (p *parser) errf(n *yaml.Node, field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{File: p.file, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// at reports a semantic error at the node recorded for field, or at the
// mapping when the field is absent.
func (p *parser) at(field, fallback, format string, args ...any) {
	n := p.lines[field]
	if n == nil {
		n = p.lines[fallback]
	}
	if n == nil {
		n = &yaml.Node{Line: 1, Column: 1}
	}
	p.errf(n, field, format, args...)
}

var scenarioFields = []string{"name", "description", "kind", "users", "version", "requests", "connections", "rate", "duration", "steps", "concurrency", "max_workers", "max_connections", "timeout", "mix"}

func (p *parser) scenario(n *yaml.Node) *Scenario {
	s := &Scenario{}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "(document)", "want a mapping with name, kind and mix, got %s", nodeKind(n))
		return s
	}
	p.lines[""] = n
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p.lines[k.Value] = v
		switch k.Value {
		case "name":
			s.Name = p.str(v, "name")
		case "description":
			s.Description = p.str(v, "description")
		case "kind":
			s.Kind = Kind(p.str(v, "kind"))
		case "users":
			s.Users = p.int(v, "users")
		case "version":
			s.Version = api.Version(p.str(v, "version"))
		case "requests":
			s.Requests = p.int(v, "requests")
		case "connections":
			s.Connections = p.int(v, "connections")
		case "rate":
			s.Rate = p.int(v, "rate")
		case "duration":
			s.Duration = p.dur(v, "duration")
		case "concurrency":
			s.Concurrency = p.int(v, "concurrency")
		case "max_workers":
			s.MaxWorkers = p.int(v, "max_workers")
		case "max_connections":
			s.MaxConnections = p.int(v, "max_connections")
		case "timeout":
			s.Timeout = p.dur(v, "timeout")
		case "steps":
			s.Steps = p.steps(v)
		case "mix":
			s.Mix = p.mix(v)
		default:
			p.errf(k, k.Value, "unknown field; allowed fields are %s", strings.Join(scenarioFields, ", "))
		}
	}
	return s
}

func (p *parser) steps(n *yaml.Node) []StepSpec {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "steps", "want a list of {rate, duration}, got %s", nodeKind(n))
		return nil
	}
	var out []StepSpec
	for i, item := range n.Content {
		field := fmt.Sprintf("steps[%d]", i)
		if item.Kind != yaml.MappingNode {
			p.errf(item, field, "want a mapping {rate, duration}, got %s", nodeKind(item))
			continue
		}
		var st StepSpec
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "rate":
				st.Rate = p.int(v, field+".rate")
				if st.Rate <= 0 {
					p.errf(v, field+".rate", "must be > 0 requests per second")
				}
			case "duration":
				st.Duration = p.dur(v, field+".duration")
				if st.Duration <= 0 {
					p.errf(v, field+".duration", "must be > 0 (e.g. 2s)")
				}
			default:
				p.errf(k, field+"."+k.Value, "unknown field; allowed fields are rate, duration")
			}
		}
		out = append(out, st)
	}
	return out
}

func (p *parser) mix(n *yaml.Node) []MixEntry {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "mix", "want a list of {op, weight, body, query}, got %s", nodeKind(n))
		return nil
	}
	var out []MixEntry
	for i, item := range n.Content {
		field := fmt.Sprintf("mix[%d]", i)
		if item.Kind != yaml.MappingNode {
			p.errf(item, field, "want a mapping {op, weight, body, query}, got %s", nodeKind(item))
			continue
		}
		var e MixEntry
		var opNode *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "op":
				e.Op, opNode = p.str(v, field+".op"), v
			case "weight":
				e.Weight = p.int(v, field+".weight")
				if e.Weight <= 0 {
					p.errf(v, field+".weight", "must be > 0")
				}
			case "body":
				e.Body = p.str(v, field+".body")
				p.tmpl(v, field+".body", e.Body)
			case "query":
				e.Query = p.str(v, field+".query")
				p.tmpl(v, field+".query", e.Query)
			default:
				p.errf(k, field+"."+k.Value, "unknown field; allowed fields are op, weight, body, query")
			}
		}
		switch {
		case opNode == nil:
			p.errf(item, field+".op", "missing; allowed values are %s", strings.Join(api.Names(), ", "))
		default:
			op, ok := api.Lookup(e.Op)
			if !ok {
				p.errf(opNode, field+".op", "unknown operation %q; allowed values are %s", e.Op, strings.Join(api.Names(), ", "))
			} else if e.Body != "" && !op.Body {
				p.errf(opNode, field+".body", "operation %s (%s) takes no body", op.Name, op.Method)
			}
		}
		out = append(out, e)
	}
	return out
}

func (p *parser) tmpl(n *yaml.Node, field, text string) {
	if _, err := template.New(field).Option("missingkey=error").Parse(text); err != nil {
		p.errf(n, field, "bad template: %v", err)
	}
}

func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "want a string, got %s", nodeKind(n))
		return ""
	}
	return n.Value
}

func (p *parser) int(n *yaml.Node, field string) int {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "want an integer, got %s", nodeKind(n))
		return 0
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		p.errf(n, field, "want an integer, got %q", n.Value)
		return 0
	}
	if v < 0 {
		p.errf(n, field, "must not be negative, got %d", v)
		return 0
	}
	return v
}

func (p *parser) dur(n *yaml.Node, field string) time.Duration {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "want a duration such as 10s or 500ms, got %s", nodeKind(n))
		return 0
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d < 0 {
		p.errf(n, field, "want a duration such as 10s or 500ms, got %q", n.Value)
		return 0
	}
	return d
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// validate checks cross-field rules after decoding and defaults.
func (p *parser) validate(s *Scenario) {
	if s.Name == "" {
		p.at("name", "", "missing; give the scenario a name")
	}
	if !slices.Contains(Kinds, s.Kind) {
		p.at("kind", "", "%s; allowed values are %s", quoteOrMissing(string(s.Kind)), joinKinds())
	}
	if !slices.Contains(api.Versions, s.Version) {
		p.at("version", "", "unknown version %q; allowed values are legacy, v1, v2", s.Version)
	}
	if len(s.Mix) == 0 {
		p.at("mix", "", "missing or empty; list at least one {op, weight}")
	}
	if s.Timeout > 5*time.Minute {
		p.at("timeout", "", "at most 5m, got %s", s.Timeout)
	}
	// Scheduled loads are bounded so a typo cannot start an endless run.
	const maxDur = time.Hour
	switch s.Kind {
	case Burst:
		if s.Requests <= 0 {
			p.at("requests", "kind", "burst needs requests > 0")
		}
		if s.Requests > 10_000_000 {
			p.at("requests", "kind", "at most 10000000")
		}
	case Constant:
		if s.Rate <= 0 {
			p.at("rate", "kind", "constant needs rate > 0 (requests per second)")
		}
		if s.Duration <= 0 || s.Duration > maxDur {
			p.at("duration", "kind", "constant needs a duration between 1ms and 1h (e.g. 10s)")
		}
	case Step:
		if len(s.Steps) == 0 {
			p.at("steps", "kind", "step needs steps: a list of {rate, duration}")
		}
		if s.TotalDuration() > maxDur {
			p.at("steps", "kind", "steps last %s, at most 1h", s.TotalDuration())
		}
	case Concurrency:
		if s.Concurrency <= 0 {
			p.at("concurrency", "kind", "concurrency needs concurrency > 0 (requests in flight)")
		}
		if s.Duration <= 0 || s.Duration > maxDur {
			p.at("duration", "kind", "concurrency needs a duration between 1ms and 1h (e.g. 10s)")
		}
	}
	// Fields that belong to another kind are mistakes worth naming.
	foreign := map[Kind][]string{
		Burst:       {"rate", "duration", "steps", "concurrency"},
		Constant:    {"requests", "connections", "steps", "concurrency"},
		Step:        {"requests", "connections", "rate", "duration", "concurrency"},
		Concurrency: {"requests", "connections", "rate", "steps"},
	}
	for _, f := range foreign[s.Kind] {
		if p.lines[f] != nil {
			p.at(f, "", "not used by kind %s; remove it", s.Kind)
		}
	}
}

func quoteOrMissing(v string) string {
	if v == "" {
		return "missing"
	}
	return fmt.Sprintf("unknown kind %q", v)
}

func joinKinds() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// IsValidation reports whether err is a scenario validation error.
func IsValidation(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve)
}
