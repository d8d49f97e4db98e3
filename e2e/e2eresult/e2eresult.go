// Package e2eresult is the browser suite's result data (Report, Result and
// what they carry) with no browser client, so package reports and the
// commands that only read results link no Chrome client. Package e2e
// re-exports every name here.
package e2eresult

import (
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Screenshot is one PNG of a check's key moment (or of its failure).
type Screenshot struct {
	Name string `json:"name"`
	Path string `json:"path,omitempty"`
	PNG  []byte `json:"-"`
}

// Result is the outcome of one named check.
type Result struct {
	Name        string         `json:"name"`
	Group       string         `json:"group"`
	Title       string         `json:"title"`
	Status      check.Status   `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	DurationMS  float64        `json:"duration_ms"`
	Evidence    []string       `json:"evidence,omitempty"`
	Screenshots []Screenshot   `json:"screenshots,omitempty"`
	Console     []ConsoleEntry `json:"console,omitempty"`
	Events      []Event        `json:"events,omitempty"`
	Intercepted []Intercepted  `json:"intercepted,omitempty"`
}

// Report is a whole suite run.
type Report struct {
	Status     check.Status `json:"status"`
	Reason     string       `json:"reason,omitempty"` // why the suite was skipped or could not run
	BaseURL    string       `json:"base_url"`
	Browser    string       `json:"browser,omitempty"`
	Started    time.Time    `json:"started"`
	DurationMS float64      `json:"duration_ms"`
	Results    []Result     `json:"results"`
}

// Failed lists the failed results.
func (r Report) Failed() []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Status == check.Fail {
			out = append(out, x)
		}
	}
	return out
}

// Result returns the named check's result.
func (r Report) Result(name string) (Result, bool) {
	for _, x := range r.Results {
		if x.Name == name {
			return x, true
		}
	}
	return Result{}, false
}

// Event is one toast or overlay lifecycle record from the injected observer.
// At is the page clock in milliseconds since the Unix epoch, so durations
// between events are exact regardless of how late the harness reads them.
type Event struct {
	At      float64  `json:"at_ms"`
	Kind    string   `json:"kind"` // toast-added|toast-shown|toast-hiding|toast-removed|toast-count|overlay-added|overlay-class|overlay-removed|mark
	ID      int      `json:"id,omitempty"`
	Class   string   `json:"class,omitempty"`
	Role    string   `json:"role,omitempty"`
	Title   string   `json:"title,omitempty"`
	Text    string   `json:"text,omitempty"`
	HTML    string   `json:"html,omitempty"`
	Buttons []string `json:"buttons,omitempty"`
	// Call tags a toast appended synchronously by one harness call (0: none).
	Call int `json:"call,omitempty"`
	// Count is the number of visible toasts, for toast-count records.
	Count int `json:"count,omitempty"`
}

// HasClass reports whether the element carried class c when recorded.
func (e Event) HasClass(c string) bool {
	for _, f := range strings.Fields(e.Class) {
		if f == c {
			return true
		}
	}
	return false
}

// ConsoleEntry is one console message, uncaught exception or browser log line.
type ConsoleEntry struct {
	Kind     string `json:"kind"` // console|exception|browser
	Level    string `json:"level"`
	Text     string `json:"text"`
	URL      string `json:"url,omitempty"`
	Expected bool   `json:"expected,omitempty"`
}

// Fails reports whether the entry fails a check unless expected: uncaught
// exceptions and console.error/assert calls. Browser log lines (such as
// "Failed to load resource" for an injected 500) are evidence only.
func (c ConsoleEntry) Fails() bool {
	return c.Kind == "exception" || c.Kind == "console" && (c.Level == "error" || c.Level == "assert")
}

// Intercepted is one request the interceptor saw and what it did.
type Intercepted struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Status int    `json:"status,omitempty"` // 0: passed to the server
}
