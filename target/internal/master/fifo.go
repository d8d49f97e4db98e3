package master

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// FIFO turns a worker's listener into one that accepts the way gunicorn's
// sync workers do: a blocking accept(2) on the shared socket, where the
// kernel wakes the longest-waiting worker, so new connections go to the
// workers in turn. Go's own listener polls, and the worker that ran last
// tends to win every connection, which a real deployment does not do.
// Every worker of a master must use it (the socket's blocking mode is shared).
func FIFO(ln net.Listener) (net.Listener, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("fifo listener: %T is not a TCP listener", ln)
	}
	f, err := tl.File() // a dup, in blocking mode
	if err != nil {
		return nil, fmt.Errorf("fifo listener: %w", err)
	}
	addr := ln.Addr()
	_ = ln.Close()
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("fifo listener: %w", err)
	}
	return &fifoListener{f: f, fd: fd, addr: addr, done: make(chan struct{})}, nil
}

type fifoListener struct {
	f      *os.File
	fd     int
	addr   net.Addr
	closed atomic.Bool
	once   sync.Once
	done   chan struct{} // closed when Accept has returned ErrClosed
}

func (l *fifoListener) stopped() (net.Conn, error) {
	l.once.Do(func() { close(l.done) })
	return nil, net.ErrClosed
}

func (l *fifoListener) Accept() (net.Conn, error) {
	for {
		if l.closed.Load() {
			return l.stopped()
		}
		nfd, _, err := syscall.Accept4(l.fd, syscall.SOCK_CLOEXEC)
		switch {
		case errors.Is(err, syscall.EINTR), errors.Is(err, syscall.ECONNABORTED):
			continue
		case errors.Is(err, syscall.EAGAIN):
			// A worker starting up made the shared socket non-blocking
			// for a moment; put it back.
			_ = syscall.SetNonblock(l.fd, false)
			time.Sleep(time.Millisecond)
			continue
		case err != nil:
			if l.closed.Load() {
				return l.stopped()
			}
			return nil, fmt.Errorf("accept: %w", err)
		}
		cf := os.NewFile(uintptr(nfd), "conn")
		c, err := net.FileConn(cf)
		cf.Close()
		if err != nil {
			continue
		}
		if l.closed.Load() {
			c.Close()
			return l.stopped()
		}
		return c, nil
	}
}

// Close stops accepting. shutdown(2) would wake the blocked accept(2) but
// stop the socket for every worker, so Close connects to the socket instead
// until its own accept has taken one of those connections (another worker
// may take some: it reads an empty connection and moves on).
func (l *fifoListener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	go func() {
		defer l.f.Close()
		for range 500 {
			if c, err := net.DialTimeout("tcp", l.addr.String(), time.Second); err == nil {
				c.Close()
			}
			select {
			case <-l.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return nil
}

func (l *fifoListener) Addr() net.Addr { return l.addr }
