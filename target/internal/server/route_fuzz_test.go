package server

import (
	"strings"
	"testing"

	"github.com/ahsp-harness/harness/target/api"
)

// FuzzResolve checks the router's invariants on any path: it never panics,
// and a resolved API path keeps resolving to the same operation under the
// spellings the normalisation promises to ignore (case, doubled and trailing
// slashes).
func FuzzResolve(f *testing.F) {
	for _, v := range api.Versions {
		for _, op := range api.Operations {
			f.Add(op.URLPath(v, 12, 34))
		}
	}
	for _, p := range []string{"/", "//", "/health", "/detail_project/1/rekap-rab/", "/static/x", "/detail_project/api/project/99999999999999999999/rekap/", "/\x00/"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt := resolve(p)
		if rt.kind != kindAPI {
			return
		}
		for _, variant := range []string{
			strings.ToUpper(p),
			strings.ReplaceAll(p, "/", "//"),
			strings.TrimSuffix(p, "/"),
			p + "/",
		} {
			got := resolve(variant)
			if got.kind != kindAPI || got.op.Name != rt.op.Name || got.version != rt.version || got.project != rt.project || got.id != rt.id {
				t.Fatalf("%q resolves to %+v but %q to %+v", p, rt, variant, got)
			}
		}
	})
}
