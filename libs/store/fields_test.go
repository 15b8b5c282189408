package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestTheEncoderKeepsAnEmbeddedStructOnlyOfAnExportedType pins down what the lint
// below rests on: the BSON encoder leaves out an embedded struct of an unexported
// type, inline or not, and keeps one of an exported type.
func TestTheEncoderKeepsAnEmbeddedStructOnlyOfAnExportedType(t *testing.T) {
	type hidden struct {
		Name string `bson:"name"`
	}
	type Shown struct {
		Name string `bson:"name"`
	}
	type lost struct {
		hidden `bson:",inline"`
	}
	type kept struct {
		Shown `bson:",inline"`
	}
	for _, c := range []struct {
		doc  any
		want bool
	}{{lost{hidden{"a"}}, false}, {kept{Shown{"a"}}, true}} {
		raw, err := bson.Marshal(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bson.Raw(raw).LookupErr("name"); (err == nil) != c.want {
			t.Errorf("%T encodes as %s: name kept %v, want %v", c.doc, bson.Raw(raw), err == nil, c.want)
		}
	}
}

// TestNoStoredDocumentLosesAFieldToTheEncoder reads every Go file of the suite (tests
// aside) and fails on a struct with BSON tags that embeds a struct of an unexported
// type, or tags an unexported field for BSON: the encoder writes neither, silently.
// The review's submission list documents held their _id alone for three days so.
func TestNoStoredDocumentLosesAFieldToTheEncoder(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(src), `bson:"`) {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok || !tagsBSON(st) {
				return true
			}
			for _, field := range st.Fields.List {
				tag := ""
				if field.Tag != nil {
					tag = reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("bson")
				}
				if tag == "-" {
					continue
				}
				where := fset.Position(field.Pos())
				rel, _ := filepath.Rel(root, where.Filename)
				switch {
				case len(field.Names) == 0 && !token.IsExported(embeddedName(field.Type)):
					found = append(found, rel+":"+strconv.Itoa(where.Line)+": embeds "+embeddedName(field.Type)+", an unexported type")
				case len(field.Names) > 0 && tag != "" && !field.Names[0].IsExported():
					found = append(found, rel+":"+strconv.Itoa(where.Line)+": tags the unexported field "+field.Names[0].Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s: the BSON encoder leaves it out of every stored document", f)
	}
}

// tagsBSON says whether any field of st has a bson tag.
func tagsBSON(st *ast.StructType) bool {
	for _, f := range st.Fields.List {
		if f.Tag != nil && strings.Contains(f.Tag.Value, `bson:"`) {
			return true
		}
	}
	return false
}

// embeddedName is the name of an embedded field's type (without package or pointer).
func embeddedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return embeddedName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		return embeddedName(x.X)
	}
	return "?"
}
