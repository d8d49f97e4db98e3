package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPagesMerged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      Pages
		check   func(t *testing.T, p Pages)
		wantErr string
	}{
		{"defaults are the deployed app", Pages{}, func(t *testing.T, p Pages) {
			require.Equal(t, "/detail_project/7/rekap-rab/", p.Path("rekap-rab", 7))
			require.Equal(t, "/detail_project/7/volume-pekerjaan/", p.Path("volume-pekerjaan", 7))
			require.Empty(t, p.Path("rekap", 7), "…/rekap/ is not a page of the deployed app")
			require.Empty(t, p.Path("volume", 7))
			require.Equal(t, "#dp-toast-area", p.ToastArea)
			require.Equal(t, "/static/detail_project/js/core/loading.js", p.Scripts["loading"])
			require.Equal(t, "#lp-app[data-project-id]", p.Roots["list-pekerjaan"])
		}, ""},
		{"override one route and one selector", Pages{Routes: map[string]string{"rekap-rab": "/p/{pid}/rekap/"}, Selectors: map[string]string{"volume_save": "#save"}}, func(t *testing.T, p Pages) {
			require.Equal(t, "/p/3/rekap/", p.Path("rekap-rab", 3))
			require.Equal(t, "/detail_project/3/harga-items/", p.Path("harga-items", 3), "the rest stays default")
			require.Equal(t, "#save", p.Sel("volume_save"))
			require.Equal(t, `#btn-save-tree`, p.Sel("tree_save"))
		}, ""},
		{"empty route switches a page off", Pages{Routes: map[string]string{"rincian-rab": ""}}, func(t *testing.T, p Pages) {
			require.NotContains(t, p.PageNames(), "rincian-rab")
		}, ""},
		{"unknown selector", Pages{Selectors: map[string]string{"save": "#x"}}, nil, `e2e.pages.selectors: unknown key "save"`},
		{"unknown script", Pages{Scripts: map[string]string{"modal": "/x.js"}}, nil, `e2e.pages.scripts: unknown key "modal"; allowed keys: loading, toast, toast_wrapper`},
		{"route without pid", Pages{Routes: map[string]string{"x": "/x/"}}, nil, `e2e.pages.routes.x: "/x/": want a path starting with / that contains {pid}`},
		{"component page without route", Pages{ComponentPage: "dashboard"}, nil, `e2e.pages.component_page "dashboard" has no route`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.in.Merged()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, p)
		})
	}
}
