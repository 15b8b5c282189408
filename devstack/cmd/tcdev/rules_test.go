package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRulesNameTestsThatExist keeps docs/RULES.md (and SECURITY.md and PRIVACY.md)
// honest: every test it names as the proof of a rule is a test function somewhere in
// the repository (a wildcard such as TestAutoAssign* must match at least one), so a
// renamed or deleted test cannot leave a rule claiming a proof it no longer has.
func TestRulesNameTestsThatExist(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == ".data" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range funcRE.FindAllStringSubmatch(string(src), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The threat table of the security guide and the privacy guide's register name
	// their proofs as the rules do, and are held to them alike.
	for _, doc := range []string{"RULES.md", "SECURITY.md", "PRIVACY.md"} {
		text, err := os.ReadFile(filepath.Join(root, "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		named := regexp.MustCompile(`\bTest[A-Za-z0-9_]+\*?`).FindAllString(string(text), -1)
		if len(named) < 20 {
			t.Fatalf("docs/%s names only %d tests", doc, len(named))
		}
		for _, name := range named {
			if prefix, wild := strings.CutSuffix(name, "*"); wild {
				found := false
				for d := range defined {
					found = found || strings.HasPrefix(d, prefix)
				}
				if !found {
					t.Errorf("docs/%s names %s, which matches no test", doc, name)
				}
				continue
			}
			if !defined[name] {
				t.Errorf("docs/%s names %s, which is no test function in the repository", doc, name)
			}
		}
	}
}
