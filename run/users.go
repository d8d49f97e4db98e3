package run

import (
	"fmt"

	"github.com/ahsp-harness/harness/target/client"
)

// Rest as a Need's Max: the phase takes every user no other phase got (one
// phase at most; the scan, which wants a fresh user per probe).
const Rest = -1

// Need is how many users of its own a phase wants, so no phase sees
// another's rate-limit counters or data.
type Need struct {
	// Min is the least the phase can work with; Max the most it uses (Rest:
	// all that are left).
	Min, Max int
	// Flexible phases (the load) take up to half of what the fixed phases
	// leave, so a Rest phase keeps the other half.
	Flexible bool
}

// Split gives each phase its users, in the order of needs. Fixed phases
// take theirs first from the front of creds, then the flexible ones, then
// the Rest phase the remainder. With fewer users than the phases' minimums
// together (an external deployment with a few accounts) every phase gets all
// of them and note says so.
func Split(creds []client.Credential, needs []Need) (users [][]client.Credential, note string) {
	users = make([][]client.Credential, len(needs))
	sum := 0
	for _, n := range needs {
		sum += max(n.Min, 0)
	}
	if len(creds) < sum {
		for i := range needs {
			users[i] = creds
		}
		return users, fmt.Sprintf("only %d users for phases that want %d: the phases share them, so rate-limit counters and data may overlap", len(creds), sum)
	}
	count := make([]int, len(needs))
	extra := len(creds) - sum
	rest := -1
	for i, n := range needs {
		count[i] = max(n.Min, 0)
		if n.Max == Rest && rest < 0 {
			rest = i
		}
	}
	for i, n := range needs { // fixed: up to Max while users are spare
		if n.Max >= 0 && !n.Flexible {
			k := min(max(n.Max-count[i], 0), extra)
			count[i] += k
			extra -= k
		}
	}
	for i, n := range needs { // flexible: half of the pool a Rest phase shares
		if n.Max >= 0 && n.Flexible {
			pool := count[i] + extra
			if rest >= 0 {
				pool = (pool + count[rest]) / 2
			}
			k := min(max(n.Max-count[i], 0), max(pool-count[i], 0), extra)
			count[i] += k
			extra -= k
		}
	}
	if rest >= 0 {
		count[rest] += extra
	}
	// Fixed phases take the front of creds, then the flexible, then Rest.
	next := 0
	for _, pass := range []func(Need) bool{
		func(n Need) bool { return n.Max >= 0 && !n.Flexible },
		func(n Need) bool { return n.Max >= 0 && n.Flexible },
		func(n Need) bool { return n.Max < 0 },
	} {
		for i, n := range needs {
			if pass(n) {
				users[i] = creds[next : next+count[i] : next+count[i]]
				next += count[i]
			}
		}
	}
	return users, ""
}
