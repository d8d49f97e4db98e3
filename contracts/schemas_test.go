package contracts

import (
	"testing"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedSchemasCoverEveryOperation(t *testing.T) {
	set, err := LoadEmbedded()
	require.NoError(t, err)
	for _, v := range []string{"v1", "v2"} {
		for _, op := range api.Operations {
			st := set.Statuses(v, op.Name)
			require.Contains(t, st, 200, "%s %s", v, op.Name)
			require.Contains(t, st, 429, "%s %s", v, op.Name)
			require.Contains(t, st, 503, "%s %s", v, op.Name)
			_, hasReq := set.Get(Key{Version: v, Operation: op.Name, Kind: Request})
			require.Equal(t, op.Body, hasReq, "%s %s request schema", v, op.Name)
		}
	}
}

func TestValidateBody(t *testing.T) {
	set, err := LoadEmbedded()
	require.NoError(t, err)
	cases := []struct {
		name      string
		version   string
		op        string
		status    int
		body      string
		wantPaths []string // instance paths of the violations; empty = valid
	}{
		{"volume list ok", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":"12.500"}],"decimal_places":3}`, nil},
		{"quantity as float", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":12.5}],"decimal_places":3}`, []string{"/items/0/quantity"}},
		{"quantity two places", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[{"pekerjaan_id":3,"quantity":"12.50"}],"decimal_places":3}`, []string{"/items/0/quantity"}},
		{"unknown field", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"items":[],"decimal_places":3,"extra":1}`, []string{"/"}},
		{"missing field", "v1", "volume-pekerjaan.list", 200, `{"ok":true,"decimal_places":3}`, []string{"/"}},
		{"v2 envelope", "v2", "volume-pekerjaan.list", 200, `{"success":true,"message":"OK","data":{"items":[],"decimal_places":3}}`, nil},
		{"v1 body on v2", "v2", "volume-pekerjaan.list", 200, `{"ok":true,"items":[],"decimal_places":3}`, []string{"/"}},
		{"429", "v1", "rekap", 429, `{"success":false,"message":"Terlalu banyak permintaan. Silakan coba lagi dalam 60 detik.","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":20,"window_seconds":60,"current_count":20,"category":"write"},"retry_after":60}`, nil},
		{"429 bad category", "v1", "rekap", 429, `{"success":false,"message":"x","code":"RATE_LIMIT_EXCEEDED","details":{"max_requests":20,"window_seconds":60,"current_count":20,"category":"slow"},"retry_after":60}`, []string{"/details/category"}},
		{"not json", "v1", "rekap", 429, `<html>500</html>`, []string{""}},
		{"fail-closed 503", "v1", "rekap", 503, `{"success":false,"message":"Layanan pembatas permintaan sedang tidak tersedia.","code":"RATE_LIMIT_UNAVAILABLE","details":{"category":"read","failure_policy":"fail-closed","retry_after":5}}`, nil},
		{"session 503", "v2", "rekap", 503, `{"success":false,"message":"Penyimpanan sesi tidak tersedia.","code":"SESSION_UNAVAILABLE"}`, nil},
		{"503 unknown code", "v2", "rekap", 503, `{"success":false,"message":"x","code":"DOWN"}`, []string{"/code"}},
		{"413", "v2", "detail-ahsp.save", 413, `{"success":false,"message":"Ukuran permintaan melebihi batas 1048576 byte.","code":"PAYLOAD_TOO_LARGE"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := set.Response(tc.version, tc.op, tc.status)
			require.True(t, ok)
			vs := e.ValidateBody([]byte(tc.body))
			var paths []string
			for _, v := range vs {
				paths = append(paths, v.InstancePath)
				require.NotEmpty(t, v.Message)
				t.Log(v)
			}
			if len(tc.wantPaths) == 0 {
				require.Empty(t, vs)
				return
			}
			require.Subset(t, paths, tc.wantPaths)
		})
	}
}

// The shipped schemas, mapping and compat file agree: every v1 -> v2
// difference is either non-breaking or accepted with a reason.
func TestStaticEmbeddedV1V2Passes(t *testing.T) {
	rep, err := Static(Options{})
	require.NoError(t, err)
	require.Len(t, rep.Breaking, 1)
	c := rep.Breaking[0]
	require.Equal(t, ScopeV1V2, c.Name)
	for _, ch := range c.Changes {
		if ch.Breaking {
			require.True(t, ch.Accepted, "%s %s %s", ch.Where(), ch.Change, ch.Path)
			require.NotEmpty(t, ch.Reason)
		}
	}
	require.Equal(t, "pass", string(rep.Status))
}
