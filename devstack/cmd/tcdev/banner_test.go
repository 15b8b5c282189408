package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTheBannerNamesTheDataDirectoryMakeTokenMustRead: a stack started on another data
// directory than the default (make run DATA_DIR=other, on the usual ports) signs its
// tokens with that directory's key, so the banner's advice to mint more with make
// token, and the README's walkthrough that does so, must be pointed at it. Before, the
// banner said so only for a stack on another port offset: on the usual ports it
// offered `make token` alone, which read .data's key (a token every service refused,
// 401) or none.
func TestTheBannerNamesTheDataDirectoryMakeTokenMustRead(t *testing.T) {
	// Not parallel: it changes into a directory of its own, which the default is read
	// from (make run runs tcdev from the repository's root).
	root := t.TempDir()
	t.Chdir(root)
	say := func(dataDir string, offset int) string {
		return banner([]service{{name: "signatory", port: portOf("signatory")}}, offset, dataDir, "127.0.0.1:4222", "127.0.0.1:27017", "http://127.0.0.1:8025", localOIDC{}, "tok", time.Second)
	}

	other := filepath.Join(root, "other")
	if got := say("other", 0); !strings.Contains(got, "export DATA_DIR="+other+"\n") {
		t.Errorf("a stack on the usual ports with its data in other: the banner does not say to export DATA_DIR=%s:\n%s", other, got)
	}
	if got := say(filepath.Join(root, ".data"), 0); strings.Contains(got, "DATA_DIR=") {
		t.Errorf("a stack on the default data directory: the banner asks for DATA_DIR, which make token already reads:\n%s", got)
	}
	if got := say("other", 10000); !strings.Contains(got, " DATA_DIR="+other+"\n") {
		t.Errorf("a stack on another port offset: the banner's exports miss DATA_DIR=%s:\n%s", other, got)
	}
}
