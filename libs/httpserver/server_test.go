package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

type fixture struct {
	url    string
	issuer *auth.DevIssuer
	ready  *error
}

func newServer(t *testing.T) fixture {
	t.Helper()
	jwks := httptest.NewServer(nil)
	t.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, "aud")
	if err != nil {
		t.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	verifier, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: jwks.URL, Audience: "aud"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var readyErr error
	srv, err := httpserver.New(httpserver.Options{
		Service: "test", Config: config.HTTP{BodyLimit: "1K"}, Spec: []byte(spec), Authenticate: auth.Authenticate,
		Logger: telemetry.Discard(), Middleware: []echo.MiddlewareFunc{auth.Middleware(verifier)},
		Ready: map[string]httpserver.Check{"db": func(context.Context) error { return readyErr }},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := srv.Echo()
	e.GET("/public", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	e.POST("/things", func(c echo.Context) error {
		var body struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
			Email string `json:"email"`
		}
		if err := httpserver.Decode(c, &body); err != nil {
			return err
		}
		if body.Name == "taken" {
			return apperr.New(apperr.Conflict, "name %s is taken", body.Name)
		}
		if body.Name == "boom" {
			return errors.New("database password is hunter2")
		}
		return c.JSON(http.StatusCreated, body)
	})
	e.GET("/panic", func(echo.Context) error { panic("secret internal state") })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return fixture{url: ts.URL, issuer: issuer, ready: &readyErr}
}

func (f fixture) token(t *testing.T, role auth.Role) string {
	t.Helper()
	tok, err := f.issuer.Mint(auth.Principal{Subject: "u1", Role: role, Org: "org1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func call(t *testing.T, method, url, token, body string) (int, http.Header, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m, string(raw)
}

func TestRequestsAreValidatedAuthorisedAndAnsweredAsProblems(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	ops := f.token(t, auth.RoleOps)
	other, _ := auth.NewDevIssuer(f.issuer.Issuer, f.issuer.Audience)
	forged, _ := other.Mint(auth.Principal{Subject: "u1", Role: auth.RoleOps}, time.Hour)
	expired, _ := f.issuer.MintClaims(f.issuer.TokenClaims(auth.Principal{Subject: "u1", Role: auth.RoleOps}, -time.Hour))
	wrongAud, _ := auth.NewDevIssuer(f.issuer.Issuer, "someone-else")
	wrongAudTok, _ := wrongAud.Mint(auth.Principal{Subject: "u1", Role: auth.RoleOps}, time.Hour)

	tests := []struct {
		name, method, path, token, body string
		status                          int
		field                           string
	}{
		{"public without token", "GET", "/public", "", "", 200, ""},
		{"valid", "POST", "/things", ops, `{"name":"a","count":1}`, 201, ""},
		{"malformed JSON", "POST", "/things", ops, `{"name":`, 400, "body"},
		{"unknown field", "POST", "/things", ops, `{"name":"a","count":1,"status":"paid"}`, 400, "status"},
		{"wrong type", "POST", "/things", ops, `{"name":"a","count":"one"}`, 400, "count"},
		{"missing required", "POST", "/things", ops, `{"name":"a"}`, 400, "count"},
		{"too long", "POST", "/things", ops, `{"name":"abcdefghijkl","count":1}`, 400, "name"},
		{"bad email", "POST", "/things", ops, `{"name":"a","count":1,"email":"a@b\r\nBcc: x@y.z"}`, 400, "email"},
		{"oversize", "POST", "/things", ops, `{"name":"` + strings.Repeat("a", 2000) + `","count":1}`, 413, ""},
		{"no token", "POST", "/things", "", `{"name":"a","count":1}`, 401, ""},
		{"forged token", "POST", "/things", forged, `{"name":"a","count":1}`, 401, ""},
		{"expired token", "POST", "/things", expired, `{"name":"a","count":1}`, 401, ""},
		{"wrong audience", "POST", "/things", wrongAudTok, `{"name":"a","count":1}`, 401, ""},
		{"garbage token", "POST", "/things", "abc", `{"name":"a","count":1}`, 401, ""},
		{"wrong role", "POST", "/things", f.token(t, auth.RoleLead), `{"name":"a","count":1}`, 403, ""},
		{"domain conflict", "POST", "/things", ops, `{"name":"taken","count":1}`, 409, ""},
		{"unknown route", "GET", "/nowhere", ops, "", 404, ""},
		{"wrong method", "DELETE", "/things", ops, "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, p, raw := call(t, tt.method, f.url+tt.path, tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, raw)
			}
			if status < 400 {
				return
			}
			if ct := header.Get("Content-Type"); ct != httpserver.ProblemContentType {
				t.Errorf("Content-Type %q, want %s", ct, httpserver.ProblemContentType)
			}
			if p["status"] != float64(tt.status) || p["title"] == nil || p["type"] == nil {
				t.Errorf("not a problem document: %s", raw)
			}
			if tt.field != "" && p["field"] != tt.field {
				t.Errorf("field %v, want %s: %s", p["field"], tt.field, raw)
			}
			if status == 401 && header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestInternalFailuresRevealNothing(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	ops := f.token(t, auth.RoleOps)
	for _, tt := range []struct{ method, path, body, secret string }{
		{"GET", "/panic", "", "secret internal state"},
		{"POST", "/things", `{"name":"boom","count":1}`, "hunter2"},
	} {
		status, _, p, raw := call(t, tt.method, f.url+tt.path, ops, tt.body)
		if status != 500 || p["request_id"] == nil {
			t.Errorf("%s %s: status %d, want 500 with a request id: %s", tt.method, tt.path, status, raw)
		}
		if strings.Contains(raw, tt.secret) {
			t.Errorf("%s %s leaks %q: %s", tt.method, tt.path, tt.secret, raw)
		}
	}
}

func TestHealthReadinessAndDocument(t *testing.T) {
	t.Parallel()
	f := newServer(t)
	if status, _, _, _ := call(t, "GET", f.url+"/healthz", "", ""); status != 200 {
		t.Errorf("/healthz %d, want 200", status)
	}
	if status, _, _, _ := call(t, "GET", f.url+"/readyz", "", ""); status != 200 {
		t.Errorf("/readyz %d, want 200", status)
	}
	*f.ready = errors.New("database down")
	if status, _, p, _ := call(t, "GET", f.url+"/readyz", "", ""); status != 503 || p["checks"].(map[string]any)["db"] != "unavailable" {
		t.Errorf("/readyz with the database down: %d %v, want 503 naming db", status, p)
	}
	status, header, _, raw := call(t, "GET", f.url+"/openapi.yaml", "", "")
	if status != 200 || !strings.Contains(raw, "/things") || !strings.Contains(header.Get("Content-Type"), "yaml") {
		t.Errorf("/openapi.yaml: %d %s", status, header.Get("Content-Type"))
	}
}
