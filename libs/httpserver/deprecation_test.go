package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/httpserver"
	"github.com/itss/techcommit/libs/telemetry"
)

// deprecatedSpec has an action under its old path, deprecated, and under its new one.
const deprecatedSpec = `
openapi: 3.0.3
info: {title: test, version: "1"}
paths:
  /v1/things/{id}/close:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: '^[a-z0-9 ]+$', maxLength: 20}}
    post:
      operationId: closeThing
      deprecated: true
      x-deprecated-on: '2026-12-03'
      x-sunset: '2027-06-30'
      x-successor: /v1/things/{id}/closure
      parameters:
        - {name: Idempotency-Key, in: header, schema: {type: string, maxLength: 20}}
      responses:
        "200":
          description: closed
          headers:
            Deprecation: {required: true, schema: {type: string, pattern: '^@[0-9]+$'}}
            Sunset: {required: true, schema: {type: string, format: line}}
            Link: {required: true, schema: {type: string, format: line}}
        "404": {description: no such thing}
  /v1/things/{id}/closure:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: '^[a-z0-9 ]+$', maxLength: 20}}
    post:
      operationId: createThingClosure
      parameters:
        - {name: Idempotency-Key, in: header, schema: {type: string, maxLength: 20}}
      responses: {"200": {description: closed}, "404": {description: no such thing}}
`

func deprecatedServer(tb testing.TB, spec string) (*httpserver.Server, error) {
	tb.Helper()
	srv, err := httpserver.New(httpserver.Options{
		Service: "test", Spec: []byte(spec), Config: config.HTTP{},
		Logger: telemetry.Discard(),
	})
	if err != nil {
		return nil, err
	}
	close := func(c httpserver.Context) error {
		if c.Param("id") == "gone" {
			return c.String(http.StatusNotFound, "no such thing")
		}
		return c.String(http.StatusOK, "closed "+c.Param("id"))
	}
	srv.Echo().POST("/v1/things/:id/close", close)
	srv.Echo().POST("/v1/things/:id/closure", close)
	return srv, nil
}

// TestDeprecatedOperationsSayWhenTheyGo: every answer of an operation the document
// marks deprecated, a refusal too, carries Deprecation (RFC 9745, @ and the Unix time
// of its x-deprecated-on), Sunset (RFC 8594, an HTTP date) and a Link to its
// successor with the request's own path parameters, relative to the request's path;
// its successor's answers carry none of them.
func TestDeprecatedOperationsSayWhenTheyGo(t *testing.T) {
	t.Parallel()
	srv, err := deprecatedServer(t, deprecatedSpec)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		return rec
	}
	type notice struct{ Status, Deprecation, Sunset, Link, Body string }
	answer := func(rec *httptest.ResponseRecorder) notice {
		h := rec.Header()
		return notice{http.StatusText(rec.Code), h.Get("Deprecation"), h.Get("Sunset"), h.Get("Link"), rec.Body.String()}
	}
	for _, tt := range []struct {
		path string
		want notice
	}{
		{"/v1/things/t1/close", notice{"OK", "@1796256000", "Wed, 30 Jun 2027 00:00:00 GMT", `<closure>; rel="successor-version"`, "closed t1"}},
		{"/v1/things/gone/close", notice{"Not Found", "@1796256000", "Wed, 30 Jun 2027 00:00:00 GMT", `<closure>; rel="successor-version"`, "no such thing"}},
		{"/v1/things/t1/closure", notice{Status: "OK", Body: "closed t1"}},
	} {
		if diff := cmp.Diff(tt.want, answer(post(tt.path))); diff != "" {
			t.Errorf("POST %s (-want +got):\n%s", tt.path, diff)
		}
	}
}

// TestADeprecatedOperationMustSayWhenItGoes: a document whose deprecated operation
// lacks a date, a successor, or the declaration of the headers its answers carry is
// refused at start, naming what is missing; so are the extensions on an operation
// that is not deprecated.
func TestADeprecatedOperationMustSayWhenItGoes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, from, to, want string }{
		{"no sunset", "      x-sunset: '2027-06-30'\n", "", "x-sunset must be a date"},
		{"sunset before deprecation", "x-sunset: '2027-06-30'", "x-sunset: '2026-01-01'", "must come after"},
		{"no successor", "      x-successor: /v1/things/{id}/closure\n", "", "x-successor <nil> must be the path"},
		{"successor with other parameters", "      x-successor: /v1/things/{id}/closure", "      x-successor: /v1/things", "must be the path"},
		{"headers undeclared", "            Sunset: {required: true, schema: {type: string, format: line}}\n", "", "does not declare the Sunset header"},
		{"not deprecated", "      deprecated: true\n", "", "belong to a deprecated operation only"},
		{"a header of the successor's undeclared", "      parameters:\n        - {name: Idempotency-Key, in: header, schema: {type: string, maxLength: 20}}\n      responses:\n        \"200\":", "      responses:\n        \"200\":", "must declare the Idempotency-Key header its successor"},
	} {
		spec := strings.Replace(deprecatedSpec, tt.from, tt.to, 1)
		if spec == deprecatedSpec {
			t.Fatalf("%s: the edit changed nothing", tt.name)
		}
		_, err := deprecatedServer(t, spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestSuccessorLinksResolveBehindAnyPrefix: the Link of a deprecated path, resolved
// as RFC 8288 says against the URL the client called, leads to the successor whether
// the service is served at the root or under a prefix (the production Ingress's
// /<service>, which it strips before the request reaches the service). A
// host-relative Link (/v1/...) led behind the Ingress to a path no rule serves.
func TestSuccessorLinksResolveBehindAnyPrefix(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"/v1/things/t1/close", "/v1/things/t1/closure"},
		{"/v1/review-rounds/r1/close", "/v1/review-rounds/r1/closures"},
		{"/v1/applications/a1/submit", "/v1/applications/a1/submission"},
		{"/v1/ops/things/t1/actions/rotate", "/v1/ops/rotations"},
		{"/v1/things/t1", "/v1/things/t1/closure"},
		{"/v1/things/t1/close", "/v1/things"},
		{"/v1/things/t1/close", "/v1/things/"},
		{"/v1/old/t1/close", "/v2/new/t1/closure"},
		{"/close", "/v1/a:b/closure"},
		{"/v1/close", "/v1/a:b"},
		{"/v1/things/a%2Fb/close", "/v1/things/a%2Fb/closure"},
		{"/v1/things/a~b/close", "/v1/things/a%7Eb/closure"},
	}
	for _, prefix := range []string{"", "/signatory", "/api/fund"} {
		for _, p := range pairs {
			from, to := p[0], p[1]
			base, err := url.Parse("https://api.example.org" + prefix + from)
			if err != nil {
				t.Fatal(err)
			}
			ref := httpserver.RelativeRef(from, to)
			rel, err := url.Parse(ref)
			if err != nil || rel.IsAbs() || strings.HasPrefix(ref, "/") {
				t.Errorf("RelativeRef(%s, %s) = %q, not a relative path reference (%v)", from, to, ref, err)
				continue
			}
			if got := base.ResolveReference(rel).EscapedPath(); got != prefix+to {
				t.Errorf("under %q, %s's Link %q resolves to %s, want %s", prefix, from, ref, got, prefix+to)
			}
		}
	}
}
