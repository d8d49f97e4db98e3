package check

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress writes one check's progress line, as the audit sections print
// them: "section: name  status in 1.2s (reason)", then each finding on its
// own indented line. name is padded to width; w nil writes nothing.
func Progress(w io.Writer, section string, width int, name string, st Status, took time.Duration, reason string, findings []string) {
	if w == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %-*s %s in %.1fs", section, width, name, st, took.Seconds())
	if reason != "" {
		b.WriteString(" (" + reason + ")")
	}
	for _, f := range findings {
		b.WriteString("\n  - " + f)
	}
	fmt.Fprintln(w, b.String())
}

// SummarizeBy folds the statuses of items (a section's check results) with
// Summarize.
func SummarizeBy[T any](items []T, status func(T) Status) Status {
	sts := make([]Status, len(items))
	for i, it := range items {
		sts[i] = status(it)
	}
	return Summarize(sts...)
}
