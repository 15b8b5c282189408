package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

const audience = "technician-commitment"

// newIssuer serves a development issuer's JWKS over HTTP and returns the issuer and a
// Verifier that trusts it.
func newIssuer(tb testing.TB) (*auth.DevIssuer, *auth.Verifier) {
	tb.Helper()
	jwks := httptest.NewServer(nil)
	tb.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, audience)
	if err != nil {
		tb.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	v, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: issuer.Issuer, Audience: audience}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return issuer, v
}

// claims are a valid token's claims, for a test to spoil one of.
func claims(issuer *auth.DevIssuer) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": issuer.Issuer, "aud": audience, "sub": "sam", "role": "lead", "org": "org1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func mint(tb testing.TB, issuer *auth.DevIssuer, c jwt.Claims) string {
	tb.Helper()
	tok, err := issuer.MintClaims(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestVerifyGivesThePrincipal(t *testing.T) {
	t.Parallel()
	issuer, v := newIssuer(t)
	for _, want := range []auth.Principal{
		{Subject: "sam", Role: auth.RoleLead, Org: "org1", Name: "Sam Lead", Email: "sam@example.ac.uk"},
		{Subject: "rita", Role: auth.RoleReviewer, Org: "org2"},
		{Subject: "ann", Role: auth.RoleApplicant, Org: "org3"},
		{Subject: "alice", Role: auth.RoleOps}, // ITSS staff act for no one organisation
	} {
		tok, err := issuer.Mint(want, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Errorf("%s: %v", want.Role, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: principal (-want +got):\n%s", want.Role, diff)
		}
	}
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	t.Parallel()
	issuer, v := newIssuer(t)
	impostor, err := auth.NewDevIssuer(issuer.Issuer, audience) // same issuer name and key id, another key
	if err != nil {
		t.Fatal(err)
	}
	spoil := func(edit func(jwt.MapClaims)) string {
		c := claims(issuer)
		edit(c)
		return mint(t, issuer, c)
	}
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(issuer)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withKid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(issuer))
	withKid.Header["kid"] = "nobody"
	unknownKid, err := withKid.SignedString(stranger)
	if err != nil {
		t.Fatal(err)
	}
	hmac, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(issuer)).SignedString([]byte("guessed"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		cause error // the jwt check that refused it; nil for the suite's own checks
	}{
		{"alg none", unsigned, jwt.ErrTokenSignatureInvalid},
		{"HMAC", hmac, jwt.ErrTokenSignatureInvalid},
		{"signed by another key", mint(t, impostor, claims(issuer)), jwt.ErrTokenSignatureInvalid},
		{"expired", spoil(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), jwt.ErrTokenExpired},
		{"no expiry", spoil(func(c jwt.MapClaims) { delete(c, "exp") }), jwt.ErrTokenRequiredClaimMissing},
		{"not yet valid", spoil(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), jwt.ErrTokenNotValidYet},
		{"wrong audience", spoil(func(c jwt.MapClaims) { c["aud"] = "someone-else" }), jwt.ErrTokenInvalidAudience},
		{"wrong issuer", spoil(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), jwt.ErrTokenInvalidIssuer},
		{"unknown key id", unknownKid, jwt.ErrTokenUnverifiable},
		{"garbage", "a.b.c", jwt.ErrTokenMalformed},
		{"no organisation for a lead", spoil(func(c jwt.MapClaims) { delete(c, "org") }), nil},
		{"no organisation for an applicant", spoil(func(c jwt.MapClaims) { c["role"] = "applicant"; c["org"] = "" }), nil},
		{"unknown role", spoil(func(c jwt.MapClaims) { c["role"] = "admin" }), nil},
		{"no role", spoil(func(c jwt.MapClaims) { delete(c, "role") }), nil},
		{"no subject", spoil(func(c jwt.MapClaims) { delete(c, "sub") }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := v.Verify(context.Background(), tt.token)
			if !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("Verify = %+v, %v; want Unauthenticated", p, err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("refused for %v, want %v", err, tt.cause)
			}
		})
	}
}

func TestUnreachableIssuerIsUnavailableNotUnauthenticated(t *testing.T) {
	t.Parallel()
	issuer, err := auth.NewDevIssuer("http://127.0.0.1:1", audience)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(config.Auth{JWKSURL: "http://127.0.0.1:1/jwks", Issuer: issuer.Issuer, Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Mint(auth.Principal{Subject: "x", Role: auth.RoleOps}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("err = %v, want Unavailable", err)
	}
}

// clockedIssuer is newIssuer with a clock the test moves and a JWKS endpoint whose
// keys the test can replace.
func clockedIssuer(tb testing.TB, now *time.Time) (*auth.DevIssuer, *auth.Verifier, func(http.Handler)) {
	tb.Helper()
	var jwks atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*jwks.Load()).ServeHTTP(w, r) }))
	tb.Cleanup(srv.Close)
	issuer, err := auth.NewDevIssuer(srv.URL, audience)
	if err != nil {
		tb.Fatal(err)
	}
	serve := func(h http.Handler) { jwks.Store(&h) }
	serve(issuer.JWKSHandler())
	v, err := auth.NewVerifier(config.Auth{JWKSURL: srv.URL, Issuer: issuer.Issuer, Audience: audience}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	auth.SetClock(v, func() time.Time { return *now })
	return issuer, v, serve
}

func TestAVerifiedTokenIsRefusedOnceExpired(t *testing.T) {
	t.Parallel()
	now := time.Now()
	issuer, v, _ := clockedIssuer(t, &now)
	c := claims(issuer)
	tok := mint(t, issuer, c)
	exp := time.Unix(c["exp"].(int64), 0)
	for _, at := range []time.Time{now, exp, exp.Add(29 * time.Second)} { // within the 30 s leeway
		now = at
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("at exp%+v: %v", at.Sub(exp), err)
		}
	}
	for _, at := range []time.Time{exp.Add(30 * time.Second), exp.Add(time.Hour)} {
		now = at
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Errorf("at exp%+v: err = %v, want expired", at.Sub(exp), err)
		}
	}
}

func TestAVerifiedTokenIsRefusedOnceItsKeyIsGone(t *testing.T) {
	t.Parallel()
	now := time.Now()
	issuer, v, serve := clockedIssuer(t, &now)
	tok := mint(t, issuer, claims(issuer))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates its key under the same key id; the verifier learns of it
	// when its key set is next refreshed.
	rotated, err := auth.NewDevIssuer(issuer.Issuer, audience)
	if err != nil {
		t.Fatal(err)
	}
	serve(rotated.JWKSHandler())
	now = now.Add(5 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("before the refresh: %v", err)
	}
	now = now.Add(6 * time.Minute)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("after the refresh: err = %v, want an invalid signature", err)
	}
	if _, err := v.Verify(context.Background(), mint(t, rotated, claims(issuer))); err != nil {
		t.Errorf("a token signed with the new key: %v", err)
	}
}

// BenchmarkVerify is one caller presenting the same token on every request.
func BenchmarkVerify(b *testing.B) {
	issuer, v := newIssuer(b)
	tok, err := issuer.Mint(auth.Principal{Subject: "sam", Role: auth.RoleLead, Org: "org1"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
