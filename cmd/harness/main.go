// Command harness is the AHSP load-and-compatibility harness: it brings the
// target up (docker, local or an external URL), runs the checks and renders
// reports. This package only wires the library packages together.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ahsp-harness/harness/scenarios"
)

func main() {
	scenarios.GeneratorGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dir, _ := os.Getwd()
	code := execute(ctx, &App{
		Args: os.Args[1:], Env: os.Environ(), Dir: dir,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
	stop()
	os.Exit(code)
}
