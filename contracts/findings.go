package contracts

import (
	"sort"

	"github.com/ahsp-harness/harness/check"
)

// Quirks are the deployed app's known behaviours a contract can see
// (REAL-APP.md section 8), by stable id. A response showing one is reported
// as that finding, not as a schema failure, so compat.yaml can accept each
// one by id ("finding: <id>") with a reason.
var Quirks = map[string]string{
	"rate-limit.no-retry-after":                        "429 carries no Retry-After header",
	"rate-limit.retry-after-full-window":               "the 429 body's retry_after stays the full window (it does not count down)",
	"export.rekap-rab-csv.bom-per-line":                "rekap CSV: a byte-order mark at the start of every line",
	"export.rekap-rab-csv.foreign-project-500":         "rekap CSV of another user's project answers 500, not 404",
	"export.rincian-rab-csv.lf-no-bom":                 "rincian CSV: no byte-order mark, bare LF line ends (unlike the rekap CSV)",
	"export.anonymous-401":                             "anonymous CSV exports answer 401 JSON while other anonymous API calls redirect to login",
	"list-pekerjaan.save.blank-name-accepted":          "list save accepts a blank klasifikasi name",
	"list-pekerjaan.save.keeps-empty-groups":           "list save answers 207 and commits klasifikasi and sub rows although no pekerjaan was saved",
	"list-pekerjaan.upsert.negative-id-wipes":          "an upsert row with id -5 is accepted and every row the body omits is deleted",
	"list-pekerjaan.upsert.empty-list-wipes":           "an upsert with klasifikasi [] deletes the whole tree",
	"volume-pekerjaan.save.bad-input-accepted":         "volume save accepted input it should refuse",
	"detail-ahsp.save.bad-input-accepted":              "detail save accepted input it should refuse",
	"search-ahsp.total-counts-returned":                "search total counts the rows returned, not every match",
	"list-pekerjaan.save.malformed-json-writes":        "list save wrote rows for a malformed body",
	"detail-ahsp.save.lock-stamp-mismatch":             "detail save's lock refuses (409) the updated_at detail get handed out after a save: it checks another stamp than it hands out",
	"lock.naive-client-updated-at-500":                 "a client_updated_at without a time zone answers 500",
	"harga-items.save.string-id-refused":               "harga save refuses an item id sent as a string, and its 400 (nothing saved) claims a partial save",
	"method.read-accepts-any-method":                   "a read operation (harga-items list, rekap) answers POST as a GET",
	"method.head-405":                                  "HEAD on a GET operation answers 405",
	"volume-pekerjaan.save.comma-thousands-as-decimal": "volume save reads \"1,000\" (a thousands comma or a decimal one) instead of refusing it",
	"volume-pekerjaan.save.exponent-string-accepted":   "volume save accepts a quantity string in exponent notation (\"1e3\")",
	// Quirk 24 on detail and harga save (REAL-APP.md 1, section 8).
	"detail-ahsp.save.comma-thousands-as-decimal": "detail save reads the koefisien \"1,000\" (a thousands comma or a decimal one) instead of refusing it",
	"detail-ahsp.save.exponent-string-accepted":   "detail save accepts a koefisien string in exponent notation (\"1e3\")",
	"harga-items.save.comma-thousands-as-decimal": "harga save reads harga_satuan or markup_percent \"1,000\" (a thousands comma or a decimal one) instead of refusing it",
	"harga-items.save.exponent-string-accepted":   "harga save accepts harga_satuan or markup_percent strings in exponent notation (\"1e3\", \"1e1\")",
	// Quirks 14, 15 and 26 (REAL-APP.md section 8).
	"list-pekerjaan.upsert.ordering-takeover":        "a new upsert pekerjaan at an existing one's ordering_index takes it over: the new row vanishes and the volume is deleted",
	"list-pekerjaan.upsert.failed-row-temp-ordering": "a pekerjaan whose upsert row failed (207) is left at a temporary ordering_index (1000000+n)",
	"health.session-skips-checks":                    "/health/ with a session cookie answers the simple form without checking the database or cache",
	// Quirk 16.
	"list-pekerjaan.tree.stale-after-upsert": "after an upsert the unsearched tree is served from a cache the upsert does not invalidate (up to 300 s per worker)",
}

// Finding is one quirk seen at run time.
type Finding struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Steps are the scripted steps (with version) that showed it.
	Steps []string `json:"steps"`
	// Evidence is what the first of them saw.
	Evidence string       `json:"evidence"`
	Status   check.Status `json:"status"`
	// Reason is compat.yaml's, when the finding is accepted.
	Reason string `json:"reason,omitempty"`
}

// findings folds the results' findings into one entry per id.
func findings(rs []Result, compat *Compat) []Finding {
	by := map[string]*Finding{}
	for _, r := range rs {
		if r.Finding == "" {
			continue
		}
		f, ok := by[r.Finding]
		if !ok {
			f = &Finding{ID: r.Finding, Title: Quirks[r.Finding], Evidence: r.Reason, Status: check.Fail}
			if e, ok := compat.AcceptsFinding(r.Finding); ok {
				f.Status, f.Reason = check.Pass, e.Reason
			}
			by[r.Finding] = f
		}
		f.Steps = append(f.Steps, r.Version+" "+r.Step)
	}
	out := make([]Finding, 0, len(by))
	for _, f := range by {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// finding marks res as showing quirk id with evidence; its verdict follows
// compat.yaml (fail unless accepted).
func (r *runner) finding(res *Result, id, evidence string) {
	res.Finding, res.Reason, res.Violations = id, evidence, nil
	res.Verdict = check.Fail
	if _, ok := r.opts.Compat.AcceptsFinding(id); ok {
		res.Verdict = check.Pass
	}
}
