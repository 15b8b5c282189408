package service

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README and docs/ show pictures of the portal that `go test -run Journey
// ./internal/service -screenshots=$PWD/../../docs` (the README's command) writes:
// each picture they show is one a journey takes and the command writes, and is in
// docs/; the command writes nothing they do not show. The pictures had gone stale
// (the submission page's words about saving had changed since), and the command
// left thirty-six pictures in docs/ that nothing showed.
func TestTheDocsShowThePicturesTheJourneysTake(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	ref := regexp.MustCompile(`portal-([a-z-]+)\.png`)
	for _, f := range append(docs, filepath.Join(root, "README.md"), filepath.Join(root, "deploy", "README.md")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			shown[m[1]] = true
		}
	}
	var taken strings.Builder
	tests, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		taken.Write(b)
	}
	for name := range shown {
		if !slices.Contains(docsPictures, name) {
			t.Errorf("the docs show portal-%s.png, which -screenshots does not write (docsPictures)", name)
		}
		if _, err := os.Stat(filepath.Join(root, "docs", "portal-"+name+".png")); err != nil {
			t.Errorf("the docs show portal-%s.png, which docs/ does not hold: %v", name, err)
		}
	}
	for _, name := range docsPictures {
		if !shown[name] {
			t.Errorf("-screenshots writes portal-%s.png, which no document shows", name)
		}
		if !strings.Contains(taken.String(), `screenshot(b, "`+name+`")`) {
			t.Errorf("no journey takes the picture portal-%s.png", name)
		}
	}
	pngs, err := filepath.Glob(filepath.Join(root, "docs", "portal-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pngs {
		if name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "portal-"), ".png"); !shown[name] {
			t.Errorf("docs/ holds %s, which no document shows", filepath.Base(p))
		}
	}
}
