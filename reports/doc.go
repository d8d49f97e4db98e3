// Package reports holds the one result model of a run, the release gate that
// judges it, and every rendering of it (HTML, JSON, JUnit, Markdown). It reads
// the plain result data the checks return; it never starts stacks or sends
// requests.
package reports
