package run

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ahsp-harness/harness/target/client"
)

func creds(n int) []client.Credential {
	out := make([]client.Credential, n)
	for i := range out {
		out[i] = client.Credential{User: fmt.Sprintf("user%d", i+1), Password: "pw"}
	}
	return out
}

func names(cs []client.Credential) string {
	if len(cs) == 0 {
		return ""
	}
	return fmt.Sprintf("%s..%s(%d)", cs[0].User, cs[len(cs)-1].User, len(cs))
}

// The standard phases: scan (rest), load (flexible), contracts 2, e2e 1.
var standard = []Need{{Min: 1, Max: Rest}, {Min: 1, Max: 30, Flexible: true}, {Min: 2, Max: 2}, {Min: 1, Max: 1}}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		needs  []Need
		want   []string // per phase: first..last(count)
		shared bool
	}{
		{"40 users: contracts 1-2, e2e 3, load half of the rest, scan the other half", 40, standard,
			[]string{"user22..user40(19)", "user4..user21(18)", "user1..user2(2)", "user3..user3(1)"}, false},
		{"load wants fewer than half", 40, []Need{{Min: 1, Max: Rest}, {Min: 1, Max: 4, Flexible: true}, {Min: 2, Max: 2}, {Min: 1, Max: 1}},
			[]string{"user8..user40(33)", "user4..user7(4)", "user1..user2(2)", "user3..user3(1)"}, false},
		{"exactly the minimums", 5, standard,
			[]string{"user5..user5(1)", "user4..user4(1)", "user1..user2(2)", "user3..user3(1)"}, false},
		{"fewer than the minimums: all share", 4, standard,
			[]string{"user1..user4(4)", "user1..user4(4)", "user1..user4(4)", "user1..user4(4)"}, true},
		{"no rest phase: load takes what it wants", 40, []Need{{Min: 1, Max: 30, Flexible: true}, {Min: 2, Max: 2}},
			[]string{"user3..user32(30)", "user1..user2(2)"}, false},
		{"a phase without users", 3, []Need{{}, {Min: 1, Max: Rest}, {Min: 2, Max: 2}},
			[]string{"", "user3..user3(1)", "user1..user2(2)"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users, note := Split(creds(tc.n), tc.needs)
			var got []string
			seen := map[string]bool{}
			for _, u := range users {
				got = append(got, names(u))
				for _, c := range u {
					require.True(t, tc.shared || !seen[c.User], "%s given to two phases", c.User)
					seen[c.User] = true
				}
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.shared, note != "", note)
		})
	}
}
