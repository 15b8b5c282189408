package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/itss/techcommit/libs/httpserver"
)

// contract checks a service's answers against its OpenAPI document, so that a
// component test fails on any answer the document does not declare: a status it
// does not list, a declared header missing or malformed, a body of another media
// type or shape. Callers generate clients from the document and trust it; only a
// check on every answer the tests see keeps it honest.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// The calendar feeds answer text/calendar, which kin-openapi has no decoder for;
// their documents declare the body as a string, which is what it is decoded to.
func init() {
	openapi3filter.RegisterBodyDecoder("text/calendar", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		data, err := io.ReadAll(body)
		return string(data), err
	})
}

// newContract loads spec for checking answers.
func newContract(tb testing.TB, spec []byte) *contract {
	tb.Helper()
	doc, err := httpserver.LoadSpec(spec)
	if err != nil {
		tb.Fatalf("testenv: the service's OpenAPI document: %v", err)
	}
	// Match on path alone, as the service does, whatever port the test listens on.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("testenv: route the service's OpenAPI document: %v", err)
	}
	return &contract{doc: doc, router: router}
}

// publicPaths are the paths of the document's public reads (security: []), each
// path parameter filled with "x", in the order of the document's paths.
func (c *contract) publicPaths() []string {
	var out []string
	paths := c.doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, path := range paths {
		op := c.doc.Paths.Value(path).Get
		if op == nil {
			continue
		}
		security := op.Security
		if security == nil {
			security = &c.doc.Security
		}
		if !slices.ContainsFunc(*security, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 }) && len(*security) > 0 {
			continue
		}
		out = append(out, fillPath(path, func(string) string { return "x" }))
	}
	return out
}

// check returns why an answer to req breaks the document, or nil. Requests the
// document has no operation for (unknown paths and methods, /openapi.yaml, /docs)
// have nothing to be checked against; the request tests check those answers.
func (c *contract) check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return nil
	}
	op := route.Operation.OperationID
	// A default response stands for the unexpected (500) alone: every status a
	// caller is meant to handle is declared by its number, so that a client generated
	// from the document has a case for it.
	declared := route.Operation.Responses.Status(status)
	if declared == nil && status == http.StatusInternalServerError {
		declared = route.Operation.Responses.Default()
	}
	if declared == nil {
		return fmt.Errorf("%s answered %d, a status its OpenAPI document does not declare: %s", op, status, body)
	}
	// kin-openapi checks no body against a response declared without content; an
	// answer with one there is as undeclared as a wrong status.
	if len(declared.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s answered %d with a body (%s) where its OpenAPI document declares none: %s", op, status, header.Get("Content-Type"), body)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s answered %d against its OpenAPI document: %v: %s", op, status, err, body)
	}
	return nil
}
