package testenv

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/httpserver"
)

// MalformedPaths sends, without a token, every operation of the OpenAPI document
// spec on malformed variants of its path: a parameter left empty, an encoded slash
// inside a parameter or between segments, a doubled slash, a trailing slash, a
// literal segment in capitals, dot segments. No variant names a route, so each must
// be refused as a path the service does not have (404), or else as needing a token
// (401) or not taking the method (405); never reach a parameter binder (400), a
// handler (200) or a crash (5xx), which would tell a stranger that the route exists
// and how it is checked. It returns how many requests it sent.
func MalformedPaths(tb testing.TB, c *Client, spec []byte) int {
	tb.Helper()
	doc, err := httpserver.LoadSpec(spec)
	if err != nil {
		tb.Fatal(err)
	}
	sent := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		methods := make([]string, 0, len(item.Operations()))
		for m := range item.Operations() {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			for _, variant := range malformedVariants(path) {
				r := c.Do(method, variant, "", nil)
				sent++
				switch r.Status {
				case http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed:
				default:
					tb.Errorf("anonymous %s %s (a malformed %s): status %d, want 401, 404 or 405: %s", method, variant, path, r.Status, r.Body)
				}
			}
		}
	}
	return sent
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// malformedVariants lists the malformed variants of a path template, its
// parameters filled with a plausible value where they are not the malformed part.
func malformedVariants(template string) []string {
	const value = "x1"
	segs := strings.Split(strings.TrimPrefix(template, "/"), "/")
	join := func(s []string) string { return "/" + strings.Join(s, "/") }
	filled := make([]string, len(segs))
	for i, s := range segs {
		filled[i] = pathParam.ReplaceAllString(s, value)
	}
	with := func(i int, v string) string {
		s := append([]string(nil), filled...)
		s[i] = v
		return join(s)
	}
	insert := func(i int, v string) string {
		s := append(append(append([]string(nil), filled[:i]...), v), filled[i:]...)
		return join(s)
	}
	base := join(filled)
	var out []string
	for i, s := range segs {
		if pathParam.MatchString(s) {
			out = append(out,
				with(i, ""),          // GET /v1/organisations//history
				with(i, "a%2Fb"),     // an encoded slash inside the value
				with(i, "%2F"+value), // a value that starts with one
				with(i, value+"%2F"), // or ends with one
				with(i, "%2E%2E"),    // an encoded dot segment
				with(i, value+"%00"), // a NUL byte
			)
		} else if up := strings.ToUpper(s); up != s {
			out = append(out, with(i, up))
		}
		if i > 0 {
			out = append(out, insert(i, ""), insert(i, "."), insert(i, ".."), insert(i, "%2E"))
		}
	}
	out = append(out,
		base+"/",  // trailing slash
		"/"+base,  // leading double slash
		base+"/.", // trailing dot segment
		"/"+strings.Replace(base[1:], "/", "%2F", 1), // an encoded slash between segments
		base+"/"+value, // one segment too many
	)
	return out
}

// BodiesWhereNoneIsTaken sends every operation of the OpenAPI document spec that
// takes no body (a read, a step such as a submission) a small body and one of 4 MiB
// (over the default HTTP_BODY_LIMIT), as a caller its roles let through (a new
// subject each time, so that no rate limit is met). Each must be refused with 400
// naming body (docs/API.md, "Input"): the operation declares no 413, and what the
// caller is to do is send no body, not a smaller one. The contract check holds each
// answer to the document.
func BodiesWhereNoneIsTaken(tb testing.TB, c *Client, spec []byte) {
	tb.Helper()
	doc, err := httpserver.LoadSpec(spec)
	if err != nil {
		tb.Fatal(err)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	sent := 0
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				continue
			}
			url := pathParam.ReplaceAllString(path, "x1")
			for _, body := range []string{`{"note":"x"}`, `{"note":"` + strings.Repeat("x", 4<<20) + `"}`} {
				token := ""
				if roles := auth.OperationRoles(op.Extensions); len(roles) > 0 {
					sent++
					token = c.TokenFor(auth.Principal{Subject: fmt.Sprintf("body-%d", sent), Role: roles[0], Org: "org-body", Name: "Test", Email: "test@example.ac.uk"})
				}
				r := c.Do(method, url, token, body)
				if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"body"`) {
					tb.Errorf("%s %s with a body of %d bytes: status %d, want 400 naming body: %.300s", method, url, len(body), r.Status, r.Body)
				}
			}
		}
	}
}
