package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
)

// verifiers returns, for each service, a verifier configured as the local stack
// configures that service, trusting the key in dataDir.
func verifiers(t *testing.T, dataDir string) map[string]*auth.Verifier {
	t.Helper()
	issuer, err := auth.LoadOrCreateDevIssuer(filepath.Join(dataDir, "dev-signing-key.pem"), issuerURL, "unused")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(issuer.JWKSHandler())
	t.Cleanup(jwks.Close)
	out := map[string]*auth.Verifier{}
	for _, s := range serviceNames() {
		v, err := auth.NewVerifier(config.Auth{JWKSURL: jwks.URL, Issuer: issuerURL, Audience: config.DevAudience(s)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[s] = v
	}
	return out
}

// TestTokensAreForTheServicesTheRoleCalls: `tcdev token` mints a token each service
// of the local stack accepts when its audience names it, by default the services
// the role calls, and none other.
func TestTokensAreForTheServicesTheRoleCalls(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	tests := []struct {
		args []string
		want []string // the services that accept the token
	}{
		{[]string{"-role", "ops"}, []string{"signatory", "review", "notify", "fund"}},
		{[]string{"-role", "lead", "-org", "o1"}, []string{"signatory", "review", "notify", "fund"}},
		{[]string{"-role", "reviewer", "-org", "o1"}, []string{"review", "notify"}},
		{[]string{"-role", "applicant", "-org", "o1"}, []string{"fund"}},
		{[]string{"-role", "lead", "-org", "o1", "-aud", "review,notify"}, []string{"review", "notify"}},
		{[]string{"-role", "applicant", "-org", "o1", "-aud", "all"}, []string{"signatory", "review", "notify", "fund"}},
		{[]string{"-role", "ops", "-aud", "signatory", "-ttl", "15m"}, []string{"signatory"}},
	}
	// The key is the stack's, made at its first start (here by the verifiers).
	vs := verifiers(t, dataDir)
	var out bytes.Buffer
	for _, tt := range tests {
		out.Reset()
		if err := printToken(append([]string{"-data", dataDir}, tt.args...), &out); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		tok := strings.TrimSpace(out.String())
		for _, s := range serviceNames() {
			_, err := vs[s].Verify(context.Background(), tok)
			if want := slices.Contains(tt.want, s); (err == nil) != want {
				t.Errorf("%v at %s: err = %v, want accepted %t", tt.args, s, err, want)
			}
		}
	}
}

func TestTokenRefusesWhatTheServicesWouldRefuse(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	verifiers(t, dataDir) // the stack's key: each refusal is the arguments'
	for _, args := range [][]string{
		{"-role", "ops", "-ttl", "12h"},
		{"-role", "ops", "-ttl", "0s"},
		{"-role", "ops", "-aud", "portal"},
		{"-role", "lead"}, // no organisation
		{"-role", "admin"},
	} {
		var out bytes.Buffer
		if err := printToken(append([]string{"-data", dataDir}, args...), &out); err == nil {
			t.Errorf("%v: minted %s", args, out.String())
		}
	}
}

// A token is signed with the key of the stack named by -data: a directory holding
// none (a forgotten DATA_DIR, a stack on another port offset) is an error naming the
// key, and no key is made there. A new key signed a token every service refused.
func TestATokenNeedsTheStacksKey(t *testing.T) {
	t.Parallel()
	nowhere := filepath.Join(t.TempDir(), "no-stack")
	var out bytes.Buffer
	err := printToken([]string{"-data", nowhere, "-role", "ops"}, &out)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(nowhere, "dev-signing-key.pem")) || !strings.Contains(err.Error(), "-data") {
		t.Errorf("a token for a directory with no stack's key: %v, %q; want an error naming the key and -data", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(nowhere, "dev-signing-key.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key was made for a directory no stack runs on: %v", err)
	}
}

// TestMakeTokenReadsDATA_DIRAsMakeRunDoes: `make run DATA_DIR=<dir>` keeps the stack's
// data, its signing key included, in <dir> read from the repository's root, as the
// README has people type it; `make token DATA_DIR=<dir>`, the README's next step,
// must read the key from the same place. Before, its recipe changed into devstack/
// first, so a relative <dir> named another directory and every token was refused
// for want of a key.
func TestMakeTokenReadsDATA_DIRAsMakeRunDoes(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	vs := verifiers(t, dataDir) // the stack's key, made at its first start
	rel, err := filepath.Rel(root, dataDir)
	if err != nil || filepath.IsAbs(rel) {
		t.Skipf("no relative path from %s to %s: %v", root, dataDir, err)
	}
	cmd := exec.Command("make", "-s", "token", "ROLE=lead", "ORG=o1", "DATA_DIR="+rel)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=go1.27.3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make token DATA_DIR=%s, from the repository's root: %v\n%s", rel, err, stderr.String())
	}
	if _, err := vs["signatory"].Verify(context.Background(), strings.TrimSpace(string(out))); err != nil {
		t.Errorf("make token DATA_DIR=%s: signatory refuses its token: %v", rel, err)
	}
}
