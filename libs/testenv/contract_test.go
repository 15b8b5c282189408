package testenv

import (
	"net/http"
	"strings"
	"testing"
)

const contractSpec = `openapi: 3.0.3
info: { title: contract, version: 1.0.0 }
paths:
  /v1/things/{id}:
    parameters:
      - { name: id, in: path, required: true, schema: { type: string, pattern: '^[a-z]+$' } }
    get:
      operationId: getThing
      responses:
        '200':
          description: The thing
          content:
            application/json:
              schema:
                type: object
                required: [name]
                properties: { name: { type: string, format: line, maxLength: 20 } }
        '429':
          description: Too many
          headers:
            Retry-After: { required: true, schema: { type: integer } }
          content:
            application/problem+json:
              schema: { type: object, required: [status], properties: { status: { type: integer } } }
        default:
          description: Unexpected
          content:
            application/problem+json:
              schema: { type: object, required: [status], properties: { status: { type: integer } } }
    delete:
      operationId: deleteThing
      responses:
        '204': { description: Gone }
`

// Each way an answer can break its document is caught, and a conforming answer is
// not: the check is what makes every component test a test of the document too.
func TestContractCatchesUndeclaredAnswers(t *testing.T) {
	t.Parallel()
	c := newContract(t, []byte(contractSpec))
	jsonType := http.Header{"Content-Type": {"application/json"}}
	problemType := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/problem+json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // in the error; "" for none
	}{
		{"conforming", "GET", "/v1/things/abc", 200, jsonType, `{"name":"a"}`, ""},
		{"undeclared status", "GET", "/v1/things/abc", 404, problemType(), `{"status":404}`, "getThing answered 404, a status its OpenAPI document does not declare"},
		{"default stands for 500 alone", "GET", "/v1/things/abc", 500, problemType(), `{"status":500}`, ""},
		{"missing declared header", "GET", "/v1/things/abc", 429, problemType(), `{"status":429}`, `Retry-After`},
		{"declared header present", "GET", "/v1/things/abc", 429, problemType("Retry-After", "3"), `{"status":429}`, ""},
		{"body of another shape", "GET", "/v1/things/abc", 200, jsonType, `{"title":"a"}`, `property "name" is missing`},
		{"body breaking a format", "GET", "/v1/things/abc", 200, jsonType, `{"name":"a\nb"}`, "single line"},
		{"undeclared media type", "GET", "/v1/things/abc", 200, problemType(), `{"name":"a"}`, "application/problem+json"},
		{"body where none is declared", "DELETE", "/v1/things/abc", 204, jsonType, `{}`, "declares none"},
		{"no body where none is declared", "DELETE", "/v1/things/abc", 204, http.Header{}, ``, ""},
		{"a path the document has not", "GET", "/elsewhere", 404, problemType(), `{}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://127.0.0.1:1"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.check(req, tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("a conforming answer is refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("not caught, want an error about %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
}
