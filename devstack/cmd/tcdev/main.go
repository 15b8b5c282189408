// Command tcdev runs the whole suite on one machine with nothing installed — an
// embedded NATS server with JetStream, an embedded FerretDB, a development token
// issuer, the Mailpit mail catcher and every service binary — and mints development
// tokens. The services are the same binaries as in production, configured through the
// same environment variables; only the addresses differ.
//
//	tcdev run   [-data .data] [-bin bin] [-port-offset 0] [-pprof ADDR]
//	tcdev backup  -out DIR [-data .data]     (while the stack runs or not)
//	tcdev restore -from DIR [-data .data]    (with the stack stopped)
//	tcdev rebuild [-data .data] [-bin bin] [-port-offset 0]   (every service's rebuild-projections, stack stopped)
//	tcdev token -role ops|lead|reviewer|applicant [-org ID] [-sub NAME] [-aud review,notify|all] [-ttl 1h] [-data .data]
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
		fmt.Fprintln(os.Stderr, "tcdev:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: tcdev run|backup|restore|rebuild|token [flags]")
	}
	switch args[0] {
	case "run":
		return runStack(ctx, args[1:])
	case "backup":
		return runBackup(ctx, args[1:])
	case "restore":
		return runRestore(args[1:])
	case "rebuild":
		return runRebuild(ctx, args[1:])
	case "token":
		return printToken(args[1:], os.Stdout)
	default:
		return fmt.Errorf("unknown command %q: use run, backup, restore, rebuild or token", args[0])
	}
}
