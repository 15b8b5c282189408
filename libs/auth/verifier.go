package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
)

// AllowedAlgorithms are the signing algorithms accepted; "none" and HMAC never are.
var AllowedAlgorithms = []string{"EdDSA", "RS256", "ES256"}

// Verifier checks bearer tokens against an issuer's JWKS.
type Verifier struct {
	jwksURL  string
	issuer   string
	audience string
	client   *http.Client

	mu        sync.Mutex
	keys      map[string]any
	fetchedAt time.Time
}

// refreshEvery bounds how long a key set is trusted, and minRefetch how often an
// unknown key id may trigger a refetch (so forged kids cannot hammer the issuer).
const (
	refreshEvery = 10 * time.Minute
	minRefetch   = 10 * time.Second
)

// NewVerifier returns a Verifier for the configured issuer. Keys are fetched on first use.
func NewVerifier(cfg config.Auth, client *http.Client) (*Verifier, error) {
	if cfg.JWKSURL == "" || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: JWKS URL, issuer and audience are required")
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Verifier{jwksURL: cfg.JWKSURL, issuer: cfg.Issuer, audience: cfg.Audience, client: client}, nil
}

// claims are the token's registered claims plus the suite's own.
type claims struct {
	jwt.RegisteredClaims
	Role  string `json:"role"`
	Org   string `json:"org,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Verify checks a token and returns the caller it names.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	var c claims
	parsed, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid)
	},
		jwt.WithValidMethods(AllowedAlgorithms),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30*time.Second),
	)
	if err != nil || !parsed.Valid {
		if ae, ok := apperr.As(err); ok && ae.Code == apperr.Unavailable {
			return Principal{}, ae
		}
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token is not valid")
	}
	role := Role(c.Role)
	if !role.Valid() {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token carries no known role")
	}
	if role != RoleOps && c.Org == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token names no organisation")
	}
	if c.Subject == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token names no subject")
	}
	return Principal{Subject: c.Subject, Role: role, Org: c.Org, Name: c.Name, Email: c.Email}, nil
}

func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	stale := time.Since(v.fetchedAt) > refreshEvery
	if k, ok := v.keys[kid]; ok && !stale {
		return k, nil
	}
	if v.keys == nil || stale || time.Since(v.fetchedAt) > minRefetch {
		if err := v.fetch(ctx); err != nil {
			if k, ok := v.keys[kid]; ok {
				return k, nil // keep trusting known keys while the issuer is unreachable
			}
			return nil, apperr.Wrap(apperr.Unavailable, err, "the token issuer's keys could not be fetched")
		}
	}
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown signing key %q", kid)
}

func (v *Verifier) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]any, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		keys[k.KeyID] = k.Public().Key
	}
	v.keys = keys
	v.fetchedAt = time.Now()
	return nil
}
