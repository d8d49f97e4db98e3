package scenarios

import (
	"embed"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

//go:embed catalog/*.yaml
var catalogFS embed.FS

// Builtins returns the names of the embedded scenarios, sorted.
func Builtins() []string {
	entries, _ := catalogFS.ReadDir("catalog")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Builtin loads an embedded scenario by name.
func Builtin(name string) (*Scenario, error) {
	b, err := catalogFS.ReadFile(path.Join("catalog", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("no built-in scenario %q: built-ins are %s", name, strings.Join(Builtins(), ", "))
	}
	return Parse("catalog/"+name+".yaml", b)
}

// Resolve loads a scenario from a file path (anything with a slash or a
// .yaml/.yml suffix, or an existing file) or else a built-in name.
func Resolve(nameOrPath string) (*Scenario, error) {
	if strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		return LoadFile(nameOrPath)
	}
	if _, err := os.Stat(nameOrPath); err == nil {
		return LoadFile(nameOrPath)
	}
	return Builtin(nameOrPath)
}
