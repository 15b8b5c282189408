package testenv

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/deadletter"
)

// TokensForItsAudienceOnly checks that the service c talks to accepts a token only
// when its aud names the service, and only for a bounded time: a token for another
// service of the suite, for the suite-wide audience of old, valid for ten years or
// a second over the hour, or saying nothing of when it was issued, is refused with
// a 401 problem. It calls the dead-letter list every service serves to ops, and
// then every public operation of the service's document with such a token: a bad
// token is refused there too (a tool that sends its token with every call learns
// from the list of rounds that it has expired), so each public operation must
// declare that 401, which the contract check holds it to.
func TokensForItsAudienceOnly(t *testing.T, c *Client) {
	t.Helper()
	own := c.Issuer.Audience
	ops := auth.Principal{Subject: "ops-user", Role: auth.RoleOps}
	mint := func(claims jwt.Claims) string {
		t.Helper()
		tok, err := c.Issuer.MintClaims(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	lasting := func(d time.Duration) string {
		t.Helper()
		return mint(c.Issuer.TokenClaims(ops, d))
	}
	forAudience := func(aud ...string) string {
		t.Helper()
		tok, err := c.Issuer.MintFor(ops, time.Hour, aud...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	noIssuedAt := mint(jwt.MapClaims{"iss": c.Issuer.Issuer, "aud": own, "sub": ops.Subject, "role": "ops", "exp": now.Add(time.Hour).Unix()})

	if r := c.Do(http.MethodGet, deadletter.PathList, forAudience(own), nil); r.Status != http.StatusOK {
		t.Fatalf("a token for %s: status %d, want 200: %s", own, r.Status, r.Body)
	}
	if r := c.Do(http.MethodGet, deadletter.PathList, lasting(time.Hour), nil); r.Status != http.StatusOK {
		t.Fatalf("a token for %s valid an hour: status %d, want 200: %s", own, r.Status, r.Body)
	}
	type refusal struct{ name, token, detail string }
	refusals := []refusal{
		{"the suite-wide audience of old", forAudience("technician-commitment"), "must name " + own},
		{"valid for ten years", lasting(10 * 365 * 24 * time.Hour), "valid for 3650 days from its issue, longer than the longest accepted"},
		{"valid for an hour and a second", lasting(time.Hour + time.Second), "valid for 1 hour 1 second from its issue, longer than the longest accepted, an hour"},
		{"no issued-at time", noIssuedAt, "iat"},
	}
	for _, svc := range []string{"signatory", "review", "notify", "fund"} {
		if aud := config.DevAudience(svc); aud != own {
			refusals = append(refusals, refusal{"a token for " + aud, forAudience(aud), "must name " + own})
		}
	}
	for _, tt := range refusals {
		r := c.Do(http.MethodGet, deadletter.PathList, tt.token, nil)
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s at %s: status %d %s, want a 401 problem: %s", tt.name, own, r.Status, r.Header.Get("Content-Type"), r.Body)
			continue
		}
		var p struct{ Detail string }
		if err := json.Unmarshal(r.Body, &p); err != nil || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("%s at %s: problem %s, want its detail to say %q", tt.name, own, r.Body, tt.detail)
		}
	}
	if c.contract == nil {
		return
	}
	bad := refusals[0]
	for _, path := range c.contract.publicPaths() {
		r := c.Do(http.MethodGet, path, bad.token, nil)
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s at the public GET %s: status %d %s, want a 401 problem: %s", bad.name, path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
}

// AdminApart checks that the service c talks to answers health, readiness and
// metrics on its admin listener only: its API port answers 404 for them, so that
// nobody who can reach the API learns what the service runs on or when it is down.
func AdminApart(t *testing.T, c *Client) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/debug/pprof/"} {
		if r := c.Do(http.MethodGet, path, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("API port %s: status %d, want 404: %.200s", path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := c.Admin().Do(http.MethodGet, path, "", nil); r.Status != http.StatusOK {
			t.Errorf("admin port %s: status %d, want 200: %.200s", path, r.Status, r.Body)
		}
	}
}
