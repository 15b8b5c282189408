package httpserver_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// notYetThroughTheSeam lists, relative to the repository root, files still allowed to
// import echo while a change elsewhere is in flight. Each entry must still import it:
// the test fails for an entry that no longer does, so the list only shrinks.
var notYetThroughTheSeam = []string{}

// TestOnlyTheSeamImportsEcho keeps echo behind this package: echo v4's security
// support ends on 2026-12-31, and the move to v5 stays one package and a
// regeneration only while no other code imports echo. It reads every Go file of the
// repository but this package's and the generated servers (*.gen.go), and names
// each one that imports github.com/labstack/echo (any version, any subpackage).
func TestOnlyTheSeamImportsEcho(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("the repository root %s has no go.work: %v", root, err)
	}
	seam := filepath.Join(root, "libs", "httpserver")
	offenders, read := echoImporters(t, root, seam)
	if read < 50 {
		t.Fatalf("read only %d Go files under %s: is it the repository?", read, root)
	}
	for _, rel := range offenders {
		if !slices.Contains(notYetThroughTheSeam, rel) {
			t.Errorf("%s imports echo: use httpserver's Context, HandlerFunc, MiddlewareFunc and Router instead", rel)
		}
	}
	for _, rel := range notYetThroughTheSeam {
		if !slices.Contains(offenders, rel) {
			t.Errorf("%s no longer imports echo: remove it from notYetThroughTheSeam", rel)
		}
	}
}

// The walk must see an import where there is one, or the test above proves nothing.
func TestEchoImportersFindsAnImport(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, src string) {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("services/x/handlers.go", "package x\n\nimport (\n\t\"net/http\"\n\n\tweb \"github.com/labstack/echo/v4\"\n)\n")
	write("services/x/mw_test.go", "package x\n\nimport \"github.com/labstack/echo/v5/middleware\"\n")
	write("services/x/clean.go", "package x\n\nimport \"github.com/itss/techcommit/libs/httpserver\"\n")
	write("services/x/api/api.gen.go", "package api\n\nimport \"github.com/labstack/echo/v4\"\n")
	write("libs/httpserver/server.go", "package httpserver\n\nimport \"github.com/labstack/echo/v4\"\n")
	write(".git/hooks/x.go", "package hooks\n\nimport \"github.com/labstack/echo/v4\"\n")
	write("bin/x.go", "package bin\n\nimport \"github.com/labstack/echo/v4\"\n")
	got, _ := echoImporters(t, root, filepath.Join(root, "libs", "httpserver"))
	want := []string{"services/x/handlers.go", "services/x/mw_test.go"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// echoImporters walks root and returns, slash-separated and relative to root, the Go
// files outside seam and the generated servers that import echo, and how many Go
// files it read.
func echoImporters(tb testing.TB, root, seam string) (offenders []string, read int) {
	tb.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case path == seam, d.Name() == ".git", d.Name() == "bin", d.Name() == "node_modules", d.Name() == ".data":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".gen.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		read++
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if p == "github.com/labstack/echo" || strings.HasPrefix(p, "github.com/labstack/echo/") {
				rel, err := filepath.Rel(root, path)
				if err != nil {
					return err
				}
				offenders = append(offenders, filepath.ToSlash(rel))
				break
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return offenders, read
}
