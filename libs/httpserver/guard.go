package httpserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/ratelimit"
)

// The routes the platform serves itself, outside the service's OpenAPI document:
// every other path the document does not describe is 404 before anything else, so
// that no handler ever sees a path its router cannot match (an empty id, an encoded
// slash) and answers it with a binding error that tells a stranger the route exists.
var (
	// publicRoutes need no token and are limited per client address.
	publicRoutes = map[string]bool{"/openapi.yaml": true}
	// probeRoutes are for the orchestrator and Prometheus, which must never be
	// refused for asking too often.
	probeRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}
)

// limits are the per-caller token buckets of the platform (see config.Edge).
type limits struct {
	write, read, public *ratelimit.Limiter
	proxies             []netip.Prefix
}

func newLimits(e config.Edge) (*limits, error) {
	proxies, err := e.Proxies()
	if err != nil {
		return nil, err
	}
	l := &limits{proxies: proxies}
	// A zero rate is left unlimited: the services' configuration refuses to start
	// with one, so only a program that builds a Server by hand (a test) gets it.
	if e.WritePerSecond > 0 {
		l.write = ratelimit.New(e.WritePerSecond, max(e.WriteBurst, 1))
	}
	if e.ReadPerSecond > 0 {
		l.read = ratelimit.New(e.ReadPerSecond, max(e.ReadBurst, 1))
	}
	if e.PublicPerSecond > 0 {
		l.public = ratelimit.New(e.PublicPerSecond, max(e.PublicBurst, 1))
	}
	return l, nil
}

// publicRequest counts a request to an endpoint that needs no token against its
// client address, or, when it carries a valid token anyway (the portal acting for a
// signed-in person), against that caller as any other request of theirs is: so
// that everyone the portal serves does not share the portal's address.
func (l *limits) publicRequest(r *http.Request) error {
	if _, ok := ratelimit.Caller(r); ok {
		return l.callerRequest(r)
	}
	if l.public == nil {
		return nil
	}
	if ok, d := l.public.Allow(ratelimit.ClientAddr(r, l.proxies)); !ok {
		return ratelimit.Refusal("requests from this address", d)
	}
	return nil
}

// callerRequest counts an authenticated request against its caller, reads and
// writes apart: a tool polling its list must not use up its writes.
func (l *limits) callerRequest(r *http.Request) error {
	lim, what := l.write, "writes"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		lim, what = l.read, "reads"
	}
	if lim == nil {
		return nil
	}
	key, ok := ratelimit.Caller(r)
	if !ok {
		key = "addr|" + ratelimit.ClientAddr(r, l.proxies)
	}
	if ok, d := lim.Allow(key); !ok {
		return ratelimit.Refusal(what, d)
	}
	return nil
}

// unknownQuery refuses query parameters the operation does not declare: ignored,
// "status[$ne]=x" would return the unfiltered list its sender hoped for, and a
// misspelt filter would silently return everything.
func unknownQuery(route *routers.Route, r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return apperr.Field("query", "the query string is not well formed")
	}
	var problems []apperr.FieldProblem
	for _, name := range query {
		if name == "" {
			name = "query"
		}
		if !declared[name] {
			problems = append(problems, apperr.FieldProblem{Field: name, Message: "is not a query parameter of this operation"})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Field < problems[j].Field })
	names := make([]string, len(problems))
	for i, p := range problems {
		names[i] = strconv.Quote(p.Field)
	}
	return &apperr.Error{Code: apperr.Invalid, Field: problems[0].Field, Fields: problems,
		Message: "unknown query parameters " + strings.Join(names, ", ") + "; this operation takes only those its document declares"}
}

// parseQuery lists the distinct parameter names of a raw query, decoded.
func parseQuery(raw string) ([]string, error) {
	seen := map[string]bool{}
	var names []string
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		decoded, err := url.QueryUnescape(name)
		if err != nil {
			return nil, err
		}
		if !seen[decoded] {
			seen[decoded] = true
			names = append(names, decoded)
		}
	}
	return names, nil
}

// mediaType refuses with 415 a body sent as something the operation does not take
// (JSON sent as text/plain, a form), so that no parser meant for another type ever
// reads it.
func mediaType(op *openapi3.Operation, r *http.Request) error {
	if op.RequestBody == nil || op.RequestBody.Value == nil || !hasBody(r) {
		return nil
	}
	content := op.RequestBody.Value.Content
	ct := r.Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && content.Get(mt) != nil {
		return nil
	}
	var takes []string
	for t := range content {
		takes = append(takes, t)
	}
	sort.Strings(takes)
	e := apperr.New(apperr.Unsupported, "the body must be sent as %s", strings.Join(takes, " or "))
	e.Field = "Content-Type"
	return e
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// duplicateKeys refuses a JSON body in which an object names a key twice, at any
// depth. Go and the validator keep the last value and other parsers the first, so
// {"role":"lead","role":"ops"} could pass a check on one value and act on the other.
func duplicateKeys(r *http.Request) error {
	if !hasBody(r) {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	var problems []apperr.FieldProblem
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// A malformed body, or one nested past maxScanDepth, is the validator's to
	// describe; here it only ends the scan.
	_ = scanValue(dec, nil, &problems)
	if len(problems) == 0 {
		return nil
	}
	e := apperr.Field(problems[0].Field, "%s", problems[0].Message)
	e.Fields = problems
	return e
}

// maxScanDepth bounds the recursion of the duplicate-key scan. No document nests
// objects this deep; the schema validation refuses a body that does.
const maxScanDepth = 64

var errTooDeep = errors.New("nested too deep")

func scanValue(dec *json.Decoder, path []string, out *[]apperr.FieldProblem) error {
	if len(path) > maxScanDepth {
		return errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			field := append(path[:len(path):len(path)], key)
			if seen[key] {
				*out = append(*out, apperr.FieldProblem{Field: fieldName(field), Message: "appears more than once in its object; give each field once"})
			}
			seen[key] = true
			if err := scanValue(dec, field, out); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := scanValue(dec, append(path[:len(path):len(path)], strconv.Itoa(i)), out); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

func fieldName(path []string) string {
	if len(path) == 0 || (len(path) == 1 && path[0] == "") {
		return "body"
	}
	return strings.Join(path, ".")
}

// canonical reports whether a request's path is written the one way a route is:
// no empty, "." or ".." segment, no trailing slash, no encoded slash, no control
// character. Any other spelling names no route (404), even where a lenient router
// would find one: an identifier never holds these, and a path that is read one way
// by a proxy and another by the service is how access rules get walked around.
func canonical(u *url.URL) bool {
	p := u.Path
	if p == "" || (p != "/" && path.Clean(p) != p) {
		return false
	}
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	return true
}
