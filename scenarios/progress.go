package scenarios

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type progress struct {
	stopOnce sync.Once
	done     chan struct{}
	wg       sync.WaitGroup
}

func (p *progress) stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() { close(p.done) })
	p.wg.Wait()
}

// startProgress prints a live line on a terminal (rewritten in place) or a
// plain line every interval otherwise (CI logs keep every line).
func startProgress(o Options, sc *Scenario, sent, errs *atomic.Int64) *progress {
	if o.Progress == nil {
		return nil
	}
	every := o.ProgressInterval
	if every <= 0 {
		every = 5 * time.Second
		if o.TTY {
			every = 250 * time.Millisecond
		}
	}
	p := &progress{done: make(chan struct{})}
	start := time.Now()
	total := sc.ScheduledHits()
	line := func() string {
		el := time.Since(start)
		n := sent.Load()
		rate := float64(n) / max(el.Seconds(), 1e-9)
		of := ""
		if total > 0 {
			of = fmt.Sprintf("/%d", total)
		}
		return fmt.Sprintf("%s: %5.1fs sent %d%s rate %.1f/s errors %d", sc.Name, el.Seconds(), n, of, rate, errs.Load())
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if o.TTY {
					fmt.Fprintf(o.Progress, "\r\033[K%s", line())
				} else {
					fmt.Fprintln(o.Progress, line())
				}
			case <-p.done:
				if o.TTY {
					fmt.Fprintf(o.Progress, "\r\033[K%s\n", line())
				} else {
					fmt.Fprintln(o.Progress, line()+" (done)")
				}
				return
			}
		}
	}()
	return p
}

// IsTerminal reports whether f is a terminal and CI is not set, i.e. a live
// progress line can be redrawn in place.
func IsTerminal(f *os.File) bool {
	if os.Getenv("CI") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
