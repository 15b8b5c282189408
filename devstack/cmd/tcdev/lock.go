package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockName is the file in a data directory that a tcdev using it holds locked: a
// stack that runs (tcdev run), or a rebuild or a restore. Two at once on one data
// directory would corrupt it: a restore under a running stack answered "restored",
// and what the stack wrote next went to files the restore had replaced, leaving the
// NATS store broken.
const lockName = "tcdev.lock"

// lockData takes the data directory for this process alone, or says who has it. The
// lock is the kernel's (flock): it goes with the process however that ends, kill -9
// included, so no stale lock is ever left to clear by hand. what says what this
// process does with the directory, for the message another one gives.
func lockData(dataDir, what string) (unlock func(), err error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // #nosec G304 -- in the data directory the operator named
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dataDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		held, _ := io.ReadAll(f) // who holds it wrote their name in it
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(held))
			if who == "" {
				who = "another tcdev"
			}
			return nil, fmt.Errorf("%s is in use by %s: stop it first (Ctrl-C in its terminal)", dataDir, who)
		}
		return nil, fmt.Errorf("lock %s: %w", dataDir, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(what+" (process "+strconv.Itoa(os.Getpid())+")\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
