// Command schemagen writes reports/summary.schema.json from the Go types of
// reports.Run: `go generate ./reports` runs it (see the go:generate line in
// reports/schema.go), so regenerating the schema is one command.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ahsp-harness/harness/reports"
)

func main() {
	out := flag.String("o", "summary.schema.json", "file to write (go generate runs in reports/)")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// write regenerates the schema into path.
func write(path string) error {
	b, err := reports.GenerateSchema()
	if err != nil {
		return fmt.Errorf("generate the schema of reports.Run: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
