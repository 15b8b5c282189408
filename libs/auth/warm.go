package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// warm checks one token of each kind keys sign, as verify checks a caller's, so that
// the first request after a start does not pay for what a process does only the first
// time: the signature algorithm's self-test and tables, and the decoders of a token's
// claims. The fund's first request after a restart spent 0.5-0.7 ms in verifying its
// token against 3-8 µs for the next (docs/BENCHMARKS.md).
//
// Nothing here is trusted: an Ed25519 or ECDSA token is signed by a key made for the
// purpose and checked against that key only; an RSA one, whose key would take long to
// make, is checked against the issuer's own key with a signature that cannot match.
// The keys checked are never among the issuer's.
func warm(keys map[string]any) {
	seen := map[string]bool{}
	for _, k := range keys {
		switch pub := k.(type) {
		case ed25519.PublicKey:
			if !seen["EdDSA"] {
				seen["EdDSA"] = true
				if _, own, err := ed25519.GenerateKey(rand.Reader); err == nil {
					warmWith(jwt.SigningMethodEdDSA, own, own.Public())
				}
			}
		case *ecdsa.PublicKey:
			if !seen["ES256"] {
				seen["ES256"] = true
				if own, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
					warmWith(jwt.SigningMethodES256, own, own.Public())
				}
			}
		case *rsa.PublicKey:
			if !seen["RS256"] {
				seen["RS256"] = true
				unsigned, err := warmToken(jwt.SigningMethodRS256).SigningString()
				if err == nil {
					check(unsigned+"."+base64.RawURLEncoding.EncodeToString(make([]byte, pub.Size())), pub)
				}
			}
		}
	}
}

// warmWith signs a token with key and checks it against public.
func warmWith(method jwt.SigningMethod, key, public any) {
	if token, err := warmToken(method).SignedString(key); err == nil {
		check(token, public)
	}
}

func warmToken(method jwt.SigningMethod) *jwt.Token {
	now := time.Now()
	return jwt.NewWithClaims(method, claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "warm", Subject: "warm", Audience: jwt.ClaimStrings{"warm"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}, Role: string(RoleOps)})
}

// check parses token as verify does, with public as the only key.
func check(token string, public any) {
	var c claims
	_, _ = jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return public, nil },
		jwt.WithValidMethods(AllowedAlgorithms), jwt.WithIssuer("warm"), jwt.WithAudience("warm"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(leeway))
}
