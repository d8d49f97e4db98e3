package contracts

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ahsp-harness/harness/target/api"
)

// Class says whether a request can change the project it is sent to.
type Class string

// Request classes. A writing step runs only on a project declared scratch.
const (
	ReadOnly Class = "read-only"
	Writing  Class = "writing"
)

// PlannedStep is one request the suite may send. Steps are fixed here so
// `harness contracts plan` can list every request and its class without
// sending anything, and so no step can send a request that was not planned.
type PlannedStep struct {
	Group     string `json:"group"`
	Step      string `json:"step"`
	Operation string `json:"operation"`
	// Method is the HTTP method (the operation's, unless the step says otherwise).
	Method string `json:"method"`
	// Query is appended to the path ("?q=..." where the step searches).
	Query string `json:"query,omitempty"`
	// Project says whose project: "own" (the run's), "foreign" (another
	// user's, read-only always), "none" (anonymous).
	Project string `json:"project"`
	Class   Class  `json:"class"`
	Purpose string `json:"purpose"`
}

// plan is every scripted request. Writing steps that send malformed or
// refused input are still writing: they reach an endpoint that writes when
// the deployment accepts what it should refuse.
var plan = []PlannedStep{
	{"discovery", "family.legacy", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "is the legacy family deployed (the v1 baseline)"},
	{"discovery", "family.v1", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "is /api/v1/ deployed"},
	{"discovery", "family.v2", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "is /api/v2/ deployed"},
	{"snapshot", "snapshot.tree", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "the project before the script writes"},
	{"snapshot", "snapshot.volumes", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "volumes before"},
	{"snapshot", "snapshot.detail", "detail-ahsp.get", "GET", "", "own", ReadOnly, "rincian of each pekerjaan before"},
	{"snapshot", "snapshot.harga", "harga-items.list", "GET", "", "own", ReadOnly, "prices and markup before"},
	{"script", "tree.initial", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "tree contract"},
	{"script", "search", "search-ahsp", "GET", "?q={term}&limit=5", "own", ReadOnly, "catalog search; picks a reference AHSP"},
	{"script", "search.total", "search-ahsp", "GET", "?q={term}&limit=1", "own", ReadOnly, "total counts every match, not the rows returned"},
	{"script", "save.tree", "list-pekerjaan.save", "POST", "", "own", Writing, "new klasifikasi > sub > custom + ref pekerjaan"},
	{"script", "tree.after-save", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "the saved rows are listed"},
	{"script", "upsert", "list-pekerjaan.upsert", "POST", "", "own", Writing, "the whole tree sent back plus one pekerjaan"},
	{"script", "tree.search", "list-pekerjaan.tree", "GET", "?q=kontrak", "own", ReadOnly, "search keys"},
	{"script", "volume.save.comma-thousands", "volume-pekerjaan.save", "POST", "", "own", Writing, "quantity \"1,000\" (1.0 or 1000?): 400 on the row"},
	{"script", "volume.save.comma-thousands.read-back", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "what \"1,000\" was stored as, when accepted"},
	{"script", "volume.save.exponent", "volume-pekerjaan.save", "POST", "", "own", Writing, "quantity \"1e3\" (a string in exponent notation): 400 on the row"},
	{"script", "volume.save.exponent.read-back", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "what \"1e3\" was stored as, when accepted"},
	{"script", "volume.save", "volume-pekerjaan.save", "POST", "", "own", Writing, "volumes \"12,5\" and 3"},
	{"script", "volume.list", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "\"12,5\" listed as \"12.500\""},
	{"script", "detail.get.custom", "detail-ahsp.get", "GET", "", "own", ReadOnly, "rincian of the new custom pekerjaan"},
	{"script", "detail.save", "detail-ahsp.save", "POST", "", "own", Writing, "two rincian rows"},
	{"script", "detail.save.conflict", "detail-ahsp.save", "POST", "", "own", Writing, "the same edit from the old version: 409"},
	{"script", "detail.get.after-save", "detail-ahsp.get", "GET", "", "own", ReadOnly, "the updated_at handed out after the save"},
	{"script", "detail.save.resend", "detail-ahsp.save", "POST", "", "own", Writing, "the same rows with that updated_at: 200 (409 is the lock checking another stamp)"},
	{"script", "detail.save.naive-stamp", "detail-ahsp.save", "POST", "", "own", Writing, "client_updated_at without a time zone, a day later: 200 or 400, not 500"},
	{"script", "detail.save.kategori-clash.before", "detail-ahsp.get", "GET", "", "own", ReadOnly, "the rincian before the kategori clash"},
	{"script", "detail.save.kategori-clash", "detail-ahsp.save", "POST", "", "own", Writing, "a row whose kode the project has under another kategori: 400 {ok, user_message, errors: [{path: kategori}]}, nothing written"},
	{"script", "detail.save.kategori-clash.after", "detail-ahsp.get", "GET", "", "own", ReadOnly, "the rincian after the kategori clash: unchanged"},
	{"script", "detail.save.comma-thousands", "detail-ahsp.save", "POST", "", "own", Writing, "koefisien \"1,000\" (1.0 or 1000?): 400 on the row"},
	{"script", "detail.save.comma-thousands.read-back", "detail-ahsp.get", "GET", "", "own", ReadOnly, "what \"1,000\" was stored as, when accepted"},
	{"script", "detail.save.exponent", "detail-ahsp.save", "POST", "", "own", Writing, "koefisien \"1e3\" (a string in exponent notation): 400 on the row"},
	{"script", "detail.save.exponent.read-back", "detail-ahsp.get", "GET", "", "own", ReadOnly, "what \"1e3\" was stored as, when accepted"},
	{"script", "detail.get.ref", "detail-ahsp.get", "GET", "", "own", ReadOnly, "rincian of the reference pekerjaan"},
	{"script", "detail.save.read-only", "detail-ahsp.save", "POST", "", "own", Writing, "saving a reference pekerjaan: 400"},
	{"script", "harga.list", "harga-items.list", "GET", "", "own", ReadOnly, "price list contract"},
	{"script", "harga.save", "harga-items.save", "POST", "", "own", Writing, "one price and the markup"},
	{"script", "harga.save.naive-stamp", "harga-items.save", "POST", "", "own", Writing, "the same markup, client_updated_at without a time zone, a day later: 200 or 400, not 500"},
	{"script", "harga.save.string-id", "harga-items.save", "POST", "", "own", Writing, "the same price with the item id as a string (\"7\"): 200"},
	{"script", "harga.save.comma-thousands", "harga-items.save", "POST", "", "own", Writing, "harga_satuan \"1,000\" (1.0 or 1000?): 400 on the item"},
	{"script", "harga.save.comma-thousands.read-back", "harga-items.list", "GET", "", "own", ReadOnly, "what \"1,000\" was stored as, when accepted"},
	{"script", "harga.save.exponent", "harga-items.save", "POST", "", "own", Writing, "harga_satuan \"1e3\" (a string in exponent notation): 400 on the item"},
	{"script", "harga.save.exponent.read-back", "harga-items.list", "GET", "", "own", ReadOnly, "what \"1e3\" was stored as, when accepted"},
	{"script", "harga.save.markup.comma-thousands", "harga-items.save", "POST", "", "own", Writing, "markup_percent \"1,000\" (1.0 or 1000?): 400 on markup_percent"},
	{"script", "harga.save.markup.comma-thousands.read-back", "harga-items.list", "GET", "", "own", ReadOnly, "what \"1,000\" was stored as, when accepted"},
	{"script", "harga.save.markup.exponent", "harga-items.save", "POST", "", "own", Writing, "markup_percent \"1e1\" (a string in exponent notation): 400 on markup_percent"},
	{"script", "harga.save.markup.exponent.read-back", "harga-items.list", "GET", "", "own", ReadOnly, "what \"1e1\" was stored as, when accepted"},
	{"script", "rekap", "rekap", "GET", "", "own", ReadOnly, "rekap contract"},
	{"script", "method.post.harga-list", "harga-items.list", "POST", "", "own", Writing, "a read sent as POST (empty body): 405 naming GET"},
	{"script", "method.post.rekap", "rekap", "POST", "", "own", Writing, "a read sent as POST (empty body): 405 naming GET"},
	{"script", "method.head.tree", "list-pekerjaan.tree", "HEAD", "", "own", ReadOnly, "HEAD on a GET: 200"},
	{"script", "export.rekap-rab", "export.rekap-rab-csv", "GET", "", "own", ReadOnly, "rekap CSV bytes"},
	{"script", "export.rincian-rab", "export.rincian-rab-csv", "GET", "", "own", ReadOnly, "rincian CSV bytes"},
	{"script", "not-found.pekerjaan", "detail-ahsp.get", "GET", "", "own", ReadOnly, "unknown pekerjaan: 404"},
	{"script", "not-found.foreign-project", "list-pekerjaan.tree", "GET", "", "foreign", ReadOnly, "another user's project: 404"},
	{"script", "not-found.foreign-export", "export.rekap-rab-csv", "GET", "", "foreign", ReadOnly, "another user's rekap CSV: 404"},
	{"script", "unauthenticated", "list-pekerjaan.tree", "GET", "", "none", ReadOnly, "anonymous: 302 to login"},
	{"script", "unauthenticated.export", "export.rekap-rab-csv", "GET", "", "none", ReadOnly, "anonymous export: 302 to login"},
	{"bad.volume", "bad.volume.quantity", "volume-pekerjaan.save", "POST", "", "own", Writing, "quantity \"dua belas\": 400, nothing written"},
	{"bad.detail", "bad.detail.kategori", "detail-ahsp.save", "POST", "", "own", Writing, "kategori XYZ: 400, nothing written"},
	{"bad.save", "bad.save.malformed-json", "list-pekerjaan.save", "POST", "", "own", Writing, "malformed JSON: 400 path $, nothing written"},
	{"bad.save", "bad.save.empty-name", "list-pekerjaan.save", "POST", "", "own", Writing, "blank klasifikasi name: 400, nothing written"},
	{"bad.upsert.negative-id", "bad.upsert.negative-id", "list-pekerjaan.upsert", "POST", "", "own", Writing, "klasifikasi id -5: 400, nothing written"},
	{"bad.upsert.empty-list", "bad.upsert.empty-list", "list-pekerjaan.upsert", "POST", "", "own", Writing, "klasifikasi []: 400, nothing deleted"},
	{"upsert.takeover", "upsert.takeover.volume", "volume-pekerjaan.save", "POST", "", "own", Writing, "volume 7 on the pekerjaan the next upsert aims at"},
	{"upsert.takeover", "upsert.takeover", "list-pekerjaan.upsert", "POST", "", "own", Writing, "the tree sent back plus a new pekerjaan at an existing one's ordering_index: one more row, the volume kept"},
	{"upsert.takeover", "upsert.volumes", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "the volume after the upsert"},
	{"upsert.failed-row", "upsert.failed-row", "list-pekerjaan.upsert", "POST", "", "own", Writing, "the tree sent back with one pekerjaan switched to ref without ref_id: 207, the row keeps its ordering_index"},
	{"upsert", "upsert.read-back", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "the tree before and after each upsert group"},
	{"upsert.failed-row", "tree.stale-after-upsert", "list-pekerjaan.tree", "GET", "", "own", Writing, "upsert.failed-row's upsert also renames a klasifikasi: every unsearched tree read after it must show the new name (a search, not cached, shows what was stored)"},
	{"upsert.failed-row", "tree.stale.read", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "the unsearched tree 8 times before and 8 after that upsert (the workers that cache it hold it), and one search"},
	{"tree", "tree.read.search", "list-pekerjaan.tree", "GET", "?q={kode}", "own", ReadOnly, "every tree read-back: searches (never cached) that find every pekerjaan with its klasifikasi and sub"},
	{"tree", "tree.read.volumes", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "every tree read-back: every pekerjaan by id (not cached)"},
	{"tree", "tree.read.detail", "detail-ahsp.get", "GET", "", "own", ReadOnly, "every tree read-back: the current kode of a pekerjaan no search found yet"},
	{"health", "health.session", "health", "GET", "", "own", ReadOnly, "/health/ anonymous and with the session: both check the database and cache"},
	{"bad", "bad.count", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "rows before and after each bad input"},
	{"same-project", "same-project.list-pekerjaan.tree", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "one project through two families"},
	{"same-project", "same-project.volume-pekerjaan.list", "volume-pekerjaan.list", "GET", "", "own", ReadOnly, "one project through two families"},
	{"same-project", "same-project.harga-items.list", "harga-items.list", "GET", "", "own", ReadOnly, "one project through two families"},
	{"same-project", "same-project.rekap", "rekap", "GET", "", "own", ReadOnly, "one project through two families"},
	{"same-project", "same-project.search-ahsp", "search-ahsp", "GET", "?q={term}&limit=5", "own", ReadOnly, "one project through two families"},
	{"same-project", "same-project.detail-ahsp.get", "detail-ahsp.get", "GET", "", "own", ReadOnly, "one project through two families"},
	{"partial", "save.partial", "list-pekerjaan.save", "POST", "", "own", Writing, "one valid and one unknown source_type: 207"},
	{"partial", "save.groups-only", "list-pekerjaan.save", "POST", "", "own", Writing, "klasifikasi > sub whose only pekerjaan fails: 400, nothing written"},
	{"rate-limit", "rate-limited", "list-pekerjaan.save", "POST", "", "own", Writing, "malformed JSON until 429 (at most max calls; the deployment counts before parsing)"},
	{"rate-limit", "rate-limited.again", "list-pekerjaan.save", "POST", "", "own", Writing, "one more 429 a second later: does retry_after count down"},
	{"fail-closed", "limiter-unavailable", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "cache stopped: the fail-closed 503 (own stack only)"},
	{"restore", "restore.upsert", "list-pekerjaan.upsert", "POST", "", "own", Writing, "the snapshot's tree back"},
	{"restore", "restore.volumes", "volume-pekerjaan.save", "POST", "", "own", Writing, "the snapshot's volumes back"},
	{"restore", "restore.detail", "detail-ahsp.save", "POST", "", "own", Writing, "the snapshot's rincian back (custom pekerjaan)"},
	{"restore", "restore.harga", "harga-items.save", "POST", "", "own", Writing, "the snapshot's prices and markup back"},
	{"restore", "restore.read-back", "list-pekerjaan.tree", "GET", "", "own", ReadOnly, "read everything again and diff with the snapshot"},
}

// planned returns the planned step named step; an unplanned step is a bug
// in the suite (it would send a request `contracts plan` does not list).
func planned(step string) PlannedStep {
	for _, p := range plan {
		if p.Step == step {
			return p
		}
	}
	panic("contracts: step " + step + " is not in the plan")
}

// Plan is every request the suite may send with its class, in order.
func Plan() []PlannedStep { return append([]PlannedStep(nil), plan...) }

// RenderPlan writes the plan: every request, its class and what it is for,
// with the family prefixes the suite will probe. Nothing is sent.
func RenderPlan(w io.Writer, steps []PlannedStep, searchTerm string) {
	fmt.Fprintln(w, "contracts plan: every request the suite may send (nothing is sent now)")
	fmt.Fprintln(w, "paths: {pid} is the user's project, {pek} a pekerjaan; the family prefix is the legacy one")
	fmt.Fprintf(w, "unless the step says otherwise (v1: %s, v2: %s, each probed once and used only when deployed)\n",
		api.ProjectPrefix(api.V1, 0), api.ProjectPrefix(api.V2, 0))
	fmt.Fprintln(w, "writing steps run only on projects declared scratch; on others they are skipped with that reason")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tGROUP\tSTEP\tREQUEST\tPROJECT\tPURPOSE")
	reads, writes := 0, 0
	for _, p := range steps {
		if p.Class == Writing {
			writes++
		} else {
			reads++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\n", p.Class, p.Group, p.Step, p.Method, planPath(p, searchTerm), p.Project, p.Purpose)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d steps: %d read-only, %d writing\n", len(steps), reads, writes)
}

func planPath(p PlannedStep, searchTerm string) string {
	if p.Operation == "health" {
		return api.HealthPath // not an API operation: no family prefix
	}
	op, _ := api.Lookup(p.Operation)
	v := api.Legacy
	switch p.Step {
	case "family.v1":
		v = api.V1
	case "family.v2":
		v = api.V2
	}
	path := strings.Replace(op.URLPath(v, 0, 0), "/project/0/", "/project/{pid}/", 1)
	path = strings.Replace(path, "/0/", "/{pek}/", 1)
	return path + strings.ReplaceAll(p.Query, "{term}", searchTerm)
}
