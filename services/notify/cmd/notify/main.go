// Command notify runs the notify service: the reminder ladder of every obligation,
// receipts and decisions, calendar feeds and the delivery log. It is configured by
// environment variables (see the README) and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/services/notify/internal/config"
	"github.com/itss/techcommit/services/notify/internal/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "notify:", err)
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
