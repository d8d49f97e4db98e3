package defects

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{"none", nil, []string{}, ""},
		{"repeated flags", []string{"v2-drift", "trust-xff"}, []string{"trust-xff", "v2-drift"}, ""},
		{"comma list", []string{"naive-limiter, no-retry-after"}, []string{"naive-limiter", "no-retry-after"}, ""},
		{"unknown", []string{"typo"}, nil, `unknown defect "typo"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, s.List())
		})
	}
}

func TestProfilesNameKnownDefects(t *testing.T) {
	require.NotEmpty(t, Profiles)
	for name, p := range Profiles {
		_, err := Parse(p.Defects)
		require.NoError(t, err, "profile %s", name)
		require.Contains(t, []string{"locmem", "redis"}, p.Cache, name)
		require.Contains(t, []string{"db", "cache"}, p.SessionStore, name)
		require.Positive(t, p.Workers, name)
	}
	// The two deployed profiles differ only in where state lives.
	d, r := Profiles["as-deployed"], Profiles["as-deployed-redis"]
	require.Contains(t, d.Defects, "local-sessions")
	require.NotContains(t, r.Defects, "local-sessions")
	require.Equal(t, "locmem", d.Cache)
	require.Equal(t, "redis", r.Cache)
}

func TestLookupProfile(t *testing.T) {
	_, err := LookupProfile("as-deployd")
	require.ErrorContains(t, err, `unknown profile "as-deployd": allowed values are as-deployed, as-deployed-redis`)
	p, err := LookupProfile("as-deployed")
	require.NoError(t, err)
	got := p.WithDefects([]string{"trust-xff", "legacy-scope"})
	for _, want := range []string{"connection-close", "legacy-scope", "local-sessions", "naive-limiter", "no-api-versions", "no-login-limit", "no-retry-after", "no-worker-header", "trust-xff"} {
		require.Contains(t, got, want)
	}
	require.Len(t, got, len(p.Defects)+1, "trust-xff added once, legacy-scope not twice: %v", got)
}
