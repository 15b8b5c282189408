package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// serveIssuer serves a new development issuer's keys and returns it with its JWKS URL.
func serveIssuer(tb testing.TB) (*auth.DevIssuer, string) {
	tb.Helper()
	issuer, keys := counted(tb, 0)
	return issuer, keys.url
}

// A service configured with the portal as a second issuer accepts the portal's
// tokens and the provider's alike, and still refuses a token from anyone else, a
// portal token for another service, and a token claiming the portal's issuer but
// signed with another key.
func TestPortalIsTrustedAlongsideTheProvider(t *testing.T) {
	t.Parallel()
	v, provider, portal := trustingBoth(t)
	stranger, _ := serveIssuer(t)
	lead := auth.Principal{Subject: "p-1", Role: auth.RoleLead, Org: "org1"}
	for name, iss := range map[string]*auth.DevIssuer{"provider": provider, "portal": portal} {
		tok, err := iss.MintFor(lead, 5*time.Minute, audience)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(context.Background(), tok)
		if err != nil || p.Subject != "p-1" || p.Role != auth.RoleLead || p.Org != "org1" {
			t.Errorf("%s token: %+v, %v", name, p, err)
		}
	}
	refuse := func(name, tok string) {
		t.Helper()
		_, err := v.Verify(context.Background(), tok)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Unauthenticated {
			t.Errorf("%s: err = %v, want unauthenticated", name, err)
		}
	}
	tok, _ := stranger.MintFor(lead, 5*time.Minute, audience)
	refuse("unknown issuer", tok)
	tok, _ = portal.MintFor(lead, 5*time.Minute, "tc-fund")
	refuse("portal token for another service", tok)
	// A stranger's key under the portal's name: the portal's keys do not check it.
	forged := claims(portal)
	tok = mint(t, stranger, forged)
	refuse("stranger's key claiming the portal's issuer", tok)
	// The provider's key under the portal's name, and the portal's under the provider's.
	refuse("provider's key claiming the portal", mint(t, provider, forged))
	asProvider := claims(provider)
	refuse("portal's key claiming the provider", mint(t, portal, asProvider))
}

// Without the portal settings, the portal's tokens are refused like any stranger's.
func TestPortalNotTrustedUnlessConfigured(t *testing.T) {
	t.Parallel()
	provider, providerKeys := serveIssuer(t)
	portal, _ := serveIssuer(t)
	v, err := auth.NewVerifier(config.Auth{JWKSURL: providerKeys, Issuer: provider.Issuer, Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := portal.MintFor(auth.Principal{Subject: "p-1", Role: auth.RoleLead, Org: "org1"}, 5*time.Minute, audience)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("a portal token was accepted by a service that does not trust the portal")
	}
}

// The two settings go together, keys come over https unless the local stack says
// otherwise, and the portal cannot share the provider's issuer name.
func TestPortalIssuerSettings(t *testing.T) {
	t.Parallel()
	base := config.Auth{JWKSURL: "https://id.example.org/jwks", Issuer: "https://id.example.org", Audience: audience, MaxTokenLifetime: time.Hour, MaxAPITokenLifetime: 90 * 24 * time.Hour}
	platform := func(a config.Auth) config.Platform {
		var p config.Platform
		if err := config.Defaults(&p); err != nil {
			t.Fatal(err)
		}
		p.HTTP.Addr, p.HTTP.AdminAddr = ":1", ":2"
		p.Mongo = config.Mongo{URI: "mongodb://db/?tls=true", Database: "d"}
		p.NATS.URL = "tls://bus"
		p.Auth = a
		return p
	}
	cases := map[string]struct {
		issuer, jwks string
		insecure, ok bool
	}{
		"neither":               {ok: true},
		"both":                  {issuer: "https://portal.example.org", jwks: "https://portal.example.org/.well-known/jwks.json", ok: true},
		"issuer alone":          {issuer: "https://portal.example.org"},
		"keys alone":            {jwks: "https://portal.example.org/.well-known/jwks.json"},
		"plain http":            {issuer: "http://127.0.0.1:8080", jwks: "http://127.0.0.1:8080/.well-known/jwks.json"},
		"plain http, local":     {issuer: "http://127.0.0.1:8080", jwks: "http://127.0.0.1:8080/.well-known/jwks.json", insecure: true, ok: true},
		"the provider's issuer": {issuer: "https://id.example.org", jwks: "https://portal.example.org/.well-known/jwks.json"},
	}
	for name, c := range cases {
		a := base
		a.PortalIssuer, a.PortalJWKSURL, a.AllowInsecureJWKS = c.issuer, c.jwks, c.insecure
		err := platform(a).Validate()
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok = %v", name, err, c.ok)
		}
	}
}

// A token verified before is recognised by its digest alone, whichever of the two
// issuers made it: it is not parsed again to find its issuer. Parsing it (base64,
// JSON, a map of its header) cost every request about 5% of the fund's CPU under the
// submit load, for tokens that a client sends again and again.
func TestARememberedTokenIsNotParsedAgain(t *testing.T) {
	v, provider, portal := trustingBoth(t)
	lead := auth.Principal{Subject: "p-1", Role: auth.RoleLead, Org: "org1"}
	for name, iss := range map[string]*auth.DevIssuer{"provider": provider, "portal": portal} {
		tok, err := iss.MintFor(lead, 5*time.Minute, audience)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s token: %v", name, err)
		}
		var p auth.Principal
		allocs := testing.AllocsPerRun(50, func() { p, err = v.Verify(context.Background(), tok) })
		if err != nil || p.Subject != "p-1" {
			t.Fatalf("%s token again: %+v, %v", name, p, err)
		}
		// The digest's copy of the token is the one allocation left.
		if allocs > 1 {
			t.Errorf("verifying a remembered %s token allocates %.0f times, want at most 1", name, allocs)
		}
	}
}

// trustingBoth serves an identity provider's keys and the portal's, and returns a
// Verifier that trusts both, as a service configured with the portal does.
func trustingBoth(t *testing.T) (v *auth.Verifier, provider, portal *auth.DevIssuer) {
	t.Helper()
	provider, providerKeys := serveIssuer(t)
	portal, portalKeys := serveIssuer(t)
	v, err := auth.NewVerifier(config.Auth{JWKSURL: providerKeys, Issuer: provider.Issuer, Audience: audience,
		PortalIssuer: portal.Issuer, PortalJWKSURL: portalKeys}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, provider, portal
}
