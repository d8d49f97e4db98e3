package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/treeread"
)

// LoadMarker starts the name of every klasifikasi the harness's own list
// saves create (the load's default body, the scan's limited-write probe).
// The deployed list save only appends (REAL-APP.md 3.1), so these rows stay
// until PruneTree takes them out again.
const LoadMarker = "harness-load "

// PruneTree deletes from project pid every klasifikasi whose name starts
// with prefix, with their subs and pekerjaan, and returns how many it
// deleted. The app's only operation that deletes tree rows is the upsert,
// which replaces the tree: PruneTree reads the tree through the legacy
// family, sends every other row back with its id (kept as it is), and reads
// the tree again to prove the marked rows are gone and the rest stayed.
// Nothing is sent when no row carries the prefix.
//
// The deployed app may serve the unsearched tree from a cache that an
// upsert does not invalidate (REAL-APP.md 3.3): both reads go through
// target/treeread, which checks that answer against reads the app does not
// cache. When rows without pekerjaan (which only the unsearched answer
// lists) cannot be confirmed, nothing is sent: an upsert built on a stale
// tree could delete the user's rows.
func PruneTree(ctx context.Context, c *client.Client, pid int, prefix string) (int, error) {
	if prefix == "" {
		return 0, fmt.Errorf("prune tree of project %d: empty prefix would match every row", pid)
	}
	upsert, _ := api.Lookup("list-pekerjaan.upsert")
	get := func(ctx context.Context, path string) (int, []byte, error) {
		resp, err := getRetry(ctx, c, path)
		if err != nil {
			return 0, nil, err
		}
		return resp.Status, resp.Body, nil
	}
	read := func() ([]pruneK, *treeread.Tree, error) {
		t, err := treeread.Read(ctx, get, pid)
		if err != nil {
			return nil, nil, err
		}
		raw, err := json.Marshal(t.Payload)
		if err != nil {
			return nil, nil, err
		}
		var doc struct {
			Klasifikasi []pruneK `json:"klasifikasi"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, nil, err
		}
		return doc.Klasifikasi, t, nil
	}
	before, bt, err := read()
	if err != nil {
		return 0, fmt.Errorf("prune tree of project %d: %w", pid, err)
	}
	var keep []pruneK
	for _, k := range before {
		if !strings.HasPrefix(k.Name, prefix) {
			keep = append(keep, k)
		}
	}
	removed := len(before) - len(keep)
	if removed == 0 {
		if !bt.Confirmed() {
			return 0, fmt.Errorf("prune tree of project %d: no pekerjaan-bearing klasifikasi carries %q, and %s: rows without pekerjaan named so may remain", pid, prefix, bt.Note())
		}
		return 0, nil
	}
	if !bt.Confirmed() {
		return 0, fmt.Errorf("prune tree of project %d: %w: %s; nothing sent, the %d klasifikasi carrying %q left in place", pid, treeread.ErrUnconfirmed, bt.Note(), removed, prefix)
	}
	if len(keep) == 0 {
		// The upsert would be {"klasifikasi": []}: a correct app refuses it,
		// the deployed one wipes the project. Neither is for the harness to send.
		return 0, fmt.Errorf("prune tree of project %d: all %d klasifikasi carry %q; an upsert cannot keep an empty tree safely, left in place", pid, removed, prefix)
	}
	body := map[string]any{"klasifikasi": pruneBody(keep)}
	path := upsert.URLPath(api.Legacy, pid, 0)
	var resp *client.Response
	for bounce := 0; ; bounce++ {
		// A per-worker session may bounce the POST to login before the view
		// runs (nothing written): send it again, within bounds.
		if resp, err = c.Do(ctx, http.MethodPost, path, body); err != nil {
			return 0, fmt.Errorf("prune tree of project %d: %w", pid, err)
		}
		if resp.Status != http.StatusFound || bounce >= SessionBounces {
			break
		}
	}
	if resp.Status != http.StatusOK {
		return 0, fmt.Errorf("prune tree of project %d: POST %s answered %d %.200s", pid, path, resp.Status, resp.Body)
	}
	after, at, err := read()
	if err != nil {
		return 0, fmt.Errorf("prune tree of project %d: read back: %w", pid, err)
	}
	if !at.Confirmed() {
		// Rows without pekerjaan the stale answer alone lists: the kept ones
		// were sent with their ids (a 200 says they exist), the marked ones
		// were left out of the replace-all. Judge the confirmed rows.
		var conf []pruneK
		for _, k := range after {
			if !at.ShellKlasifikasi[k.ID] {
				conf = append(conf, k)
			}
		}
		after = conf
		var keptConf []pruneK
		for _, k := range keep {
			if !at.ShellKlasifikasi[k.ID] {
				keptConf = append(keptConf, k)
			}
		}
		keep = keptConf
	}
	if len(after) != len(keep) {
		return 0, fmt.Errorf("prune tree of project %d: read back holds %d klasifikasi, want the %d kept", pid, len(after), len(keep))
	}
	for i := range after {
		if after[i].ID != keep[i].ID || strings.HasPrefix(after[i].Name, prefix) {
			return 0, fmt.Errorf("prune tree of project %d: read back klasifikasi %d is %d %q, want %d %q", pid, i, after[i].ID, after[i].Name, keep[i].ID, keep[i].Name)
		}
	}
	return removed, nil
}

// pruneK is the part of a tree row the upsert needs to keep it as it is.
type pruneK struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	OrderingIndex int    `json:"ordering_index"`
	Sub           []struct {
		ID            int    `json:"id"`
		Name          string `json:"name"`
		OrderingIndex int    `json:"ordering_index"`
		Pekerjaan     []struct {
			ID             int     `json:"id"`
			SourceType     string  `json:"source_type"`
			RefID          *int    `json:"ref_id"`
			SnapshotUraian string  `json:"snapshot_uraian"`
			SnapshotSatuan *string `json:"snapshot_satuan"`
			OrderingIndex  int     `json:"ordering_index"`
		} `json:"pekerjaan"`
	} `json:"sub"`
}

func pruneBody(ks []pruneK) []any {
	out := []any{}
	for _, k := range ks {
		subs := []any{}
		for _, s := range k.Sub {
			peks := []any{}
			for _, p := range s.Pekerjaan {
				row := map[string]any{"id": p.ID, "source_type": p.SourceType, "snapshot_uraian": p.SnapshotUraian, "ordering_index": p.OrderingIndex}
				if p.RefID != nil {
					row["ref_id"] = *p.RefID
				}
				if p.SnapshotSatuan != nil {
					row["snapshot_satuan"] = *p.SnapshotSatuan
				}
				peks = append(peks, row)
			}
			subs = append(subs, map[string]any{"id": s.ID, "name": s.Name, "ordering_index": s.OrderingIndex, "pekerjaan": peks})
		}
		out = append(out, map[string]any{"id": k.ID, "name": k.Name, "ordering_index": k.OrderingIndex, "sub": subs})
	}
	return out
}
