package scan

import (
	"fmt"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Algorithms the oracle knows (the target's --limiter values).
const (
	Fixed   = "fixed"
	Sliding = "sliding"
	GCRA    = "gcra"
)

// Policy is a declared limit with its algorithm.
type Policy struct {
	Limit     api.Limit `json:"limit"`
	Algorithm string    `json:"algorithm"`
}

func (p Policy) window() time.Duration { return time.Duration(p.Limit.WindowSeconds) * time.Second }

func (p Policy) String() string {
	return fmt.Sprintf("%d per %ds (%s)", p.Limit.Requests, p.Limit.WindowSeconds, p.Algorithm)
}

// MaxAccepted is the most requests the declared policy may accept on one key
// that was unused before the first request, when all requests are sent and
// answered within d (first send to last answer). These are the formulas of
// docs/limiter.md, specialised to a fresh key:
//
//   - fixed: a window starts at the key's first request and the next one
//     starts at the first request after it ends, so at most
//     floor(d/w)+1 windows begin inside d: limit × (floor(d/w)+1). A burst
//     straddling a window edge is allowed up to that, and is not a bug.
//   - sliding (sliding-window counter): limit + floor(limit×d/w).
//   - gcra (interval t = ceil(w/limit), burst limit): limit + floor(d/t).
func MaxAccepted(p Policy, d time.Duration) int {
	limit := int64(p.Limit.Requests)
	w := p.window().Microseconds()
	us := max(d.Microseconds(), 0)
	if w <= 0 {
		return int(limit)
	}
	switch p.Algorithm {
	case Sliding:
		return int(limit + limit*us/w)
	case GCRA:
		t := (w + limit - 1) / limit
		return int(limit + us/t)
	default:
		return int(limit * (us/w + 1))
	}
}

// MaxAcceptedAnyInterval is docs/limiter.md's bound for any interval of
// length d on a key with unknown history (used when a key may have been
// touched before, e.g. a shared login IP).
func MaxAcceptedAnyInterval(p Policy, d time.Duration) int {
	limit := int64(p.Limit.Requests)
	w := p.window().Microseconds()
	us := max(d.Microseconds(), 0)
	switch p.Algorithm {
	case Sliding:
		return int(limit + limit*us/w)
	case GCRA:
		t := (w + limit - 1) / limit
		return int(limit + us/t)
	default:
		if us%w == 0 {
			return int(limit * (us/w + 1))
		}
		return int(limit*(us/w+2) - 1)
	}
}

// PoliteInterval is a send interval every correct algorithm accepts
// forever on a fresh key: docs/limiter.md's must-pass spacing w/(limit−1)
// with a 25% margin (the sliding counter may deny a client at exactly the
// limit's rate), and at least 250ms more than it so a busy machine's late
// send cannot close two sends below it. About 80% of the limit's rate: the
// shortest stream that still outlasts a window (L+2 requests), because the
// polite stream sets the scan's length with real 60 s windows.
func PoliteInterval(p Policy) time.Duration {
	w, l := p.window(), time.Duration(max(p.Limit.Requests, 1))
	if l == 1 {
		return 2 * w
	}
	return max(5*w/(4*(l-1)), w/(l-1)+250*time.Millisecond)
}

// FastLimits is a short-window --limits profile for scanning the reference
// target quickly (seconds instead of minutes). The oracle reads the declared
// limits, so the same probes work unchanged with the real app's 60 s windows.
const FastLimits = "bulk=3/2,write=10/2,read=40/2,export=4/1,login=10/2"
