package handlers

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ahsp-harness/harness/target/api"
)

func serveOnce(b testing.TB, e *env, name string, v api.Version, pek int64, body string) int {
	op, _ := api.Lookup(name)
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	hr := httptest.NewRequest(op.Method, op.URLPath(v, 1, int(pek)), rd)
	w := httptest.NewRecorder()
	e.h.Serve(w, hr, op, v, Params{UserID: 1, ProjectID: 1, PekerjaanID: pek})
	return w.Code
}

func benchOp(b *testing.B, name string, body func(i int) string) {
	e := newEnv(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		if code := serveOnce(b, e, name, api.V1, 2, body(i)); code != http.StatusOK {
			b.Fatalf("%s: status %d", name, code)
		}
	}
}

func BenchmarkTreeGet(b *testing.B) {
	benchOp(b, "list-pekerjaan.tree", func(int) string { return "" })
}

func BenchmarkRekap(b *testing.B) {
	benchOp(b, "rekap", func(int) string { return "" })
}

func BenchmarkVolumeSave(b *testing.B) {
	benchOp(b, "volume-pekerjaan.save", func(i int) string {
		return fmt.Sprintf(`{"items":[{"pekerjaan_id":1,"quantity":"%d,5"},{"pekerjaan_id":2,"quantity":"1.%03d,25"}]}`, i%1000, i%1000)
	})
}

func BenchmarkDetailGet(b *testing.B) {
	benchOp(b, "detail-ahsp.get", func(int) string { return "" })
}

func BenchmarkRekapCSV(b *testing.B) {
	benchOp(b, "export.rekap-rab-csv", func(int) string { return "" })
}

// Concurrent writers and readers in one process share the single write
// connection and the read pool: no request may fail with a lock error.
func TestConcurrentMixedRequests(t *testing.T) {
	e := newEnv(t, nil)
	ops := []struct {
		name string
		pek  int64
		body string
		ok   []int
	}{
		{"list-pekerjaan.tree", 0, "", []int{200}},
		{"rekap", 0, "", []int{200}},
		{"volume-pekerjaan.save", 0, `[{"pekerjaan_id":1,"quantity":"3,5"}]`, []int{200, 400}},
		{"detail-ahsp.save", 2, `{"rows":[{"kategori":"TK","kode":"L.01","uraian":"Pekerja","koefisien":"1"}]}`, []int{200, 404}},
		{"harga-items.save", 0, `{"markup_percent":"12"}`, []int{200}},
		{"list-pekerjaan.upsert", 0, `{"klasifikasi":[{"name":"K","sub":[{"name":"S","pekerjaan":[{"source_type":"custom","snapshot_uraian":"X"}]}]}]}`, []int{200}},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				o := ops[(g+i)%len(ops)]
				code := serveOnce(t, e, o.name, api.V2, o.pek, o.body)
				good := false
				for _, c := range o.ok {
					good = good || c == code
				}
				if !good {
					errs <- fmt.Sprintf("%s: %d", o.name, code)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
