package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
)

const spec = `
openapi: 3.0.3
info: {title: test, version: "1"}
security: [{bearerAuth: []}]
paths:
  /public:
    get:
      security: []
      responses: {"200": {description: ok}}
  /things:
    post:
      x-roles: [ops]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name, count]
              properties:
                name: {type: string, maxLength: 10}
                count: {type: integer, minimum: 0}
                email: {type: string, format: email}
      responses: {"201": {description: created}}
  /panic:
    get:
      responses: {"200": {description: never}}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
`

const audience = "technician-commitment"

type fixture struct {
	url    string
	admin  string // the admin handler's URL
	srv    http.Handler
	issuer *auth.DevIssuer
	dbDown *atomic.Bool
}

// newServer runs a Server with the test document, the auth middleware trusting a
// development issuer, a 1K body limit and one readiness check, on a real socket;
// tune changes its options.
func newServer(tb testing.TB, tune ...func(*httpserver.Options)) fixture {
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
	var dbDown atomic.Bool
	opts := httpserver.Options{
		Service: "test", Config: config.HTTP{BodyLimit: "1K"}, Spec: []byte(spec), Authenticate: auth.Authenticate,
		Logger: telemetry.Discard(), Middleware: []echo.MiddlewareFunc{httpserver.Before(verifier.Identify)},
		Ready: map[string]httpserver.Check{"db": func(context.Context) error {
			if dbDown.Load() {
				return errors.New("dial tcp 10.0.0.7:27017: connection refused")
			}
			return nil
		}},
	}
	for _, f := range tune {
		f(&opts)
	}
	srv, err := httpserver.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	e := srv.Echo()
	e.GET("/public", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	e.POST("/things", func(c echo.Context) error {
		var body thing
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
		switch body.Name {
		case "taken":
			return apperr.New(apperr.Conflict, "name %s is taken", body.Name)
		case "busy":
			return apperr.New(apperr.Conflict, "name %s is being changed; retry", body.Name).Passing(1500 * time.Millisecond)
		case "boom":
			return errors.New("database password is hunter2")
		}
		return c.JSON(http.StatusCreated, body)
	})
	e.GET("/panic", func(echo.Context) error { panic("secret internal state") })
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	admin := httptest.NewServer(srv.Admin())
	tb.Cleanup(admin.Close)
	return fixture{url: ts.URL, admin: admin.URL, srv: srv, issuer: issuer, dbDown: &dbDown}
}

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Email string `json:"email,omitempty"`
}

func (f fixture) token(tb testing.TB, role auth.Role) string {
	tb.Helper()
	tok, err := f.issuer.Mint(auth.Principal{Subject: "u1", Role: role, Org: "org1"}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// spoiled is a token from the right issuer with one claim changed.
func (f fixture) spoiled(tb testing.TB, edit func(jwt.MapClaims)) string {
	tb.Helper()
	c := jwt.MapClaims{"iss": f.issuer.Issuer, "aud": audience, "sub": "u1", "role": "ops", "exp": time.Now().Add(time.Hour).Unix()}
	edit(c)
	tok, err := f.issuer.MintClaims(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

type request struct {
	method, path, token, body string
	contentType               string // defaults to application/json when there is a body
	chunked                   bool   // send the body without a Content-Length
	forwardedFor              string // an X-Forwarded-For header
	header                    http.Header
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (f fixture) do(tb testing.TB, r request) response {
	tb.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length, so the client streams it
		}
	}
	req, err := http.NewRequest(r.method, f.url+r.path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", r.forwardedFor)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// problem decodes a problem+json response, failing the test if it is not one.
func problem(tb testing.TB, r response) httpserver.Problem {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); ct != httpserver.ProblemContentType {
		tb.Errorf("Content-Type %q, want %s: %s", ct, httpserver.ProblemContentType, r.body)
	}
	var p httpserver.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatalf("not a problem document: %v: %s", err, r.body)
	}
	if p.Status != r.status || p.Title == "" || !strings.HasPrefix(p.Type, httpserver.ProblemTypeBase) {
		tb.Errorf("problem %+v does not describe status %d", p, r.status)
	}
	if p.RequestID == "" || p.RequestID != r.header.Get(echo.HeaderXRequestID) {
		tb.Errorf("problem request id %q, want the response's %q", p.RequestID, r.header.Get(echo.HeaderXRequestID))
	}
	return p
}

// refusal is what a caller can act on in a refused request.
type refusal struct {
	Status    int
	Code      string   // the problem type, after the base
	Field     string   // the first field at fault
	Fields    []string // every field at fault, sorted
	Challenge bool     // a WWW-Authenticate header
	// RetryAfter is the Retry-After header: a passing refusal says when to try again.
	RetryAfter string
}

func TestRefusalsAreProblemsNamingTheCause(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	ops := f.token(t, auth.RoleOps)
	impostor, err := auth.NewDevIssuer(f.issuer.Issuer, audience) // same name and key id, another key
	if err != nil {
		t.Fatal(err)
	}
	forged, err := impostor.Mint(auth.Principal{Subject: "u1", Role: auth.RoleOps}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired := f.spoiled(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
	wrongAudience := f.spoiled(t, func(c jwt.MapClaims) { c["aud"] = "someone-else" })
	valid := `{"name":"a","count":1}`
	oversize := `{"name":"` + strings.Repeat("a", 2000) + `","count":1}`
	invalid := func(fields ...string) refusal {
		return refusal{Status: 400, Code: "invalid", Field: fields[0], Fields: fields}
	}
	unauthenticated := refusal{Status: 401, Code: "unauthenticated", Challenge: true}

	tests := []struct {
		name string
		req  request
		want refusal
	}{
		{"malformed JSON", request{body: `{"name":`}, invalid("body")},
		{"not JSON", request{body: `hello`}, invalid("body")},
		{"unknown field", request{body: `{"name":"a","count":1,"status":"paid"}`}, invalid("status")},
		{"wrong type", request{body: `{"name":"a","count":"one"}`}, invalid("count")},
		{"missing required", request{body: `{"name":"a"}`}, invalid("count")},
		{"over max length", request{body: `{"name":"abcdefghijkl","count":1}`}, invalid("name")},
		{"header injection in email", request{body: `{"name":"a","count":1,"email":"a@b.org\r\nBcc: x@y.z"}`}, invalid("email")},
		{"wrong content type", request{body: valid, contentType: "text/plain"}, refusal{Status: 415, Code: "unsupported_media_type", Field: "Content-Type", Fields: []string{"Content-Type"}}},
		{"oversize", request{body: oversize}, refusal{Status: 413, Code: "too_large"}},
		{"oversize without length", request{body: oversize, chunked: true}, refusal{Status: 413, Code: "too_large"}},
		{"no token", request{token: "-", body: valid}, unauthenticated},
		{"garbage token", request{token: "abc", body: valid}, unauthenticated},
		{"expired token", request{token: expired, body: valid}, unauthenticated},
		{"wrong audience", request{token: wrongAudience, body: valid}, unauthenticated},
		{"signed by another key", request{token: forged, body: valid}, unauthenticated},
		{"role not in x-roles", request{token: f.token(t, auth.RoleLead), body: valid}, refusal{Status: 403, Code: "forbidden"}},
		{"domain conflict", request{body: `{"name":"taken","count":1}`}, refusal{Status: 409, Code: "conflict"}},
		{"passing conflict", request{body: `{"name":"busy","count":1}`}, refusal{Status: 409, Code: "conflict", RetryAfter: "2"}},
		{"unknown route", request{method: "GET", path: "/nowhere"}, refusal{Status: 404, Code: "not_found"}},
		{"method not in document", request{method: "DELETE"}, refusal{Status: 405, Code: "method_not_allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			if req.method == "" {
				req.method = "POST"
			}
			if req.path == "" {
				req.path = "/things"
			}
			switch req.token {
			case "":
				req.token = ops
			case "-":
				req.token = ""
			}
			r := f.do(t, req)
			p := problem(t, r)
			got := refusal{Status: r.status, Code: strings.TrimPrefix(p.Type, httpserver.ProblemTypeBase), Field: p.Field,
				Challenge: r.header.Get("WWW-Authenticate") != "", RetryAfter: r.header.Get("Retry-After")}
			for _, fp := range p.Errors {
				got.Fields = append(got.Fields, fp.Field)
			}
			slices.Sort(got.Fields)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("refusal (-want +got):\n%s\n%s", diff, r.body)
			}
		})
	}
}

func TestEveryProblemOfABodyIsReported(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	r := f.do(t, request{method: "POST", path: "/things", token: f.token(t, auth.RoleOps), body: `{"count":-1,"colour":"red"}`})
	p := problem(t, r)
	var fields []string
	for _, fp := range p.Errors {
		if fp.Message == "" {
			t.Errorf("problem with %s says nothing", fp.Field)
		}
		fields = append(fields, fp.Field)
	}
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"colour", "count", "name"}, fields); diff != "" {
		t.Errorf("fields at fault (-want +got):\n%s\n%s", diff, r.body)
	}
}

func TestAcceptedRequestsReachTheHandler(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	r := f.do(t, request{method: "GET", path: "/public"})
	if diff := cmp.Diff(response{status: 200, body: []byte("hello")}, r, cmp.AllowUnexported(response{}), ignoreHeader); diff != "" {
		t.Errorf("public GET without a token (-want +got):\n%s", diff)
	}
	r = f.do(t, request{method: "POST", path: "/things", token: f.token(t, auth.RoleOps), body: `{"name":"a","count":3,"email":"a@b.ac.uk"}`})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", r.status, r.body)
	}
	var got thing
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(thing{Name: "a", Count: 3, Email: "a@b.ac.uk"}, got); diff != "" {
		t.Errorf("body the handler decoded (-want +got):\n%s", diff)
	}
}

var ignoreHeader = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".header" }, cmp.Ignore())

func TestFailuresRevealNoInternals(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct {
		req    request
		secret string
	}{
		{request{method: "GET", path: "/panic", token: ops}, "secret internal state"},
		{request{method: "POST", path: "/things", token: ops, body: `{"name":"boom","count":1}`}, "hunter2"},
	} {
		r := f.do(t, tt.req)
		p := problem(t, r)
		want := httpserver.Problem{
			Type: httpserver.ProblemTypeBase + "internal", Title: "Internal Server Error", Status: 500,
			Detail:   "the server could not complete the request; quote the request id when reporting it",
			Instance: tt.req.path, RequestID: p.RequestID,
		}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.req.method, tt.req.path, diff)
		}
		if strings.Contains(string(r.body), tt.secret) {
			t.Errorf("%s %s leaks %q: %s", tt.req.method, tt.req.path, tt.secret, r.body)
		}
	}
	// The server survives the panic.
	if r := f.do(t, request{method: "GET", path: "/public"}); r.status != http.StatusOK {
		t.Errorf("/public after a panic: %d", r.status)
	}
}

// A service whose callers know nobody to report a failure to (the fund's applicants'
// tools) names ITSS's address in its failures, and nowhere else: a refusal says
// what to change, not whom to write to.
func TestAFailureGivesTheContactAddressWhenTheServiceHasOne(t *testing.T) {
	t.Parallel()
	f := newServer(t, func(o *httpserver.Options) { o.Contact = "itss@example.org" })
	ops := f.token(t, auth.RoleOps)
	for _, req := range []request{{method: "GET", path: "/panic", token: ops}, {method: "POST", path: "/things", token: ops, body: `{"name":"boom","count":1}`}} {
		p := problem(t, f.do(t, req))
		if want := "the server could not complete the request; quote the request id when reporting it to ITSS at itss@example.org"; p.Status != 500 || p.Detail != want || p.RequestID == "" {
			t.Errorf("%s %s: %d %q (request id %q), want 500 %q with a request id", req.method, req.path, p.Status, p.Detail, p.RequestID, want)
		}
	}
	p := problem(t, f.do(t, request{method: "POST", path: "/things", token: ops, body: `{"name":"taken","count":1}`}))
	if p.Status != 409 || strings.Contains(p.Detail, "itss@example.org") {
		t.Errorf("a conflict: %d %q, want 409 naming no address", p.Status, p.Detail)
	}
}

func TestHealthReadinessAndDocument(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		r := fixture{url: f.admin}.do(t, request{method: "GET", path: path})
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("%s: %v: %s", path, err, r.body)
		}
		return r.status, m
	}
	type answer struct {
		Status int
		Body   map[string]any
	}
	check := func(path string, want answer) {
		t.Helper()
		status, body := get(path)
		if diff := cmp.Diff(want, answer{status, body}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	check("/healthz", answer{200, map[string]any{"status": "ok"}})
	check("/readyz", answer{200, map[string]any{"status": "ok", "checks": map[string]any{"db": "ok"}}})
	f.dbDown.Store(true)
	check("/readyz", answer{503, map[string]any{"status": "unavailable", "checks": map[string]any{"db": "unavailable"}}})
	check("/healthz", answer{200, map[string]any{"status": "ok"}})

	r := f.do(t, request{method: "GET", path: "/openapi.yaml"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/yaml" {
		t.Errorf("/openapi.yaml: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if diff := cmp.Diff(spec, string(r.body)); diff != "" {
		t.Errorf("/openapi.yaml is not the document as written (-want +got):\n%s", diff)
	}
}

// TestAPIReference checks /docs serves a page that renders the service's own document
// with the vendored Redoc, under a policy that allows nothing from elsewhere.
func TestAPIReference(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	r := f.do(t, request{method: "GET", path: "/docs"})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`spec-url="/openapi.yaml"`, `src="/docs/redoc.standalone.js"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/docs lacks %s:\n%s", want, r.body)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("/docs policy %q", csp)
	}
	js := f.do(t, request{method: "GET", path: "/docs/redoc.standalone.js"})
	if js.status != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") || len(js.body) < 1<<20 {
		t.Errorf("/docs/redoc.standalone.js: %d %s, %d bytes", js.status, js.header.Get("Content-Type"), len(js.body))
	}
}

// A problem's instance is the path as the caller sent it, escapes kept: decoded, an
// escaped NUL or line break in the path would be a control character in the body,
// which the documents' Problem (instance: format line) does not allow.
func TestProblemInstanceKeepsThePathsEscapes(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	for _, path := range []string{"/no%00where", "/things/a%0D%0Ab"} {
		p := problem(t, f.do(t, request{method: "GET", path: path, token: f.token(t, auth.RoleOps)}))
		if p.Instance != path {
			t.Errorf("GET %s: instance %q, want the path as sent", path, p.Instance)
		}
		if err := httpserver.CheckLine(p.Instance); err != nil {
			t.Errorf("GET %s: instance %q: %v", path, p.Instance, err)
		}
	}
}

// A field a caller made up is named in the answer, but the answer's own document says
// a field is one clean line of at most 200 characters: a name with trailing spaces, a
// line break, a direction override, quotes or 300 letters is named quoted and
// cut to fit, and a clean name as it was written. (Fuzzing the fund found a name with
// a trailing space echoed as it came, which broke the Problem schema.)
func TestAMadeUpFieldIsNamedWithinTheProblemsOwnRules(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct{ name, want string }{
		{"status", "status"},
		{"feedback the panel; ", `"feedback the panel; "`},
		{"a\r\nBcc: x", `"a\r\nBcc: x"`},
		{"evil\u202Etxt", `"evil\u202etxt"`},
		{`say "hi"`, `say "hi"`},
		{` say "hi" `, `" say \"hi\" "`},
		{strings.Repeat("a", 300), `"` + strings.Repeat("a", 195) + `…"`},
	} {
		body, err := json.Marshal(map[string]any{"name": "a", "count": 1, tt.name: true})
		if err != nil {
			t.Fatal(err)
		}
		inBody := f.do(t, request{method: "POST", path: "/things", token: ops, body: string(body)})
		// The same name as a query parameter the operation does not declare.
		inQuery := f.do(t, request{method: "POST", path: "/things?" + url.QueryEscape(tt.name) + "=1", token: ops, body: `{"name":"a","count":1}`})
		for _, r := range []response{inBody, inQuery} {
			p := problem(t, r)
			fields := []string{p.Field}
			for _, fp := range p.Errors {
				fields = append(fields, fp.Field)
			}
			for _, got := range fields {
				if got != tt.want {
					t.Errorf("field %q named %q, want %q", tt.name, got, tt.want)
				}
				if err := httpserver.CheckLine(got); err != nil || len(got) > 200 {
					t.Errorf("field %q named %q (%d bytes): %v", tt.name, got, len(got), err)
				}
			}
		}
	}
}
