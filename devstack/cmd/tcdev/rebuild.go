package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// rebuildOrder is the order the services' projections are rebuilt in: a producer
// before its consumers, because a producer's rebuild publishes its events again when
// its stream lost them (after a restore) and its consumers' rebuilds read that stream.
var rebuildOrder = []string{"signatory", "review", "fund", "notify"}

// runRebuild runs every service's rebuild-projections against the local stack's data,
// with the stack stopped: it starts NATS, FerretDB and the token issuer on their own,
// runs each service binary's command with the environment `tcdev run` gives it, and
// stops them again.
func runRebuild(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	dataDir := fs.String("data", ".data", "the stack's data directory (the stack must be stopped)")
	binDir := fs.String("bin", "bin", "directory holding the service binaries")
	offset := fs.Int("port-offset", 0, "as for tcdev run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *offset < 0 || *offset+mongoPort > 65535 {
		return fmt.Errorf("-port-offset %d: must be 0 to %d", *offset, 65535-mongoPort)
	}
	in, err := startInfra(*dataDir, *offset)
	if err != nil {
		return err
	}
	defer in.stop()
	for _, name := range rebuildOrder {
		began := time.Now()
		s := service{name, portOf(name)}
		cmd := exec.CommandContext(ctx, filepath.Join(*binDir, name), "rebuild-projections") // #nosec G204 -- our own binaries
		cmd.Env = append(append([]string{}, in.env...), serviceEnv(s, *offset)...)
		// Its log goes to stderr; its one-line report to stdout.
		cmd.Stdout = os.Stdout
		out, err := os.CreateTemp("", "tcdev-rebuild-*.log")
		if err != nil {
			return err
		}
		cmd.Stderr = out
		err = cmd.Run()
		_ = out.Close()
		if err != nil {
			log, _ := os.ReadFile(out.Name())
			_ = os.Remove(out.Name())
			return fmt.Errorf("rebuild %s: %w\n%s", name, err, log)
		}
		_ = os.Remove(out.Name())
		fmt.Println("  " + name + " took " + strconv.FormatInt(time.Since(began).Milliseconds(), 10) + " ms")
	}
	return nil
}
