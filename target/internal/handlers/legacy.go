package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// legacyShape turns an answer into the deployed app's legacy (and v1)
// field layout, REAL-APP.md section 3: the replies are built once for both
// dialects and v2 keeps the project's own design. body has been through
// JSON already (numbers are json.Number).
func legacyShape(op string, status int, body map[string]any) {
	switch op {
	case "list-pekerjaan.tree":
		for _, k := range listOf(body["klasifikasi"]) {
			for _, s := range listOf(mapOf(k)["sub"]) {
				for _, p := range listOf(mapOf(s)["pekerjaan"]) {
					floatField(mapOf(p), "budgeted_cost")
				}
			}
		}
	case "detail-ahsp.get":
		floatField(mapOf(body["pekerjaan"]), "budgeted_cost")
		if meta := mapOf(body["meta"]); meta != nil {
			for _, o := range listOf(meta["kategori_opts"]) {
				if m := mapOf(o); m != nil {
					m["code"] = m["value"]
					delete(m, "value")
				}
			}
		}
	case "list-pekerjaan.save":
		switch status {
		case http.StatusOK:
			delete(body, "errors")
		case http.StatusMultiStatus:
			delete(body, "summary")
		}
	case "list-pekerjaan.upsert":
		if status < 300 {
			delete(body, "id_map")
			if sm := mapOf(body["summary"]); sm != nil {
				for _, k := range []string{"deleted_klasifikasi", "deleted_sub", "deleted_pekerjaan"} {
					delete(sm, k)
				}
			}
		}
	case "harga-items.list":
		for _, it := range listOf(body["items"]) {
			if m := mapOf(it); m != nil {
				m["kode_item"] = m["kode"]
				delete(m, "kode")
			}
		}
		if meta := mapOf(body["meta"]); meta != nil {
			body["meta"] = map[string]any{"markup_percent": meta["markup_percent"], "project_updated_at": meta["updated_at"]}
		}
	case "harga-items.save":
		if _, ok := body["updated_at"]; ok {
			body["project_updated_at"] = body["updated_at"]
			delete(body, "updated_at")
		}
	case "rekap":
		delete(body, "totals")
		if meta := mapOf(body["meta"]); meta != nil {
			for _, k := range []string{"markup_percent", "ppn_percent"} {
				if n, ok := meta[k].(json.Number); ok {
					if f, err := n.Float64(); err == nil {
						meta[k] = strconv.FormatFloat(f, 'f', 2, 64)
					}
				}
			}
		}
	}
}

// floatField makes a decimal string a JSON float, as Django's float()
// serialises it; null becomes 0.0.
func floatField(m map[string]any, key string) {
	if m == nil {
		return
	}
	if _, ok := m[key]; !ok {
		return
	}
	switch v := m[key].(type) {
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[key] = f
		}
	case nil:
		m[key] = 0.0
	}
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
func listOf(v any) []any         { l, _ := v.([]any); return l }

// reshape round-trips body through JSON so legacyShape works on plain maps.
func reshape(op string, status int, body map[string]any) map[string]any {
	raw, err := json.Marshal(body)
	if err != nil {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return body
	}
	legacyShape(op, status, m)
	return m
}
