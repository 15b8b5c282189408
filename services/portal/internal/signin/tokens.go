package signin

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/clock"
)

// TokenLifetime is how long a token the portal signs is good for: one page's calls,
// with room for a slow one. A token that leaks from a log or a proxy is soon useless.
const TokenLifetime = 5 * time.Minute

// Minter signs the short-lived tokens with which the portal calls the services for
// the person signed in. Their role and organisation come from the suite's own
// records (see People), never from anything the person typed.
type Minter struct {
	issuer string
	key    ed25519.PrivateKey
	kid    string
	clock  clock.Clock
	jwks   []byte
}

// NewMinter returns a Minter signing as issuer with key.
func NewMinter(issuer string, key ed25519.PrivateKey, clk clock.Clock) (*Minter, error) {
	if issuer == "" || len(key) != ed25519.PrivateKeySize || clk == nil {
		return nil, errors.New("signin: issuer, an Ed25519 key and a clock are required")
	}
	pub := key.Public().(ed25519.PublicKey)
	// The key id is the key's own digest, so that a new key is told apart from the old
	// by every service that cached the old one, without anyone numbering keys.
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:12])
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: "EdDSA", Use: "sig"}}})
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return &Minter{issuer: issuer, key: key, kid: kid, clock: clk, jwks: jwks}, nil
}

// tokenClaims are the claims the services read (see libs/auth).
type tokenClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role"`
	Org  string `json:"org,omitempty"`
	// Name and Email are an API token's maker (MintAPITokenBy), never a person's
	// short-lived token's (Mint).
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Kind  string `json:"kind,omitempty"`
}

// Mint signs a token for p to call the service whose audience is aud. The token
// carries no name or email: the services need neither, and a token is personal data
// in every log line that keeps it.
func (m *Minter) Mint(p auth.Principal, aud string) (string, error) {
	if aud == "" || p.Subject == "" || !p.Role.Valid() {
		return "", errors.New("mint token: a subject, a role and an audience are required")
	}
	now := m.clock.Now()
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: m.issuer, Subject: p.Subject, Audience: jwt.ClaimStrings{aud},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenLifetime)),
		},
		Role: string(p.Role), Org: p.Org,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = m.kid
	s, err := t.SignedString(m.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// MintAPIToken signs an API token: for org's own tools to call the service whose
// audience is aud, as an applicant, until expires. Its id (jti) is the token's record
// in the portal and in the service's read model, which the service asks on every
// request (see libs/auth.APITokenKind), so it is refused once revoked whatever exp says.
func (m *Minter) MintAPIToken(id, org, aud string, expires time.Time) (string, error) {
	return m.MintAPITokenBy(id, org, aud, expires, "", "")
}

// MintAPITokenBy is MintAPIToken for a token that names the person who made it (their
// name and the address they signed in with), whom the fund then takes as the
// applicant of what the token drafts and writes to (apitokens.MakerMinter).
func (m *Minter) MintAPITokenBy(id, org, aud string, expires time.Time, name, email string) (string, error) {
	if id == "" || org == "" || aud == "" {
		return "", errors.New("mint API token: an id, an organisation and an audience are required")
	}
	now := m.clock.Now()
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: m.issuer, Subject: id, Audience: jwt.ClaimStrings{aud}, ID: id,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
		Role: string(auth.RoleApplicant), Org: org, Name: name, Email: email, Kind: auth.APITokenKind,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = m.kid
	s, err := t.SignedString(m.key)
	if err != nil {
		return "", fmt.Errorf("sign API token: %w", err)
	}
	return s, nil
}

// JWKS serves the public key, for the services to verify the portal's tokens.
func (m *Minter) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(m.jwks)
	})
}
