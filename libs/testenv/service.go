package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/embedded"
)

// Env is what a component test runs a service against: its own NATS server, the
// shared FerretDB with a database of the test's own, and a token issuer.
type Env struct {
	NATS   *embedded.NATS
	JS     jetstream.JetStream
	Issuer *auth.DevIssuer
	// Spec is the OpenAPI document of the service under test (its api.Spec). Serve
	// checks every answer its client gets against it and fails the test on one the
	// document does not declare. Left nil, answers go unchecked: only the review
	// service's tests do that still, until its document follows the conventions.
	Spec []byte
}

// NewEnv starts the test's NATS server and token issuer. The issuer mints for the
// audience of the service Platform configures.
func NewEnv(tb testing.TB) *Env {
	tb.Helper()
	n := NATS(tb)
	_, js := JetStream(tb, n)
	jwks := httptest.NewServer(nil)
	tb.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, "")
	if err != nil {
		tb.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	return &Env{NATS: n, JS: js, Issuer: issuer}
}

// Platform points a service's shared configuration at the test's infrastructure.
// The service is told its own audience (see config.DevAudience), named after the
// database its default configuration gives it, and the test's issuer mints tokens
// for that audience from then on, so that tests need not care which it is.
func (e *Env) Platform(tb testing.TB, p config.Platform) config.Platform {
	tb.Helper()
	service := p.Mongo.Database
	if service == "" {
		tb.Fatal("testenv: the service's default configuration names no database, so no audience")
	}
	p.Mongo.URI = MongoURI(tb)
	p.Mongo.Database = DatabaseName(tb)
	p.NATS.URL = e.NATS.URL
	p.Auth.JWKSURL = e.Issuer.Issuer + "/.well-known/jwks.json"
	p.Auth.AllowInsecureJWKS = true // the test's issuer serves its keys on this machine
	p.Auth.Issuer = e.Issuer.Issuer
	p.Auth.Audience = config.DevAudience(service)
	e.Issuer.Audience = p.Auth.Audience
	p.Telemetry.LogLevel = "error"
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Serve runs serve with the API and the admin listener each on a free port until the
// test ends, then stops it and calls cleanup, and returns a client for the API (its
// Admin method gives one for the admin listener).
func (e *Env) Serve(tb testing.TB, serve func(ctx context.Context, api, admin net.Listener) error, cleanup func()) *Client {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, admin) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("service stopped with: %v", err)
		}
		cleanup()
	})
	c := &Client{TB: tb, URL: "http://" + ln.Addr().String(), AdminURL: "http://" + admin.Addr().String(), Issuer: e.Issuer}
	if e.Spec != nil {
		c.contract = newContract(tb, e.Spec)
	}
	return c
}

// Client talks to a service over a real socket.
type Client struct {
	TB  testing.TB
	URL string
	// AdminURL is the service's admin listener: health, readiness, metrics.
	AdminURL string
	Issuer   *auth.DevIssuer
	// contract, when set, checks each answer against the service's OpenAPI document.
	contract *contract
}

// Admin returns a client of the service's admin listener.
func (c *Client) Admin() *Client {
	admin := *c
	admin.URL = c.AdminURL
	admin.contract = nil // health, readiness and metrics are the platform's, not the API's
	return &admin
}

// Token mints a token for a role acting for org.
func (c *Client) Token(role auth.Role, org string) string {
	c.TB.Helper()
	return c.TokenFor(auth.Principal{Subject: string(role) + "-user", Role: role, Org: org, Name: "Test " + string(role), Email: string(role) + "@example.ac.uk"})
}

// TokenFor mints a token for p.
func (c *Client) TokenFor(p auth.Principal) string {
	c.TB.Helper()
	tok, err := c.Issuer.Mint(p, time.Hour)
	if err != nil {
		c.TB.Fatal(err)
	}
	return tok
}

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// URL is what the request was sent to, against which a relative reference in the
	// answer (a Link) resolves.
	URL *url.URL
}

// JSON decodes the body as an object.
func (r Response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request; body may be a string (sent as it is) or a value (sent as JSON);
// headers are name, value pairs, a name given twice sent on two field lines.
func (c *Client) Do(method, path, token string, body any, headers ...string) Response {
	c.TB.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.TB.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.URL+path, r)
	if err != nil {
		c.TB.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// A header named twice in headers is sent on two lines (an If-Match list, say);
	// named once, it replaces the one set above.
	named := map[string]bool{}
	for i := 0; i+1 < len(headers); i += 2 {
		if name := http.CanonicalHeaderKey(headers[i]); named[name] {
			req.Header.Add(name, headers[i+1])
		} else {
			named[name] = true
			req.Header.Set(name, headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.TB.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.TB.Fatal(err)
	}
	if c.contract != nil {
		if err := c.contract.check(req, resp.StatusCode, resp.Header, data); err != nil {
			c.TB.Errorf("%s %s: %v", method, path, err)
		}
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data, URL: req.URL}
}

// Must fails the test unless r has status want.
func (c *Client) Must(want int, r Response) Response {
	c.TB.Helper()
	if r.Status != want {
		c.TB.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}
