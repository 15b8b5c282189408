package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/inwords"
)

// AllowedAlgorithms are the signing algorithms accepted; "none" and HMAC never are.
var AllowedAlgorithms = []string{"EdDSA", "RS256", "ES256"}

// Verifier checks bearer tokens against an issuer's JWKS.
type Verifier struct {
	jwksURL     string
	issuer      string
	audience    string
	maxLifetime time.Duration
	client      *http.Client

	// now is the clock every time check uses; tests move it.
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]any
	lastSeen  map[string]time.Time // by key id: the last fetch that held the key
	fetchedAt time.Time
	// currentKeys is the key set in use, replaced (never changed) by each fetch, so that
	// a remembered token can tell whether its signature was checked against it.
	currentKeys atomic.Pointer[keySet]

	verifiedMu sync.RWMutex
	verified   map[[sha256.Size]byte]verifiedToken

	// portal verifies the tokens of the second trusted issuer, the portal, when one
	// is configured (AUTH_PORTAL_ISSUER): same audience and lifetime, its own keys.
	portal *Verifier

	// apiTokens, when set (on the portal's verifier only), says which of the
	// portal's API tokens are in force; without it API tokens are refused.
	apiTokens      APITokens
	maxAPILifetime time.Duration
}

// keySet marks one fetch of the issuer's keys.
type keySet struct{ fetchedAt time.Time }

// verifiedToken is a token that passed every check, remembered so that a client
// sending the same token on every request pays for one signature check rather than
// one per request (an Ed25519 check was a third of the HTTP pipeline's CPU). It is
// trusted only while nothing those checks depended on has changed: the token has not
// expired, and the key set it was checked against is still the one in use and not
// due for a refresh. Everything else Verify checks (issuer, audience, algorithm,
// role, organisation, subject) is fixed by the token's bytes.
type verifiedToken struct {
	principal Principal
	expires   time.Time // exp plus the leeway
	keys      *keySet
}

// refreshEvery bounds how long a key set is trusted, and minRefetch how often an
// unknown key id may trigger a refetch (so forged kids cannot hammer the issuer).
// leeway is the clock skew allowed between the issuer and the service.
const (
	refreshEvery = 10 * time.Minute
	minRefetch   = 10 * time.Second
	// keyGrace is how long a key is trusted after the issuer stopped publishing it:
	// longer than a rolling restart of the portal takes, short beside the life of a
	// key (a key withdrawn because it leaked is trusted this much longer).
	keyGrace = 15 * time.Minute
	leeway   = 30 * time.Second
)

// maxVerified bounds the tokens remembered: enough for every caller active in one
// token lifetime, small enough (about a megabyte at most) not to matter.
const maxVerified = 4096

// DefaultMaxTokenLifetime bounds exp-iat when the configuration leaves it zero.
const DefaultMaxTokenLifetime = time.Hour

// DefaultMaxAPITokenLifetime bounds exp-iat of an API token when the configuration
// leaves it zero.
const DefaultMaxAPITokenLifetime = 90 * 24 * time.Hour

// APITokenKind is the kind claim of an API token: a token the portal issues, at a
// person's request, to their organisation's own tools. It lives for weeks rather
// than minutes, so a service accepts one only while the portal vouches for it
// (see APITokens), checked on every request.
const APITokenKind = "api"

// APITokens says whether the API token id, issued for org, is in force: issued by the
// portal, not revoked and not expired. It returns nil when it is, an
// apperr.Unauthenticated error when it is not, and any other error when it cannot
// tell (the token is then refused all the same).
type APITokens interface {
	InForce(ctx context.Context, id, org string) error
}

// AcceptAPITokens makes v accept the portal's API tokens, each only while tokens says
// it is in force. Call it before v is first used. Tokens of that kind from any other
// issuer, or at a service that did not call it, are refused.
func (v *Verifier) AcceptAPITokens(tokens APITokens) error {
	if tokens == nil {
		return errors.New("auth: accepting API tokens needs their read model")
	}
	if v.portal == nil {
		return errors.New("auth: API tokens are issued by the portal, which this service is not configured to trust (AUTH_PORTAL_ISSUER)")
	}
	v.portal.apiTokens = tokens
	return nil
}

// NewVerifier returns a Verifier for the configured issuer. Keys are fetched on first use.
func NewVerifier(cfg config.Auth, client *http.Client) (*Verifier, error) {
	if cfg.JWKSURL == "" || cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: JWKS URL, issuer and audience are required")
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	maxLifetime := cfg.MaxTokenLifetime
	if maxLifetime <= 0 {
		maxLifetime = DefaultMaxTokenLifetime
	}
	maxAPILifetime := cfg.MaxAPITokenLifetime
	if maxAPILifetime <= 0 {
		maxAPILifetime = DefaultMaxAPITokenLifetime
	}
	v := &Verifier{jwksURL: cfg.JWKSURL, issuer: cfg.Issuer, audience: cfg.Audience, maxLifetime: maxLifetime,
		client: client, now: time.Now, verified: map[[sha256.Size]byte]verifiedToken{}, lastSeen: map[string]time.Time{}}
	switch {
	case cfg.PortalIssuer != "" && cfg.PortalJWKSURL != "":
		if cfg.PortalIssuer == cfg.Issuer {
			return nil, errors.New("auth: the portal's issuer must differ from the identity provider's")
		}
		v.portal = &Verifier{jwksURL: cfg.PortalJWKSURL, issuer: cfg.PortalIssuer, audience: cfg.Audience, maxLifetime: maxLifetime,
			maxAPILifetime: maxAPILifetime, client: client, now: time.Now, verified: map[[sha256.Size]byte]verifiedToken{}, lastSeen: map[string]time.Time{}}
	case cfg.PortalIssuer != "" || cfg.PortalJWKSURL != "":
		return nil, errors.New("auth: the portal's issuer and JWKS URL go together")
	}
	return v, nil
}

// Prefetch fetches the issuers' keys now, and warms the checking of tokens signed by
// keys of their kinds (see warm), so that the first request after a start waits for
// neither. A failure is returned for the caller to log and is not
// final: a request that finds no keys fetches them as before.
func (v *Verifier) Prefetch(ctx context.Context) error { return v.fetchIssuers(ctx, false) }

// fetchIssuers fetches each issuer's keys (only those whose keys are not held, when
// missingOnly) and warms the checking of tokens signed by them.
func (v *Verifier) fetchIssuers(ctx context.Context, missingOnly bool) error {
	var errs []error
	for _, w := range []*Verifier{v, v.portal} {
		if w == nil {
			continue
		}
		w.mu.Lock()
		fetch := !missingOnly || w.keys == nil
		var err error
		if fetch {
			err = w.fetch(ctx)
		}
		keys := w.keys
		w.mu.Unlock()
		errs = append(errs, err)
		if fetch {
			warm(keys)
		}
	}
	return errors.Join(errs...)
}

// AwaitKeys fetches, until they are held, the keys of each issuer whose keys are not
// held yet: what a service does when Prefetch failed at start, as it does whenever
// the portal (one of the issuers) starts after the service. It waits 250 ms before the
// first try and twice as long before each next, up to 5 s, and returns nil once every
// issuer's keys are held (by its own fetch or a request's) or ctx's error when ctx
// ends first. If they are still not held after patience, it calls late once with the
// last failure, so that an issuer that stays away is reported and one that is only
// starting is not.
func (v *Verifier) AwaitKeys(ctx context.Context, patience time.Duration, late func(error)) error {
	start, wait := v.now(), 250*time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		err := v.fetchIssuers(ctx, true)
		if err == nil {
			return nil
		}
		if late != nil && v.now().Sub(start) >= patience {
			late(err)
			late = nil
		}
	}
}

// issuerOf reads a token's iss claim without checking anything, only to choose whose
// keys check it; the chosen verifier then checks the issuer like every other claim.
func issuerOf(token string) string {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return ""
	}
	return c.Issuer
}

// claims are the token's registered claims plus the suite's own.
type claims struct {
	jwt.RegisteredClaims
	Role  string `json:"role"`
	Org   string `json:"org,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	// Kind is empty for an ordinary token, APITokenKind for an API token.
	Kind string `json:"kind,omitempty"`
}

// Verify checks a token and returns the caller it names.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	// The digest stands for the token, so that the tokens remembered take a fixed
	// room and no bearer credential is kept longer than its request.
	sum := sha256.Sum256([]byte(token))
	// A token one of the issuers' verifiers remembers is that issuer's (it checked the
	// signature); only a token neither remembers is parsed to choose whose keys check it.
	for _, w := range []*Verifier{v.portal, v} {
		if w == nil {
			continue
		}
		if p, ok := w.recall(sum); ok {
			return w.standing(ctx, p)
		}
	}
	w := v
	if v.portal != nil && issuerOf(token) == v.portal.issuer {
		w = v.portal
	}
	p, err := w.verify(ctx, token, sum)
	if err != nil {
		return p, err
	}
	return w.standing(ctx, p)
}

// standing returns p, the caller a token of this issuer names, once its standing is
// known: an API token's is asked of the service's read model of them.
func (v *Verifier) standing(ctx context.Context, p Principal) (Principal, error) {
	if p.TokenID == "" {
		return p, nil
	}
	// An API token's signature may be remembered, its standing never: asked on every
	// request, so that a revoked token stops as soon as the service hears of it.
	if v.apiTokens == nil {
		return Principal{}, apperr.New(apperr.Unauthenticated, "this service does not accept API tokens")
	}
	if err := v.apiTokens.InForce(ctx, p.TokenID, p.Org); err != nil {
		if ae, ok := apperr.As(err); ok && (ae.Code == apperr.Unauthenticated || ae.Code == apperr.Unavailable) {
			return Principal{}, ae
		}
		return Principal{}, apperr.Wrap(apperr.Unavailable, err, "the API token's standing could not be checked")
	}
	return p, nil
}

// verify checks everything the token's bytes (whose digest is sum) and the issuer's
// keys decide, for a token not remembered (recall), and remembers it.
func (v *Verifier) verify(ctx context.Context, token string, sum [sha256.Size]byte) (Principal, error) {
	var c claims
	var keys *keySet
	parsed, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		var k any
		var err error
		k, keys, err = v.key(ctx, kid)
		return k, err
	},
		jwt.WithValidMethods(AllowedAlgorithms),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil || !parsed.Valid {
		if ae, ok := apperr.As(err); ok && ae.Code == apperr.Unavailable {
			return Principal{}, ae
		}
		if errors.Is(err, jwt.ErrTokenInvalidAudience) {
			// Said plainly, since a token for another service of the suite is the
			// likely mistake.
			return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token is not for this service: its audience (aud) must name %s", v.audience)
		}
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			// The one refusal a caller with a good token meets in the ordinary way.
			return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token has expired: get a new one")
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token is not valid yet (is the issuer's clock ahead?)")
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token is from an issuer this service does not trust")
		}
		return Principal{}, apperr.Wrap(apperr.Unauthenticated, err, "the bearer token is not valid")
	}
	// A token is good for a bounded time from when it was issued, whatever exp its
	// issuer wrote: a token minted for years, once leaked, would be good for years.
	if c.IssuedAt == nil {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token has no issued-at time (iat); it must say when it was issued")
	}
	role := Role(c.Role)
	maxLifetime := v.maxLifetime
	switch c.Kind {
	case "":
	case APITokenKind:
		// An API token has its own, longer bound, and only where its standing can be
		// asked: the portal's issuer, at a service that keeps the tokens' read model.
		if v.apiTokens == nil {
			return Principal{}, apperr.New(apperr.Unauthenticated, "this service does not accept API tokens from this issuer")
		}
		if c.ID == "" || role != RoleApplicant {
			return Principal{}, apperr.New(apperr.Unauthenticated, "an API token must name its id (jti) and carry the applicant role")
		}
		maxLifetime = v.maxAPILifetime
	default:
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token is of an unknown kind")
	}
	if lifetime := c.ExpiresAt.Sub(c.IssuedAt.Time); lifetime > maxLifetime {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token is valid for %s from its issue, longer than the longest accepted, %s",
			inwords.Duration(lifetime), inwords.Duration(maxLifetime))
	}
	if !role.Valid() {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token carries no known role")
	}
	if role != RoleOps && c.Org == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token names no organisation")
	}
	if c.Subject == "" {
		return Principal{}, apperr.New(apperr.Unauthenticated, "the bearer token names no subject")
	}
	p := Principal{Subject: c.Subject, Role: role, Org: c.Org, Name: c.Name, Email: c.Email}
	if c.Kind == APITokenKind {
		p.TokenID = c.ID
	}
	v.remember(sum, verifiedToken{principal: p, expires: c.ExpiresAt.Add(leeway), keys: keys})
	return p, nil
}

// recall returns the caller of a token verified before, if it is still to be trusted
// (see verifiedToken); otherwise the token is checked afresh, as if never seen.
func (v *Verifier) recall(sum [sha256.Size]byte) (Principal, bool) {
	v.verifiedMu.RLock()
	t, ok := v.verified[sum]
	v.verifiedMu.RUnlock()
	if !ok {
		return Principal{}, false
	}
	now := v.now()
	if t.keys != v.currentKeys.Load() || now.Sub(t.keys.fetchedAt) > refreshEvery || !now.Before(t.expires) {
		return Principal{}, false
	}
	return t.principal, true
}

// remember keeps a verified token, first making room when the map is full: expired
// tokens and those checked against an older key set go, and then, if that was not
// enough, an arbitrary one.
func (v *Verifier) remember(sum [sha256.Size]byte, t verifiedToken) {
	if t.keys == nil {
		return
	}
	v.verifiedMu.Lock()
	defer v.verifiedMu.Unlock()
	if len(v.verified) >= maxVerified {
		now, current := v.now(), v.currentKeys.Load()
		for k, old := range v.verified {
			if old.keys != current || !now.Before(old.expires) {
				delete(v.verified, k)
			}
		}
		for k := range v.verified {
			if len(v.verified) < maxVerified {
				break
			}
			delete(v.verified, k)
		}
	}
	v.verified[sum] = t
}

// key returns the public key kid names and the key set it came from.
func (v *Verifier) key(ctx context.Context, kid string) (any, *keySet, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	stale := v.now().Sub(v.fetchedAt) > refreshEvery
	if k, ok := v.trusted(kid); ok && !stale {
		return k, v.currentKeys.Load(), nil
	}
	if v.keys == nil || stale || v.now().Sub(v.fetchedAt) > minRefetch {
		if err := v.fetch(ctx); err != nil {
			if k, ok := v.trusted(kid); ok {
				return k, v.currentKeys.Load(), nil // keep trusting known keys while the issuer is unreachable
			}
			return nil, nil, apperr.Wrap(apperr.Unavailable, err, "the token issuer's keys could not be fetched")
		}
	}
	if k, ok := v.trusted(kid); ok {
		return k, v.currentKeys.Load(), nil
	}
	return nil, nil, fmt.Errorf("unknown signing key %q", kid)
}

// trusted is the key kid names if it is trusted now: published at the latest fetch,
// or by one less than keyGrace ago. v.mu is held.
func (v *Verifier) trusted(kid string) (any, bool) {
	k, ok := v.keys[kid]
	if !ok {
		return nil, false
	}
	if seen := v.lastSeen[kid]; !seen.Equal(v.fetchedAt) && v.now().Sub(seen) > keyGrace {
		return nil, false
	}
	return k, true
}

func (v *Verifier) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// The address may carry a user and password (sent as basic auth); the errors,
	// which are logged, name it with them hidden.
	at := config.WithoutPassword(v.jwksURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", config.WithoutPasswordIn(err, v.jwksURL))
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch JWKS: %w", config.WithoutPasswordIn(err, v.jwksURL))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch JWKS: %s answered %d", at, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode JWKS from %s: %w", at, err)
	}
	now := v.now()
	keys := make(map[string]any, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		keys[k.KeyID] = k.Public().Key
		v.lastSeen[k.KeyID] = now
	}
	// A key the issuer no longer publishes is still trusted for keyGrace after the
	// fetch that last held it: while the portal's pods restart onto a new key, each
	// publishes its own, and a fetch that reached a new pod dropped the old pods' key,
	// so that every service refused the tokens of whichever pods it had not asked last.
	for kid, k := range v.keys {
		if _, held := keys[kid]; !held && now.Sub(v.lastSeen[kid]) <= keyGrace {
			keys[kid] = k
		}
	}
	for kid := range v.lastSeen {
		if _, kept := keys[kid]; !kept {
			delete(v.lastSeen, kid)
		}
	}
	v.keys = keys
	v.fetchedAt = now
	v.currentKeys.Store(&keySet{fetchedAt: v.fetchedAt})
	return nil
}
