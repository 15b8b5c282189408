package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// DevIssuer signs development tokens for the local stack and tests, and serves the
// matching JWKS, so that services verify them exactly as they verify production tokens.
type DevIssuer struct {
	Issuer   string
	Audience string
	key      ed25519.PrivateKey
	kid      string
}

// NewDevIssuer returns an issuer with a fresh key.
func NewDevIssuer(issuer, audience string) (*DevIssuer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate dev key: %w", err)
	}
	return &DevIssuer{Issuer: issuer, Audience: audience, key: key, kid: "dev-1"}, nil
}

// LoadOrCreateDevIssuer reads the issuer's key from path (PKCS#8 PEM), creating it on
// first use, so that tokens minted by `make token` stay valid across restarts.
func LoadOrCreateDevIssuer(path, issuer, audience string) (*DevIssuer, error) {
	if err := CreateKey(path); err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	key, err := LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	return &DevIssuer{Issuer: issuer, Audience: audience, key: key, kid: "dev-1"}, nil
}

// LoadDevIssuer reads the issuer's key from path, made by the local stack at its
// first start (LoadOrCreateDevIssuer); a missing key is an error, not a new key that
// no running stack would trust.
func LoadDevIssuer(path, issuer, audience string) (*DevIssuer, error) {
	key, err := LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("dev key: %w", err)
	}
	return &DevIssuer{Issuer: issuer, Audience: audience, key: key, kid: "dev-1"}, nil
}

// Mint signs a token for p valid for ttl, for the issuer's audience.
func (d *DevIssuer) Mint(p Principal, ttl time.Duration) (string, error) {
	return d.MintFor(p, ttl, d.Audience)
}

// MintFor signs a token for p valid for ttl, for the services named by audiences
// (each service accepts only a token whose aud names it).
func (d *DevIssuer) MintFor(p Principal, ttl time.Duration, audiences ...string) (string, error) {
	if len(audiences) == 0 || slices.Contains(audiences, "") {
		return "", errors.New("mint token: at least one audience, none empty, is required")
	}
	now := time.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    d.Issuer,
			Subject:   p.Subject,
			Audience:  jwt.ClaimStrings(audiences),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: string(p.Role), Org: p.Org, Name: p.Name, Email: p.Email,
	}
	return d.MintClaims(c)
}

// MintClaims signs arbitrary claims; tests use it to forge expired or wrong-audience tokens.
func (d *DevIssuer) MintClaims(c jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = d.kid
	s, err := t.SignedString(d.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// TokenClaims builds the claims Mint would sign, for tests that alter one of them.
func (d *DevIssuer) TokenClaims(p Principal, ttl time.Duration) jwt.Claims {
	now := time.Now()
	return claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: d.Issuer, Subject: p.Subject, Audience: jwt.ClaimStrings{d.Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Role: string(p.Role), Org: p.Org, Name: p.Name, Email: p.Email,
	}
}

// JWKSHandler serves the issuer's public key as a JWKS.
func (d *DevIssuer) JWKSHandler() http.Handler {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: d.key.Public(), KeyID: d.kid, Algorithm: "EdDSA", Use: "sig",
	}}}
	body, _ := json.Marshal(set)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(body)
	})
}
