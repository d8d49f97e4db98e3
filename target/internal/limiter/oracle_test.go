package limiter

import "time"

// oracleMax is docs/limiter.md's formula: the most requests the algorithm
// (one process, one key, no clock skew) can accept inside any closed
// interval of length d. The scan engineer's oracles use the same formulas.
func oracleMax(alg string, p Policy, d time.Duration) int {
	limit, w := int64(p.Limit), p.Window.Microseconds()
	us := d.Microseconds()
	switch alg {
	case "fixed":
		// Windows start at a key's first request and are at least w apart.
		if us%w == 0 {
			return int(limit * (us/w + 1))
		}
		return int(limit*(us/w+2) - 1)
	case "sliding":
		return int(limit + limit*us/w)
	case "gcra":
		return int(limit + us/gcraInterval(limit, w))
	}
	panic("no oracle for " + alg)
}
