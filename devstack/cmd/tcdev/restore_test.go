package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestARestoreSaysTheCommandsThatFollowItForItsDataDirectory: the commands a restore
// says to run next rebuild and start the stack on the directory it restored, from
// wherever they are typed, with the binaries beside this tcdev. Before, it said `make
// run`, which starts the stack on .data whatever was restored (a restore of another
// directory was left unstarted, and .data's stack started in its place), and `-bin
// bin`, which names the binaries only from the repository's root.
func TestARestoreSaysTheCommandsThatFollowItForItsDataDirectory(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "other")
	bin := filepath.Join(t.TempDir(), "bin")
	got := restored(8, time.Date(2026, 12, 3, 8, 13, 10, 0, time.UTC), data, bin)
	for _, want := range []string{
		filepath.Join(bin, "tcdev") + " rebuild -data " + data + " -bin " + bin,
		"make run DATA_DIR=" + data,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("a restore of %s says:\n%s\nwant it to say %q", data, got, want)
		}
	}
}
