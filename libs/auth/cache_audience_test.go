package auth_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// The verified tokens a service remembers are its own audience's: once a caller's
// token is remembered, the same caller's token for another service, and the first
// token again with its audience changed and so its signature broken, are still
// refused, however often they are presented.
func TestARememberedTokenLetsNoOtherAudienceIn(t *testing.T) {
	t.Parallel()
	issuer, v := newIssuer(t)
	own := mint(t, issuer, claims(issuer))
	other := claims(issuer)
	other["aud"] = "tc-review"
	foreign := mint(t, issuer, other)
	parts := strings.Split(own, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"aud":"tc-signatory"`, `"aud":"tc-review"`, 1)))
	altered := strings.Join(parts, ".")
	if altered == own {
		t.Fatalf("the token's audience was not found to change: %s", payload)
	}
	for range 3 {
		if _, err := v.Verify(context.Background(), own); err != nil {
			t.Fatalf("own audience: %v", err)
		}
		if p, err := v.Verify(context.Background(), foreign); err == nil {
			t.Fatalf("a token for tc-review accepted as %+v", p)
		}
		if p, err := v.Verify(context.Background(), altered); err == nil {
			t.Fatalf("a remembered token with its audience changed accepted as %+v", p)
		}
	}
}
