package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakeBuildWritesToBINAsTyped: `make build BIN=<dir>` (the README's way to build
// another commit beside this one) puts every binary in <dir> read from the
// repository's root, whichever module's directory the recipe builds it from. Before, a
// relative <dir> was read from each module's directory: the services' binaries went
// to services/<name>/<dir>, tcdev's to devstack/<dir>, and <dir> itself stayed empty.
func TestMakeBuildWritesToBINAsTyped(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-n", "build", "BIN=other-bin")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	want := filepath.Join(root, "other-bin")
	outputs := regexp.MustCompile(`-o (\S+)`).FindAllStringSubmatch(string(out), -1)
	if len(outputs) < 3 {
		t.Fatalf("make -n build BIN=other-bin names %d outputs, want every binary's:\n%s", len(outputs), out)
	}
	for _, o := range outputs {
		if !strings.HasPrefix(o[1], want+"/") {
			t.Errorf("make build BIN=other-bin writes %s, want it under %s", o[1], want)
		}
	}
}
