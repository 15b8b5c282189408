package httpserver_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/httpserver"
)

// An operation missing problem answers, or declaring one in another shape, or a create
// not declaring its Location, is listed; a public read declaring what it can get is
// not, nor a create declaring its Location. A public read not declaring 401 is listed:
// a request to it with a token that is not valid is refused.
func TestUndeclaredProblemsListsWhatAnOperationLacks(t *testing.T) {
	t.Parallel()
	const spec = `openapi: 3.0.3
info: { title: answers, version: 1.0.0 }
security: [{ bearer: [] }]
paths:
  /public:
    get:
      security: []
      responses:
        '200': { description: OK }
        '400': { $ref: '#/components/responses/Problem' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '429': { $ref: '#/components/responses/Limited' }
        '500': { $ref: '#/components/responses/Problem' }
        '503': { $ref: '#/components/responses/Limited' }
  /feed:
    get:
      security: []
      responses:
        '200': { description: OK }
        '400': { $ref: '#/components/responses/Problem' }
        '429': { $ref: '#/components/responses/Limited' }
        '500': { $ref: '#/components/responses/Problem' }
        '503': { $ref: '#/components/responses/Limited' }
  /things/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string, maxLength: 9, pattern: '^[a-z]+$' } }]
    put:
      requestBody: { content: { application/json: { schema: { type: object } } } }
      responses:
        '200': { description: OK }
        '400': { description: Bad, content: { application/json: { schema: { $ref: '#/components/schemas/Problem' } } } }
        '429': { $ref: '#/components/responses/Problem' }
  /creates:
    post:
      security: []
      responses:
        '201': { description: Created, headers: { Location: { schema: { type: string, format: uri-reference } } } }
        '400': { $ref: '#/components/responses/Problem' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '429': { $ref: '#/components/responses/Limited' }
        '500': { $ref: '#/components/responses/Problem' }
        '503': { $ref: '#/components/responses/Limited' }
  /located:
    post:
      security: []
      responses:
        '201': { description: Created, headers: { Location: { required: true, schema: { type: string, format: uri-reference } } } }
        '400': { $ref: '#/components/responses/Problem' }
        '401': { $ref: '#/components/responses/Unauthorized' }
        '429': { $ref: '#/components/responses/Limited' }
        '500': { $ref: '#/components/responses/Problem' }
        '503': { $ref: '#/components/responses/Limited' }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
  schemas:
    Problem: { type: object }
  responses:
    Problem:
      description: A problem
      content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
    Unauthorized:
      description: No valid token
      headers: { WWW-Authenticate: { required: true, schema: { type: string } } }
      content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
    Limited:
      description: Come back later
      headers: { Retry-After: { required: true, schema: { type: integer } } }
      content: { application/problem+json: { schema: { $ref: '#/components/schemas/Problem' } } }
`
	got, err := httpserver.UndeclaredProblems([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /feed: 401 (unauthorized) is not declared",
		"POST /creates: 201 does not declare the Location header a create always carries",
		"PUT /things/{id}: 400 is not application/problem+json of #/components/schemas/Problem alone",
		"PUT /things/{id}: 401 (unauthorized) is not declared",
		"PUT /things/{id}: 403 (forbidden) is not declared",
		"PUT /things/{id}: 404 (not found) is not declared",
		"PUT /things/{id}: 409 (conflict) is not declared",
		"PUT /things/{id}: 413 (request entity too large) is not declared",
		"PUT /things/{id}: 415 (unsupported media type) is not declared",
		"PUT /things/{id}: 429 does not declare the Retry-After header it always carries",
		"PUT /things/{id}: 500 (internal server error) is not declared",
		"PUT /things/{id}: 503 (service unavailable) is not declared",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("undeclared (-want +got):\n%s", diff)
	}
}
