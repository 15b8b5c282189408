package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// guardedSpec has what the request hygiene is about: path parameters, declared
// query parameters, a nested body, public and secured routes, and fields whose
// rules a person must be told in words.
const guardedSpec = `
openapi: 3.0.3
info: {title: guarded, version: "1"}
security: [{bearerAuth: []}]
paths:
  /v1/organisations:
    get:
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [active, withdrawn]}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200}}
      responses: {"200": {description: ok}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties:
                name: {type: string, format: line, maxLength: 20}
                email: {type: string, format: email, maxLength: 254}
                code: {type: string, maxLength: 16, pattern: '^[A-Za-z0-9-]+$'}
                ref: {type: string, maxLength: 16, pattern: '^R[0-9]{4}$', description: 'A reference such as R1234.'}
                announced_on: {type: string, format: date}
                at: {type: string, format: date-time}
                site: {type: string, format: web, maxLength: 100}
                size: {type: integer, minimum: 1}
                budget_pence: {type: integer, format: int64, minimum: 1, maximum: 100000000}
                headcount: {type: integer, maximum: 9007199254740991}
                kind: {type: string, enum: [signatory, supporter]}
                leader:
                  type: object
                  additionalProperties: false
                  properties:
                    name: {type: string, format: line, maxLength: 20}
                    roles: {type: array, maxItems: 3, items: {type: object, properties: {role: {type: string, enum: [a, b]}}}}
      responses: {"201": {description: created}}
  /v1/organisations/{id}/history:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string, maxLength: 64, pattern: '^[A-Za-z0-9-]+$'}}]
      responses: {"200": {description: ok}}
  /v1/applications/{id}/submit:
    post:
      parameters: [{name: id, in: path, required: true, schema: {type: string, maxLength: 64, pattern: '^[A-Za-z0-9-]+$'}}]
      responses: {"200": {description: ok}}
  /v1/directory:
    get:
      security: []
      responses: {"200": {description: ok}}
  /v1/calendars/{token}:
    get:
      security: []
      parameters: [{name: token, in: path, required: true, schema: {type: string, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$'}}]
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
`

// newGuarded runs a Server with guardedSpec and the given edge settings; every
// handler answers 200 with {"ok":true} (201 for a creation) and Cache-Control public.
func newGuarded(tb testing.TB, edge config.Edge) fixture {
	tb.Helper()
	jwks := httptest.NewServer(nil)
	tb.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, audience)
	if err != nil {
		tb.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	verifier, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: issuer.Issuer, Audience: audience}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := httpserver.New(httpserver.Options{
		Service: "guarded", Config: config.HTTP{BodyLimit: "8K", Edge: edge}, Spec: []byte(guardedSpec), Authenticate: auth.Authenticate,
		Logger: telemetry.Discard(), Middleware: []echo.MiddlewareFunc{httpserver.Before(verifier.Identify)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	ok := func(status int) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			return c.JSON(status, map[string]bool{"ok": true})
		}
	}
	e := srv.Echo()
	e.GET("/v1/organisations", ok(http.StatusOK))
	e.POST("/v1/organisations", ok(http.StatusCreated))
	// The handlers bind their parameters as the generated code does: an empty one is 400.
	bound := func(c echo.Context) error {
		if c.Param("id") == "" {
			return echo.NewHTTPError(http.StatusBadRequest, "Invalid format for parameter id")
		}
		return ok(http.StatusOK)(c)
	}
	e.GET("/v1/organisations/:id/history", bound)
	e.POST("/v1/applications/:id/submit", bound)
	e.GET("/v1/directory", ok(http.StatusOK))
	e.GET("/v1/calendars/:token", ok(http.StatusOK))
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return fixture{url: ts.URL, srv: srv, issuer: issuer}
}

func TestUnmatchedPathsAreNotFoundBeforeAnythingElse(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	for _, tt := range []struct {
		method, path string
	}{
		{"GET", "/v1/organisations//history"},
		{"POST", "/v1/applications//submit"},
		{"GET", "/v1/organisations/a%2Fb/history"},
		{"GET", "/v1/organisations/x/history/"},
		{"GET", "/v1/organisations/./x/history"},
		{"GET", "/V1/organisations/x/history"},
		{"GET", "/v1/calendars/x1%00"},
	} {
		for _, token := range []string{"", f.token(t, auth.RoleOps)} {
			r := f.do(t, request{method: tt.method, path: tt.path, token: token})
			if p := problem(t, r); r.status != http.StatusNotFound || p.Type != httpserver.ProblemTypeBase+"not_found" {
				t.Errorf("%s %s (token %t): status %d, want 404 not_found: %s", tt.method, tt.path, token != "", r.status, r.body)
			}
		}
	}
	// The platform's own routes stay reachable.
	if r := f.do(t, request{method: "GET", path: "/openapi.yaml"}); r.status != http.StatusOK {
		t.Errorf("/openapi.yaml: %d", r.status)
	}
	if r := f.do(t, request{method: "GET", path: "/docs"}); r.status != http.StatusOK {
		t.Errorf("/docs: %d", r.status)
	}
	// Health, readiness and metrics are the admin listener's alone.
	if r := f.do(t, request{method: "GET", path: "/healthz"}); r.status != http.StatusNotFound {
		t.Errorf("/healthz on the API: %d, want 404", r.status)
	}
	// And so does every route, spelt as it is written.
	if r := f.do(t, request{method: "GET", path: "/v1/organisations/x-1/history", token: f.token(t, auth.RoleOps)}); r.status != http.StatusOK {
		t.Errorf("a well-formed path: %d %s", r.status, r.body)
	}
}

func TestMalformedPathsOfEveryRouteAreRefused(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	c := &testenv.Client{TB: t, URL: f.url}
	if n := testenv.MalformedPaths(t, c, []byte(guardedSpec)); n < 50 {
		t.Errorf("only %d malformed requests sent", n)
	}
}

func TestDuplicateKeysAreRefusedNamingTheKey(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		body   string
		fields []string
	}{
		{`{"name":"a","name":"b"}`, []string{"name"}},
		{`{"name":"a","leader":{"name":"x","name":"y"}}`, []string{"leader.name"}},
		{`{"name":"a","leader":{"roles":[{"role":"a"},{"role":"a","role":"b"}]}}`, []string{"leader.roles.1.role"}},
		{`{"name":"a","kind":"signatory","size":1,"kind":"supporter","size":2}`, []string{"kind", "size"}},
		{`{"name":"a","n\u0061me":"b"}`, []string{"name"}},
		{` { "name" : "a" ,` + "\n\t" + `"name":"b" } `, []string{"name"}},
	} {
		r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: tt.body})
		p := problem(t, r)
		var got []string
		for _, fp := range p.Errors {
			got = append(got, fp.Field)
		}
		if r.status != http.StatusBadRequest || !cmp.Equal(tt.fields, got) {
			t.Errorf("%s: status %d, fields %v; want 400 naming %v: %s", tt.body, r.status, got, tt.fields, r.body)
		}
	}
	// The same key in two objects, or inside a string, is no duplicate.
	for _, body := range []string{
		`{"name":"a","leader":{"name":"a"}}`,
		`{"name":"a\",\"name\":{}[","leader":{"roles":[{"role":"a"},{"role":"b"}]}}`,
	} {
		if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: body}); r.status != http.StatusCreated {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

func TestUnknownQueryParametersAreRefusedNamingThem(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	r := f.do(t, request{method: "GET", path: "/v1/organisations?status%5B%24ne%5D=x&limit=5&sort=name", token: ops})
	p := problem(t, r)
	var got []string
	for _, fp := range p.Errors {
		got = append(got, fp.Field)
	}
	if r.status != http.StatusBadRequest || !cmp.Equal([]string{"sort", "status[$ne]"}, got) {
		t.Errorf("status %d, fields %v; want 400 naming sort and status[$ne]: %s", r.status, got, r.body)
	}
	if r := f.do(t, request{method: "GET", path: "/v1/organisations?status=active&limit=5", token: ops}); r.status != http.StatusOK {
		t.Errorf("declared parameters: %d %s", r.status, r.body)
	}
	// A route that declares none takes none.
	if r := f.do(t, request{method: "GET", path: "/v1/directory?debug=1"}); r.status != http.StatusBadRequest {
		t.Errorf("public route with an unknown parameter: %d %s", r.status, r.body)
	}
}

func TestBodiesInAnotherMediaTypeAre415(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"} {
		r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a"}`, contentType: ct})
		if p := problem(t, r); r.status != http.StatusUnsupportedMediaType || p.Type != httpserver.ProblemTypeBase+"unsupported_media_type" {
			t.Errorf("%s: status %d, want 415 unsupported_media_type: %s", ct, r.status, r.body)
		}
	}
	if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a"}`, contentType: "application/json; charset=utf-8"}); r.status != http.StatusCreated {
		t.Errorf("JSON with a charset: %d %s", r.status, r.body)
	}
}

// A body sent to an operation that takes none is refused naming it, whatever its
// type: it would be ignored. No body, white space or an empty JSON object says
// nothing and passes.
func TestABodyForAnOperationThatTakesNoneIsRefused(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		name string
		req  request
		want int
	}{
		{"no body", request{}, http.StatusOK},
		{"white space", request{body: " \r\n"}, http.StatusOK},
		{"an empty object", request{body: "{ }"}, http.StatusOK},
		{"an empty object, chunked", request{body: "{}", chunked: true}, http.StatusOK},
		{"a field", request{body: `{"confirm":true}`}, http.StatusBadRequest},
		{"a field, chunked", request{body: `{"confirm":true}`, chunked: true}, http.StatusBadRequest},
		{"an empty list", request{body: "[]"}, http.StatusBadRequest},
		{"text", request{body: "please submit", contentType: "text/plain"}, http.StatusBadRequest},
		// Over the body limit it is still a body the operation does not take: the
		// operation declares no 413, and the caller is to send no body, not a smaller one.
		{"a body over the limit", request{body: `{"notes":"` + strings.Repeat("a", 9000) + `"}`}, http.StatusBadRequest},
		{"a body over the limit, chunked", request{body: strings.Repeat(" ", 9000) + `{"a":1}`, chunked: true}, http.StatusBadRequest},
	} {
		tt.req.method, tt.req.path, tt.req.token = "POST", "/v1/applications/a-1/submit", ops
		r := f.do(t, tt.req)
		if r.status != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.status, tt.want, r.body)
			continue
		}
		if tt.want == http.StatusBadRequest {
			if p := problem(t, r); p.Field != "body" || !strings.Contains(p.Detail, "this operation takes no body") {
				t.Errorf("%s: the problem names %q and says %q, want body: this operation takes no body", tt.name, p.Field, p.Detail)
			}
		}
	}
	// A GET has no body either.
	for _, body := range []string{`{"since":"2026-01-01"}`, `{"since":"` + strings.Repeat("2", 9000) + `"}`} {
		if r := f.do(t, request{method: "GET", path: "/v1/organisations/x-1/history", token: ops, body: body}); r.status != http.StatusBadRequest {
			t.Errorf("a GET with a body of %d bytes: status %d, want 400: %s", len(body), r.status, r.body)
		}
		if r := f.do(t, request{method: "GET", path: "/v1/directory", body: body}); r.status != http.StatusBadRequest {
			t.Errorf("a public GET with a body of %d bytes: status %d, want 400: %s", len(body), r.status, r.body)
		}
	}
	// An operation that takes a body refuses one over the limit with 413, as do the
	// paths the document does not describe.
	big := `{"name":"` + strings.Repeat("a", 9000) + `"}`
	if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: big}); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a create with a body over the limit: status %d, want 413: %s", r.status, r.body)
	}
	if r := f.do(t, request{method: "GET", path: "/openapi.yaml", body: big}); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("the document asked for with a body over the limit: status %d, want 413: %s", r.status, r.body)
	}
}

func TestValidationMessagesSayWhatIsExpectedInWords(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	body := `{"name":"Ann\r\nBcc: x@y.z","email":"not-an-address","code":"a b","ref":"X1","announced_on":"4/12/2026","size":0,"budget_pence":100000001,"headcount":9007199254740992,"kind":"other","leader":{"name":"` + strings.Repeat("n", 30) + `"}}`
	r := f.do(t, request{method: "POST", path: "/v1/organisations", token: f.token(t, auth.RoleOps), body: body})
	p := problem(t, r)
	got := map[string]string{}
	for _, fp := range p.Errors {
		got[fp.Field] = fp.Message
	}
	want := map[string]string{
		"name":         "must be a single line, without line breaks",
		"email":        "must be an email address such as name@example.ac.uk",
		"code":         `may hold only letters, digits and "-"`,
		"ref":          "must be a reference such as R1234",
		"announced_on": "must be a date from 1900 to 2999, as YYYY-MM-DD, such as 2026-12-04",
		"size":         "must be at least 1",
		"budget_pence": "must be at most 100000000 pence",
		"headcount":    "must be at most 9007199254740991",
		"kind":         "must be one of: signatory, supporter",
		"leader.name":  "must be at most 20 characters long",
	}
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	for field, msg := range got {
		if strings.ContainsAny(msg, "^$[]\\") || strings.Contains(msg, "regular expression") {
			t.Errorf("%s: message shows the pattern: %q", field, msg)
		}
	}

	// Parameters too, in the query and in the path.
	for _, tt := range []struct {
		path string
		want map[string]string
	}{
		{"/v1/organisations?limit=abc&status=nope", map[string]string{"limit": "must be a whole number", "status": "must be one of: active, withdrawn"}},
		{"/v1/organisations?limit=500", map[string]string{"limit": "must be at most 200"}},
		// Which of two values was meant is the caller's to say, named as any other field.
		{"/v1/organisations?limit=1&limit=2&status=active&status=withdrawn", map[string]string{"limit": "must be given once", "status": "must be given once"}},
		{"/v1/organisations/a%20b/history", map[string]string{"id": `may hold only letters, digits and "-"`}},
	} {
		r := f.do(t, request{method: "GET", path: tt.path, token: f.token(t, auth.RoleOps)})
		got := map[string]string{}
		for _, fp := range problem(t, r).Errors {
			got[fp.Field] = fp.Message
		}
		if diff := cmp.Diff(tt.want, got); r.status != http.StatusBadRequest || diff != "" {
			t.Errorf("%s: status %d, messages (-want +got):\n%s", tt.path, r.status, diff)
		}
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{HSTSMaxAge: 31536000})
	ops := f.token(t, auth.RoleOps)
	type seen struct {
		Status                int
		NoSniff, HSTS, Stored string
	}
	for _, tt := range []struct {
		name string
		req  request
		want seen
	}{
		{"public answer", request{method: "GET", path: "/v1/directory"}, seen{200, "nosniff", "max-age=31536000; includeSubDomains", "public, max-age=60"}},
		{"authenticated answer", request{method: "GET", path: "/v1/organisations", token: ops}, seen{200, "nosniff", "max-age=31536000; includeSubDomains", "no-store"}},
		{"problem to an authenticated request", request{method: "GET", path: "/v1/organisations?limit=0", token: ops}, seen{400, "nosniff", "max-age=31536000; includeSubDomains", "no-store"}},
		{"refused token", request{method: "GET", path: "/v1/organisations", token: "garbage"}, seen{401, "nosniff", "max-age=31536000; includeSubDomains", "no-store"}},
		{"unknown path", request{method: "GET", path: "/nowhere"}, seen{404, "nosniff", "max-age=31536000; includeSubDomains", ""}},
	} {
		r := f.do(t, tt.req)
		got := seen{r.status, r.header.Get("X-Content-Type-Options"), r.header.Get("Strict-Transport-Security"), r.header.Get("Cache-Control")}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// HSTS is off unless configured (the local stack speaks http).
	plain := newGuarded(t, config.Edge{})
	if r := plain.do(t, request{method: "GET", path: "/v1/directory"}); r.header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent with HTTP_HSTS_MAX_AGE 0: %q", r.header.Get("Strict-Transport-Security"))
	}
}

func TestHeadIsAnsweredForEveryGetRoute(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		path, token string
	}{
		{"/v1/directory", ""},
		{"/v1/calendars/abc", ""},
		{"/v1/organisations", ops},
		{"/v1/organisations/x-1/history", ops},
		{"/v1/organisations", ""}, // 401, as GET is
		{"/openapi.yaml", ""},
	} {
		get := f.do(t, request{method: "GET", path: tt.path, token: tt.token})
		head := f.do(t, request{method: "HEAD", path: tt.path, token: tt.token})
		if head.status != get.status || len(head.body) != 0 {
			t.Errorf("HEAD %s: status %d with %d bytes; GET was %d", tt.path, head.status, len(head.body), get.status)
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "WWW-Authenticate"} {
			if head.header.Get(h) != get.header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET's %q", tt.path, h, head.header.Get(h), get.header.Get(h))
			}
		}
	}
}

func TestOnlySafeRequestIDsAreKept(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	for _, tt := range []struct {
		id   string
		kept bool
	}{
		{"req-42_a.b", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"a b", false},
		{"<script>alert(1)</script>", false},
		{`x" level=ERROR msg="forged`, false},
		{"caf\u00e9", false},
	} {
		req, err := http.NewRequest("GET", f.url+"/v1/directory", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-ID", tt.id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		if kept := got == tt.id; kept != tt.kept || got == "" {
			t.Errorf("X-Request-ID %q answered with %q; kept %t, want %t", tt.id, got, kept, tt.kept)
		}
	}
}

// race sends n requests at once and counts the answers by status, checking that
// every 429 is problem+json with a Retry-After of at least a second.
func race(t *testing.T, f fixture, n int, req func(i int) request) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := f.do(t, req(i))
			if r.status == http.StatusTooManyRequests {
				p := problem(t, r)
				if p.Type != httpserver.ProblemTypeBase+"rate_limited" || r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") == "0" {
					t.Errorf("429 without its problem type or Retry-After: %q %s", r.header.Get("Retry-After"), r.body)
				}
			}
			mu.Lock()
			counts[r.status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestRateLimitsRefuseRequestsPastTheBurst(t *testing.T) {
	t.Parallel()
	// Slow refills, so that the race is over long before a token comes back.
	edge := config.Edge{WritePerSecond: 0.01, WriteBurst: 3, ReadPerSecond: 0.01, ReadBurst: 5, PublicPerSecond: 0.01, PublicBurst: 4}
	f := newGuarded(t, edge)
	ops := f.token(t, auth.RoleOps)
	write := func(int) request {
		return request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a"}`}
	}
	if got, want := race(t, f, 20, write), map[int]int{201: 3, 429: 17}; !cmp.Equal(want, got) {
		t.Errorf("20 writes at once by one caller: %v, want %v", got, want)
	}
	// Reads have their own bucket: the writes used up do not stop them.
	read := func(int) request { return request{method: "GET", path: "/v1/organisations", token: ops} }
	if got, want := race(t, f, 20, read), map[int]int{200: 5, 429: 15}; !cmp.Equal(want, got) {
		t.Errorf("20 reads at once by one caller: %v, want %v", got, want)
	}
	// Another caller has buckets of its own.
	other, err := f.issuer.Mint(auth.Principal{Subject: "u2", Role: auth.RoleOps}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, request{method: "GET", path: "/v1/organisations", token: other}); r.status != http.StatusOK {
		t.Errorf("another caller's read: %d %s", r.status, r.body)
	}
	// Public endpoints, the OpenAPI document among them, share the client address's bucket;
	// X-Forwarded-For from an untrusted peer is ignored, so made-up addresses do not help.
	public := func(i int) request {
		paths := []string{"/v1/directory", "/v1/calendars/abc", "/openapi.yaml"}
		return request{method: "GET", path: paths[i%3], forwardedFor: "198.51.100." + string(rune('0'+i%10))}
	}
	got := race(t, f, 20, public)
	if got[200] != 4 || got[429] != 16 {
		t.Errorf("20 public requests from one address: %v, want 4 answered and 16 refused", got)
	}
}

func TestTrustedProxiesNameTheClient(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{PublicPerSecond: 0.01, PublicBurst: 1, TrustedProxies: []string{"127.0.0.1", "::1"}})
	for i, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		r := f.do(t, request{method: "GET", path: "/v1/directory", forwardedFor: "203.0.113.9, " + addr})
		if r.status != http.StatusOK {
			t.Errorf("client %d behind the trusted proxy: %d, want its own bucket", i, r.status)
		}
	}
	if r := f.do(t, request{method: "GET", path: "/v1/directory", forwardedFor: "198.51.100.1"}); r.status != http.StatusTooManyRequests {
		t.Errorf("the first client again: %d, want 429", r.status)
	}
}

func TestPublicRequestsWithATokenAreCountedAsTheirCaller(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{PublicPerSecond: 0.01, PublicBurst: 1, ReadPerSecond: 0.01, ReadBurst: 3})
	// The portal, from one address, reads the directory for three signed-in people.
	for _, who := range []string{"u1", "u2", "u3"} {
		tok, err := f.issuer.Mint(auth.Principal{Subject: who, Role: auth.RoleLead, Org: "org1"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r := f.do(t, request{method: "GET", path: "/v1/directory", token: tok}); r.status != http.StatusOK {
			t.Errorf("%s's directory read through the portal: %d, want each person counted alone", who, r.status)
		}
	}
	if r := f.do(t, request{method: "GET", path: "/v1/directory"}); r.status != http.StatusOK {
		t.Errorf("an anonymous read from the same address: %d, want its own bucket", r.status)
	}
	if r := f.do(t, request{method: "GET", path: "/v1/directory"}); r.status != http.StatusTooManyRequests {
		t.Errorf("a second anonymous read: %d, want 429", r.status)
	}
}

func TestDeepBodiesAreScannedWithinBounds(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	deep := `{"name":"a","leader":` + strings.Repeat(`{"x":`, 1000) + `1` + strings.Repeat(`}`, 1000) + `}`
	r := f.do(t, request{method: "POST", path: "/v1/organisations", token: f.token(t, auth.RoleOps), body: deep})
	if r.status != http.StatusBadRequest {
		t.Errorf("a body nested 1000 deep: %d, want 400: %.300s", r.status, r.body)
	}
}

func TestBodiesThatAreNotUTF8JSONAreRefusedSayingWhy(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		name, body  string
		field, says string
	}{
		// Decoded, each would be stored with U+FFFD in place of what was sent.
		{"Latin-1 bytes", "{\"name\":\"Caf\xe9\"}", "body", "byte 13 is not UTF-8"},
		{"a lone high surrogate", `{"name":"a\ud800"}`, "name", "surrogate"},
		{"a lone low surrogate", `{"name":"a","leader":{"name":"\udc00x"}}`, "leader.name", "surrogate"},
		{"a high surrogate followed by another", `{"name":"\ud800\ud800\udc00"}`, "name", "surrogate"},
		{"a surrogate in a key", `{"name":"a","\ud800":1}`, "body", "surrogate"},
		// Malformed JSON is told where and what, in words.
		{"cut short", `{"name":`, "body", "it ends at byte 8 before its value is complete"},
		{"trailing comma", `{"name":"x",}`, "body", `'}' at byte 13 where a field name in double quotes was expected`},
		{"single quotes", `{'name':'x'}`, "body", "at byte 2 where a field name in double quotes was expected"},
		{"a byte order mark", "\xef\xbb\xbf{\"name\":\"x\"}", "body", "byte order mark"},
		{"a missing colon", `{"name" "x"}`, "body", `'"' at byte 9 where ":" was expected after a field name`},
	} {
		r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: tt.body})
		p := problem(t, r)
		if r.status != http.StatusBadRequest || p.Field != tt.field || !strings.Contains(p.Detail, tt.says) {
			t.Errorf("%s: status %d, field %q, detail %q; want 400 naming %s and saying %q", tt.name, r.status, p.Field, p.Detail, tt.field, tt.says)
		}
	}
	// A surrogate pair is a character, and an escaped backslash before "ud800" no escape.
	for _, body := range []string{`{"name":"\ud83d\ude00"}`, `{"name":"a\\ud800"}`} {
		if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: body}); r.status != http.StatusCreated {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

func TestBodiesTheAPIWouldHaveToTranslateAre415(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		name        string
		contentType string
		header      http.Header
		field       string
	}{
		{"Latin-1", "application/json; charset=latin1", nil, "Content-Type"},
		{"UTF-16", "application/json; charset=utf-16", nil, "Content-Type"},
		{"gzip", "", http.Header{"Content-Encoding": {"gzip"}}, "Content-Encoding"},
		{"deflate among others", "", http.Header{"Content-Encoding": {"identity, deflate"}}, "Content-Encoding"},
	} {
		r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a"}`, contentType: tt.contentType, header: tt.header})
		p := problem(t, r)
		if r.status != http.StatusUnsupportedMediaType || p.Field != tt.field {
			t.Errorf("%s: status %d, field %q; want 415 naming %s: %s", tt.name, r.status, p.Field, tt.field, r.body)
		}
	}
	for _, tt := range []struct {
		contentType string
		header      http.Header
	}{
		{"application/json; charset=UTF-8", nil},
		{"application/json; charset=utf-8", http.Header{"Content-Encoding": {"identity"}}},
	} {
		if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a"}`, contentType: tt.contentType, header: tt.header}); r.status != http.StatusCreated {
			t.Errorf("%s %v: %d %s", tt.contentType, tt.header, r.status, r.body)
		}
	}
}

func TestValuesTheDecodersRefuseAreRefusedByTheValidatorNamingTheField(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		body, field string
	}{
		// net/mail (openapi_types.Email) refuses these, time.Parse this.
		{`{"name":"a","email":"a..b@x.ac.uk"}`, "email"},
		{`{"name":"a","email":".a@x.ac.uk"}`, "email"},
		{`{"name":"a","email":"a.@x.ac.uk"}`, "email"},
		{`{"name":"a","at":"2099-05-31T17:00:60Z"}`, "at"},
		{`{"name":"a","at":"2099-02-30T17:00:00Z"}`, "at"},
		// 0001-01-01 is how Go writes "no date": a date that old would read as none given.
		{`{"name":"a","announced_on":"0001-01-01"}`, "announced_on"},
		{`{"name":"a","announced_on":"1899-12-31"}`, "announced_on"},
		{`{"name":"a","announced_on":"2027-02-29"}`, "announced_on"},
		// A time in the year 0 east of UTC is in the year -1, which no event can hold;
		// one in the year 9999 west of it is in 10000. Dates worked out from one given
		// (a month after a project's end) must stay dates a client can read.
		{`{"name":"a","at":"0000-01-01T00:30:00+01:00"}`, "at"},
		{`{"name":"a","at":"9999-12-31T23:30:00-01:00"}`, "at"},
		{`{"name":"a","at":"3000-01-01T00:00:00Z"}`, "at"},
		{`{"name":"a","at":"1899-12-31T23:59:59Z"}`, "at"},
		{`{"name":"a","announced_on":"9999-12-31"}`, "announced_on"},
		{`{"name":"a","announced_on":"3000-01-01"}`, "announced_on"},
		// A web address is one clean line: no direction override, no zero-width space.
		{`{"name":"a","site":"https://www.example.ac.uk/\u202egpj.exe"}`, "site"},
		{`{"name":"a","site":"https://www.example.ac.uk/\u200b"}`, "site"},
		{`{"name":"a","site":"www.example.ac.uk/plan"}`, "site"},
		{`{"name":"a","site":"https://www.example.ac.uk/a plan"}`, "site"},
	} {
		r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: tt.body})
		p := problem(t, r)
		if r.status != http.StatusBadRequest || p.Field != tt.field || len(p.Errors) != 1 {
			t.Errorf("%s: status %d, field %q; want 400 naming only %s: %s", tt.body, r.status, p.Field, tt.field, r.body)
		}
	}
	r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: `{"name":"a","site":"www.example.ac.uk"}`})
	if want := "must be a web address starting https:// or http://, such as https://www.example.ac.uk/technicians"; problem(t, r).Detail != want {
		t.Errorf("a web address without its scheme is told %q, want %q", problem(t, r).Detail, want)
	}
	for _, body := range []string{
		`{"name":"a","email":"a.b@x.ac.uk","at":"2099-05-31T17:00:59.5+01:00","site":"https://www.example.ac.uk/plan?x=1"}`,
		`{"name":"a","site":""}`, // whether a field may be empty is its schema's to say
		`{"name":"a","at":"2999-12-31T23:59:59Z","announced_on":"2999-12-31"}`,
		`{"name":"a","at":"1900-01-01T00:00:00Z","announced_on":"1900-01-01"}`,
	} {
		if r := f.do(t, request{method: "POST", path: "/v1/organisations", token: ops, body: body}); r.status != http.StatusCreated {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

func TestMethodsAPathDoesNotTakeAre405SayingWhichItTakes(t *testing.T) {
	t.Parallel()
	f := newGuarded(t, config.Edge{})
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		method, path, allow string
	}{
		{"PATCH", "/v1/organisations", "GET, HEAD, POST"},
		{"DELETE", "/v1/organisations/x-1/history", "GET, HEAD"},
		{"GET", "/v1/applications/x-1/submit", "POST"},
		{"OPTIONS", "/v1/organisations", "GET, HEAD, POST"},
	} {
		r := f.do(t, request{method: tt.method, path: tt.path, token: ops})
		p := problem(t, r)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != tt.allow || !strings.Contains(p.Detail, tt.allow) {
			t.Errorf("%s %s: status %d, Allow %q, detail %q; want 405 allowing %s", tt.method, tt.path, r.status, r.header.Get("Allow"), p.Detail, tt.allow)
		}
	}
}
