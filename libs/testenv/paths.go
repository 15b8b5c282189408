package testenv

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

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
