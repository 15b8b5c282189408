package browsertest

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// The checker's service, which the tests use where it starts, and its command line,
// which they fall back on, report the same errors of the same pages, each named by
// its file, and no warnings.
func TestTheCheckersServiceAndCommandLineAgree(t *testing.T) {
	jar, err := FindVnu()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no HTML checker in CI: %v", err)
		}
		t.Skip("no HTML checker (cd tools && npm ci; apt-get install default-jre-headless)")
	}
	dir := t.TempDir()
	pages := map[string]string{
		"broken.html": `<!doctype html><html lang="en"><title>Broken</title><p>One<div></span><img src="x.png">`,
		// No error, only a note (a trailing slash on a void element).
		"clean.html": `<!doctype html><html lang="en"><title>Clean</title><p>One<br/>`,
	}
	var files []string
	for name, html := range pages {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(html), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	slices.Sort(files)
	url, err := vnuURL(jar)
	if err != nil {
		if runtime.GOOS == "linux" {
			t.Fatalf("the checker service did not start: %v", err)
		}
		t.Skip("no checker service here: ", err)
	}
	fromService, err := checkWithService(url, files)
	if err != nil {
		t.Fatal(err)
	}
	fromCommand, err := checkWithCommand(jar, files)
	if err != nil {
		t.Fatal(err)
	}
	key := func(ms []vnuMessage) []string {
		var out []string
		for _, m := range ms {
			out = append(out, filepath.Base(m.URL)+" "+m.Type+" "+m.Message)
		}
		slices.Sort(out)
		return out
	}
	s, c := key(fromService), key(fromCommand)
	if len(c) < 3 {
		t.Fatalf("the command line found %d errors in broken.html, want a stray end tag, an unclosed element and an img without alt: %q", len(c), c)
	}
	if !slices.Equal(s, c) {
		t.Errorf("the service and the command line disagree:\nservice: %q\ncommand: %q", s, c)
	}
}
