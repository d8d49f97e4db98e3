package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Outputs are the files WriteAll wrote.
type Outputs struct {
	HTML     string `json:"html"`
	JSON     string `json:"json"`
	JUnit    string `json:"junit"`
	Markdown string `json:"markdown"`
}

// WriteAll renders every output of run into dir: report.html, summary.json,
// junit.xml and summary.md.
func WriteAll(dir string, run *Run) (Outputs, error) {
	out := Outputs{
		HTML:     filepath.Join(dir, "report.html"),
		JSON:     filepath.Join(dir, "summary.json"),
		JUnit:    filepath.Join(dir, "junit.xml"),
		Markdown: filepath.Join(dir, "summary.md"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return out, fmt.Errorf("create report folder %s: %w", dir, err)
	}
	steps := []struct {
		path   string
		render func(*bytes.Buffer) error
	}{
		{out.JSON, func(b *bytes.Buffer) error { return WriteJSON(b, run) }},
		{out.HTML, func(b *bytes.Buffer) error { return WriteHTML(b, run, dir) }},
		{out.JUnit, func(b *bytes.Buffer) error { return WriteRunJUnit(b, run) }},
		{out.Markdown, func(b *bytes.Buffer) error { return WriteMarkdown(b, run) }},
	}
	for _, s := range steps {
		var b bytes.Buffer
		if err := s.render(&b); err != nil {
			return out, fmt.Errorf("render %s: %w", filepath.Base(s.path), err)
		}
		if err := os.WriteFile(s.path, b.Bytes(), 0o644); err != nil {
			return out, fmt.Errorf("write %s: %w", s.path, err)
		}
	}
	return out, nil
}

// AppendStepSummary appends the markdown summary to path (GitHub's
// $GITHUB_STEP_SUMMARY file); it creates the file when missing.
func AppendStepSummary(path string, run *Run) error {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run); err != nil {
		return fmt.Errorf("render step summary: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary %s: %w", path, err)
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("append step summary %s: %w", path, err)
	}
	return f.Close()
}

// Load reads a summary.json written by WriteAll. It refuses a file whose
// schema_version has another major version than this build reads.
func Load(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	var head struct {
		SchemaVersion *string `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("read summary %s: not JSON: %w", path, err)
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("read summary %s: no schema_version field; is this a summary.json written by harness run?", path)
	}
	if major(*head.SchemaVersion) != major(SchemaVersion) {
		return nil, fmt.Errorf("read summary %s: schema_version %s, this harness reads %s.x; re-run it with a matching harness version", path, *head.SchemaVersion, major(SchemaVersion))
	}
	var run Run
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, fmt.Errorf("read summary %s: %w", path, err)
	}
	return &run, nil
}

func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

// WriteJSON writes run as indented JSON (summary.json).
func WriteJSON(w io.Writer, run *Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(run)
}
