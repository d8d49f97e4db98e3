package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		op          string
		v           Version
		ok          bool
	}{
		{"POST", "/detail_project/api/v2/project/3/detail-ahsp/17/save/", "detail-ahsp.save", V2, true},
		{"GET", "/detail_project/api/v1/project/3/detail-ahsp/17/", "detail-ahsp.get", V1, true},
		{"", "/detail_project/api/v1/project/3/detail-ahsp/17/", "detail-ahsp.get", V1, true},
		{"GET", "http://127.0.0.1:8000/detail_project/api/project/12/list-pekerjaan/tree/?q=x", "list-pekerjaan.tree", Legacy, true},
		{"GET", "https://example.test/ahsp/detail_project/api/project/1/rincian-rab/export.csv", "export.rincian-rab-csv", Legacy, true},
		{"GET", "/ahsp/detail_project/api/v2/project/3/rekap/#top", "rekap", V2, true},
		{"GET", "/detail_project/api/v2/project/3/list-pekerjaan/save/", "", "", false}, // save is POST
		{"GET", "/detail_project/api/v2/project/x/rekap/", "", "", false},
		{"GET", "/detail_project/api/v2/project/3/detail-ahsp/abc/", "", "", false},
		{"GET", "/detail_project/api/v2/project/3/detail-ahsp//", "", "", false},
		{"GET", "/health/", "", "", false},
		{"GET", "http://host-without-path", "", "", false},
	} {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			op, v, ok := Match(tc.method, tc.url)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.op, op.Name)
			require.Equal(t, tc.v, v)
		})
	}
	for _, op := range Operations {
		for _, v := range Versions {
			got, gv, ok := Match(op.Method, op.URLPath(v, 7, 42))
			require.True(t, ok, "%s %s", op.Name, v)
			require.Equal(t, op.Name, got.Name)
			require.Equal(t, v, gv)
		}
	}
	v, pid, rest, ok := SplitProjectPath("/detail_project/api/v1/project/123/rekap/")
	require.True(t, ok)
	require.Equal(t, V1, v)
	require.Equal(t, 123, pid)
	require.Equal(t, "rekap/", rest)
}
