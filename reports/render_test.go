package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/e2e"
	"github.com/ahsp-harness/harness/scenarios"
	"github.com/stretchr/testify/require"
)

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./reports -update")
	require.Equal(t, string(want), string(got), "output differs from %s; if intended run go test ./reports -update", path)
}

func TestGolden(t *testing.T) {
	run := sampleRun()
	tests := []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"report.html", func(b *bytes.Buffer) error { return WriteHTML(b, run, t.TempDir()) }},
		{"summary.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, run) }},
		{"junit.xml", func(b *bytes.Buffer) error { return WriteRunJUnit(b, run) }},
		{"summary.json", func(b *bytes.Buffer) error { return WriteJSON(b, run) }},
		{"gate.txt", func(b *bytes.Buffer) error { return WriteGateTable(b, run.Gate) }},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tc.render(&b))
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, sampleRun(), t.TempDir()))
	html := b.String()
	for _, bad := range []string{"<script src", "<link ", "http://cdn", "https://", "@import"} {
		require.NotContains(t, html, bad, "report must not fetch anything")
	}
	for _, want := range []string{
		`class="banner fail"`, ">FAIL<", "Defects switched ON", "limiter-per-worker",
		"data:image/png;base64,", "Schedule lag:", "accepted per worker", "data.rows[0].total",
		"@media print", "<svg", "write-spike", "rekap",
	} {
		require.Contains(t, html, want)
	}
}

func TestHTMLScreenshotFromPath(t *testing.T) {
	dir := t.TempDir()
	run := sampleRun()
	shot := &run.E2E.Results[2].Screenshots[0]
	png := shot.PNG
	shot.PNG = nil
	shot.Path = "shots/after-save.png"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "shots"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, shot.Path), png, 0o644))
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, run, dir))
	require.Contains(t, b.String(), "data:image/png;base64,")

	shot.Path = "missing.png"
	b.Reset()
	require.NoError(t, WriteHTML(&b, run, dir))
	require.Contains(t, b.String(), "screenshot not readable: missing.png")
}

func TestWriteAllAndLoad(t *testing.T) {
	dir := t.TempDir()
	run := sampleRun()
	out, err := WriteAll(dir, run)
	require.NoError(t, err)
	for _, p := range []string{out.HTML, out.JSON, out.JUnit, out.Markdown} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.NotZero(t, fi.Size())
	}
	back, err := Load(out.JSON)
	require.NoError(t, err)
	require.Equal(t, run.Gate, back.Gate)
	require.Equal(t, run.Meta, back.Meta)
	require.Len(t, back.Scenarios, 2)

	// Re-rendering from the loaded model gives the same markdown and junit.
	var a, b bytes.Buffer
	require.NoError(t, WriteMarkdown(&a, run))
	require.NoError(t, WriteMarkdown(&b, back))
	require.Equal(t, a.String(), b.String())
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not json", "hello", "not JSON"},
		{"no version", `{"meta":{}}`, "no schema_version"},
		{"other major", `{"schema_version":"1.0"}`, "schema_version 1.0, this harness reads 2.x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o644))
			_, err := Load(p)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := Load(filepath.Join(dir, "absent.json"))
	require.ErrorContains(t, err, "read summary")
}

func TestAppendStepSummary(t *testing.T) {
	p := filepath.Join(t.TempDir(), "step.md")
	require.NoError(t, os.WriteFile(p, []byte("earlier step\n"), 0o644))
	require.NoError(t, AppendStepSummary(p, sampleRun()))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "earlier step\n## ❌ harness: FAIL"), string(data[:60]))
}

// TestJUnitStructure checks junit.xml against the structure of the JUnit XML
// schema (the Jenkins/Ant junit-4 XSD). Go has no XSD validator and we add
// no C dependency, so this test encodes the XSD's rules by hand: root
// testsuites; testsuite with name, tests, failures, errors, skipped, time;
// testcase with name, classname, time; at most one of failure/skipped with a
// message; counts that add up; times that parse as non-negative decimals.
func TestJUnitStructure(t *testing.T) {
	var b bytes.Buffer
	run := sampleRun()
	require.NoError(t, WriteRunJUnit(&b, run))

	type msg struct {
		Message *string `xml:"message,attr"`
		Body    string  `xml:",chardata"`
	}
	type tcase struct {
		Name      *string `xml:"name,attr"`
		Classname *string `xml:"classname,attr"`
		Time      *string `xml:"time,attr"`
		Failure   []msg   `xml:"failure"`
		Error     []msg   `xml:"error"`
		Skipped   []msg   `xml:"skipped"`
	}
	type suite struct {
		Name      *string `xml:"name,attr"`
		Tests     *string `xml:"tests,attr"`
		Failures  *string `xml:"failures,attr"`
		Errors    *string `xml:"errors,attr"`
		Skipped   *string `xml:"skipped,attr"`
		Time      *string `xml:"time,attr"`
		Timestamp string  `xml:"timestamp,attr"`
		Cases     []tcase `xml:"testcase"`
	}
	var root struct {
		XMLName  xml.Name
		Tests    *string `xml:"tests,attr"`
		Failures *string `xml:"failures,attr"`
		Errors   *string `xml:"errors,attr"`
		Skipped  *string `xml:"skipped,attr"`
		Suites   []suite `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &root))
	require.Equal(t, "testsuites", root.XMLName.Local)

	num := func(p *string, what string) int {
		require.NotNil(t, p, "missing attribute %s", what)
		n, err := strconv.Atoi(*p)
		require.NoError(t, err, what)
		require.GreaterOrEqual(t, n, 0, what)
		return n
	}
	dur := func(p *string, what string) {
		require.NotNil(t, p, "missing attribute %s", what)
		f, err := strconv.ParseFloat(*p, 64)
		require.NoError(t, err, what)
		require.GreaterOrEqual(t, f, 0.0, what)
	}
	var tests, fails, errs, skips int
	names := map[string]bool{}
	for _, s := range root.Suites {
		require.NotNil(t, s.Name)
		require.NotEmpty(t, *s.Name)
		dur(s.Time, "testsuite time")
		var f, e, sk int
		for _, c := range s.Cases {
			require.NotNil(t, c.Name)
			require.NotEmpty(t, *c.Name)
			require.NotNil(t, c.Classname)
			dur(c.Time, "testcase time")
			require.LessOrEqual(t, len(c.Failure)+len(c.Error)+len(c.Skipped), 1, "testcase %s has several outcomes", *c.Name)
			for _, m := range append(append(c.Failure, c.Error...), c.Skipped...) {
				require.NotNil(t, m.Message, "failure/error/skipped needs a message attribute")
			}
			f += len(c.Failure)
			e += len(c.Error)
			sk += len(c.Skipped)
			names[*s.Name+"/"+*c.Name] = true
		}
		require.Equal(t, len(s.Cases), num(s.Tests, "tests"), "suite %s", *s.Name)
		require.Equal(t, f, num(s.Failures, "failures"), "suite %s", *s.Name)
		require.Equal(t, e, num(s.Errors, "errors"), "suite %s", *s.Name)
		require.Equal(t, sk, num(s.Skipped, "skipped"), "suite %s", *s.Name)
		tests += len(s.Cases)
		fails += f
		errs += e
		skips += sk
	}
	require.Equal(t, tests, num(root.Tests, "root tests"))
	require.Equal(t, fails, num(root.Failures, "root failures"))
	require.Equal(t, errs, num(root.Errors, "root errors"))
	require.Equal(t, skips, num(root.Skipped, "root skipped"))

	// One testcase per probe, scenario, gate row, contract call,
	// equivalence, schema comparison and e2e check.
	want := len(run.Scan.Probes) + len(run.Scenarios) + len(run.Gate.Rows) + len(run.Contracts.Results) +
		len(run.Contracts.Equivalence) + len(run.Contracts.Breaking) + len(run.Contracts.Families) +
		len(run.Contracts.Findings) + len(run.Contracts.Restores) + len(run.E2E.Results) +
		len(run.Security.Checks) + len(run.Observability.Checks)
	require.Equal(t, want, tests)
	require.True(t, names["security/headers"])
	require.True(t, names["observability/metrics.limit-hits"])
	require.True(t, names["scan/multi-worker"])
	require.True(t, names["e2e/loading-overlay-clears"])

	// Every outcome lands in its own element: fail and a blocking gate skip
	// as <failure>, error and inconclusive as <error>, skip as <skipped>.
	var failed, errored, skipped int
	for _, c := range runCases(run) {
		switch {
		case c.Status == check.Fail, c.Status == check.Skip && c.Blocking:
			failed++
		case c.Status == check.Error, c.Status == check.Inconclusive:
			errored++
		case c.Status == check.Skip:
			skipped++
		}
	}
	require.Equal(t, failed, fails)
	require.Equal(t, errored, errs)
	require.Equal(t, skipped, skips)
	require.NotZero(t, errored, "the sample has error and inconclusive checks")
	require.Contains(t, b.String(), `type="inconclusive"`)
}

// TestRenderSample writes the sample run's outputs to $REPORT_SAMPLE_DIR,
// for screenshots and eyeballing; it does nothing otherwise.
func TestRenderSample(t *testing.T) {
	dir := os.Getenv("REPORT_SAMPLE_DIR")
	if dir == "" {
		t.Skip("set REPORT_SAMPLE_DIR to write the sample report")
	}
	_, err := WriteAll(dir, sampleRun())
	require.NoError(t, err)
	_, err = WriteAll(filepath.Join(dir, "stress"), stressRun())
	require.NoError(t, err)
}

// stressRun is the sample with a very long command and many failing checks:
// the banner must wrap the command and the gate rows stay short.
func stressRun() *Run {
	r := sampleRun()
	r.Meta.Command = "harness run --stack external --target-url http://127.0.0.1:8000/a/very/long/prefix/that/never/breaks " +
		strings.Repeat("--scenario ./scenarios/some-really-long-scenario-file-name.yaml ", 6) + "--out /tmp/reports/" + strings.Repeat("x", 120)
	for i := range 40 {
		r.E2E.Results = append(r.E2E.Results, e2e.Result{Name: fmt.Sprintf("generated-check-%02d", i), Group: "stress", Status: check.Fail, Reason: "overlay still visible"})
	}
	r.EvaluateGate(DefaultGate())
	return r
}

// TestPartialRuns renders runs with sections missing or empty: every
// renderer must cope with what a run that stopped early leaves behind.
func TestPartialRuns(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Run)
		want   string
	}{
		{"nothing ran", func(r *Run) {
			*r = Run{SchemaVersion: SchemaVersion, Meta: r.Meta, Errors: []string{"stack failed to start: port in use"}}
		}, "stack failed to start: port in use"},
		{"no stack info", func(r *Run) { r.Stack = nil }, "Bypass findings"},
		{"e2e skipped without results", func(r *Run) {
			r.E2E.Results = nil
			r.E2E.Status = check.Skip
			r.E2E.Reason = "chromium not found"
		}, "chromium not found"},
		{"scenario without metrics", func(r *Run) { r.Scenarios[0].Metrics = scenarios.Summary{} }, "steady-read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleRun()
			tc.mutate(r)
			r.EvaluateGate(DefaultGate())
			dir := t.TempDir()
			out, err := WriteAll(dir, r)
			require.NoError(t, err)
			html, err := os.ReadFile(out.HTML)
			require.NoError(t, err)
			require.Contains(t, string(html), tc.want)
			back, err := Load(out.JSON)
			require.NoError(t, err)
			require.Equal(t, r.Gate, back.Gate)
		})
	}
}

// TestGateSkippedSectionSaysWhy: a skipped section's gate row carries the
// section's reason, not a bare SKIP.
func TestGateSkippedSectionSaysWhy(t *testing.T) {
	r := sampleRun()
	r.E2E.Results, r.E2E.Status, r.E2E.Reason = nil, check.Skip, "chromium not found at /usr/bin/chromium"
	r.EvaluateGate(DefaultGate())
	var row *GateRow
	for i := range r.Gate.Rows {
		if r.Gate.Rows[i].Name == "all e2e checks pass" {
			row = &r.Gate.Rows[i]
		}
	}
	require.NotNil(t, row, "the default gate has an e2e section row")
	require.Equal(t, check.Skip, row.Status)
	require.True(t, row.Blocking, "a required section that did not run blocks the gate")
	require.Contains(t, row.Text(), "chromium not found at /usr/bin/chromium")
	require.Contains(t, row.Text(), "--allow-skip e2e")
}

// TestLineChartLegendWraps: past three series the legend wraps below the
// chart (which grows) instead of running into the axis label.
func TestLineChartLegendWraps(t *testing.T) {
	for _, tc := range []struct {
		series  int
		viewBox string
	}{{1, `viewBox="0 0 560 200"`}, {3, `viewBox="0 0 560 200"`}, {4, `viewBox="0 0 560 212"`}, {6, `viewBox="0 0 560 212"`}, {7, `viewBox="0 0 560 224"`}} {
		var ss []Series
		for i := range tc.series {
			ss = append(ss, Series{Name: fmt.Sprintf("s%d", i), Color: "#000", Points: [][2]float64{{1, 1}, {2, 2}}})
		}
		svg := string(LineChart("t", "x", "y", ss...))
		require.Contains(t, svg, tc.viewBox, "%d series", tc.series)
		if tc.series >= 4 {
			require.Contains(t, svg, `<text x="70.0" y="210.0" class="tick">s3</text>`, "the 4th item starts the second row")
		}
	}
}
