//go:build !linux

package h1

// LoopSupported reports whether RunLoop can run here.
func LoopSupported() bool { return false }

// RunLoop needs epoll; elsewhere callers use a Transport.
func RunLoop(LoopConfig) error { return ErrLoopUnsupported }
