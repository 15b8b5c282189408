// Command bench measures the suite as `make run` starts it — the same binaries, the
// embedded NATS and FerretDB — and writes docs/BENCHMARKS.md. Every figure is put
// beside a baseline measured in the same run on the same machine, because these
// machines are shared and absolute timings mean little.
//
//	bench [-bin bin] [-out docs/BENCHMARKS.md] [-duration 10s] [-reads-only [-reads-of review,fund] | -pages-only]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
