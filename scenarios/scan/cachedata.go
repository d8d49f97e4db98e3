package scan

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/api"
)

// Finding is a fault of the deployment a probe saw besides its verdict's
// subject (data served wrong while the cache was down), by a stable id; it
// makes the probe FAIL.
type Finding struct {
	ID       string `json:"id"`
	Evidence string `json:"evidence"`
}

func (f Finding) String() string { return f.ID + ": " + f.Evidence }

// FindingBlankRekapCSV: the rekap CSV answered 200 with amounts blank that
// it printed before the cache went down (the deployed export swallows the
// cache error, REAL-APP.md section 6).
const FindingBlankRekapCSV = "export.rekap-rab-csv.blank-amounts-cache-down"

// exportCheck reads a data export before and while the cache is down: an
// export that still answers 200 must print the same numbers (or refuse).
type exportCheck struct {
	op     api.Operation
	before outcome
}

// exportBefore reads the rekap CSV with the cache up; nil and a note when it
// is not served (another plan, a limit), so it cannot be compared.
func (s *scanner) exportBefore(ctx context.Context, a *agent, t *tally) (*exportCheck, string) {
	x := &exportCheck{op: mustOp("export.rekap-rab-csv")}
	hc := httpClient(10*time.Second, false)
	defer hc.CloseIdleConnections()
	x.before, _ = a.send(ctx, hc, x.req)
	x.before.label = "rekap CSV before"
	t.add(x.before)
	if x.before.status != http.StatusOK {
		return nil, fmt.Sprintf("rekap CSV not compared: it answered %d before the outage", x.before.status)
	}
	if n, _, _ := blankedNumbers(x.before.body, x.before.body); n == 0 {
		return nil, "rekap CSV not compared: it printed no numbers before the outage"
	}
	return x, ""
}

func (x *exportCheck) req(vu *scenarios.VU) req {
	return req{method: x.op.Method, path: x.op.URLPath(api.Legacy, vu.Project, 0), header: vu.Header}
}

// during reads the export again while the cache is down: a refusal is no
// finding (fail-closed), the same numbers are none either; a 200 that
// leaves numbers blank is FindingBlankRekapCSV.
func (x *exportCheck) during(ctx context.Context, a *agent, t *tally) (*Finding, string, Sample) {
	hc := httpClient(10*time.Second, false)
	defer hc.CloseIdleConnections()
	o, _ := a.send(ctx, hc, x.req)
	o.label = "rekap CSV while the cache is stopped"
	t.add(o)
	sample := sampleOf("rekap CSV while the cache was stopped", o)
	if o.status != http.StatusOK {
		return nil, fmt.Sprintf("rekap CSV refused while the cache was stopped (%d)", o.status), sample
	}
	numbers, blanked, example := blankedNumbers(x.before.body, o.body)
	if blanked == 0 && example == "" && !sameLines(x.before.body, o.body) {
		return nil, "rekap CSV answered 200 while the cache was stopped, but not with the lines it printed before (not compared)", sample
	}
	if blanked == 0 {
		return nil, fmt.Sprintf("rekap CSV served while the cache was stopped with the %d numbers it printed before", numbers), sample
	}
	return &Finding{ID: FindingBlankRekapCSV, Evidence: fmt.Sprintf(
		"the rekap CSV answered 200 while the cache was stopped with %d of the %d numbers it printed before the outage left blank (e.g. %q): wrong data served as a success instead of a refusal",
		blanked, numbers, example)}, "", sample
}

var numberCell = regexp.MustCompile(`^-?[0-9][0-9.,]*$`)

// blankedNumbers compares two ';'-separated CSV bodies line by line (by
// position when both have as many records, else by first cell): numbers
// counts the numeric cells of before, blanked those left empty in during,
// example is the first such line of during.
func blankedNumbers(before, during []byte) (numbers, blanked int, example string) {
	b, d := csvRecords(before), csvRecords(during)
	pair := func(i int) []string {
		if len(b) == len(d) {
			return d[i]
		}
		for _, r := range d {
			if len(r) > 0 && len(b[i]) > 0 && r[0] == b[i][0] {
				return r
			}
		}
		return nil
	}
	for i, rec := range b {
		other := pair(i)
		for j, cell := range rec {
			if !numberCell.MatchString(strings.TrimSpace(cell)) {
				continue
			}
			numbers++
			if other != nil && (j >= len(other) || strings.TrimSpace(other[j]) == "") {
				blanked++
				if example == "" {
					example = truncate(strings.Join(other, ";"), 120)
				}
			}
		}
	}
	return numbers, blanked, example
}

// sameLines reports whether during has a record for every first cell of
// before (the same report, whatever its numbers).
func sameLines(before, during []byte) bool {
	d := map[string]bool{}
	for _, r := range csvRecords(during) {
		d[r[0]] = true
	}
	for _, r := range csvRecords(before) {
		if !d[r[0]] {
			return false
		}
	}
	return true
}

// csvRecords reads a ';'-separated CSV, byte-order marks anywhere removed
// (the deployed rekap CSV starts every line with one); nil when it is none.
func csvRecords(body []byte) [][]string {
	r := csv.NewReader(strings.NewReader(strings.ReplaceAll(string(body), "\ufeff", "")))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = ';', -1, true
	recs, err := r.ReadAll()
	if err != nil {
		return nil
	}
	return recs
}
