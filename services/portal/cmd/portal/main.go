// Command portal runs the suite's web front end: sign-in, and the pages where leads,
// reviewers and the public do their part. It is configured by environment variables
// (see the README) and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/portal/internal/config"
	"github.com/itss/techcommit/services/portal/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
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
	return svc.Run(ctx)
}
