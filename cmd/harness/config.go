package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ahsp-harness/harness/cmd/harness/exitcode"
	"github.com/ahsp-harness/harness/e2e"
)

// ConfigFile is the config file looked for in the working directory.
const ConfigFile = "harness.yaml"

// Config is harness.yaml. Each subcommand that reads settings adds one
// section field here; flags override what the file says.
type Config struct {
	Stack     StackConfig     `yaml:"stack"`
	Gate      *GateYAML       `yaml:"gate"`
	Scan      *ScanYAML       `yaml:"scan"`
	E2E       *E2EYAML        `yaml:"e2e"`
	Contracts ContractsConfig `yaml:"contracts"`
	Security  *SecurityYAML   `yaml:"security"`
	Alerts    *AlertsYAML     `yaml:"alerts"`
}

// SecurityYAML is the security section: what the deployment's declared
// policy promises beyond what every check requires.
type SecurityYAML struct {
	// JSONOnly makes a JSON body sent as text/plain and stored a finding
	// (default: advisory; the real app parses the body whatever its type).
	JSONOnly *bool `yaml:"json_only"`
}

// ContractsConfig is the contracts section.
type ContractsConfig struct {
	// Deprecation: required, advisory (default) or off.
	Deprecation *string `yaml:"deprecation"`
}

// E2EYAML is the e2e section: the deployment's pages (routes, app roots,
// script paths, flow selectors); what it leaves out is the deployed app's
// default (e2e.DefaultPages, docs/e2e.md).
type E2EYAML struct {
	Pages *e2e.Pages `yaml:"pages"`
}

// GateYAML is the gate section: thresholds in the reports grammar
// (reports.ParseThreshold), the check sections that must pass and those
// allowed to go without a verdict. A missing key takes reports.DefaultGate's
// value; an empty list means none.
type GateYAML struct {
	Thresholds []string `yaml:"thresholds"`
	Require    []string `yaml:"require"`
	AllowSkip  []string `yaml:"allow_skip"`
}

// ScanYAML is the scan section: what the deployment's declared policy
// promises beyond its limits.
type ScanYAML struct {
	// RequireRateLimitHeaders makes a 429 without RateLimit/X-RateLimit
	// headers a finding (default: advisory).
	RequireRateLimitHeaders *bool `yaml:"require_ratelimit_headers"`
}

// StackConfig is the stack section; pointer fields distinguish "not set"
// from zero. Names match the global flags with '-' written as '_'.
type StackConfig struct {
	Mode          *string        `yaml:"mode"`
	Workers       *int           `yaml:"workers"`
	Cache         *string        `yaml:"cache"`
	Limiter       *string        `yaml:"limiter"`
	FailurePolicy *string        `yaml:"failure_policy"`
	RedisTimeout  *time.Duration `yaml:"redis_timeout"`
	SessionStore  *string        `yaml:"session_store"`
	Limits        *string        `yaml:"limits"`
	Defects       []string       `yaml:"defects"`
	Profile       *string        `yaml:"profile"`
	SeedUsers     *int           `yaml:"seed_users"`
	SeedProjects  *int           `yaml:"seed_projects"`
	TargetBin     *string        `yaml:"target_bin"`
	Port          *int           `yaml:"port"`
	LocalRedis    *string        `yaml:"local_redis"`
	StartTimeout  *time.Duration `yaml:"start_timeout"`
	TargetURL     *string        `yaml:"target_url"`
	PathPrefix    *string        `yaml:"path_prefix"`
	UsersFile     *string        `yaml:"users_file"`
	Users         []ConfigUser   `yaml:"users"`
	// Hooks maps hook names (stack.HookNames) to shell commands for an
	// external deployment; --hook NAME=COMMAND replaces one.
	Hooks       map[string]string `yaml:"hooks"`
	HookTimeout *time.Duration    `yaml:"hook_timeout"`
}

// ConfigUser is one external credential. The password is better left out of
// the file: HARNESS_PASSWORD supplies it.
type ConfigUser struct {
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Projects []int  `yaml:"projects"`
	// Scratch declares the user's projects disposable: contracts may write
	// to them (snapshot first, restore after).
	Scratch bool `yaml:"scratch"`
}

// loadedConfig is a parsed config with the line of every key, for errors
// found after decoding ("harness.yaml:7: stack.cache: ...").
type loadedConfig struct {
	Config
	path  string
	lines map[string]int
}

// at formats a position for key path (e.g. "stack.cache").
func (c *loadedConfig) at(key string) string {
	if c == nil || c.path == "" {
		return ""
	}
	if l, ok := c.lines[key]; ok {
		return fmt.Sprintf("%s:%d: %s", c.path, l, key)
	}
	return c.path + ": " + key
}

// loadConfig reads path strictly: unknown keys and wrongly typed values are
// errors with file:line that name what is allowed.
func loadConfig(path string) (*loadedConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "read config: %w", err)
	}
	lc := &loadedConfig{path: path, lines: map[string]int{}}
	if len(bytes.TrimSpace(b)) == 0 {
		return lc, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		var line int
		if _, serr := fmt.Sscanf(msg, "line %d:", &line); serr == nil {
			_, msg, _ = strings.Cut(msg, ": ")
			return nil, exitcode.Errorf(exitcode.Usage, "%s:%d: %s", path, line, msg)
		}
		return nil, exitcode.Errorf(exitcode.Usage, "%s: %s", path, msg)
	}
	if len(doc.Content) == 0 {
		return lc, nil
	}
	d := decoder{file: path, lines: lc.lines}
	if err := d.decode(doc.Content[0], reflect.ValueOf(&lc.Config).Elem(), ""); err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	if lc.E2E != nil && lc.E2E.Pages != nil {
		if _, err := lc.E2E.Pages.Merged(); err != nil {
			return nil, exitcode.Errorf(exitcode.Usage, "%s: %v", lc.at("e2e.pages"), err)
		}
	}
	return lc, nil
}

// findConfig returns the config path to use: explicit (flag or
// $HARNESS_CONFIG), else harness.yaml in dir when it exists, else "".
func findConfig(explicit, dir string) string {
	if explicit != "" {
		if !filepath.IsAbs(explicit) {
			explicit = filepath.Join(dir, explicit)
		}
		return explicit
	}
	p := filepath.Join(dir, ConfigFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

type decoder struct {
	file  string
	lines map[string]int
}

func (d decoder) errorf(n *yaml.Node, key, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", d.file, n.Line, key, fmt.Sprintf(format, a...))
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// decode walks n into v: mappings into structs by yaml tag (unknown keys
// rejected), sequences element by element, scalars through yaml itself.
func (d decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	name := path
	if name == "" {
		name = "top level"
	}
	switch {
	case v.Kind() == reflect.Pointer:
		if n.Tag == "!!null" {
			return nil
		}
		nv := reflect.New(v.Type().Elem())
		if err := d.decode(n, nv.Elem(), path); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(time.Time{}):
		if n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, name, "want a mapping of keys (%s), got %s", strings.Join(yamlKeys(v.Type()), ", "), describe(n))
		}
		fields := map[string]int{}
		for i := 0; i < v.NumField(); i++ {
			if tag := yamlName(v.Type().Field(i)); tag != "" {
				fields[tag] = i
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			idx, ok := fields[k.Value]
			if !ok {
				return d.errorf(k, name, "unknown key %q; allowed keys: %s", k.Value, strings.Join(yamlKeys(v.Type()), ", "))
			}
			if seen[k.Value] {
				return d.errorf(k, join(path, k.Value), "key given twice")
			}
			seen[k.Value] = true
			d.lines[join(path, k.Value)] = k.Line
			if err := d.decode(val, v.Field(idx), join(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, el := range n.Content {
			d.lines[fmt.Sprintf("%s[%d]", path, i)] = el.Line
			if err := d.decode(el, out.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	case v.Kind() == reflect.Slice:
		return d.errorf(n, name, "want a list, got %s", describe(n))
	}
	if n.Kind != yaml.ScalarNode && v.Kind() != reflect.Map && v.Kind() != reflect.Interface {
		return d.errorf(n, name, "want a single %s value, got %s", kindName(v.Type()), describe(n))
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return d.errorf(n, name, "%q is not a valid %s", n.Value, kindName(v.Type()))
		}
		return d.errorf(n, name, "%v", err)
	}
	return nil
}

func yamlName(f reflect.StructField) string {
	tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if tag == "-" || !f.IsExported() {
		return ""
	}
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if n := yamlName(t.Field(i)); n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func kindName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration (e.g. 30s, 2m)"
	case t.Kind() == reflect.Bool:
		return "boolean (true or false)"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.String:
		return "string"
	}
	return t.String()
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// e2ePages returns e2e.pages from the config (the zero value: all defaults).
func (c *loadedConfig) e2ePages() e2e.Pages {
	if c == nil || c.E2E == nil || c.E2E.Pages == nil {
		return e2e.Pages{}
	}
	return *c.E2E.Pages
}

// securityJSONOnly is security.json_only, else false (advisory).
func (c *loadedConfig) securityJSONOnly() bool {
	return c != nil && c.Security != nil && c.Security.JSONOnly != nil && *c.Security.JSONOnly
}
