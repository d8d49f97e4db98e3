package contracts

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ahsp-harness/harness/check"
)

// Report is the result of `harness contracts`: every response checked
// against its contract, the v1<->v2 equivalence, the breaking-change
// analyses and, when a Sampler was attached to a load run, its findings.
type Report struct {
	Status   check.Status  `json:"status"`
	Target   string        `json:"target,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Results: one per scripted call, per version.
	Results []Result `json:"results"`
	// Equivalence: one per step run in both versions.
	Equivalence []Equivalence `json:"equivalence"`
	// Breaking: v1 vs v2 schemas, v1 schemas vs observed v2 responses, and
	// the baseline comparison when one was asked for.
	Breaking []Comparison  `json:"breaking"`
	Sample   *SampleReport `json:"sample,omitempty"`
	// Families: which URL families the deployment answers (probed once each).
	Families []Family `json:"families,omitempty"`
	// Findings: the deployment's known quirks seen at run time, by id.
	Findings []Finding `json:"findings,omitempty"`
	// Restores: per scratch project, the snapshot, restore and read-back diff.
	Restores []Restore `json:"restores,omitempty"`
	// Notes are things a reader should know (skipped parts and why).
	Notes []string `json:"notes,omitempty"`
}

// Result is one response checked against its contract.
type Result struct {
	Version   string `json:"version"`
	Step      string `json:"step"`
	Operation string `json:"operation,omitempty"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	// WantStatus is what the script expects; Status what came back.
	WantStatus int          `json:"want_status"`
	Status     int          `json:"status"`
	Verdict    check.Status `json:"verdict"`
	// Schema is the contract file the body was checked against.
	Schema     string        `json:"schema,omitempty"`
	Violations []Violation   `json:"violations,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	// Class is the step's request class (read-only or writing).
	Class Class `json:"class,omitempty"`
	// Finding is the quirk id this response showed (see Quirks).
	Finding string `json:"finding,omitempty"`
	// Advisories are header problems reported under an advisory policy:
	// listed, never failing.
	Advisories []Violation `json:"advisories,omitempty"`
}

// Equivalence compares one step's v1 and v2 responses through mapping.yaml.
type Equivalence struct {
	Step        string       `json:"step"`
	Operation   string       `json:"operation"`
	SameProject bool         `json:"same_project"`
	Status      check.Status `json:"status"`
	Differences []Difference `json:"differences,omitempty"`
}

// AddSample attaches what a Sampler saw under load and folds it into the
// verdict: a sampled response that broke its contract fails the section. A
// sample that validated nothing is only a note (it measured nothing).
func (r *Report) AddSample(s SampleReport) {
	if s.Validated == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the load-phase sampler validated no response (%d observed)", s.Observed))
		return
	}
	r.Sample = &s
	r.finish()
}

// finish computes the overall verdict.
func (r *Report) finish() {
	var sts []check.Status
	for _, x := range r.Results {
		sts = append(sts, x.Verdict)
	}
	for _, e := range r.Equivalence {
		sts = append(sts, e.Status)
	}
	for _, c := range r.Breaking {
		sts = append(sts, c.Status)
	}
	if r.Sample != nil {
		sts = append(sts, r.Sample.Status)
	}
	for _, f := range r.Families {
		sts = append(sts, f.Status)
	}
	for _, x := range r.Restores {
		sts = append(sts, x.Status)
	}
	r.Status = check.Summarize(sts...)
}

// Render writes the report as readable tables.
func Render(w io.Writer, r *Report) {
	fmt.Fprintf(w, "contracts: %s", strings.ToUpper(string(r.Status)))
	if r.Target != "" {
		fmt.Fprintf(w, " (%s, %s)", r.Target, r.Duration.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	if len(r.Families) > 0 {
		fmt.Fprintln(w, "\nURL families (probed once each):")
		for _, f := range r.Families {
			fmt.Fprintf(w, "  %s %s: %s\n", f.Status, f.Version, f.Reason)
		}
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "\nfindings (the deployment's quirks, by id; compat.yaml accepts them with finding: ID):")
		for _, f := range r.Findings {
			fmt.Fprintf(w, "  %s %s: %s\n      %s (%s)\n", f.Status, f.ID, f.Title, f.Evidence, strings.Join(f.Steps, ", "))
			if f.Reason != "" {
				fmt.Fprintf(w, "      accepted: %s\n", f.Reason)
			}
		}
	}
	for _, x := range r.Restores {
		fmt.Fprintf(w, "\nrestore of project %d (%s): %s: %s\n", x.Project, x.User, x.Status, x.Reason)
		for _, d := range x.Differences {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
	if len(r.Results) > 0 {
		pass, fail, skip := 0, 0, 0
		for _, x := range r.Results {
			switch x.Verdict {
			case check.Pass:
				pass++
			case check.Fail:
				fail++
			default:
				skip++
			}
		}
		fmt.Fprintf(w, "\nresponses: %d pass, %d fail, %d skip\n", pass, fail, skip)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERDICT\tVERSION\tSTEP\tCLASS\tCALL\tSTATUS\tWANT")
		for _, x := range r.Results {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%d\t%d\n", x.Verdict, x.Version, x.Step, dash(string(x.Class)), x.Method, x.Path, x.Status, x.WantStatus)
		}
		tw.Flush()
		for _, x := range r.Results {
			if len(x.Violations) == 0 && x.Reason == "" && len(x.Advisories) == 0 {
				continue
			}
			if x.Finding != "" {
				continue // listed under findings
			}
			fmt.Fprintf(w, "%s %s %s (%s):\n", x.Verdict, x.Version, x.Step, x.Schema)
			for _, g := range groupViolations(x.Violations) {
				fmt.Fprintf(w, "  - %s\n", g)
			}
			for _, g := range groupViolations(x.Advisories) {
				fmt.Fprintf(w, "  - advisory: %s\n", g)
			}
			if x.Reason != "" {
				fmt.Fprintf(w, "  (%s)\n", x.Reason)
			}
		}
	}
	if len(r.Equivalence) > 0 {
		fmt.Fprintln(w, "\nv1 <-> v2 equivalence:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERDICT\tSTEP\tOPERATION\tPROJECTS\tDIFFERENCES")
		for _, e := range r.Equivalence {
			proj := "different"
			if e.SameProject {
				proj = "same"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", e.Status, e.Step, e.Operation, proj, len(e.Differences))
		}
		tw.Flush()
		for _, e := range r.Equivalence {
			if len(e.Differences) == 0 {
				continue
			}
			fmt.Fprintf(w, "%s %s (%s):\n", e.Status, e.Step, e.Operation)
			for _, g := range groupDifferences(e.Differences) {
				fmt.Fprintf(w, "  - %s\n", g)
			}
		}
	}
	for _, c := range r.Breaking {
		fmt.Fprintln(w)
		RenderComparison(w, c)
	}
	if r.Sample != nil {
		fmt.Fprintln(w)
		RenderSample(w, *r.Sample)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
}

func (d Difference) String() string {
	switch d.What {
	case "":
		return d.Path
	case "missing in v2":
		return fmt.Sprintf("%s: missing in v2 (v1 %s = %s)", d.Path, d.V1Path, d.V1)
	case "only in v2":
		return fmt.Sprintf("%s: only in v2 (= %s)", d.Path, d.V2)
	case "renamed":
		return fmt.Sprintf("%s: renamed in v2 (v1 %s = %s, v2 = %s)", d.Path, d.V1Path, d.V1, d.V2)
	}
	return fmt.Sprintf("%s: %s (v1 %s, v2 %s)", d.Path, d.What, d.V1, d.V2)
}

// RenderComparison writes one breaking-change analysis as a table.
func RenderComparison(w io.Writer, c Comparison) {
	breaking := 0
	for _, ch := range c.Changes {
		if ch.Breaking {
			breaking++
		}
	}
	fmt.Fprintf(w, "breaking changes, %s (%s -> %s): %s, %d changes, %d breaking, %d not accepted\n",
		c.Name, c.Old, c.New, strings.ToUpper(string(c.Status)), len(c.Changes), breaking, c.Unaccepted)
	if len(c.Changes) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tWHERE\tCHANGE\tPATH\tOLD\tNEW\tREASON")
	for _, ch := range c.Changes {
		class := "non-breaking"
		switch {
		case ch.Breaking && ch.Accepted:
			class = "accepted"
		case ch.Breaking:
			class = "BREAKING"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", class, ch.Where(), ch.Change, dash(ch.Path), dash(ch.Old), dash(ch.New), ch.Reason)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var pointerIndex = regexp.MustCompile(`/\d+(/|$)`)

// groupViolations folds violations that differ only in an array index
// (the same problem in every item) into one line with a count.
func groupViolations(vs []Violation) []string {
	var order []string
	count := map[string]int{}
	first := map[string]string{}
	for _, v := range vs {
		k := v.Where + " " + pointerIndex.ReplaceAllString(v.InstancePath, "/*$1") + " " + v.SchemaPath + " " + v.Message
		if count[k] == 0 {
			order = append(order, k)
			first[k] = v.String()
		}
		count[k]++
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = first[k]
		if n := count[k]; n > 1 {
			out[i] += fmt.Sprintf(" (and %d more like it)", n-1)
		}
	}
	return out
}

// groupDifferences folds differences of the same kind at the same field of
// different array items into one line with a count.
func groupDifferences(ds []Difference) []string {
	var order []string
	count := map[string]int{}
	first := map[string]string{}
	for _, d := range ds {
		k := stripIndices(d.Path) + " " + d.What
		if count[k] == 0 {
			order = append(order, k)
			first[k] = d.String()
		}
		count[k]++
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = first[k]
		if n := count[k]; n > 1 {
			out[i] += fmt.Sprintf(" (and %d more items)", n-1)
		}
	}
	return out
}
