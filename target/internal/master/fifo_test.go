package master

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFIFOListener: it accepts with blocking accept(2), and Close wakes the
// blocked accept without shutting the shared socket.
func TestFIFOListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	fl, err := FIFO(ln)
	require.NoError(t, err)
	got := make(chan error, 4)
	go func() {
		for {
			c, err := fl.Accept()
			if err != nil {
				got <- err
				return
			}
			c.Close()
			got <- nil
		}
	}()
	for range 2 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		require.NoError(t, err)
		c.Close()
		select {
		case err := <-got:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("connection not accepted")
		}
	}
	require.NoError(t, fl.Close())
	select {
	case err := <-got:
		require.True(t, errors.Is(err, net.ErrClosed), "%v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the blocked accept")
	}
}
