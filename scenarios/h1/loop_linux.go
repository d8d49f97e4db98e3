//go:build linux

package h1

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// LoopSupported reports whether RunLoop can run here.
func LoopSupported() bool { return true }

// Buffer sizes of a slot: what one read asks for at first, and the most a
// slot holds of one answer (a larger body is an error, not unbounded memory).
const (
	loopReadSize   = 16 << 10
	loopMaxAnswer  = 256 << 20
	loopKeepBuffer = 1 << 20
)

// loopEvents: readable, writable and hang-ups, edge-triggered (as Go's own
// poller registers sockets): one registration per connection.
const loopEvents = uint32(syscall.EPOLLIN|syscall.EPOLLOUT|syscall.EPOLLRDHUP) | 1<<31 // EPOLLET

// RunLoop runs cfg's slots on event loops and returns when every slot is
// done (Next returned nil and its last exchange ended).
func RunLoop(cfg LoopConfig) error {
	if cfg.Slots < 1 || cfg.Next == nil || cfg.Done == nil {
		return errors.New("h1: RunLoop needs Slots >= 1, Next and Done")
	}
	threads := cfg.Threads
	if threads <= 0 {
		// One per core, as wrk is run with: on a machine shared with the
		// target, one loop leaves cores idle while it works (measured:
		// 15-20 % idle against 11-12 % with two loops on 2 cores).
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, cfg.Slots)
	loops := make([]*evloop, 0, threads)
	for range threads {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			for _, l := range loops {
				_ = syscall.Close(l.ep)
			}
			return os.NewSyscallError("epoll_create1", err)
		}
		loops = append(loops, &evloop{cfg: &cfg, ep: ep, maxHead: cfg.maxHead(), addrs: map[string]*resolved{}})
	}
	for id := range cfg.Slots {
		l := loops[id%threads]
		s := &lslot{id: id, idx: len(l.slots), fd: -1}
		if cfg.ReuseHeaders {
			s.hc = new(HeadCache)
		}
		l.slots = append(l.slots, s)
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	wg.Wait()
	return nil
}

// evloop is one thread's share of the slots and their epoll set.
type evloop struct {
	cfg     *LoopConfig
	ep      int
	maxHead int64
	slots   []*lslot
	active  int
	addrs   map[string]*resolved
	next    time.Time // no slot's deadline is earlier (zero: none)
	now     time.Time // read once per wake-up: expiry and idle times need no more
}

// lslot is one in-flight exchange and its connection.
type lslot struct {
	id, idx    int
	fd         int // -1: no connection
	connAddr   string
	addr       string // where req goes
	host       string // the URL host addr came from
	reused     bool
	connecting bool
	retired    bool
	req        *http.Request
	enc        Encoder
	out        []byte // req's bytes, in enc's buffer
	written    int
	in         []byte // answer bytes read so far
	eof        bool
	deadline   time.Time
	idleFrom   time.Time // when its connection's last answer ended
	hc         *HeadCache
	ans        Answer // the answer handed to Done (kept here: no allocation)
}

type resolved struct {
	sa     syscall.Sockaddr
	family int
	addr   *net.TCPAddr
}

func (l *evloop) run() {
	defer syscall.Close(l.ep)
	l.active = len(l.slots)
	l.now = time.Now()
	for i, s := range l.slots {
		l.tick(i)
		l.begin(s)
	}
	evs := make([]syscall.EpollEvent, 128)
	for l.active > 0 {
		n, err := l.wait(evs)
		l.now = time.Now()
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			l.abort(os.NewSyscallError("epoll_wait", err))
			return
		}
		for k, ev := range evs[:n] {
			l.tick(k)
			if i := int(ev.Pad); i >= 0 && i < len(l.slots) {
				if s := l.slots[i]; s.fd == int(ev.Fd) && !s.retired {
					l.event(s, ev.Events)
				}
			}
		}
		if !l.next.IsZero() && !l.now.Before(l.next) {
			l.expire(l.now)
		}
	}
}

// tickEvery is how many exchanges share one clock reading: a reading costs
// about as much as parsing an answer on a virtual machine, and a wake-up
// mostly brings one or two events; under heavy load the reading stays
// within tickEvery events' work of the truth.
const tickEvery = 16

// tick reads the clock again before the wake-up's k-th piece of work when
// k is a positive multiple of tickEvery.
func (l *evloop) tick(k int) {
	if k > 0 && k%tickEvery == 0 {
		l.now = time.Now()
	}
}

// maxWait bounds one epoll_wait. The loop waits without telling the Go
// scheduler (a raw system call: no hand-off of its P to another thread and
// back, which cost as much as the request's own system calls), so it keeps
// its P meanwhile; the bound keeps that short when nothing arrives.
const maxWait = 10 * time.Millisecond

// wait is epoll_wait until an event, the earliest deadline or maxWait.
func (l *evloop) wait(evs []syscall.EpollEvent) (int, error) {
	d := maxWait
	if !l.next.IsZero() {
		// From the last wake-up's clock: late by this wake-up's work at
		// most, and one clock reading fewer per wait.
		d = min(d, l.next.Sub(l.now))
	}
	ms := 0
	if d > 0 {
		ms = int((d + time.Millisecond - 1) / time.Millisecond)
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), uintptr(ms), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// begin gives s its next request and sends it, until one is in flight or
// the slot is done.
func (l *evloop) begin(s *lslot) {
	for {
		req, began := l.cfg.Next(s.id, l.now)
		if req == nil {
			l.closeConn(s)
			s.retired = true
			l.active--
			return
		}
		if err := l.prepare(s, req, began); err != nil {
			l.cfg.Done(s.id, nil, err)
			continue
		}
		err := l.launch(s)
		if err == nil {
			return
		}
		if l.retry(s, &err) {
			return
		}
		l.cfg.Done(s.id, nil, err)
	}
}

func (l *evloop) prepare(s *lslot, req *http.Request, now time.Time) error {
	if req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" {
		closeBody(req)
		return fmt.Errorf("h1: the event loop sends plain-http requests only, not %q", req.URL)
	}
	if l.cfg.DisableKeepAlives && !req.Close {
		r2 := *req
		r2.Close = true
		req = &r2
	}
	b, err := s.enc.Encode(req)
	if err != nil {
		return err
	}
	s.req, s.out = req, b
	if host := req.URL.Host; host != s.host {
		s.host, s.addr = host, host
		if _, _, err := net.SplitHostPort(host); err != nil {
			s.addr = net.JoinHostPort(host, "80")
		}
	}
	if now.IsZero() {
		now = time.Now() // Next may have taken long: not the wake-up's clock
	}
	if s.fd >= 0 && now.Sub(s.idleFrom) >= peekAfter && !s.alive() {
		l.closeConn(s) // the server hung up while the connection was idle
	}
	if l.cfg.Timeout > 0 {
		s.deadline = now.Add(l.cfg.Timeout)
		if l.next.IsZero() || s.deadline.Before(l.next) {
			l.next = s.deadline
		}
	}
	return nil
}

// launch sends s.req: on its connection when it has one to the same
// address, else on a new one.
func (l *evloop) launch(s *lslot) error {
	s.written, s.in, s.eof = 0, s.in[:0], false
	if s.fd >= 0 && s.connAddr != s.addr {
		l.closeConn(s)
	}
	if s.fd < 0 {
		s.reused = false
		return l.dial(s)
	}
	s.reused = true
	return l.write(s)
}

// retry resends s.req on a new connection when net/http would (a reused
// connection failed before any answer byte). It reports whether the
// request is in flight again; if not, *err is what to report.
func (l *evloop) retry(s *lslot, err *error) bool {
	l.closeConn(s)
	var nw nothingWrittenError
	if !retryable(s.reused, errors.As(*err, &nw), s.req, *err) {
		return false
	}
	if e := l.launch(s); e != nil {
		l.closeConn(s)
		*err = e
		return false
	}
	return true
}

// end reports s's exchange (an answer or the error that ended it) and
// starts its next one.
func (l *evloop) end(s *lslot, a *Answer, err error, mayRetry bool) {
	if err != nil {
		if mayRetry && l.retry(s, &err) {
			return
		}
		l.closeConn(s)
		l.cfg.Done(s.id, nil, err)
	} else {
		keep := !a.Close && !s.req.Close && !s.eof && a.N == len(s.in)
		l.cfg.Done(s.id, a, nil)
		if !keep {
			l.closeConn(s)
		}
		s.idleFrom = l.now
		s.ans = Answer{}
		if cap(s.in) > loopKeepBuffer {
			s.in = nil
		}
	}
	l.begin(s)
}

func (l *evloop) resolve(addr string) (*resolved, error) {
	if r := l.addrs[addr]; r != nil {
		return r, nil
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	r := &resolved{addr: ta}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		r.sa, r.family = sa, syscall.AF_INET
	} else {
		sa := &syscall.SockaddrInet6{Port: ta.Port}
		copy(sa.Addr[:], ta.IP.To16())
		if ta.Zone != "" {
			if ifi, err := net.InterfaceByName(ta.Zone); err == nil {
				sa.ZoneId = uint32(ifi.Index)
			}
		}
		r.sa, r.family = sa, syscall.AF_INET6
	}
	l.addrs[addr] = r
	return r, nil
}

func (l *evloop) dial(s *lslot) error {
	r, err := l.resolve(s.addr)
	if err != nil {
		return err
	}
	fd, err := syscall.Socket(r.family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: r.addr, Err: os.NewSyscallError("socket", err)}
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1) // as net.Dial does
	ev := syscall.EpollEvent{Events: loopEvents, Fd: int32(fd), Pad: int32(s.idx)}
	if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = syscall.Close(fd)
		return os.NewSyscallError("epoll_ctl", err)
	}
	s.fd, s.connAddr = fd, s.addr
	switch err := syscall.Connect(fd, r.sa); err {
	case nil:
		s.connecting = false
		return l.write(s)
	case syscall.EINPROGRESS, syscall.EINTR:
		s.connecting = true
		return nil
	default:
		return l.dialError(s, err)
	}
}

func (l *evloop) dialError(s *lslot, errno error) error {
	r := l.addrs[s.addr]
	var addr net.Addr
	if r != nil {
		addr = r.addr
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: addr, Err: os.NewSyscallError("connect", errno)}
}

// opError words a socket error as net.Conn does ("read tcp a->b: read: …").
func (s *lslot) opError(op string, errno syscall.Errno) error {
	e := &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
	if sa, err := syscall.Getsockname(s.fd); err == nil {
		e.Source = sockaddrTCP(sa)
	}
	if sa, err := syscall.Getpeername(s.fd); err == nil {
		e.Addr = sockaddrTCP(sa)
	}
	return e
}

func sockaddrTCP(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

// write sends what is left of s.out; a full socket buffer waits for EPOLLOUT.
func (l *evloop) write(s *lslot) error {
	for s.written < len(s.out) {
		n, errno := rawIO(syscall.SYS_WRITE, s.fd, s.out[s.written:])
		switch errno {
		case 0:
			s.written += n
		case syscall.EAGAIN:
			return nil
		case syscall.EINTR:
		default:
			err := s.opError("write", errno)
			if s.written == 0 {
				return nothingWrittenError{err}
			}
			return err
		}
	}
	return nil
}

func rawIO(trap uintptr, fd int, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), errno
}

func (l *evloop) event(s *lslot, events uint32) {
	if s.connecting {
		if events&(syscall.EPOLLOUT|syscall.EPOLLERR|syscall.EPOLLHUP) == 0 {
			return
		}
		soErr, err := syscall.GetsockoptInt(s.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err == nil && soErr != 0 {
			err = syscall.Errno(soErr)
		}
		if err != nil {
			l.end(s, nil, l.dialError(s, err), false)
			return
		}
		s.connecting = false
		if err := l.write(s); err != nil {
			l.end(s, nil, err, true)
		}
		return
	}
	if events&syscall.EPOLLOUT != 0 && s.written < len(s.out) {
		if err := l.write(s); err != nil {
			l.end(s, nil, err, true)
			return
		}
	}
	if events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		// A hang-up comes on the same edge as the last bytes: read to it.
		l.read(s, events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
	}
}

// read takes what the socket has (up to its end when toEnd) and ends the
// exchange when the answer is whole (or cannot be).
func (l *evloop) read(s *lslot, toEnd bool) {
	var rerr error
	for {
		if len(s.in) == cap(s.in) {
			if cap(s.in) >= loopMaxAnswer {
				l.end(s, nil, fmt.Errorf("h1: response larger than %d bytes; aborted", loopMaxAnswer), false)
				return
			}
			grown := make([]byte, len(s.in), max(2*cap(s.in), loopReadSize))
			copy(grown, s.in)
			s.in = grown
		}
		n, errno := rawIO(syscall.SYS_READ, s.fd, s.in[len(s.in):cap(s.in)])
		if errno == syscall.EINTR {
			continue
		}
		if errno == syscall.EAGAIN {
			break
		}
		if errno != 0 {
			rerr = s.opError("read", errno)
			break
		}
		if n == 0 {
			s.eof = true
			break
		}
		s.in = s.in[:len(s.in)+n]
		if len(s.in) < cap(s.in) && !toEnd {
			break // took all there was: the next byte raises an event
		}
	}
	if len(s.in) == 0 && !s.eof && rerr == nil {
		return
	}
	var err error
	s.ans, err = ParseAnswer(s.in, s.eof || rerr != nil, s.req, l.maxHead, s.hc)
	if err == ErrIncomplete {
		return
	}
	if err != nil {
		if rerr != nil {
			err = rerr
		}
		if len(s.in) == 0 {
			err = nothingRead(err)
		}
		l.end(s, nil, err, true)
		return
	}
	if rerr != nil {
		s.eof = true // the answer stands; the connection does not
	}
	s.ans.End = l.now
	l.end(s, &s.ans, nil, false)
}

// expire ends the exchanges past their deadline and finds the next one.
func (l *evloop) expire(now time.Time) {
	l.next = time.Time{}
	for _, s := range l.slots {
		if s.retired {
			continue
		}
		if !s.deadline.After(now) {
			l.end(s, nil, timeoutError{l.cfg.Timeout, s.phase()}, false)
			if s.retired {
				continue
			}
		}
		if l.next.IsZero() || s.deadline.Before(l.next) {
			l.next = s.deadline
		}
	}
}

func (s *lslot) phase() string {
	switch {
	case s.connecting:
		return phaseDial
	case s.written < len(s.out):
		return phaseWrite
	case endOfHead(s.in) < 0:
		return phaseHeaders
	}
	return phaseBody
}

// abort ends every exchange in flight with err and retires the slots.
func (l *evloop) abort(err error) {
	for _, s := range l.slots {
		if !s.retired {
			l.closeConn(s)
			l.cfg.Done(s.id, nil, err)
			s.retired = true
		}
	}
	l.active = 0
}

// alive peeks at an idle connection, as Transport does before reusing one
// idle for peekAfter or more: nothing to read means open.
func (s *lslot) alive() bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(s.fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == syscall.EAGAIN
}

func (l *evloop) closeConn(s *lslot) {
	if s.fd >= 0 {
		_ = syscall.Close(s.fd) // leaves the epoll set with it
		s.fd, s.connecting = -1, false
	}
}
