package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ahsp-harness/harness/target/internal/store"
)

// The decoders walk the parsed JSON by hand so that every type mistake is
// reported with its path, and a mistake in one row does not reject the
// others (the app saves the valid rows: 207).

// parseJSON parses one JSON value, keeping numbers exact.
func parseJSON(raw []byte) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, errors.New("badan permintaan kosong")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("sintaks salah di byte %d", se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("JSON terpotong")
		}
		return nil, errors.New("isi bukan JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("ada data setelah nilai JSON")
	}
	return v, nil
}

type walker struct{ errs []store.FieldError }

func (w *walker) add(path, msg string) {
	w.errs = append(w.errs, store.FieldError{Path: path, Message: msg})
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func at(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

// str reads an optional string field; numbers are accepted as their text.
func (w *walker) str(m map[string]any, key, path string) (string, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", true
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	w.add(join(path, key), "Harus berupa teks")
	return "", false
}

// intVal reads an optional integer field (JSON number or numeric string).
func (w *walker) intVal(m map[string]any, key, path string) (int64, bool, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, false, true
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		w.add(join(path, key), "Harus berupa bilangan bulat")
		return 0, false, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			w.add(join(path, key), fmt.Sprintf("Harus berupa bilangan bulat (diterima: %q)", clip(s)))
			return 0, false, false
		}
		n = int64(f)
	}
	return n, true, true
}

// id reads an optional positive id.
func (w *walker) id(m map[string]any, key, path string) (*int64, bool) {
	n, present, ok := w.intVal(m, key, path)
	if !ok || !present {
		return nil, ok
	}
	if n <= 0 {
		w.add(join(path, key), "Harus berupa id positif")
		return nil, false
	}
	return &n, true
}

func (w *walker) ordering(m map[string]any, path string) (int, bool) {
	n, _, ok := w.intVal(m, "ordering_index", path)
	if ok && (n < -1_000_000_000 || n > 1_000_000_000) {
		w.add(join(path, "ordering_index"), "Di luar rentang")
		return 0, false
	}
	return int(n), ok
}

func (w *walker) list(m map[string]any, key, path string) ([]any, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	if !ok {
		w.add(join(path, key), "Harus berupa array")
		return nil, false
	}
	return l, true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// maxRows bounds every list in a request body; the body limit bounds bytes,
// this bounds work.
const maxRows = 5000

// decodeTree reads a list-pekerjaan save/upsert body. Rows with errors are
// marked Invalid; the returned errors locate each problem.
func decodeTree(v any) (store.TreeInput, []store.FieldError) {
	var in store.TreeInput
	w := &walker{}
	root, ok := v.(map[string]any)
	if !ok {
		w.add("$", "Harus berupa objek JSON dengan kunci \"klasifikasi\"")
		return in, w.errs
	}
	kl, ok := root["klasifikasi"]
	if !ok {
		w.add("klasifikasi", "Wajib diisi (array)")
		return in, w.errs
	}
	klist, ok := kl.([]any)
	if !ok {
		w.add("klasifikasi", "Harus berupa array")
		return in, w.errs
	}
	if len(klist) > maxRows {
		w.add("klasifikasi", fmt.Sprintf("Maksimal %d baris", maxRows))
		return in, w.errs
	}
	rows := 0
	for ki, kv := range klist {
		kp := at("klasifikasi", ki)
		km, ok := kv.(map[string]any)
		if !ok {
			w.add(kp, "Harus berupa objek")
			in.Klasifikasi = append(in.Klasifikasi, store.KlasifikasiInput{Invalid: true})
			continue
		}
		n0 := len(w.errs)
		k := store.KlasifikasiInput{}
		k.ID, _ = w.id(km, "id", kp)
		k.TempID, _ = w.str(km, "temp_id", kp)
		k.Name, _ = w.str(km, "name", kp)
		k.OrderingIndex, _ = w.ordering(km, kp)
		k.NoOrdering = km["ordering_index"] == nil
		subs, _ := w.list(km, "sub", kp)
		k.Invalid = len(w.errs) > n0
		for si, sv := range subs {
			sp := at(join(kp, "sub"), si)
			sm, ok := sv.(map[string]any)
			if !ok {
				w.add(sp, "Harus berupa objek")
				k.Sub = append(k.Sub, store.SubInput{Invalid: true})
				continue
			}
			n1 := len(w.errs)
			s := store.SubInput{}
			s.ID, _ = w.id(sm, "id", sp)
			s.TempID, _ = w.str(sm, "temp_id", sp)
			s.Name, _ = w.str(sm, "name", sp)
			s.OrderingIndex, _ = w.ordering(sm, sp)
			peks, _ := w.list(sm, "pekerjaan", sp)
			s.Invalid = len(w.errs) > n1
			for pi, pv := range peks {
				rows++
				pp := at(join(sp, "pekerjaan"), pi)
				pm, ok := pv.(map[string]any)
				if !ok {
					w.add(pp, "Harus berupa objek")
					s.Pekerjaan = append(s.Pekerjaan, store.PekerjaanInput{Invalid: true})
					continue
				}
				n2 := len(w.errs)
				p := store.PekerjaanInput{}
				p.ID, _ = w.id(pm, "id", pp)
				p.TempID, _ = w.str(pm, "temp_id", pp)
				p.SourceType, _ = w.str(pm, "source_type", pp)
				p.RefID, _ = w.id(pm, "ref_id", pp)
				p.SnapshotKode, _ = w.str(pm, "snapshot_kode", pp)
				p.SnapshotUraian, _ = w.str(pm, "snapshot_uraian", pp)
				p.SnapshotSatuan, _ = w.str(pm, "snapshot_satuan", pp)
				p.OrderingIndex, _ = w.ordering(pm, pp)
				p.NoOrdering = pm["ordering_index"] == nil
				p.Invalid = len(w.errs) > n2
				s.Pekerjaan = append(s.Pekerjaan, p)
			}
			rows++
			k.Sub = append(k.Sub, s)
		}
		rows++
		in.Klasifikasi = append(in.Klasifikasi, k)
		if rows > maxRows {
			return store.TreeInput{}, []store.FieldError{{Path: "klasifikasi", Message: fmt.Sprintf("Maksimal %d baris dalam satu permintaan", maxRows)}}
		}
	}
	return in, w.errs
}

// decodeVolumes reads a volume save body: a list, {"items": [...]} or
// {"volumes": [...]}. Paths use the key the client sent.
func decodeVolumes(v any) ([]store.VolumeInput, []store.FieldError) {
	w := &walker{}
	var (
		list   []any
		prefix string
	)
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		for _, key := range []string{"items", "volumes"} {
			if lv, ok := x[key]; ok {
				l, ok := lv.([]any)
				if !ok {
					w.add(key, "Harus berupa array")
					return nil, w.errs
				}
				list, prefix = l, key
				break
			}
		}
		if prefix == "" {
			w.add("items", "Wajib diisi: kirim array, {\"items\": [...]} atau {\"volumes\": [...]}")
			return nil, w.errs
		}
	default:
		w.add("$", "Harus berupa array atau objek {\"items\": [...]}")
		return nil, w.errs
	}
	if len(list) > maxRows {
		w.add(prefix, fmt.Sprintf("Maksimal %d baris", maxRows))
		return nil, w.errs
	}
	out := make([]store.VolumeInput, 0, len(list))
	for i, rv := range list {
		p := at(prefix, i)
		m, ok := rv.(map[string]any)
		if !ok {
			w.add(p, "Harus berupa objek {\"pekerjaan_id\", \"quantity\"}")
			out = append(out, store.VolumeInput{Path: p, Invalid: true})
			continue
		}
		n0 := len(w.errs)
		in := store.VolumeInput{Path: p}
		id, present, _ := w.intVal(m, "pekerjaan_id", p)
		if !present && len(w.errs) == n0 {
			w.add(join(p, "pekerjaan_id"), "Wajib diisi")
		}
		in.PekerjaanID = id
		q, ok := m["quantity"]
		switch {
		case !ok || q == nil:
			w.add(join(p, "quantity"), "Wajib diisi")
		default:
			switch q.(type) {
			case string, json.Number:
				in.Quantity = q
			default:
				w.add(join(p, "quantity"), "Harus berupa angka atau teks angka, mis. \"12,5\"")
			}
		}
		in.Invalid = len(w.errs) > n0
		out = append(out, in)
	}
	return out, w.errs
}

// decodeDetail reads a detail-ahsp save body.
func decodeDetail(v any) (store.DetailInput, []store.FieldError) {
	w := &walker{}
	var in store.DetailInput
	root, ok := v.(map[string]any)
	if !ok {
		w.add("$", "Harus berupa objek JSON dengan kunci \"rows\"")
		return in, w.errs
	}
	in.ClientUpdatedAt = w.clientUpdatedAt(root)
	rv, ok := root["rows"]
	if !ok {
		rv, ok = root["items"]
	}
	if !ok {
		w.add("rows", "Wajib diisi (array)")
		return in, w.errs
	}
	list, ok := rv.([]any)
	if !ok {
		w.add("rows", "Harus berupa array")
		return in, w.errs
	}
	if len(list) > maxRows {
		w.add("rows", fmt.Sprintf("Maksimal %d baris", maxRows))
		return in, w.errs
	}
	for i, item := range list {
		p := at("rows", i)
		m, ok := item.(map[string]any)
		if !ok {
			w.add(p, "Harus berupa objek")
			in.Rows = append(in.Rows, store.DetailRowInput{Invalid: true})
			continue
		}
		n0 := len(w.errs)
		r := store.DetailRowInput{}
		r.Kategori, _ = w.str(m, "kategori", p)
		r.Kode, _ = w.str(m, "kode", p)
		r.Uraian, _ = w.str(m, "uraian", p)
		r.Satuan, _ = w.str(m, "satuan", p)
		r.Koefisien = w.number(m, "koefisien", p, "Harus berupa angka")
		r.Invalid = len(w.errs) > n0
		in.Rows = append(in.Rows, r)
	}
	return in, w.errs
}

// decodeHarga reads a harga-items save body.
func decodeHarga(v any) (store.HargaInput, []store.FieldError) {
	w := &walker{}
	var in store.HargaInput
	root, ok := v.(map[string]any)
	if !ok {
		w.add("$", "Harus berupa objek JSON dengan kunci \"items\"")
		return in, w.errs
	}
	in.ClientUpdatedAt = w.clientUpdatedAt(root)
	in.MarkupPercent = w.number(root, "markup_percent", "", "Harus berupa angka")
	list, _ := w.list(root, "items", "")
	if len(list) > maxRows {
		w.add("items", fmt.Sprintf("Maksimal %d baris", maxRows))
		return in, w.errs
	}
	for i, item := range list {
		p := at("items", i)
		m, ok := item.(map[string]any)
		if !ok {
			w.add(p, "Harus berupa objek {\"id\", \"harga_satuan\"}")
			in.Items = append(in.Items, store.HargaItemInput{Path: p, Invalid: true})
			continue
		}
		n0 := len(w.errs)
		it := store.HargaItemInput{Path: p}
		id, _ := w.id(m, "id", p)
		if id == nil && len(w.errs) == n0 {
			w.add(join(p, "id"), "Wajib diisi")
		} else if id != nil {
			it.ID = *id
		}
		if h, ok := m["harga_satuan"]; ok && h != nil {
			switch h.(type) {
			case string, json.Number:
				it.Harga = h
				if s, ok := h.(string); ok && strings.TrimSpace(s) == "" {
					it.Harga = nil
				}
			default:
				w.add(join(p, "harga_satuan"), "Harus berupa angka atau null")
			}
		}
		it.Invalid = len(w.errs) > n0
		in.Items = append(in.Items, it)
	}
	if list == nil && in.MarkupPercent == nil && len(w.errs) == 0 {
		w.add("items", "Tidak ada yang disimpan: kirim items dan/atau markup_percent")
	}
	return in, w.errs
}

// clientUpdatedAt reads the optional optimistic-lock timestamp.
func (w *walker) clientUpdatedAt(root map[string]any) string {
	cu, ok := root["client_updated_at"]
	if !ok || cu == nil {
		return ""
	}
	s, ok := cu.(string)
	if !ok {
		w.add("client_updated_at", "Harus berupa teks waktu RFC 3339")
	}
	return s
}

// number reads an optional decimal sent as a JSON number or a string; the
// store parses it, so both "12,5" and 12.5 survive exactly.
func (w *walker) number(m map[string]any, key, path, msg string) any {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	switch v.(type) {
	case string, json.Number:
		return v
	}
	w.add(join(path, key), msg)
	return nil
}
