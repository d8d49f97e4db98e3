//go:build !unix

package h1

// alive: without a non-blocking peek, a connection the server closed is
// found when the request fails, and retried under net/http's rule.
func (c *conn) alive() bool { return c.br.Buffered() == 0 }

type peeker struct{}
