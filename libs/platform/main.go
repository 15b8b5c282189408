package platform

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/itss/techcommit/libs/config"
)

// Runner is a started service: Run serves it until ctx is cancelled, then stops
// gracefully. A Platform is one, and so is every service that embeds it.
type Runner interface {
	Run(ctx context.Context) error
}

// Commander is a started service that has operations commands besides serving
// (a Platform's: rebuild-projections), run by Main when the command line names one.
type Commander interface {
	Command(ctx context.Context, args []string) error
}

// Command runs the service when args is empty, or the operations command args name
// (see Dispatch).
func (p *Platform) Command(ctx context.Context, args []string) error {
	return Dispatch(ctx, p, args)
}

// Main is the whole of a service's command, so that each service's main is one line
// and a new service copies nothing:
//
//	func main() { platform.Main("fund", config.Default, service.New) }
//
// It tunes the runtime for a container, reads the configuration from the
// environment over defaults() and validates it (every problem at once, as
// config.Load words them), starts the service with start and its zero options, and
// runs it (or the operations command its arguments name) until SIGINT or SIGTERM.
// A failure is printed to stderr after the service's name and exits with status 1.
func Main[C, O any, S Runner](name string, defaults func() C, start func(context.Context, C, O) (S, func(), error)) {
	TuneRuntime()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], defaults, start)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// run is Main without the process: what it reads, starts and runs.
func run[C, O any, S Runner](ctx context.Context, args []string, defaults func() C, start func(context.Context, C, O) (S, func(), error)) error {
	cfg := defaults()
	if err := config.Load(&cfg); err != nil {
		return err
	}
	var opts O
	svc, cleanup, err := start(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer cleanup()
	if c, ok := any(svc).(Commander); ok {
		return c.Command(ctx, args)
	}
	if len(args) > 0 {
		// A mistyped command must not start a service that was not asked for.
		return fmt.Errorf("unknown command %q: this service has no operations commands; run it with no arguments to serve", args[0])
	}
	return svc.Run(ctx)
}
