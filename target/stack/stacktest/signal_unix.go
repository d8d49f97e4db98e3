//go:build unix

package stacktest

import "syscall"

var interrupt = syscall.SIGTERM
