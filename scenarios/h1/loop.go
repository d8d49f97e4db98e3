package h1

import (
	"errors"
	"net/http"
	"time"
)

// LoopConfig is a closed-model load for RunLoop: Slots exchanges in flight
// at once, each slot on a connection of its own, each asking for its next
// request as soon as its answer came.
//
// A Transport runs one goroutine per in-flight request, and on a machine
// the generator shares with its target the Go scheduler's hand-offs between
// those goroutines cost more CPU than the request's own system calls. A
// loop instead owns its sockets (non-blocking, one epoll set, one thread),
// as wrk does: per request it writes, reads and parses, nothing else.
type LoopConfig struct {
	// Slots is how many requests are in flight (and connections open).
	Slots int
	// Threads is how many event loops share the slots (default GOMAXPROCS).
	Threads int
	// Timeout bounds each exchange: dial, write, head and body together.
	Timeout time.Duration
	// MaxResponseHeaderBytes caps a response head (default
	// DefaultMaxResponseHeaderBytes).
	MaxResponseHeaderBytes int64
	// DisableKeepAlives sends "Connection: close" and dials per request.
	DisableKeepAlives bool
	// ReuseHeaders lets each slot parse simple answers into one header map
	// (see HeadCache) instead of a new one: Done must neither keep nor
	// change it.
	ReuseHeaders bool
	// Next returns the slot's next request, or nil when the slot is done.
	// now is the loop's clock (read once per wake-up and every few
	// exchanges, so a caller timing requests need not read it again);
	// began is when the exchange began by the caller's clock: its deadline
	// and the connection's idle time count from there (zero: the loop
	// reads the clock after Next, which may have blocked). Only plain-http
	// requests may be returned. It is called on the slot's loop thread;
	// slots of different loops call it concurrently.
	Next func(slot int, now time.Time) (req *http.Request, began time.Time)
	// Done gets the answer to the slot's request, or the error that ended
	// it. The answer's Body and Header are valid only during the call; its
	// End is when the loop woke to its last bytes.
	Done func(slot int, a *Answer, err error)
}

// ErrLoopUnsupported: RunLoop needs Linux's epoll.
var ErrLoopUnsupported = errors.New("h1: the event loop needs linux (epoll)")

func (c *LoopConfig) maxHead() int64 {
	if c.MaxResponseHeaderBytes > 0 {
		return c.MaxResponseHeaderBytes
	}
	return DefaultMaxResponseHeaderBytes
}

// retryable is shouldRetry's rule for a loop slot: only a request on a
// reused connection, either none of whose bytes left or that is
// replayable and got no answer byte. The loop keeps the request's bytes,
// so any body can be sent again; net/http's rule still decides whether it
// may.
func retryable(reused, nothingWritten bool, req *http.Request, err error) bool {
	if !reused {
		return false
	}
	if nothingWritten {
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	}
	return isReplayable(req) && errors.Is(err, errNothingRead)
}
