package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
)

// TestLocalOIDCSignsOpsIn starts the stack's OpenID provider as `tcdev run` does and
// signs the ops user in with the password the banner prints, using exactly the
// settings tcdev hands the portal: the wiring (addresses at the offset, client
// secret, redirect URL, group) is what is under test; the protocol has its own tests
// in libs/oidcdev.
func TestLocalOIDCSignsOpsIn(t *testing.T) {
	data := t.TempDir()
	offset := freeOffset(t)
	o, err := startOIDC(data, offset)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.stop)

	env := map[string]string{}
	for _, kv := range o.portalEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	banner := o.banner()
	for _, want := range []string{o.issuer, oidcdev.LocalOpsEmail, o.secrets.OpsPassword} {
		if !strings.Contains(banner, want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner)
		}
	}
	if env["PORTAL_OIDC_REDIRECT_URL"] != "http://"+addr(portalPort, offset)+"/auth/callback" {
		t.Fatalf("redirect URL %q is not the portal's callback at the offset", env["PORTAL_OIDC_REDIRECT_URL"])
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar}
	provider, err := oidc.NewProvider(oidc.ClientContext(t.Context(), hc), env["PORTAL_OIDC_ISSUER"])
	if err != nil {
		t.Fatalf("discover the provider at %s: %v", env["PORTAL_OIDC_ISSUER"], err)
	}
	rp := oauth2.Config{
		ClientID: env["PORTAL_OIDC_CLIENT_ID"], ClientSecret: env["PORTAL_OIDC_CLIENT_SECRET"], RedirectURL: env["PORTAL_OIDC_REDIRECT_URL"],
		Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidcdev.ScopeGroups},
	}
	verifier := oauth2.GenerateVerifier()
	res := oidcdevtest.SignIn(t, hc, rp.AuthCodeURL("st", oidc.Nonce("n"), oauth2.S256ChallengeOption(verifier)), oidcdev.LocalOpsEmail, o.secrets.OpsPassword)
	if res.Location == nil || res.Location.Query().Get("code") == "" {
		t.Fatalf("sign-in with the banner's password: status %d location %v: %s", res.Status, res.Location, res.Body)
	}
	tok, err := rp.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, hc), res.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange with the portal's settings: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: env["PORTAL_OIDC_CLIENT_ID"]}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Groups []string `json:"groups"`
	}
	if err := idToken.Claims(&claims); err != nil || len(claims.Groups) != 1 || claims.Groups[0] != env["PORTAL_OPS_GROUP"] {
		t.Fatalf("groups %v (%v), want [%s]", claims.Groups, err, env["PORTAL_OPS_GROUP"])
	}
}

// TestLocalOIDCSecretsKeptPerDataDir: the password is made once per data directory,
// readable only by its owner, and differs between directories (it is in no code).
func TestLocalOIDCSecretsKeptPerDataDir(t *testing.T) {
	data := t.TempDir()
	first, err := startOIDC(data, freeOffset(t))
	if err != nil {
		t.Fatal(err)
	}
	first.stop()
	again, err := startOIDC(data, freeOffset(t))
	if err != nil {
		t.Fatal(err)
	}
	again.stop()
	other, err := startOIDC(t.TempDir(), freeOffset(t))
	if err != nil {
		t.Fatal(err)
	}
	other.stop()
	if first.secrets != again.secrets {
		t.Fatal("a second run on the same data directory made new secrets")
	}
	if first.secrets.OpsPassword == other.secrets.OpsPassword || first.secrets.ClientSecret == other.secrets.ClientSecret {
		t.Fatal("two data directories share secrets")
	}
	fi, err := os.Stat(filepath.Join(data, oidcSecretsFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", oidcSecretsFile, fi.Mode().Perm())
	}
}
