package httpserver

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// The extensions a deprecated operation carries in its OpenAPI document, beside
// `deprecated: true` (docs/API.md, "Versioning and deprecation"). x-sunset is also
// what oasdiff reads to hold the sunset date to its minimum notice.
const (
	ExtDeprecatedOn = "x-deprecated-on" // the day it was deprecated, YYYY-MM-DD
	ExtSunset       = "x-sunset"        // the day it goes, YYYY-MM-DD
	ExtSuccessor    = "x-successor"     // the path of the operation that replaces it
)

// The headers every answer of a deprecated operation carries.
const (
	HeaderDeprecation = "Deprecation"
	HeaderSunset      = "Sunset"
	HeaderLink        = "Link"
)

// deprecation is what the answers of one deprecated operation carry: RFC 9745's
// Deprecation (`@` and Unix seconds), RFC 8594's Sunset (an HTTP date) and a Link to
// the operation replacing it, whose path parameters are the request's own.
type deprecation struct {
	since, sunset string
	successor     string
}

// set adds the headers to h for a request to the deprecated operation at path (as
// sent, escaped) with params. The Link is a reference relative to the request's own
// path, which a client resolves against the URL it called (RFC 8288, RFC 3986 5.2):
// so it leads to the successor wherever the service is served, under the production
// Ingress's /<service> prefix too, which rewrites a Location but not a Link.
func (d deprecation) set(h http.Header, path string, params map[string]string) {
	h.Set(HeaderDeprecation, d.since)
	h.Set(HeaderSunset, d.sunset)
	link := pathParam.ReplaceAllStringFunc(d.successor, func(p string) string {
		// The router gives the values as they were sent, escaped; they are written
		// back in their one escaped form, which cannot break out of the header.
		v := params[strings.Trim(p, "{}")]
		if raw, err := url.PathUnescape(v); err == nil {
			v = raw
		}
		return url.PathEscape(v)
	})
	h.Set(HeaderLink, "<"+RelativeRef(path, link)+`>; rel="successor-version"`)
}

// RelativeRef is the relative reference that, resolved against a request to the
// path from, gives the path to (both host-relative, escaped): the segments after
// their common directories, climbing with ../ out of those of from that to does not
// share. A first segment with a colon, which would read as a scheme, is written ./
// first.
func RelativeRef(from, to string) string {
	dirs := strings.Split(strings.TrimPrefix(from, "/"), "/")
	dirs = dirs[:len(dirs)-1] // the last segment is not a directory
	segs := strings.Split(strings.TrimPrefix(to, "/"), "/")
	common := 0
	for common < len(dirs) && common < len(segs)-1 && dirs[common] == segs[common] {
		common++
	}
	rest := strings.Join(segs[common:], "/")
	ups := len(dirs) - common
	if ups == 0 && (rest == "" || strings.Contains(strings.SplitN(rest, "/", 2)[0], ":")) {
		return "./" + rest
	}
	return strings.Repeat("../", ups) + rest
}

var pathParam = regexp.MustCompile(`\{[^{}/]+\}`)

// deprecations reads every deprecated operation of doc. A deprecated operation must
// say when it was deprecated, when it goes and what replaces it (an operation of the
// same method whose path has the same parameters), and every success answer it gives
// must declare the headers that say so, or the service does not start: the document is
// what callers and generated clients read, and it must not promise less than the
// answers carry, or more.
func deprecations(doc *openapi3.T) (map[*openapi3.Operation]deprecation, error) {
	out := map[*openapi3.Operation]deprecation{}
	var errs []error
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			where := method + " " + path
			on, sunset, successor := op.Extensions[ExtDeprecatedOn], op.Extensions[ExtSunset], op.Extensions[ExtSuccessor]
			if !op.Deprecated {
				if on != nil || sunset != nil || successor != nil {
					errs = append(errs, fmt.Errorf("%s: %s, %s and %s belong to a deprecated operation only", where, ExtDeprecatedOn, ExtSunset, ExtSuccessor))
				}
				continue
			}
			d, err := readDeprecation(doc, method, path, on, sunset, successor)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			for code, ref := range op.Responses.Map() {
				if !strings.HasPrefix(code, "2") || ref.Value == nil {
					continue
				}
				for _, h := range []string{HeaderDeprecation, HeaderSunset, HeaderLink} {
					if hr := ref.Value.Headers[h]; hr == nil || hr.Value == nil || !hr.Value.Required {
						errs = append(errs, fmt.Errorf("%s: its %s answer does not declare the %s header it carries", where, code, h))
					}
				}
			}
			out[op] = d
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("deprecated operations: %w", errors.Join(errs...))
	}
	return out, nil
}

func readDeprecation(doc *openapi3.T, method, path string, on, sunset, successor any) (deprecation, error) {
	day := func(name string, v any) (time.Time, error) {
		s, _ := v.(string)
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s must be a date as YYYY-MM-DD, not %v", name, v)
		}
		return t, nil
	}
	since, err := day(ExtDeprecatedOn, on)
	if err != nil {
		return deprecation{}, err
	}
	goes, err := day(ExtSunset, sunset)
	if err != nil {
		return deprecation{}, err
	}
	if !goes.After(since) {
		return deprecation{}, fmt.Errorf("%s %s must come after %s %s", ExtSunset, sunset, ExtDeprecatedOn, on)
	}
	next, _ := successor.(string)
	item := doc.Paths.Value(next)
	if next == path || item == nil || item.GetOperation(method) == nil || item.GetOperation(method).Deprecated {
		return deprecation{}, fmt.Errorf("%s %v must be the path of the %s operation that replaces it", ExtSuccessor, successor, method)
	}
	if a, b := pathParam.FindAllString(path, -1), pathParam.FindAllString(next, -1); !sameSet(a, b) {
		return deprecation{}, fmt.Errorf("%s %s must have the path parameters %v, to be linked to with the request's own", ExtSuccessor, next, a)
	}
	// The old path does the same as the new: it takes the headers the new takes
	// (an Idempotency-Key, an If-Match), or a client generated from the document
	// for the old operation could not send them.
	old := headerParams(doc.Paths.Value(path), doc.Paths.Value(path).GetOperation(method))
	for _, h := range headerParams(item, item.GetOperation(method)) {
		if !slices.Contains(old, h) {
			return deprecation{}, fmt.Errorf("it must declare the %s header its successor %s takes", h, next)
		}
	}
	return deprecation{
		since:     "@" + strconv.FormatInt(since.Unix(), 10),
		sunset:    goes.UTC().Format(http.TimeFormat),
		successor: next,
	}, nil
}

// headerParams are the names of the request headers an operation declares.
func headerParams(item *openapi3.PathItem, op *openapi3.Operation) []string {
	var out []string
	for _, ps := range append(item.Parameters, op.Parameters...) {
		if p := ps.Value; p != nil && p.In == openapi3.ParameterInHeader {
			out = append(out, http.CanonicalHeaderKey(p.Name))
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
