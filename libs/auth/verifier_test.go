package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// audience is the service under test's: the signatory service's, as in the local stack.
const audience = "tc-signatory"

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
		{"another service's audience", spoil(func(c jwt.MapClaims) { c["aud"] = []string{"tc-review", "tc-fund"} }), jwt.ErrTokenInvalidAudience},
		{"the suite-wide audience of old", spoil(func(c jwt.MapClaims) { c["aud"] = "technician-commitment" }), jwt.ErrTokenInvalidAudience},
		{"no audience", spoil(func(c jwt.MapClaims) { delete(c, "aud") }), jwt.ErrTokenRequiredClaimMissing},
		{"valid for ten years", spoil(func(c jwt.MapClaims) { c["exp"] = time.Now().AddDate(10, 0, 0).Unix() }), nil},
		{"valid for a second more than allowed", spoil(func(c jwt.MapClaims) { c["exp"] = c["iat"].(int64) + 3601 }), nil},
		{"no issued-at", spoil(func(c jwt.MapClaims) { delete(c, "iat") }), nil},
		{"issued in the future", spoil(func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(10 * time.Minute).Unix()
			c["exp"] = time.Now().Add(time.Hour).Unix()
		}), jwt.ErrTokenUsedBeforeIssued},
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

// TestTokenLifetimeIsBounded: a token is accepted for at most the configured
// lifetime from its issue (an hour unless configured), and the problem says why not.
func TestTokenLifetimeIsBounded(t *testing.T) {
	t.Parallel()
	jwks := httptest.NewServer(nil)
	t.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, audience)
	if err != nil {
		t.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	for _, tt := range []struct {
		max      time.Duration // configured; 0 is the default
		lifetime time.Duration
		ok       bool
		// says is how the refusal gives the lifetimes, in words (it gave Go's
		// "1h0m1s" and "1h0m0s").
		says string
	}{
		{0, time.Hour, true, ""},
		{0, time.Hour + time.Second, false, "valid for 1 hour 1 second from its issue, longer than the longest accepted, an hour"},
		{0, 12 * time.Hour, false, "valid for 12 hours from its issue, longer than the longest accepted, an hour"},
		{15 * time.Minute, 15 * time.Minute, true, ""},
		{15 * time.Minute, time.Hour, false, "valid for an hour from its issue, longer than the longest accepted, 15 minutes"},
		{8 * time.Hour, 8 * time.Hour, true, ""},
	} {
		v, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: issuer.Issuer, Audience: audience, MaxTokenLifetime: tt.max}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := issuer.Mint(auth.Principal{Subject: "sam", Role: auth.RoleOps}, tt.lifetime)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok)
		if tt.ok {
			if err != nil {
				t.Errorf("max %s, token for %s: %v", tt.max, tt.lifetime, err)
			}
			continue
		}
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Unauthenticated || !strings.Contains(ae.Error(), tt.says) {
			t.Errorf("max %s, token for %s: err = %v, want Unauthenticated saying %q", tt.max, tt.lifetime, err, tt.says)
		}
	}
}

// TestATokenForSeveralServicesIsAcceptedByEach: a token whose aud names several
// services is good at each of them and at no other.
func TestATokenForSeveralServicesIsAcceptedByEach(t *testing.T) {
	t.Parallel()
	jwks := httptest.NewServer(nil)
	t.Cleanup(jwks.Close)
	issuer, err := auth.NewDevIssuer(jwks.URL, audience)
	if err != nil {
		t.Fatal(err)
	}
	jwks.Config.Handler = issuer.JWKSHandler()
	tok, err := issuer.MintFor(auth.Principal{Subject: "rita", Role: auth.RoleReviewer, Org: "org2"}, time.Hour, "tc-review", "tc-notify")
	if err != nil {
		t.Fatal(err)
	}
	for aud, ok := range map[string]bool{"tc-review": true, "tc-notify": true, "tc-signatory": false, "tc-fund": false} {
		v, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: issuer.Issuer, Audience: aud}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), tok)
		if (err == nil) != ok {
			t.Errorf("service %s: err = %v, want accepted %t", aud, err, ok)
		}
		if ae, refused := apperr.As(err); refused && !strings.Contains(ae.Message, "must name "+aud) {
			t.Errorf("service %s: refused with %q, which does not say the audience must name it", aud, ae.Message)
		}
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

// While the portal's pods restart onto a new signing key, each publishes its own: the
// verifier's fetches reach old and new pods in turn. Tokens signed with either key
// are accepted throughout; a key no fetch has held for keyGrace (15 minutes) is no
// longer trusted. (Each fetch replaced the keys, so a service refused the tokens of
// whichever pods it had not asked last.)
func TestKeysOfPodsOnEitherSideOfARotationAreBothTrusted(t *testing.T) {
	t.Parallel()
	now := time.Now()
	issuer, v, serve := clockedIssuer(t, &now)
	keys := map[string]ed25519.PrivateKey{}
	sets := map[string]http.Handler{}
	for _, kid := range []string{"old", "new"} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[kid] = priv
		set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: "EdDSA", Use: "sig"}}})
		if err != nil {
			t.Fatal(err)
		}
		sets[kid] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(set) })
	}
	token := func(kid string) string {
		c := claims(issuer)
		c["iat"], c["exp"] = now.Unix(), now.Add(time.Hour).Unix()
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(keys[kid])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Every pod had the old key. The rollout: each refresh of the key set (every 10
	// minutes) reaches an old pod or a new one, as a load balancer spreads them.
	serve(sets["old"])
	if _, err := v.Verify(context.Background(), token("old")); err != nil {
		t.Fatal(err)
	}
	for i, pod := range []string{"new", "old", "new", "old", "new"} {
		serve(sets[pod])
		now = now.Add(11 * time.Minute)
		for _, kid := range []string{"old", "new"} {
			if _, err := v.Verify(context.Background(), token(kid)); err != nil {
				t.Fatalf("refresh %d (from a pod with the %s key): a token signed with the %s key: %v", i, pod, kid, err)
			}
		}
	}
	// The rollout is over: the last pod with the old key answered 11 minutes ago.
	// Its key is trusted until 15 minutes after that, whether or not a fetch runs.
	now = now.Add(3 * time.Minute)
	if _, err := v.Verify(context.Background(), token("old")); err != nil {
		t.Fatalf("14 minutes after the last pod with the old key answered: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(context.Background(), token("old")); err == nil {
		t.Error("16 minutes after the last pod with the old key answered, its tokens are still accepted")
	}
	if _, err := v.Verify(context.Background(), token("new")); err != nil {
		t.Errorf("the new key's token: %v", err)
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

// TestPrefetchedKeysServeTheFirstRequest: keys fetched at start (Prefetch, which the
// platform calls before a service is ready) serve the first token, which then waits
// for no fetch from the issuer.
func TestPrefetchedKeysServeTheFirstRequest(t *testing.T) {
	t.Parallel()
	issuer, keys := counted(t, 0)
	v, err := auth.NewVerifier(config.Auth{JWKSURL: keys.url, Issuer: issuer.Issuer, Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := keys.fetches.Load()
	if before != 1 {
		t.Fatalf("Prefetch fetched the keys %d times, want once", before)
	}
	if _, err := v.Verify(context.Background(), mint(t, issuer, claims(issuer))); err != nil {
		t.Fatal(err)
	}
	if n := keys.fetches.Load() - before; n != 0 {
		t.Errorf("the first token fetched the keys %d times after Prefetch, want none", n)
	}
}

// A refusal says why in words a caller can act on: an expired token is the one a
// caller with a good token meets in the ordinary way, and it says so.
func TestARefusedTokenSaysWhy(t *testing.T) {
	t.Parallel()
	issuer, v := newIssuer(t)
	spoil := func(edit func(jwt.MapClaims)) string {
		c := claims(issuer)
		edit(c)
		return mint(t, issuer, c)
	}
	for _, tt := range []struct {
		name, token, says string
	}{
		{"expired", spoil(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "has expired"},
		{"issued in the future", spoil(func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(10 * time.Minute).Unix()
			c["exp"] = time.Now().Add(time.Hour).Unix()
		}), "not valid yet"},
		{"wrong issuer", spoil(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), "issuer this service does not trust"},
	} {
		_, err := v.Verify(context.Background(), tt.token)
		if e, ok := apperr.As(err); !ok || !strings.Contains(e.Message, tt.says) {
			t.Errorf("%s: %v, want a message saying %q", tt.name, err, tt.says)
		}
	}
}

// TestAwaitKeysFetchesWhatStartCouldNot: the portal, one of the two issuers, usually
// starts after the services. A service whose Prefetch failed for it fetches its keys
// in the background once it answers (the provider's, held already, are not fetched
// again), says nothing late, and the first portal token then waits for no fetch.
func TestAwaitKeysFetchesWhatStartCouldNot(t *testing.T) {
	t.Parallel()
	provider, providerKeys := counted(t, 0)
	portal, portalKeys := counted(t, 2) // down for its first two requests
	v, err := auth.NewVerifier(config.Auth{JWKSURL: providerKeys.url, Issuer: provider.Issuer, Audience: audience,
		PortalIssuer: portal.Issuer, PortalJWKSURL: portalKeys.url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Prefetch(context.Background()); err == nil || !strings.Contains(err.Error(), portalKeys.url) {
		t.Fatalf("Prefetch with the portal down: %v, want its failure naming the portal's keys", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var late []error
	if err := v.AwaitKeys(ctx, 5*time.Second, func(err error) { late = append(late, err) }); err != nil {
		t.Fatalf("AwaitKeys: %v", err)
	}
	if len(late) != 0 {
		t.Errorf("an issuer that answered within the patience was reported late: %v", late)
	}
	if n := providerKeys.fetches.Load(); n != 1 {
		t.Errorf("the provider's keys, held since the start, were fetched %d times, want once", n)
	}
	if n := portalKeys.fetches.Load(); n != 3 {
		t.Errorf("the portal's keys were asked for %d times, want 3 (two refused, then fetched)", n)
	}
	before := portalKeys.fetches.Load()
	tok, err := portal.MintFor(auth.Principal{Subject: "p-1", Role: auth.RoleLead, Org: "org1"}, 5*time.Minute, audience)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := portalKeys.fetches.Load() - before; n != 0 {
		t.Errorf("the first portal token fetched the keys %d times, want none", n)
	}
}

// TestAwaitKeysReportsAnIssuerThatStaysAway: an issuer still unreachable after the
// patience is reported once, with why, and AwaitKeys goes on until its context ends.
func TestAwaitKeysReportsAnIssuerThatStaysAway(t *testing.T) {
	t.Parallel()
	_, keys := counted(t, 1<<30)
	v, err := auth.NewVerifier(config.Auth{JWKSURL: keys.url, Issuer: "https://idp.example", Audience: audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var late []error
	err = v.AwaitKeys(ctx, 500*time.Millisecond, func(err error) { late = append(late, err) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AwaitKeys on an issuer that stays away: %v, want the context's end", err)
	}
	if len(late) != 1 || !strings.Contains(late[0].Error(), "503") {
		t.Errorf("reported %v, want once, saying the issuer answered 503", late)
	}
	if n := keys.fetches.Load(); n < 3 {
		t.Errorf("asked the issuer %d times in 2 s, want it tried again and again", n)
	}
}

// jwksServer is an issuer's keys served over HTTP, counting the requests.
type jwksServer struct {
	url     string
	fetches atomic.Int32
}

// counted serves a new development issuer's keys, answering 503 to the first down
// requests. The handler is set before the server starts: a process that is not this
// one (a test's child) may ask for the keys, and nothing but the start orders its
// request after the handler was set.
func counted(tb testing.TB, down int32) (*auth.DevIssuer, *jwksServer) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer, err := auth.NewDevIssuer("http://"+srv.Listener.Addr().String(), audience)
	if err != nil {
		tb.Fatal(err)
	}
	s := &jwksServer{url: "http://" + srv.Listener.Addr().String() + "/.well-known/jwks.json"}
	keys := issuer.JWKSHandler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.fetches.Add(1) <= down {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		keys.ServeHTTP(w, r)
	})
	srv.Start()
	tb.Cleanup(srv.Close)
	return issuer, s
}

// TestAKeyFetchThatFailsQuotesNoPassword: the keys may be behind a user and
// password given in AUTH_JWKS_URL (the client sends them as basic auth), and a
// fetch that fails is logged. Its error names the address with them hidden,
// whether the server refused or answered what is no key set.
func TestAKeyFetchThatFailsQuotesNoPassword(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]http.HandlerFunc{
		"refused": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"no JSON": func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) },
	} {
		srv := httptest.NewServer(answer)
		t.Cleanup(srv.Close)
		jwksURL := strings.Replace(srv.URL, "http://", "http://svc:s3cret@", 1) + "/jwks.json"
		v, err := auth.NewVerifier(config.Auth{JWKSURL: jwksURL, Issuer: "https://login.example", Audience: audience}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = v.Prefetch(context.Background())
		if err == nil {
			t.Errorf("%s: Prefetch = nil, want the failure", name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "(user and password hidden)@") {
			t.Errorf("%s: %v, want the address named with its user and password hidden", name, err)
		}
	}
}
