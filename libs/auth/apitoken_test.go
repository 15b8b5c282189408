package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// standing is an in-memory APITokens: the verifier's side of the contract is what
// these tests prove; the fund's read model behind it has tests of its own.
type standing struct {
	mu    sync.Mutex
	valid map[string]string // token id -> organisation
	asked int
}

func (s *standing) InForce(_ context.Context, id, org string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked++
	if o, ok := s.valid[id]; ok && o == org {
		return nil
	}
	return apperr.New(apperr.Unauthenticated, "the API token is not in force")
}

func (s *standing) revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.valid, id)
}

// apiClaims are an API token's claims as the portal signs them, for lifetime days.
func apiClaims(iss *auth.DevIssuer, id, org string, lifetime time.Duration) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": iss.Issuer, "aud": audience, "sub": id, "jti": id, "role": "applicant", "org": org,
		"kind": auth.APITokenKind, "iat": now.Unix(), "exp": now.Add(lifetime).Unix()}
}

// apiVerifier trusts a provider and a portal, and accepts the portal's API tokens as
// reg says.
func apiVerifier(t *testing.T, reg auth.APITokens, maxAPI time.Duration) (provider, portal *auth.DevIssuer, v *auth.Verifier) {
	t.Helper()
	provider, providerKeys := serveIssuer(t)
	portal, portalKeys := serveIssuer(t)
	v, err := auth.NewVerifier(config.Auth{JWKSURL: providerKeys, Issuer: provider.Issuer, Audience: audience,
		PortalIssuer: portal.Issuer, PortalJWKSURL: portalKeys, MaxTokenLifetime: time.Hour, MaxAPITokenLifetime: maxAPI}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reg != nil {
		if err := v.AcceptAPITokens(reg); err != nil {
			t.Fatal(err)
		}
	}
	return provider, portal, v
}

func wantUnauthenticated(t *testing.T, what string, err error) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Unauthenticated {
		t.Errorf("%s: err = %v, want unauthenticated", what, err)
	}
}

// A portal API token lives for weeks, beyond AUTH_MAX_TOKEN_LIFETIME, and is accepted
// while its read model holds it in force; once revoked it is refused on the next
// request, although its signature was checked and remembered before.
func TestAPITokenAcceptedOnlyWhileInForce(t *testing.T) {
	t.Parallel()
	reg := &standing{valid: map[string]string{"tok1": "org1"}}
	_, portal, v := apiVerifier(t, reg, 90*24*time.Hour)
	tok := mint(t, portal, apiClaims(portal, "tok1", "org1", 60*24*time.Hour))
	for range 3 {
		p, err := v.Verify(context.Background(), tok)
		if err != nil || p.Role != auth.RoleApplicant || p.Org != "org1" || p.TokenID != "tok1" {
			t.Fatalf("in force: %+v, %v", p, err)
		}
	}
	reg.revoke("tok1")
	_, err := v.Verify(context.Background(), tok)
	wantUnauthenticated(t, "revoked", err)
	if reg.asked != 4 {
		t.Errorf("standing asked %d times, want once per request (4)", reg.asked)
	}
}

// What an API token may not be: longer-lived than AUTH_MAX_API_TOKEN_LIFETIME, without
// a jti, of another role, for another organisation than the one it was issued for,
// from the identity provider rather than the portal, or of an unknown kind; and an
// ordinary token still may not outlive AUTH_MAX_TOKEN_LIFETIME.
func TestAPITokenBounds(t *testing.T) {
	t.Parallel()
	reg := &standing{valid: map[string]string{"tok1": "org1"}}
	provider, portal, v := apiVerifier(t, reg, 30*24*time.Hour)
	ctx := context.Background()

	tooLong := apiClaims(portal, "tok1", "org1", 31*24*time.Hour)
	_, err := v.Verify(ctx, mint(t, portal, tooLong))
	wantUnauthenticated(t, "longer than the API bound", err)

	noID := apiClaims(portal, "tok1", "org1", time.Hour)
	delete(noID, "jti")
	_, err = v.Verify(ctx, mint(t, portal, noID))
	wantUnauthenticated(t, "no jti", err)

	lead := apiClaims(portal, "tok1", "org1", time.Hour)
	lead["role"] = "lead"
	_, err = v.Verify(ctx, mint(t, portal, lead))
	wantUnauthenticated(t, "lead role", err)

	otherOrg := apiClaims(portal, "tok1", "org2", time.Hour)
	_, err = v.Verify(ctx, mint(t, portal, otherOrg))
	wantUnauthenticated(t, "another organisation", err)

	fromProvider := apiClaims(provider, "tok1", "org1", time.Hour)
	_, err = v.Verify(ctx, mint(t, provider, fromProvider))
	wantUnauthenticated(t, "the provider's API token", err)

	unknown := apiClaims(portal, "tok1", "org1", time.Hour)
	unknown["kind"] = "forever"
	_, err = v.Verify(ctx, mint(t, portal, unknown))
	wantUnauthenticated(t, "unknown kind", err)

	ordinary := apiClaims(portal, "tok1", "org1", 2*time.Hour)
	delete(ordinary, "kind")
	_, err = v.Verify(ctx, mint(t, portal, ordinary))
	wantUnauthenticated(t, "ordinary token of two hours", err)
}

// A service that keeps no read model of API tokens refuses them all, and one that
// does not trust the portal cannot be told to accept them.
func TestAPITokensRefusedWhereNotAccepted(t *testing.T) {
	t.Parallel()
	_, portal, v := apiVerifier(t, nil, 0)
	_, err := v.Verify(context.Background(), mint(t, portal, apiClaims(portal, "tok1", "org1", time.Hour)))
	wantUnauthenticated(t, "service without API tokens", err)

	provider, keys := serveIssuer(t)
	alone, err := auth.NewVerifier(config.Auth{JWKSURL: keys, Issuer: provider.Issuer, Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := alone.AcceptAPITokens(&standing{}); err == nil {
		t.Error("a service that does not trust the portal was made to accept its API tokens")
	}
}
