// Package bench holds the harness's own speed measurements: Go benchmarks
// of the load engine's per-request overhead and of report rendering, the
// capacity search (bench/capacity) and the drivers behind `make
// bench-compare` (bench/cmd/...), which set the engine against wrk, the
// vegeta CLI and k6 on the same trivial endpoint.
package bench
