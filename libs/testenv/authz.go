package testenv

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/itss/techcommit/libs/auth"
)

// Caller is one row of an authorisation matrix: a role (or anonymous, the empty
// role) acting for its own organisation or for another one.
type Caller struct {
	Role auth.Role
	Own  bool
}

func (c Caller) String() string {
	if c.Role == "" {
		return "anonymous"
	}
	if c.Own {
		return string(c.Role) + "/own"
	}
	return string(c.Role) + "/other"
}

// Request is one call the matrix makes.
type Request struct {
	Method, Path string
	Body         []byte
	Caller       Caller
}

// AuthzTarget says how to reach one service for the matrix.
type AuthzTarget struct {
	// Spec is the service's OpenAPI document: every operation in it gets a row per
	// caller, so a new endpoint is covered (and must pass) without anyone adding it.
	Spec []byte
	// PathParams fills a path parameter for a caller acting for its own organisation
	// (own=true) or another; return "" to use a value that names nothing.
	PathParams func(name string, own bool) string
	// Do sends the request (with a token for the caller's role and organisation) and
	// returns the status.
	Do func(Request) int
	// Owned says whether an operation is about one organisation's objects, so that a
	// caller acting for another organisation must be refused (403 or 404). Defaults to
	// "has a path parameter".
	Owned func(op *openapi3.Operation, path string) bool
}

// AuthzMatrix calls every operation of the document as every caller and checks:
// anonymous callers get 401 unless the operation is public; roles outside the
// operation's x-roles get 403; roles inside it are never refused for who they are when
// acting for their own organisation, and are refused (403 or 404) when acting for
// another organisation's objects (ops act for every organisation). Bodies are the
// document's examples, so a row reaches the handler's ownership check.
func AuthzMatrix(t *testing.T, target AuthzTarget) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(target.Spec)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	owned := target.Owned
	if owned == nil {
		owned = func(_ *openapi3.Operation, path string) bool { return strings.Contains(path, "{") }
	}
	callers := []Caller{{Role: ""}}
	for _, r := range auth.Roles {
		callers = append(callers, Caller{Role: r, Own: true}, Caller{Role: r, Own: false})
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	rows := 0
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			roles := auth.OperationRoles(op.Extensions)
			body := exampleBody(op)
			for _, c := range callers {
				rows++
				p := fillPath(path, func(name string) string { return target.PathParams(name, c.Own) })
				status := target.Do(Request{Method: method, Path: p, Body: body, Caller: c})
				name := fmt.Sprintf("%s %s as %s", method, path, c)
				switch {
				case public:
					if status == http.StatusUnauthorized || status == http.StatusForbidden {
						t.Errorf("%s: %d on a public operation", name, status)
					}
				case c.Role == "":
					if status != http.StatusUnauthorized {
						t.Errorf("%s: %d, want 401", name, status)
					}
				case len(roles) > 0 && !slices.Contains(roles, c.Role):
					if status != http.StatusForbidden {
						t.Errorf("%s: %d, want 403 (x-roles %v)", name, status, roles)
					}
				case c.Own || c.Role == auth.RoleOps || !owned(op, path):
					if status == http.StatusUnauthorized || status == http.StatusForbidden || status >= 500 {
						t.Errorf("%s: %d, want the caller let through", name, status)
					}
				default:
					if status != http.StatusForbidden && status != http.StatusNotFound {
						t.Errorf("%s: %d on another organisation's object, want 403 or 404", name, status)
					}
				}
			}
		}
	}
	t.Logf("authorisation matrix: %d rows over %d paths", rows, len(paths))
}

func exampleBody(op *openapi3.Operation) []byte {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	ex := mt.Example
	if ex == nil {
		for _, e := range mt.Examples {
			if e.Value != nil {
				ex = e.Value.Value
				break
			}
		}
	}
	if ex == nil {
		return []byte(`{}`)
	}
	b, _ := json.Marshal(ex)
	return b
}

func fillPath(path string, value func(string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		j := strings.IndexByte(path[i:], '}')
		b.WriteString(path[:i])
		v := value(path[i+1 : i+j])
		if v == "" {
			v = "1"
		}
		b.WriteString(v)
		path = path[i+j+1:]
	}
}
