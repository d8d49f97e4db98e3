//go:build unix

package h1

import "syscall"

// peeker is a connection's liveness peek, built once per connection so a
// reuse allocates nothing.
type peeker struct {
	buf [1]byte
	ok  bool
	fn  func(fd uintptr) bool
}

func (p *peeker) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Nothing to read yet: open. Zero bytes (EOF), data or an error: not.
	p.ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR
	return true
}

// alive peeks at an idle connection without blocking: end of stream or any
// unsolicited byte (a 408, say) means the server is done with it.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	if c.peek.fn == nil {
		c.peek.fn = c.peek.peek
	}
	c.peek.ok = false
	err := c.raw.Read(c.peek.fn)
	return c.peek.ok && err == nil
}
