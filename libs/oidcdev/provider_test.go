package oidcdev_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
)

const (
	redirectURI = "http://127.0.0.1:8080/auth/callback"
	secret      = "portal-client-secret-for-tests"
	password    = "correct horse battery staple"
)

// relyingParty is the portal's side of the flow, written out plainly with go-oidc
// and x/oauth2 so the provider is checked against the libraries the portal uses.
type relyingParty struct {
	issuer   string
	hc       *http.Client
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func startProvider(t *testing.T) relyingParty {
	t.Helper()
	local := oidcdev.Local{OpsPassword: password, ClientSecret: secret}
	issuer := oidcdevtest.Start(t, oidcdev.Config{
		ClientID:     oidcdev.LocalClientID,
		ClientSecret: secret,
		RedirectURIs: []string{redirectURI},
		Users:        []oidcdev.User{local.OpsUser()},
	})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar}
	ctx := oidc.ClientContext(t.Context(), hc)
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return relyingParty{
		issuer: issuer,
		hc:     hc,
		oauth: oauth2.Config{
			ClientID: oidcdev.LocalClientID, ClientSecret: secret, RedirectURL: redirectURI,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidcdev.ScopeGroups},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: oidcdev.LocalClientID}),
	}
}

func (rp relyingParty) ctx(t *testing.T) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, rp.hc)
}

func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)
	verifier := oauth2.GenerateVerifier()
	authURL := rp.oauth.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier))

	res := oidcdevtest.SignIn(t, rp.hc, authURL, "OPS@itss.example", password)
	if res.Location == nil || !strings.HasPrefix(res.Location.String(), redirectURI+"?") {
		t.Fatalf("after sign-in: status %d, location %v, want a redirect to %s: %s", res.Status, res.Location, redirectURI, res.Body)
	}
	q := res.Location.Query()
	if q.Get("state") != "state-1" || q.Get("code") == "" {
		t.Fatalf("callback query %v: want state-1 and a code", q)
	}

	tok, err := rp.oauth.Exchange(rp.ctx(t), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := rp.verifier.Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Name          string   `json:"name"`
		Groups        []string `json:"groups"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idToken.Nonce != "nonce-1" || idToken.Subject != "local-ops" || claims.Email != oidcdev.LocalOpsEmail ||
		!claims.EmailVerified || claims.Name != oidcdev.LocalOpsName || !slices.Contains(claims.Groups, oidcdev.LocalOpsGroup) {
		t.Fatalf("ID token: nonce %q sub %q claims %+v", idToken.Nonce, idToken.Subject, claims)
	}
	if alg := headerAlg(t, raw); alg != "RS256" {
		t.Fatalf("ID token signed with %s, want RS256", alg)
	}

	// A code is good once.
	if _, err := rp.oauth.Exchange(rp.ctx(t), q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("second exchange of the same code succeeded")
	}
}

func TestWrongPasswordRefused(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)
	verifier := oauth2.GenerateVerifier()
	authURL := rp.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))
	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", oidcdev.LocalOpsEmail, password + "!"},
		{"unknown address", "someone@itss.example", password},
		{"empty password", oidcdev.LocalOpsEmail, ""},
	} {
		res := oidcdevtest.SignIn(t, rp.hc, authURL, tc.email, tc.password)
		if res.Status != http.StatusUnauthorized || res.Location != nil || !strings.Contains(res.Body, "not right") {
			t.Fatalf("%s: status %d location %v, want 401 and the login page again: %s", tc.name, res.Status, res.Location, res.Body)
		}
		if !strings.Contains(res.Body, `aria-describedby="signin-error"`) || strings.Contains(res.Body, "<script") {
			t.Fatalf("%s: the error is not tied to the fields, or the page has script: %s", tc.name, res.Body)
		}
	}
}

func TestMissingPKCERefused(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)

	// Without a code challenge the provider answers the callback with an error and
	// never shows the login page.
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no challenge":    nil,
		"plain challenge": {oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		res := oidcdevtest.SignIn(t, rp.hc, rp.oauth.AuthCodeURL("s", opts...), oidcdev.LocalOpsEmail, password)
		if res.Location == nil || res.Location.Query().Get("error") != "invalid_request" || res.Location.Query().Get("code") != "" {
			t.Fatalf("%s: status %d location %v, want a redirect with error=invalid_request: %s", name, res.Status, res.Location, res.Body)
		}
	}

	// With a challenge, the exchange needs its verifier. (Each case has a code of
	// its own, since a failed exchange spends the code.)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no verifier":      nil,
		"another verifier": {oauth2.VerifierOption(oauth2.GenerateVerifier())},
	} {
		verifier := oauth2.GenerateVerifier()
		res := oidcdevtest.SignIn(t, rp.hc, rp.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), oidcdev.LocalOpsEmail, password)
		code := res.Location.Query().Get("code")
		if code == "" {
			t.Fatalf("no code: %v", res.Location)
		}
		if _, err := rp.oauth.Exchange(rp.ctx(t), code, opts...); err == nil {
			t.Fatalf("exchange with %s succeeded", name)
		}
	}
}

func TestWrongClientSecretRefused(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)
	verifier := oauth2.GenerateVerifier()
	res := oidcdevtest.SignIn(t, rp.hc, rp.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), oidcdev.LocalOpsEmail, password)
	wrong := rp.oauth
	wrong.ClientSecret = "not-the-secret-of-the-portal"
	if _, err := wrong.Exchange(rp.ctx(t), res.Location.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("exchange with a wrong client secret succeeded")
	}
}

func TestUnregisteredRedirectRefused(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)
	other := rp.oauth
	other.RedirectURL = "http://127.0.0.1:9999/auth/callback"
	res := oidcdevtest.SignIn(t, rp.hc, other.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), oidcdev.LocalOpsEmail, password)
	if res.Status != http.StatusBadRequest || res.Location != nil {
		t.Fatalf("status %d location %v, want 400 and no redirect", res.Status, res.Location)
	}
}

func headerAlg(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwtHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCodeRedeemedOnceUnderRace exchanges each code from many clients at once: a
// code is single use, so exactly one of them gets tokens, round after round.
func TestCodeRedeemedOnceUnderRace(t *testing.T) {
	t.Parallel()
	rp := startProvider(t)
	const rounds, n = 8, 16
	for round := range rounds {
		verifier := oauth2.GenerateVerifier()
		res := oidcdevtest.SignIn(t, rp.hc, rp.oauth.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), oidcdev.LocalOpsEmail, password)
		code := res.Location.Query().Get("code")
		var wg sync.WaitGroup
		var won atomic.Int32
		start := make(chan struct{})
		ctx, cfg := rp.ctx(t), &rp.oauth // rp is not copied while the exchanges run
		for range n {
			wg.Go(func() {
				<-start
				if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
					won.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := won.Load(); got != 1 {
			t.Fatalf("round %d: %d of %d concurrent exchanges of one code got tokens, want exactly 1", round, got, n)
		}
	}
}
