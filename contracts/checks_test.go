package contracts

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/api"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestCheckHeaders(t *testing.T) {
	good := []string{"Deprecation", "@1767225600", "Sunset", "Wed, 01 Jul 2026 00:00:00 GMT", "Link", `</docs/api/v2>; rel="deprecation"; type="text/html"`}
	cases := []struct {
		name    string
		version string
		status  int
		h       http.Header
		want    []string // header names with violations
	}{
		{"v1 complete", "v1", 200, hdr(good...), nil},
		{"legacy complete", "legacy", 200, hdr(good...), nil},
		{"v1 none", "v1", 200, hdr(), []string{"Deprecation", "Sunset", "Link"}},
		{"deprecation as date", "v1", 200, hdr("Deprecation", "Wed, 01 Jan 2026 00:00:00 GMT", "Sunset", "Wed, 01 Jul 2026 00:00:00 GMT", "Link", `<x>; rel="deprecation"`), []string{"Deprecation"}},
		{"deprecation true (old draft)", "v1", 200, hdr("Deprecation", "true", "Sunset", "Wed, 01 Jul 2026 00:00:00 GMT", "Link", `<x>; rel="deprecation"`), []string{"Deprecation"}},
		{"sunset before deprecation", "v1", 200, hdr("Deprecation", "@1767225600", "Sunset", "Mon, 01 Dec 2025 00:00:00 GMT", "Link", `<x>; rel=deprecation`), []string{"Sunset"}},
		{"sunset not a date", "v1", 200, hdr("Deprecation", "@1767225600", "Sunset", "2026-07-01", "Link", `<x>; rel="deprecation"`), []string{"Sunset"}},
		{"link with other rel", "v1", 200, hdr("Deprecation", "@1767225600", "Sunset", "Wed, 01 Jul 2026 00:00:00 GMT", "Link", `<x>; rel="successor-version"`), []string{"Link"}},
		{"link among several", "v1", 200, hdr("Deprecation", "@1767225600", "Sunset", "Wed, 01 Jul 2026 00:00:00 GMT", "Link", `<a>; rel="next", <x>; rel="deprecation"`), nil},
		{"v2 clean", "v2", 200, hdr(), nil},
		{"v2 with deprecation", "v2", 200, hdr(good...), []string{"Deprecation", "Sunset", "Link"}},
		{"429 retry-after", "v2", 429, hdr("Retry-After", "37"), nil},
		{"429 without retry-after", "v2", 429, hdr(), []string{"Retry-After"}},
		{"429 retry-after garbage", "v2", 429, hdr("Retry-After", "soon"), []string{"Retry-After"}},
		{"503 http-date retry-after", "v2", 503, hdr("Retry-After", "Wed, 01 Jul 2026 00:00:00 GMT"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range CheckHeaders(tc.version, tc.status, tc.h) {
				require.Equal(t, "header", v.Where)
				got = append(got, v.InstancePath)
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

func TestCheckCSV(t *testing.T) {
	bom := "\xef\xbb\xbf"
	rekap := "RENCANA ANGGARAN BIAYA\r\nProyek;Proyek user01\r\n\r\n" +
		"Uraian Pekerjaan;Kode AHSP;Satuan;Volume;Harga Satuan (Rp);Jumlah Harga (Rp)\r\n" +
		"    Galian tanah biasa sedalam 1 m;A.2.2.1;m3;12,500;135.125;1.689.062\r\nGRAND TOTAL;1\r\n\r\n" +
		"REKAPITULASI RENCANA ANGGARAN BIAYA\r\nNo;Uraian Klasifikasi;Jumlah Harga (Rp)\r\n    1;Pekerjaan Tanah;2.361.812\r\n"
	perLine := func(s string) string {
		return bom + bom + bom + strings.TrimSuffix(strings.ReplaceAll(s, "\r\n", "\r\n"+bom), bom)
	}
	rincian := "pekerjaan_kode;pekerjaan_uraian;kategori;kode;uraian;satuan;koefisien;volume;harga_satuan;subtotal\n" +
		"A.2.2.1;Galian tanah biasa sedalam 1 m;TK;L.01;Pekerja;OH;0.750000;12.500;150000.00;1406250.00\n\n" +
		"TOTAL LANGSUNG (D);15795937.50\nGRAND TOTAL (D+E);18165328.13"
	crlf := func(s string) string { return bom + strings.ReplaceAll(s, "\n", "\r\n") + "\r\n" }
	cases := []struct {
		name, op, body string
		bad            bool
		quirk          string
	}{
		{"plain", "", "No;Uraian;Total\n1;Galian;1.689.062,50\n", false, "x.lf-no-bom"},
		{"one bom", "", bom + "No;Uraian\r\n", false, ""},
		{"bom in the middle", "", "No;Uraian\n" + bom + "1;x\n", true, ""},
		{"comma separated", "", "No,Uraian,Total\n1,x,2\n", true, "x.lf-no-bom"},
		{"empty", "", bom, true, ""},
		{"bom inside a line", "", bom + "No;" + bom + "Uraian\n" + bom + "1;x\n", true, "x.bom-per-line"},
		{"mixed line ends", "", bom + "No;Uraian\r\n1;x\n", true, ""},
		// The deployed rekap: a title line first (no false alarm), two blocks.
		{"rekap", "export.rekap-rab-csv", bom + rekap, false, ""},
		{"rekap bom per line", "export.rekap-rab-csv", perLine(rekap), false, "x.bom-per-line"},
		{"rekap without title", "export.rekap-rab-csv", bom + strings.TrimPrefix(rekap, "RENCANA ANGGARAN BIAYA\r\n"), true, ""},
		{"rekap one block", "export.rekap-rab-csv", bom + rekap[:strings.Index(rekap, "REKAPITULASI")], true, ""},
		{"old rekap layout", "export.rekap-rab-csv", bom + "No;Klasifikasi;Sub;Kode;Uraian Pekerjaan\r\n1;a;b;c;d\r\n", true, ""},
		// The deployed rincian: LF, no BOM, no trailing newline.
		{"rincian as deployed", "export.rincian-rab-csv", rincian, false, "x.lf-no-bom"},
		{"rincian crlf with bom", "export.rincian-rab-csv", crlf(rincian), false, ""},
		{"rincian short row", "export.rincian-rab-csv", strings.Replace(rincian, ";OH;", ";", 1), true, "x.lf-no-bom"},
		{"rincian other header", "export.rincian-rab-csv", "Kode;Uraian\n" + rincian, true, "x.lf-no-bom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vs := CheckCSV(tc.op, []byte(tc.body))
			require.Equal(t, tc.bad, len(vs) > 0, "%v", vs)
			id, seen := csvQuirk("x", []byte(tc.body))
			require.Equal(t, tc.quirk, id, seen)
		})
	}
	_, seen := csvQuirk("x", []byte(perLine(rekap)))
	require.Equal(t, "12 byte-order marks in 10 lines", seen)
	_, seen = csvQuirk("x", []byte(rincian))
	require.Equal(t, "no byte-order mark, 4 bare LF line ends, no trailing newline", seen)
}

func TestCheckLoginRedirect(t *testing.T) {
	p := "/detail_project/api/v1/project/3/list-pekerjaan/tree/"
	cases := []struct {
		name   string
		status int
		loc    string
		bad    bool
	}{
		{"django", 302, "/accounts/login/?next=" + strings.ReplaceAll(p, "/", "%2F"), false},
		{"absolute", 302, "http://127.0.0.1:8000/accounts/login/?next=" + p, false},
		{"401", 401, "", true},
		{"wrong next", 302, "/accounts/login/?next=/", true},
		{"elsewhere", 302, "/login?next=" + p, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.bad, len(CheckLoginRedirect(tc.status, hdr("Location", tc.loc), p)) > 0)
		})
	}
}

func TestMappingCompare(t *testing.T) {
	m, err := LoadMapping(Embedded, "mapping.yaml")
	require.NoError(t, err)
	cases := []struct {
		name         string
		op           string
		s1, s2       int
		v1, v2       string
		same         bool
		wantWhat     []string
		wantPathsHas []string
	}{
		{"equal payload", "volume-pekerjaan.list", 200, 200,
			`{"ok":true,"items":[{"pekerjaan_id":4,"quantity":"12.500"}],"decimal_places":3}`,
			`{"success":true,"message":"","data":{"items":[{"pekerjaan_id":4,"quantity":"12.500"}],"decimal_places":3}}`, true, nil, nil},
		{"value differs", "volume-pekerjaan.list", 200, 200,
			`{"ok":true,"items":[{"pekerjaan_id":4,"quantity":"12.500"}],"decimal_places":3}`,
			`{"success":true,"message":"","data":{"items":[{"pekerjaan_id":4,"quantity":"12.5"}],"decimal_places":3}}`, true,
			[]string{"value differs"}, []string{"data.items[0].quantity"}},
		{"ids ignored across projects", "volume-pekerjaan.list", 200, 200,
			`{"ok":true,"items":[{"pekerjaan_id":4,"quantity":"1.000"}],"decimal_places":3}`,
			`{"success":true,"message":"","data":{"items":[{"pekerjaan_id":9,"quantity":"1.000"}],"decimal_places":3}}`, false, nil, nil},
		{"ids compared in one project", "volume-pekerjaan.list", 200, 200,
			`{"ok":true,"items":[{"pekerjaan_id":4,"quantity":"1.000"}],"decimal_places":3}`,
			`{"success":true,"message":"","data":{"items":[{"pekerjaan_id":9,"quantity":"1.000"}],"decimal_places":3}}`, true,
			[]string{"value differs"}, []string{"data.items[0].pekerjaan_id"}},
		{"dropped field", "rekap", 200, 200,
			`{"ok":true,"rows":[],"meta":{"markup_percent":10,"ppn_percent":11,"rounding_base":10000}}`,
			`{"success":true,"message":"","data":{"rows":[],"meta":{"markup_percent":10,"ppn_percent":11}}}`, true,
			[]string{"missing in v2"}, []string{"data.meta.rounding_base"}},
		{"renamed field", "detail-ahsp.save", 200, 200,
			`{"ok":true,"saved_rows":2}`,
			`{"success":true,"message":"","data":{"rows_saved":2}}`, true,
			[]string{"renamed"}, []string{"data.rows_saved"}},
		{"timestamps ignored", "detail-ahsp.save", 200, 200,
			`{"ok":true,"pekerjaan":{"id":3,"updated_at":"2026-11-23T09:00:00.000001Z"}}`,
			`{"success":true,"message":"","data":{"pekerjaan":{"id":3,"updated_at":"2026-11-23T09:00:01.000001Z"}}}`, true, nil, nil},
		{"status differs", "detail-ahsp.save", 409, 400,
			`{"ok":false,"errors":[]}`, `{"success":false,"message":"x","code":"CONFLICT","details":{"errors":[]}}`, true,
			[]string{"status differs"}, nil},
		{"429 identical", "rekap", 429, 429,
			`{"success":false,"message":"a","code":"RATE_LIMIT_EXCEEDED","retry_after":3}`,
			`{"success":false,"message":"a","code":"RATE_LIMIT_EXCEEDED","retry_after":3}`, true, nil, nil},
		{"extra v2 field", "search-ahsp", 200, 200,
			`{"ok":true,"results":[],"total":0}`,
			`{"success":true,"message":"","data":{"results":[],"total":0,"page":1}}`, true,
			[]string{"only in v2"}, []string{"data.page"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := m.Compare(tc.op, tc.s1, []byte(tc.v1), tc.s2, []byte(tc.v2), tc.same)
			var what, paths []string
			for _, d := range ds {
				what = append(what, d.What)
				paths = append(paths, d.Path)
			}
			require.ElementsMatch(t, tc.wantWhat, what, "%v", ds)
			require.Subset(t, paths, tc.wantPathsHas)
		})
	}
}

func TestMapPath(t *testing.T) {
	r := Rules{"ok": "success", "*": "data.*", "klasifikasi[].sub[].pekerjaan[].snapshot_kode": "data.klasifikasi[].sub[].pekerjaan[].kode"}
	for in, want := range map[string]string{
		"ok":          "success",
		"items[].qty": "data.items[].qty",
		"klasifikasi[].sub[].pekerjaan[].snapshot_kode": "data.klasifikasi[].sub[].pekerjaan[].kode",
		"klasifikasi[].name":                            "data.klasifikasi[].name",
	} {
		require.Equal(t, want, r.MapPath(in), in)
	}
	n, idx := normalize("klasifikasi[0].sub[12].pekerjaan[3].snapshot_kode")
	require.Equal(t, "data.klasifikasi[0].sub[12].pekerjaan[3].kode", fill(r.MapPath(n), idx))
}

func TestParseMappingErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"array levels differ": "success:\n  items[].a: data.items.a\n",
		"star without star":   "success:\n  \"*\": data\n",
		"unknown key":         "sucess: {}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMapping([]byte(doc), "mapping.yaml")
			require.ErrorContains(t, err, "mapping.yaml")
		})
	}
}

func TestSampler(t *testing.T) {
	set, err := LoadEmbedded()
	require.NoError(t, err)
	s := NewSampler(set, SamplePerKey(5), SampleEvery(10), SampleMax(1000))
	ok429 := []byte(`{"success":false,"message":"Terlalu banyak permintaan. Silakan coba lagi dalam 3 detik.","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":5,"window_seconds":300,"current_count":6,"category":"bulk"},"retry_after":3}`)
	h429 := hdr("Content-Type", "application/json", "Retry-After", "3")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s.Observe("list-pekerjaan.upsert", api.V2, 429, h429, ok429)
			}
		}()
	}
	wg.Wait()
	r := s.Report()
	require.Equal(t, 1600, r.Observed)
	require.Equal(t, 5+(1600-5)/10, r.Validated)
	require.Equal(t, 0, r.Failed)
	require.Equal(t, "pass", string(r.Status))

	// Under load the app answers an HTML 500 instead of the JSON 429, and a
	// 429 loses its Retry-After: both are caught.
	s.Observe("list-pekerjaan.upsert", api.V1, 500, hdr("Content-Type", "text/html"), []byte("<h1>Server Error (500)</h1>"))
	s.Observe("rekap", api.Legacy, 429, hdr("Content-Type", "application/json"), ok429)
	r = s.Report()
	require.Equal(t, 2, r.Failed)
	require.Equal(t, "fail", string(r.Status))
	var got []string
	for _, v := range r.Violations {
		for _, x := range v.Violations {
			got = append(got, fmt.Sprintf("%s %d %s %s", v.Operation, v.Status, x.Where, x.InstancePath))
		}
	}
	require.Contains(t, got, "list-pekerjaan.upsert 500 status 500")
	require.Contains(t, got, "rekap 429 header Retry-After")

	// The budget bounds the work however long the run.
	small := NewSampler(set, SampleMax(50))
	for i := 0; i < 5000; i++ {
		small.Observe("rekap", api.V2, 200, hdr(), nil)
	}
	require.Equal(t, 50, small.Report().Validated)
	require.Equal(t, 5000, small.Report().Observed)
}

func BenchmarkSamplerObserveBeyondBudget(b *testing.B) {
	set, err := LoadEmbedded()
	require.NoError(b, err)
	s := NewSampler(set, SampleMax(0))
	h := hdr("Content-Type", "application/json")
	body := []byte(`{"success":true}`)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Observe("rekap", api.V2, 200, h, body)
		}
	})
}

func BenchmarkValidate429(b *testing.B) {
	set, err := LoadEmbedded()
	require.NoError(b, err)
	e, _ := set.Response("v2", "rekap", 429)
	body := []byte(`{"success":false,"message":"x","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":5,"window_seconds":300,"current_count":6,"category":"bulk"},"retry_after":3}`)
	for b.Loop() {
		if len(e.ValidateBody(body)) > 0 {
			b.Fatal("valid body rejected")
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		method, url string
		op          string
		v           api.Version
		ok          bool
	}{
		{"POST", "/detail_project/api/v2/project/3/detail-ahsp/17/save/", "detail-ahsp.save", api.V2, true},
		{"GET", "/detail_project/api/v1/project/3/detail-ahsp/17/", "detail-ahsp.get", api.V1, true},
		{"GET", "http://127.0.0.1:8000/detail_project/api/project/12/list-pekerjaan/tree/?q=x", "list-pekerjaan.tree", api.Legacy, true},
		{"GET", "https://example.test/ahsp/detail_project/api/project/1/rincian-rab/export.csv", "export.rincian-rab-csv", api.Legacy, true},
		{"GET", "/detail_project/api/v2/project/3/list-pekerjaan/save/", "", "", false},
		{"GET", "/detail_project/api/v2/project/x/rekap/", "", "", false},
		{"GET", "/detail_project/api/v2/project/3/detail-ahsp/abc/", "", "", false},
		{"GET", "/health/", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			op, v, ok := Classify(tc.method, tc.url)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.op, op)
			require.Equal(t, tc.v, v)
		})
	}
	for _, op := range api.Operations {
		for _, v := range api.Versions {
			got, gv, ok := Classify(op.Method, op.URLPath(v, 7, 42))
			require.True(t, ok, "%s %s", op.Name, v)
			require.Equal(t, op.Name, got)
			require.Equal(t, v, gv)
		}
	}
}

func BenchmarkStaticV1V2(b *testing.B) {
	set, err := LoadEmbedded()
	require.NoError(b, err)
	opts := Options{Set: set}
	for b.Loop() {
		if _, err := Static(opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	for b.Loop() {
		if _, err := LoadEmbedded(); err != nil {
			b.Fatal(err)
		}
	}
}
