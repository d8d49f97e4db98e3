package reports

import "bytes"

// WriteHTML renders report.html; dir resolves relative screenshot paths.
func WriteHTML(b *bytes.Buffer, run *Run, dir string) error { return nil }

// WriteRunJUnit writes junit.xml for run.
func WriteRunJUnit(b *bytes.Buffer, run *Run) error { return nil }

// WriteMarkdown writes summary.md for run.
func WriteMarkdown(b *bytes.Buffer, run *Run) error { return nil }
