package events_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// TestContractsListEveryPayloadType keeps events.Contracts complete: every type of
// the package with an EventType method is in it.
func TestContractsListEveryPayloadType(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "EventType" && fn.Recv != nil {
				if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok {
					declared = append(declared, id.Name)
				}
			}
		}
	}
	var listed []string
	for _, c := range events.Contracts() {
		p, err := c.Decode(events.Envelope{Type: c.Type, Data: []byte(`{}`)})
		if err != nil {
			t.Fatalf("%s does not decode {}: %v", c.Type, err)
		}
		listed = append(listed, reflect.TypeOf(p).Name())
	}
	sort.Strings(declared)
	sort.Strings(listed)
	if diff := cmp.Diff(declared, listed); diff != "" {
		t.Errorf("events.Contracts() does not list every payload type (-declared +listed):\n%s", diff)
	}
}

// FuzzDecode feeds arbitrary payloads, under every event type, to the decoders every
// consumer runs: each either refuses the payload or returns a value that encodes
// and decodes back to itself, decoders of other types refuse it, and nothing panics.
func FuzzDecode(f *testing.F) {
	contracts := events.Contracts()
	for _, c := range contracts {
		f.Add(c.Type, testenv.EventExample(f, c))
		f.Add(c.Type, []byte(`{}`))
	}
	for _, seed := range []string{`null`, `[]`, `{"opens":"yesterday"}`, `{"project_start":"2026-02-30"}`, `{"due":17}`, `{"themes":{"$ne":null}}`} {
		f.Add(events.RoundOpenedV1{}.EventType(), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		e := events.Envelope{ID: "e1", Type: typ, Data: data}
		for _, c := range contracts {
			p, err := c.Decode(e)
			if c.Type != typ {
				if err == nil {
					t.Fatalf("the %s decoder accepted an event of type %q", c.Type, typ)
				}
				continue
			}
			if err != nil {
				continue
			}
			again, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("%s decoded %q to %#v, which does not encode: %v", typ, data, p, err)
			}
			p2, err := c.Decode(events.Envelope{ID: "e2", Type: typ, Data: again})
			if err != nil {
				t.Fatalf("%s decoded %q, but not its own encoding %s: %v", typ, data, again, err)
			}
			if third, _ := json.Marshal(p2); !bytes.Equal(again, third) {
				t.Fatalf("%s does not survive encoding: %s became %s", typ, again, third)
			}
		}
		if _, err := events.DecodeAny(e); err == nil && !known(contracts, typ) {
			t.Fatalf("DecodeAny accepted the unknown type %q", typ)
		}
	})
}

func known(contracts []events.Contract, typ string) bool {
	for _, c := range contracts {
		if c.Type == typ {
			return true
		}
	}
	return false
}
