package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Case is one JUnit test case: a probe, a threshold, a contract check or an e2e check.
type Case struct {
	Suite    string
	Name     string
	Status   check.Status
	Message  string // one line: why it failed or was skipped
	Detail   string // evidence, several lines
	Duration time.Duration
	// Anchor is the id of the check in report.html.
	Anchor string
	// Blocking marks a gate row that fails the gate: a blocking skip is
	// written as a failure, so CI does not show it as a harmless skip.
	Blocking bool
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// junitElement maps an outcome to its JUnit element, so CI keeps them
// apart: fail is <failure>; error and inconclusive are <error> (type says
// which: inconclusive must not look like a pass); skip is <skipped>, except
// a gate row whose skip fails the gate, which is a <failure type="skip">;
// pass has none ("").
func junitElement(c Case) string {
	switch c.Status {
	case check.Pass:
		return ""
	case check.Fail:
		return "failure"
	case check.Skip:
		if c.Blocking {
			return "failure"
		}
		return "skipped"
	}
	return "error" // error, inconclusive, and any unknown word
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes cases grouped by suite, in first-seen order, as JUnit XML
// (the schema Jenkins, GitLab and GitHub test reporters read).
func WriteJUnit(w io.Writer, name string, started time.Time, cases []Case) error {
	root := junitSuites{Name: name}
	index := map[string]int{}
	var total time.Duration
	for _, c := range cases {
		i, ok := index[c.Suite]
		if !ok {
			i = len(root.Suites)
			index[c.Suite] = i
			root.Suites = append(root.Suites, junitSuite{Name: c.Suite, Timestamp: started.UTC().Format("2006-01-02T15:04:05")})
		}
		s := &root.Suites[i]
		jc := junitCase{Name: c.Name, Classname: "harness." + c.Suite, Time: seconds(c.Duration)}
		switch junitElement(c) {
		case "failure":
			jc.Failure = &junitMessage{Message: c.Message, Type: string(c.Status), Body: c.Detail}
			s.Failures++
			root.Failures++
		case "error":
			jc.Error = &junitMessage{Message: c.Message, Type: string(c.Status), Body: c.Detail}
			s.Errors++
			root.Errors++
		case "skipped":
			jc.Skipped = &junitMessage{Message: c.Message}
			s.Skipped++
			root.Skipped++
		default:
			jc.SystemOut = c.Detail
		}
		s.Tests++
		root.Tests++
		s.Cases = append(s.Cases, jc)
		total += c.Duration
	}
	for i := range root.Suites {
		var d time.Duration
		for _, c := range cases {
			if c.Suite == root.Suites[i].Name {
				d += c.Duration
			}
		}
		root.Suites[i].Time = seconds(d)
	}
	root.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
