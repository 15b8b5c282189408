package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// Warming takes keys of every kind an issuer may publish, and of a kind it does not
// know, without failing: it checks tokens of its own making and trusts nothing.
func TestWarmingTakesEveryKindOfKey(t *testing.T) {
	ed, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]any{"ed": ed, "ec": &ec.PublicKey, "rs": &rs.PublicKey, "odd": []byte("not a key")}
	warm(keys)
	if len(keys) != 4 {
		t.Errorf("warming changed the keys: %v", keys)
	}
}
