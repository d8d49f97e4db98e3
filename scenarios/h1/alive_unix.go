//go:build unix

package h1

import "syscall"

// alive peeks at an idle connection without blocking: end of stream or any
// unsolicited byte (a 408, say) means the server is done with it.
func (c *conn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	var buf [1]byte
	ok := true
	err := c.raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read yet: open. Zero bytes (EOF), data or an error: not.
		ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR
		return true
	})
	return ok && err == nil
}
