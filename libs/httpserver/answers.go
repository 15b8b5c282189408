package httpserver

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// ProblemSchemaRef is the one schema every problem answer of a document refers to.
const ProblemSchemaRef = "#/components/schemas/Problem"

// UndeclaredProblems walks an OpenAPI document and lists each problem answer the
// platform can give an operation that the operation does not declare by number, and
// each declared problem answer that is not the document's Problem as
// application/problem+json with the headers its status carries. Each service's API
// test calls it and expects an empty list, so that a new operation is documented with
// every answer a generated client has to handle, not only the ones its tests provoke
// (the component tests check those against the document as they go). It lists too
// each create (201) that does not declare the Location header it always carries
// (docs/API.md), so that the component tests hold every create's answer to it.
func UndeclaredProblems(spec []byte) ([]string, error) {
	doc, err := LoadSpec(spec)
	if err != nil {
		return nil, err
	}
	var out []string
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, status := range platformAnswers(doc, item, method, op) {
				if op.Responses.Value(strconv.Itoa(status)) == nil {
					out = append(out, fmt.Sprintf("%s: %d (%s) is not declared", where, status, strings.ToLower(http.StatusText(status))))
				}
			}
			if created := op.Responses.Value(strconv.Itoa(http.StatusCreated)); created != nil {
				if h := created.Value.Headers[HeaderLocation]; h == nil || h.Value == nil || !h.Value.Required {
					out = append(out, fmt.Sprintf("%s: 201 does not declare the %s header a create always carries", where, HeaderLocation))
				}
			}
			for code, ref := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 400 {
					continue
				}
				out = append(out, problemShape(where, status, ref.Value)...)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// platformAnswers is every problem status the platform (the validator, the limits,
// the handlers' errors) can answer op with.
func platformAnswers(doc *openapi3.T, item *openapi3.PathItem, method string, op *openapi3.Operation) []int {
	var inPath, keyed, conditional bool
	for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
		switch {
		case p.Value == nil:
		case p.Value.In == openapi3.ParameterInPath:
			inPath = true
		case p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, "Idempotency-Key"):
			keyed = true
		case p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, HeaderIfMatch):
			conditional = true
		}
	}
	security := op.Security
	if security == nil {
		security = &doc.Security
	}
	// Unknown query parameters are refused on every operation, and so is a token
	// that is not valid (auth.Verifier.Identify), on a public operation too.
	statuses := []int{http.StatusBadRequest, http.StatusUnauthorized}
	if !isPublic(*security) {
		statuses = append(statuses, http.StatusForbidden)
	}
	if inPath {
		statuses = append(statuses, http.StatusNotFound)
	}
	// A write to an existing object can meet another changing it, and a keyed create
	// one in flight with the same key.
	if method != http.MethodGet && (inPath || keyed) {
		statuses = append(statuses, http.StatusConflict)
	}
	if op.RequestBody != nil {
		statuses = append(statuses, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if keyed {
		statuses = append(statuses, http.StatusUnprocessableEntity)
	}
	if conditional {
		statuses = append(statuses, http.StatusPreconditionFailed)
	}
	return append(statuses, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable)
}

// problemShape lists what is wrong with a declared problem answer.
func problemShape(where string, status int, r *openapi3.Response) []string {
	var out []string
	if r == nil {
		return []string{fmt.Sprintf("%s: %d is not resolved", where, status)}
	}
	media := r.Content.Get(ProblemContentType)
	if len(r.Content) != 1 || media == nil || media.Schema == nil || media.Schema.Ref != ProblemSchemaRef {
		out = append(out, fmt.Sprintf("%s: %d is not %s of %s alone", where, status, ProblemContentType, ProblemSchemaRef))
	}
	var header string
	switch status {
	case http.StatusUnauthorized:
		header = "WWW-Authenticate"
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		header = "Retry-After"
	}
	if header != "" {
		if h := r.Headers[header]; h == nil || h.Value == nil || !h.Value.Required {
			out = append(out, fmt.Sprintf("%s: %d does not declare the %s header it always carries", where, status, header))
		}
	}
	return out
}
