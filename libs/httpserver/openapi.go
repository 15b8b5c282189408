package httpserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
)

var formatsOnce sync.Once

// LoadSpec parses and validates an OpenAPI 3 document.
func LoadSpec(spec []byte) (*openapi3.T, error) {
	formatsOnce.Do(defineFormats)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate OpenAPI document: %w", err)
	}
	return doc, nil
}

// served holds the documents servers were built on, one per document, parsed once:
// a process running several servers of one API (the tests start one or more for
// nearly every test) parsed and validated the same YAML for each, about a tenth of a
// second of processor time each. The document is only read once loaded, by every
// request of every server on it, as by every request of one.
var served sync.Map // [sha256.Size]byte -> *openapi3.T

// servedSpec is spec loaded for serving: matched on path alone, whatever host the
// service is reached under (no servers), and shared with every server on the same
// document.
func servedSpec(spec []byte) (*openapi3.T, error) {
	sum := sha256.Sum256(spec)
	if doc, ok := served.Load(sum); ok {
		return doc.(*openapi3.T), nil
	}
	doc, err := LoadSpec(spec)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	kept, _ := served.LoadOrStore(sum, doc)
	return kept.(*openapi3.T), nil
}

// validator checks each request against the service's OpenAPI document: first that
// the document describes its path (404 otherwise, whatever echo's router would make
// of it; only the platform's own routes pass), then its security requirements (so
// that a caller without a token learns that before anything else), the caller's rate
// limit, the body's media type (415), the query's parameter names, duplicate keys in
// the body, and then parameters and body against their schemas.
func validator(doc *openapi3.T, authenticate openapi3filter.AuthenticationFunc, lim *limits) (echo.MiddlewareFunc, error) {
	// doc has no servers (servedSpec): routes match on path alone.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build OpenAPI router: %w", err)
	}
	if authenticate == nil {
		authenticate = func(context.Context, *openapi3filter.AuthenticationInput) error {
			return apperr.New(apperr.Unauthenticated, "authentication is not configured")
		}
	}
	deprecated, err := deprecations(doc)
	if err != nil {
		return nil, err
	}
	// The options are only read, so every request shares them.
	secOptions := &openapi3filter.Options{AuthenticationFunc: authenticate}
	reqOptions := &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	// ValidateRequest checks security requirements as well, reading the whole body
	// to do it; by then they have been decided, so it is given each operation
	// without them and checks the parameters and body alone.
	unsecured := map[*openapi3.Operation]*openapi3.Operation{}
	headers := map[*openapi3.Operation]declaredHeaders{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			bare := *op
			bare.Security = &openapi3.SecurityRequirements{}
			unsecured[op] = &bare
			headers[op] = declaredHeaders{}
			for _, ps := range append(item.Parameters, op.Parameters...) {
				if p := ps.Value; p != nil && p.In == openapi3.ParameterInHeader {
					headers[op][http.CanonicalHeaderKey(p.Name)] = true
				}
			}
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !canonical(req.URL) {
				return apperr.New(apperr.NotFound, "no such path")
			}
			route, pathParams, err := router.FindRoute(req)
			if err != nil {
				if errors.Is(err, routers.ErrMethodNotAllowed) {
					return methodNotAllowed(router, c)
				}
				if req.URL.RawPath == "" && probeRoutes[req.URL.Path] {
					return next(c)
				}
				if req.URL.RawPath == "" && publicRoutes[req.URL.Path] {
					if err := lim.publicRequest(req); err != nil {
						return err
					}
					return next(c)
				}
				return apperr.New(apperr.NotFound, "no such path")
			}
			// Every answer of a deprecated operation says so, refusals too: a
			// caller meets the notice whatever it sent.
			if d, ok := deprecated[route.Operation]; ok {
				d.set(c.Response().Header(), req.URL.EscapedPath(), pathParams)
			}
			ctx := req.Context()
			security := route.Operation.Security
			if security == nil {
				security = &route.Spec.Security
			}
			if isPublic(*security) {
				if err := lim.publicRequest(req); err != nil {
					return err
				}
			} else {
				secInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: secOptions}
				if err := openapi3filter.ValidateSecurityRequirements(ctx, secInput, *security); err != nil {
					return securityError(err)
				}
				if err := lim.callerRequest(req); err != nil {
					return err
				}
			}
			if err := mediaType(route.Operation, req); err != nil {
				return err
			}
			if err := encoding(req); err != nil {
				return err
			}
			if err := unknownQuery(route, req); err != nil {
				return err
			}
			if err := jsonText(req); err != nil {
				return err
			}
			bareRoute := *route
			if op, ok := unsecured[route.Operation]; ok {
				bareRoute.Operation = op
			}
			input := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: &bareRoute, Options: reqOptions}
			if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
				return requestError(err)
			}
			c.Set(declaredHeadersKey, headers[route.Operation])
			return next(c)
		}
	}, nil
}

// allowable are the methods a path may take, in the order an Allow header lists them.
var allowable = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed is the 405 for a path the document describes, with the Allow
// header RFC 9110 requires: the methods its path item takes, HEAD wherever GET is.
func methodNotAllowed(router routers.Router, c echo.Context) error {
	req := c.Request()
	var allowed []string
	for _, m := range allowable {
		probe := m
		if m == http.MethodHead {
			probe = http.MethodGet
		}
		r := req.Clone(req.Context())
		r.Method = probe
		if _, _, err := router.FindRoute(r); err == nil {
			allowed = append(allowed, m)
		}
	}
	c.Response().Header().Set(echo.HeaderAllow, strings.Join(allowed, ", "))
	return echo.NewHTTPError(http.StatusMethodNotAllowed, fmt.Sprintf("this path does not take %s; it takes %s", req.Method, strings.Join(allowed, ", ")))
}

// isPublic reports whether requirements let a caller in without credentials: none
// at all, or one alternative that asks for nothing.
func isPublic(requirements openapi3.SecurityRequirements) bool {
	if len(requirements) == 0 {
		return true
	}
	for _, r := range requirements {
		if len(r) == 0 {
			return true
		}
	}
	return false
}

// securityError turns a failed security check into 401 or 403: 403 when some scheme
// recognised the caller but refused them, 401 otherwise.
func securityError(err error) error {
	var se *openapi3filter.SecurityRequirementsError
	if !errors.As(err, &se) {
		return apperr.Wrap(apperr.Unauthenticated, err, "authentication required")
	}
	var unauth *apperr.Error
	for _, e := range se.Errors {
		if ae, ok := apperr.As(e); ok {
			if ae.Code == apperr.Forbidden {
				return ae
			}
			if unauth == nil {
				unauth = ae
			}
		}
	}
	if unauth != nil {
		return unauth
	}
	return apperr.Wrap(apperr.Unauthenticated, err, "a valid bearer token is required")
}

func requestError(err error) error {
	var problems []apperr.FieldProblem
	collectProblems(err, &problems)
	problems = onceEmpty(problems)
	if len(problems) == 0 {
		problems = append(problems, apperr.FieldProblem{Field: "request", Message: err.Error()})
	}
	// The validator's own error is not kept as the cause: it renders the offending
	// value, indented, into its message, which for a deeply nested body is quadratic
	// in the depth (seconds of CPU for a 10 KB body, on every log line). The field
	// problems already say everything the log needs.
	return apperr.Invalids(problems)
}

// onceEmpty drops "must not be blank" for a field also told "must not be empty": an
// empty title was told both, two messages for one fault.
func onceEmpty(problems []apperr.FieldProblem) []apperr.FieldProblem {
	empty := map[string]bool{}
	for _, p := range problems {
		if p.Message == "must not be empty" {
			empty[p.Field] = true
		}
	}
	return slices.DeleteFunc(problems, func(p apperr.FieldProblem) bool { return p.Message == "must not be blank" && empty[p.Field] })
}

func collectProblems(err error, out *[]apperr.FieldProblem) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			collectProblems(inner, out)
		}
	case *openapi3filter.RequestError:
		switch {
		case e.Parameter != nil:
			var inner []apperr.FieldProblem
			if e.Err != nil {
				collectProblems(e.Err, &inner)
			}
			msg := paramMessage(e)
			if len(inner) > 0 {
				msg = inner[0].Message
			}
			*out = append(*out, apperr.FieldProblem{Field: e.Parameter.Name, Message: msg})
		case e.Err != nil:
			var pe *openapi3filter.ParseError
			if errors.As(e.Err, &pe) {
				// The guard (jsonText) has described malformed JSON already; what is
				// left is the parser's, whose reason is often empty and its cause Go's.
				*out = append(*out, apperr.FieldProblem{Field: "body", Message: "the body is not valid JSON"})
				return
			}
			before := len(*out)
			collectProblems(e.Err, out)
			if len(*out) == before {
				*out = append(*out, apperr.FieldProblem{Field: "body", Message: e.Err.Error()})
			}
		default:
			field := "body"
			if strings.Contains(e.Reason, "Content-Type") {
				field = "Content-Type"
			}
			*out = append(*out, apperr.FieldProblem{Field: field, Message: e.Reason})
		}
	case *openapi3.SchemaError:
		*out = append(*out, apperr.FieldProblem{Field: schemaField(e), Message: describe(e)})
	default:
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			*out = append(*out, apperr.FieldProblem{Field: schemaField(se), Message: describe(se)})
		}
	}
}

func paramMessage(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return describe(se)
	}
	// A value that does not parse as its type ("limit=abc") is told the type in
	// words, not the parser's complaint.
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) && re.Parameter.Schema != nil && re.Parameter.Schema.Value != nil {
		if t := re.Parameter.Schema.Value.Type; t != nil && len(*t) == 1 && typeWords[(*t)[0]] != "" {
			return "must be " + typeWords[(*t)[0]]
		}
	}
	if re.Reason != "" {
		return re.Reason
	}
	if re.Err != nil {
		return re.Err.Error()
	}
	return "invalid"
}

// schemaField names the field a schema error is about, as a dotted path. An
// unsupported (unknown) property is named itself rather than its parent object.
func schemaField(se *openapi3.SchemaError) string {
	path := se.JSONPointer()
	if se.SchemaField == "additionalProperties" || strings.HasPrefix(se.Reason, "property ") {
		// A property with an empty name cannot be named; its object is, or the body.
		if name, ok := quoted(se.Reason); ok && name != "" && (len(path) == 0 || path[len(path)-1] != name) {
			path = append(path, name)
		}
	}
	if len(path) == 0 {
		return "body"
	}
	return strings.Join(path, ".")
}

// quoted is the first Go-quoted string in s (the validator names a property with %q).
func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	q, err := strconv.QuotedPrefix(s[i:])
	if err != nil {
		return "", false
	}
	name, err := strconv.Unquote(q)
	return name, err == nil
}

// serveSpec serves the OpenAPI document as it was written.
func serveSpec(spec []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", spec)
	}
}

// declaredHeaders are the request headers an operation's document declares.
type declaredHeaders map[string]bool

const declaredHeadersKey = "tc.declared-headers"

// Declares says the operation the request was matched to declares the request
// header name in the service's document, so that a middleware acting on a header
// (Idempotency-Key) acts only where the document says it does: a stored answer of
// an operation that does not take it (a subject access request's, which holds
// everything about a person) is not kept because a caller sent the header anyway.
// A request the document matched no operation for (a server without a document)
// is taken to declare it.
func Declares(c Context, name string) bool {
	h, ok := c.Get(declaredHeadersKey).(declaredHeaders)
	return !ok || h[http.CanonicalHeaderKey(name)]
}
