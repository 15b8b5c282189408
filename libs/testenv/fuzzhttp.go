package testenv

import (
	"slices"
	"sort"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
)

// hostileBodies are request bodies worth starting every operation's fuzzing from:
// the shapes that break decoders (wrong kinds, nulls, operator injection, mass
// assignment, overflow, impossible dates, deep nesting, CR/LF in a header-bound value,
// made-up property names the answer must name within its own rules).
var hostileBodies = []string{
	``, `null`, `[]`, `{`, `{}{}`, `{"$where":"1"}`, `{"name":{"$ne":null}}`, `{"a.b":1}`,
	`{"id":"x","status":"awarded","organisation_id":"other","version":9}`,
	`{"amount_pence":9223372036854775807}`, `{"announced_on":"2026-02-30"}`,
	`{"email":"a@b.co\r\nBcc: x@y.z"}`, `{"feedback ":"x"," made\u202eup\r\n":1,"\"":2}`, `{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

// FuzzRequests sends arbitrary bodies to every operation of the service's OpenAPI
// document that takes one, through the whole pipeline a caller meets (body limit,
// validation against the document, the handler's decoder, the domain's rules), as a
// caller of a role the operation admits. Each operation starts from its document
// example and the hostile shapes above. Whatever the body, the answer is never a 5xx,
// and a refusal is problem+json. pathParam fills path parameters ("" for a value that
// names nothing).
func FuzzRequests(f *testing.F, c *Client, spec []byte, pathParam func(name string) string) {
	f.Helper()
	doc, err := httpserver.LoadSpec(spec)
	if err != nil {
		f.Fatal(err)
	}
	type operation struct {
		method, path string
		token        string
	}
	var ops []operation
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	tokens := map[auth.Role]string{}
	for _, path := range paths {
		item := doc.Paths.Value(path)
		methods := make([]string, 0, 4)
		for method := range item.Operations() {
			methods = append(methods, method)
		}
		slices.Sort(methods)
		for _, method := range methods {
			op := item.GetOperation(method)
			if op.RequestBody == nil {
				continue
			}
			role := auth.RoleOps
			if roles := auth.OperationRoles(op.Extensions); len(roles) > 0 && !slices.Contains(roles, auth.RoleOps) {
				role = roles[0]
			}
			if tokens[role] == "" {
				tokens[role] = c.Token(role, "org1")
			}
			f.Add(uint(len(ops)), string(exampleBody(op)))
			ops = append(ops, operation{method: method, path: fillPath(path, pathParam), token: tokens[role]})
		}
	}
	if len(ops) == 0 {
		f.Fatal("the document has no operation that takes a body")
	}
	for i, body := range hostileBodies {
		f.Add(uint(i), body)
	}
	f.Fuzz(func(t *testing.T, which uint, body string) {
		op := ops[which%uint(len(ops))]
		cl := *c
		cl.TB = t
		r := cl.Do(op.method, op.path, op.token, body)
		if r.Status >= 500 {
			t.Fatalf("%s %s with %q: %d: %s", op.method, op.path, body, r.Status, r.Body)
		}
		if r.Status >= 400 && r.Header.Get("Content-Type") != httpserver.ProblemContentType {
			t.Fatalf("%s %s with %q: %d as %q, want problem+json: %s", op.method, op.path, body, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
}
