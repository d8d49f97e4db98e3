package e2e

import (
	"fmt"
	"sync/atomic"
	"time"
)

// timed is a toast whose dismissal is measured against a reference timer.
type timed struct {
	name  string
	want  time.Duration
	added Event
	ref   string // text of the reference timer's mark
}

var refSeq atomic.Int64

// timedToastCall runs call right after starting, in the same task, a
// reference timer of the documented duration. The page's event loop delays
// both alike, so a busy machine neither fails a correct toast nor hides a
// wrong duration: the toast must go when its reference timer fires.
func (c *C) timedToastCall(name, call string, want time.Duration) (timed, error) {
	ref := fmt.Sprintf("ref-%d", refSeq.Add(1))
	ev, err := c.toastCallAs(call, fmt.Sprintf(`setTimeout(function () { window.__e2e.mark(%s); }, %d); %s`, js(ref), want.Milliseconds(), call))
	if err != nil {
		return timed{}, err
	}
	return timed{name: name, want: want, added: ev, ref: ref}, nil
}

// dismissal waits for the toast to start going (.dp-toast-hide, or its
// removal) and for its reference timer, and returns what went wrong, if
// anything.
func (c *C) dismissal(cur int, t timed, limit time.Duration) (end Event, problem string) {
	end, err := c.Wait(cur, limit, t.name+" dismissed", func(e Event) bool {
		return (e.Kind == "toast-hiding" || e.Kind == "toast-removed") && e.ID == t.added.ID
	})
	if err != nil {
		return end, fmt.Sprintf("%s not dismissed within %s", t.name, limit)
	}
	ref, err := c.Wait(cur, limit, t.name+" reference timer", func(e Event) bool { return e.Kind == "mark" && e.Text == t.ref })
	if err != nil {
		return end, fmt.Sprintf("%s: the reference timer never fired: %v", t.name, err)
	}
	got := since(t.added, end)
	lag := max(since(t.added, ref)-t.want, 0)
	c.Evidence("%s: class %q dismissed after %d ms (documented %d ms; a reference timer of %d ms fired after %d ms)",
		t.name, t.added.Class, got.Milliseconds(), t.want.Milliseconds(), t.want.Milliseconds(), since(t.added, ref).Milliseconds())
	switch off := since(ref, end); {
	case got < t.want-c.Tol():
		problem = fmt.Sprintf("%s dismissed after %d ms, documented %d ms", t.name, got.Milliseconds(), t.want.Milliseconds())
	case off > c.Tol() || off < -c.Tol():
		problem = fmt.Sprintf("%s dismissed after %d ms, documented %d ms (± %d; the page's timers ran %d ms late)",
			t.name, got.Milliseconds(), t.want.Milliseconds(), c.Tol().Milliseconds(), lag.Milliseconds())
	}
	return end, problem
}
