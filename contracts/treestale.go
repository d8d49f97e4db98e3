package contracts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/treeread"
)

// readTree reads the project's tree through the legacy family so that a
// decision made on it holds where the deployment serves the unsearched
// tree from a cache (REAL-APP.md 3.3, section 8 item 16): the unsearched
// answer is checked against reads the app does not cache (the volume list,
// tree searches, detail get; target/treeread) and the tree returned is
// theirs. Klasifikasi and sub rows without pekerjaan appear only in the
// unsearched answer: when that answer was stale they are not confirmed
// (Confirmed() is false).
func (r *runner) readTree(ctx context.Context) (*treeread.Tree, error) {
	steps := map[string]string{"list-pekerjaan.tree": "tree.read.search", "volume-pekerjaan.list": "tree.read.volumes", "detail-ahsp.get": "tree.read.detail"}
	for _, s := range steps {
		_ = planned(s)
	}
	t, err := treeread.Read(ctx, func(ctx context.Context, path string) (int, []byte, error) {
		resp, err := r.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return 0, nil, err
		}
		return resp.Status, resp.Body, nil
	}, r.pid)
	if err == nil && t.Stale {
		r.staleReads++
	}
	return t, err
}

// confirmedTree is readTree for a decision that needs every row, those
// without pekerjaan too. Such rows appear in no uncached read: where the
// unsearched tree was stale, the ones it alone lists are dropped when a
// replace-all upsert of the suite left them out and answered 200 (gone, see
// forget); any other makes the read an error that says it is unconfirmed.
// r.dropped counts the rows dropped.
func (r *runner) confirmedTree(ctx context.Context) (map[string]any, error) {
	r.dropped = 0
	t, err := r.readTree(ctx)
	if err != nil {
		return nil, err
	}
	if t.Confirmed() {
		return t.Payload, nil
	}
	left := 0
	p := t.WithoutShells(func(level string, id int) bool {
		if r.gone[fmt.Sprintf("%s %d", level, id)] {
			r.dropped++
			return true
		}
		left++
		return false
	})
	if left > 0 {
		return nil, fmt.Errorf("%w: %s", treeread.ErrUnconfirmed, t.Note())
	}
	return p, nil
}

// forget records the klasifikasi and sub rows of tree that a replace-all
// upsert answered 200 without (kept holds "klasifikasi 3", "sub 5" for
// those it sent): the upsert deleted them (REAL-APP.md 3.2).
func (r *runner) forget(tree map[string]any, kept map[string]bool) {
	if r.gone == nil {
		r.gone = map[string]bool{}
	}
	for _, k := range list(tree, "klasifikasi") {
		if key := fmt.Sprintf("klasifikasi %d", intOf(get(k, "id"))); !kept[key] {
			r.gone[key] = true
		}
		for _, s := range list(k, "sub") {
			if key := fmt.Sprintf("sub %d", intOf(get(s, "id"))); !kept[key] {
				r.gone[key] = true
			}
		}
	}
}

// staleReadsN is how often the stale check reads the unsearched tree before
// and after its upsert: enough for every worker of a deployment whose
// workers take connections in turn (or at random, most of them) to answer.
const staleReadsN = 8

// staleProbe is quirk 16 (REAL-APP.md 3.3): the deployed app caches the
// unsearched tree 300 s per worker under a key its upsert does not move.
// It rides on the upsert of upsert.failed-row (a deployment may allow few
// upserts per window, so the check adds none): before it the unsearched
// tree is read a few times, so the workers that cache it hold it; the
// upsert also renames a klasifikasi; after it the unsearched tree is read
// again. A read still naming the old klasifikasi while a search (not
// cached) shows the new name is the finding
// list-pekerjaan.tree.stale-after-upsert.
type staleProbe struct {
	kid                    int
	old, renamed, needle   string
	unsearched, searchPath string
}

const staleStep = "tree.stale-after-upsert"

// staleWarm picks a klasifikasi holding a pekerjaan with a kode (a search
// finds it, so its name can be read without the cache) and reads the
// unsearched tree staleReadsN times; nil when the tree has none.
func (r *runner) staleWarm(ctx context.Context, tree map[string]any) *staleProbe {
	var sp *staleProbe
	for _, k := range list(tree, "klasifikasi") {
		for _, s := range list(k, "sub") {
			for _, p := range list(s, "pekerjaan") {
				if kode, _ := get(p, "snapshot_kode").(string); kode != "" && sp == nil {
					old, _ := get(k, "name").(string)
					sp = &staleProbe{kid: intOf(get(k, "id")), old: old, renamed: old + " (diperbarui)", needle: kode}
				}
			}
		}
	}
	if sp == nil {
		return nil
	}
	op, _ := api.Lookup(planned("tree.stale.read").Operation)
	sp.unsearched = op.URLPath(r.version, r.pid, 0)
	sp.searchPath = sp.unsearched + "?q=" + url.QueryEscape(sp.needle)
	for range staleReadsN {
		r.staleName(ctx, sp, sp.unsearched)
	}
	return sp
}

// rename renames the probe's klasifikasi in an upsert body (nil: none).
func (sp *staleProbe) rename(body map[string]any) {
	if sp == nil {
		return
	}
	for _, k := range list(body, "klasifikasi") {
		if row, _ := k.(map[string]any); row != nil && intOf(row["id"]) == sp.kid {
			row["name"] = sp.renamed
		}
	}
}

// staleName is the probe's klasifikasi name in the tree at path ("" when
// the tree has no such klasifikasi); false when the read did not answer 200.
func (r *runner) staleName(ctx context.Context, sp *staleProbe, path string) (string, bool) {
	resp, err := r.do(ctx, http.MethodGet, path, nil)
	if err != nil || resp.Status != http.StatusOK {
		return "", false
	}
	for _, k := range list(r.payload(resp.Body), "klasifikasi") {
		if intOf(get(k, "id")) == sp.kid {
			n, _ := get(k, "name").(string)
			return n, true
		}
	}
	return "", true
}

// check reads the unsearched tree after the upsert (answered status) and
// records the step; it reports whether it was a finding. A nil probe (no
// klasifikasi a search can find) records a skip.
func (sp *staleProbe) check(ctx context.Context, r *runner, status int) bool {
	if sp == nil {
		r.skip(staleStep, "list-pekerjaan.tree", "no klasifikasi holds a pekerjaan with a kode: no uncached read could show a rename")
		return false
	}
	ps := planned(staleStep)
	res := Result{Version: string(r.version), Step: staleStep, Operation: ps.Operation, Method: ps.Method, Path: sp.unsearched, WantStatus: 200, Class: ps.Class}
	defer func() { r.results = append(r.results, res) }()
	if status < 200 || status > 299 {
		res.Verdict, res.Reason = check.Inconclusive, fmt.Sprintf("the upsert renaming klasifikasi %d answered %d: nothing to read back", sp.kid, status)
		return false
	}
	// A read naming the klasifikasi as before, or from before it existed
	// (an older cached tree), is stale.
	oldName, absent, fresh := 0, 0, 0
	for range staleReadsN {
		switch n, ok := r.staleName(ctx, sp, sp.unsearched); {
		case !ok:
		case n == sp.renamed:
			fresh++
		case n == "":
			absent++
		default:
			oldName++
		}
	}
	stale := oldName + absent
	res.Status = http.StatusOK
	truth, ok := r.staleName(ctx, sp, sp.searchPath)
	switch {
	case !ok || truth != sp.renamed:
		res.Verdict = check.Inconclusive
		res.Reason = fmt.Sprintf("the upsert renaming klasifikasi %d answered %d, but a search (not cached) for %q shows it named %q: whether the tree is cached cannot be told", sp.kid, status, sp.needle, truth)
	case stale > 0:
		res.Verdict = check.Pass
		r.finding(&res, "list-pekerjaan.tree.stale-after-upsert", fmt.Sprintf(
			"after an upsert renamed klasifikasi %d from %q to %q (%d), %d of %d unsearched tree reads served an older tree (%d with the old name, %d without klasifikasi %d) while a search (?q=, not cached) showed %q: the unsearched tree is served from a cache the upsert does not invalidate",
			sp.kid, sp.old, sp.renamed, status, stale, stale+fresh, oldName, absent, sp.kid, sp.renamed))
		return true
	case fresh < staleReadsN:
		res.Verdict = check.Inconclusive
		res.Reason = fmt.Sprintf("only %d of %d tree reads after the rename answered 200", fresh, staleReadsN)
	default:
		res.Verdict = check.Pass
		res.Reason = fmt.Sprintf("all %d unsearched tree reads after the rename (and %d before it) showed the new name", staleReadsN, staleReadsN)
	}
	return false
}

// unconfirmed reports whether err says the tree could not be confirmed.
func unconfirmed(err error) bool { return errors.Is(err, treeread.ErrUnconfirmed) }
