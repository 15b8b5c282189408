package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/embedded"
)

// A restore into the data directory of a stack that runs is refused, naming who has
// it, and changes nothing: it once answered "restored" under a running stack, whose
// next writes went to the files the restore had replaced. Once the stack has stopped,
// the directory is free again (the kernel drops the lock with the process, however it
// ends).
func TestARestoreIsRefusedWhileTheStackRuns(t *testing.T) {
	t.Parallel()
	data, backup := t.TempDir(), t.TempDir()
	marker := filepath.Join(data, "ferretdb", "signatory.sqlite")
	if err := os.MkdirAll(filepath.Dir(marker), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(marker, []byte("the running stack's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(backup, embedded.ManifestName), []byte(`{"files":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}

	unlock, err := lockData(data, "tcdev run")
	if err != nil {
		t.Fatal(err)
	}
	err = runRestore([]string{"-data", data, "-from", backup})
	if err == nil || !strings.Contains(err.Error(), "in use by tcdev run (process") || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("a restore under a running stack: %v, want it refused naming the running stack", err)
	}
	if got, _ := os.ReadFile(marker); string(got) != "the running stack's" {
		t.Errorf("the refused restore changed the data directory: %q", got)
	}
	if _, err := lockData(data, "tcdev rebuild"); err == nil {
		t.Error("a second tcdev took the directory of a running stack")
	}

	unlock()
	again, err := lockData(data, "tcdev restore")
	if err != nil {
		t.Fatalf("the directory of a stopped stack: %v", err)
	}
	again()
}
