package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/itss/techcommit/libs/embedded"
	"github.com/itss/techcommit/libs/events"
)

// runBackup copies the local stack's databases into a new directory, while the stack
// runs or not (see embedded.Backup).
func runBackup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	dataDir := fs.String("data", ".data", "the stack's data directory")
	out := fs.String("out", "", "directory to write the backup into (new or empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("backup: -out is required")
	}
	began := time.Now()
	m, err := embedded.Backup(ctx, *dataDir, *out)
	if err != nil {
		return err
	}
	fmt.Printf("backed up %d files from %s into %s in %s\n", len(m.Files), *dataDir, *out, time.Since(began).Round(time.Millisecond))
	return nil
}

// runRestore puts a backup back into the data directory; the stack must be stopped.
func runRestore(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	dataDir := fs.String("data", ".data", "the stack's data directory (the stack must be stopped)")
	from := fs.String("from", "", "a directory written by tcdev backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("restore: -from is required")
	}
	unlock, err := lockData(*dataDir, "tcdev restore")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer unlock()
	// Five streams stay, which outlive a restore by design: the register of erasures,
	// from which the signatory service, at its next start, erases again the people
	// erased since the backup was taken; the API token events, from which the fund's
	// rebuild and the portal's start learn the revocations since; the portal's
	// registers of ended sign-ins and of removed colleagues, from which its start ends
	// again the sessions signed out, the sign-in links used and the colleagues removed
	// since; and notify's register of what it sent, from which its start logs again
	// the emails sent since and settles the reminders, so that none goes twice.
	m, err := embedded.Restore(*dataDir, *from, events.StreamErasures, events.StreamPortalTokens, events.StreamPortalEnded, events.StreamPortalRemoved,
		events.StreamNotifySent)
	if err != nil {
		return err
	}
	fmt.Print(restored(len(m.Files), m.Taken, *dataDir, binDirOfThisCommand()))
	return nil
}

// restored is what a restore says it did, and the commands that follow it.
func restored(files int, taken time.Time, dataDir, binDir string) string {
	// Absolute, so that the commands work wherever they are typed: make run reads
	// DATA_DIR from the repository's root, and runs the stack on .data without it.
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return fmt.Sprintf("restored %d files taken %s into %s; the NATS store is emptied but for the register of erasures, the API token events, the portal's registers of ended sign-ins and removed colleagues and notify's register of what it sent.\n"+
		"Rebuild the projections with the stack stopped (%s rebuild -data %s -bin %s), then start it (make run DATA_DIR=%s): see deploy/README.md.\n"+
		"Everyone erased since %s is erased again from the register of erasures when the signatory service next starts, the rebuild's start included (docs/PRIVACY.md, \"After a restore\").\n",
		files, taken.Format(time.RFC3339), dataDir, filepath.Join(binDir, "tcdev"), dataDir, binDir, dataDir, taken.Format(time.RFC3339))
}

// binDirOfThisCommand is the directory this tcdev runs from when the services' binaries
// are beside it (make build puts them there), else bin, as the rebuild's default.
func binDirOfThisCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "bin"
	}
	if dir := filepath.Dir(exe); fileExists(filepath.Join(dir, "signatory")) {
		return dir
	}
	return "bin"
}
