// Command review runs the review service: institutions' submissions, the reviewer
// pool, review rounds with assignment, reviews and released feedback. It is
// configured by environment variables (see the README) and stops gracefully on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "review:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	platform.TuneRuntime()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	svc, cleanup, err := service.New(ctx, cfg, service.Options{})
	if err != nil {
		return err
	}
	defer cleanup()
	// No arguments serve; an operations command (rebuild-projections) runs and exits.
	return platform.Dispatch(ctx, svc.Platform, os.Args[1:])
}
