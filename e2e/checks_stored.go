package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// storedField is one piece of text the check stores and the pages render.
type storedField struct {
	key  string // data-harness value, short: some fields are short columns
	what string
}

// storedFields are every field a page renders from stored text.
var storedFields = []storedField{
	{"k", "klasifikasi name"}, {"s", "sub-klasifikasi name"},
	{"u", "pekerjaan uraian"}, {"t", "pekerjaan satuan"},
	{"dk", "detail row kode (harga item kode)"}, {"du", "detail row uraian (harga item uraian)"}, {"dt", "detail row satuan (harga item satuan)"},
}

// storedPayload is a harmless marker: an element with a data-harness
// attribute (no handler) and quotes. Parsed as HTML it becomes an element the
// check finds; shown as text it is this exact string.
func storedPayload(key string) string { return `<img src=x data-harness=` + key + `>'"` }

// storedPages are the pages the check opens, with the query that selects
// the stored pekerjaan where a page needs one.
var storedPages = []string{pageList, pageVolume, pageTemplate, pageHarga, pageRekap, "rincian-ahsp", "rincian-rab"}

func pagesStoredText(c *C) error {
	// Writes only to a project declared disposable: the harness's own stack
	// seeds scratch projects; an external users file marks them "scratch".
	scratch := c.Cfg.User.Scratch
	if len(scratch) == 0 {
		return &skipError{fmt.Sprintf("no project of %s is declared scratch, and this check writes to one (users file line: name:password 12,13 scratch; the harness's own stack seeds scratch projects)", c.Cfg.User.User)}
	}
	pid := scratch[len(scratch)-1] // the flows work on the first two projects
	pek, err := c.storePayloads(pid)
	if err != nil {
		return err
	}
	var parsed, shown, silent, skipped []string
	bounced := 0
	for _, page := range storedPages {
		if c.Cfg.Pages.Path(page, pid) == "" {
			skipped = append(skipped, page)
			continue
		}
		query := ""
		if page == pageTemplate {
			query = fmt.Sprintf("?pekerjaan=%d", pek)
		}
		c.resetFailures()
		if err := c.openProjectPage(page, pid, query); err != nil {
			if errors.Is(err, errSessionBounced) {
				bounced++
				c.Evidence("%s: %v", page, err)
				continue
			}
			return fmt.Errorf("open %s: %w", page, err)
		}
		seen, err := c.waitPayloads()
		if err != nil {
			return fmt.Errorf("%s: %w", page, err)
		}
		c.Shot(page)
		c.Evidence("%s: payload shown as text for %v, parsed into elements for %v", page, seen.Text, seen.Parsed)
		if len(seen.Parsed) > 0 {
			parsed = append(parsed, fmt.Sprintf("%s parsed %s into element(s)", page, describeFields(seen.Parsed)))
		}
		if len(seen.Text) > 0 {
			shown = append(shown, page)
		} else if len(seen.Parsed) == 0 {
			silent = append(silent, page)
		}
	}
	if len(skipped) > 0 {
		c.Evidence("pages without a route in e2e.pages.routes, not checked: %v", skipped)
	}
	if len(silent) > 0 {
		c.Evidence("pages that showed none of the stored text (nothing to measure there): %v", silent)
	}
	if len(parsed) > 0 {
		return fmt.Errorf("stored text rendered as HTML: %s", strings.Join(parsed, "; "))
	}
	if len(shown) == 0 {
		if bounced > 0 {
			return fmt.Errorf("%w on %d page(s); no page could be checked", errSessionBounced, bounced)
		}
		return fmt.Errorf("%w: no page showed the stored text (pages %v)", errCannotMeasure, storedPages)
	}
	return nil
}

func describeFields(keys []string) string {
	var out []string
	for _, f := range storedFields {
		if slices.Contains(keys, f.key) {
			out = append(out, f.what)
		}
	}
	return strings.Join(out, ", ")
}

// storePayloads stores one klasifikasi > sub > custom pekerjaan with a
// payload in every text field, a detail row (which also makes a harga item)
// and a volume, through the deployment's legacy API; returns the pekerjaan id.
func (c *C) storePayloads(pid int) (int64, error) {
	ord := 900000 + rand.IntN(90000)
	body := map[string]any{"klasifikasi": []map[string]any{{
		"name": storedPayload("k"), "ordering_index": ord, "temp_id": "e2e-k",
		"sub": []map[string]any{{
			"name": storedPayload("s"), "ordering_index": 1, "temp_id": "e2e-s",
			"pekerjaan": []map[string]any{{
				"source_type": "custom", "snapshot_uraian": storedPayload("u"), "snapshot_satuan": storedPayload("t"),
				"ordering_index": ord, "temp_id": "e2e-p",
			}},
		}},
	}}}
	var saved struct {
		IDMap struct {
			Pekerjaan map[string]int64 `json:"pekerjaan"`
		} `json:"id_map"`
	}
	if err := c.post("list-pekerjaan.save", pid, 0, body, &saved); err != nil {
		return 0, err
	}
	pek := saved.IDMap.Pekerjaan["e2e-p"]
	if pek == 0 {
		return 0, fmt.Errorf("list-pekerjaan/save/ answered no id for the stored pekerjaan (id_map %v)", saved.IDMap.Pekerjaan)
	}
	rows := map[string]any{"rows": []map[string]any{{"kategori": "TK", "kode": storedPayload("dk"), "uraian": storedPayload("du"), "satuan": storedPayload("dt"), "koefisien": "1"}}}
	if err := c.post("detail-ahsp.save", pid, int(pek), rows, nil); err != nil {
		return 0, err
	}
	vol := map[string]any{"items": []map[string]any{{"pekerjaan_id": pek, "quantity": "2"}}}
	if err := c.post("volume-pekerjaan.save", pid, 0, vol, nil); err != nil {
		return 0, err
	}
	c.Evidence("stored the payloads in project %d: klasifikasi, sub, pekerjaan %d (uraian, satuan), one detail row (kode, uraian, satuan) and its volume", pid, pek)
	return pek, nil
}

// post sends one writing request of the check; a 2xx other than 207 is
// required (a 207 names the rows the deployment refused).
func (c *C) post(opName string, pid, id int, body, out any) error {
	op, ok := api.Lookup(opName)
	if !ok {
		return fmt.Errorf("unknown operation %s", opName)
	}
	path := op.URLPath(api.Legacy, pid, id)
	resp, err := c.Session.do(context.Background(), http.MethodPost, path, body)
	if err != nil {
		return fmt.Errorf("store the payload: POST %s: %w", path, err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("store the payload: POST %s answered %d %s", path, resp.Status, short(string(resp.Body)))
	}
	if out != nil {
		return resp.JSON(out)
	}
	return nil
}

type payloadsSeen struct {
	Text   []string `json:"text"`
	Parsed []string `json:"parsed"`
}

// waitPayloads waits (bounded) until the page shows some payload, as text or
// parsed, lets a parsed <img> settle, and reports which fields it saw how.
func (c *C) waitPayloads() (payloadsSeen, error) {
	keys := make([]string, len(storedFields))
	for i, f := range storedFields {
		keys[i] = f.key
	}
	payloads := map[string]string{}
	for _, k := range keys {
		payloads[k] = storedPayload(k)
	}
	expr := fmt.Sprintf(`new Promise(function (resolve) {
  var payloads = %s, end = Date.now() + %d;
  function seen() {
    var text = document.body ? document.body.textContent : '';
    var vals = Array.from(document.querySelectorAll('input, textarea, select')).map(function (e) { return e.value; }).join('\n');
    var out = {text: [], parsed: []};
    Object.keys(payloads).forEach(function (k) {
      if (text.indexOf(payloads[k]) >= 0 || vals.indexOf(payloads[k]) >= 0) out.text.push(k);
    });
    document.querySelectorAll('[data-harness]').forEach(function (e) {
      var k = e.getAttribute('data-harness');
      if (out.parsed.indexOf(k) < 0) out.parsed.push(k);
    });
    return out;
  }
  (function poll() {
    var s = seen();
    if (s.text.length + s.parsed.length > 0 && !document.body.hasAttribute('data-busy')) return setTimeout(function () { resolve(seen()); }, 150);
    if (Date.now() > end) return resolve(s);
    setTimeout(poll, 100);
  })();
})`, js(payloads), (5 * time.Second).Milliseconds())
	return Eval[payloadsSeen](c.Page, expr)
}
