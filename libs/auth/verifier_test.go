package auth_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

func setup(t *testing.T) (*auth.DevIssuer, *auth.Verifier) {
	t.Helper()
	jwks := httptest.NewServer(nil)
	t.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, "aud")
	if err != nil {
		t.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	v, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: jwks.URL, Audience: "aud"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return issuer, v
}

func TestVerifyAcceptsGoodTokensAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	issuer, v := setup(t)
	good, _ := issuer.Mint(auth.Principal{Subject: "sam", Role: auth.RoleLead, Org: "org1", Email: "sam@example.ac.uk"}, time.Hour)
	p, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "sam" || p.Role != auth.RoleLead || p.Org != "org1" || !p.ActsFor("org1") || p.ActsFor("org2") {
		t.Errorf("principal %+v", p)
	}

	noOrg, _ := issuer.Mint(auth.Principal{Subject: "x", Role: auth.RoleApplicant}, time.Hour)
	badRole, _ := issuer.MintClaims(jwt.MapClaims{"iss": issuer.Issuer, "aud": "aud", "sub": "x", "role": "admin", "exp": time.Now().Add(time.Hour).Unix()})
	noExp, _ := issuer.MintClaims(jwt.MapClaims{"iss": issuer.Issuer, "aud": "aud", "sub": "x", "role": "ops"})
	wrongIss, _ := issuer.MintClaims(jwt.MapClaims{"iss": "https://evil.example", "aud": "aud", "sub": "x", "role": "ops", "exp": time.Now().Add(time.Hour).Unix()})
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuer.Issuer, "aud": "aud", "sub": "x", "role": "ops", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hmac, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuer.Issuer, "aud": "aud", "sub": "x", "role": "ops", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("guess"))
	for name, tok := range map[string]string{
		"no organisation": noOrg, "unknown role": badRole, "no expiry": noExp, "wrong issuer": wrongIss,
		"alg none": unsigned, "HMAC": hmac, "garbage": "a.b.c",
	} {
		if _, err := v.Verify(context.Background(), tok); !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("%s: %v, want Unauthenticated", name, err)
		}
	}
}

func TestUnreachableIssuerIsUnavailableNotUnauthenticated(t *testing.T) {
	t.Parallel()
	issuer, err := auth.NewDevIssuer("http://127.0.0.1:1", "aud")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(config.Auth{JWKSURL: "http://127.0.0.1:1/jwks", Issuer: issuer.Issuer, Audience: "aud"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := issuer.Mint(auth.Principal{Subject: "x", Role: auth.RoleOps}, time.Hour)
	if _, err := v.Verify(context.Background(), tok); !apperr.Is(err, apperr.Unavailable) {
		t.Errorf("err = %v, want Unavailable", err)
	}
}
