package signin

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/itss/techcommit/libs/personal"
)

// MinPseudonymSecret is the shortest secret pseudonyms are keyed with, in bytes.
const MinPseudonymSecret = 32

// Pseudonyms make the identifier the portal records a person by where their address
// must not be: the subject of the tokens it signs for a lead (so the actor
// "lead:<pseudonym>" of every commit the lead makes in the services' event stores,
// their streams' tc-actor header and /history), the maker of an API token, the lead
// who named a colleague, the reviewer of a saved review. Each is a digest of the
// address keyed with a secret only the portal holds (PORTAL_PSEUDONYM_KEY), so that
// nobody who holds or guesses an address, an erased one included, can tell which
// of those records are that person's without the portal's secret.
//
// Releases before this one recorded an unkeyed digest instead (UnkeyedPseudonym):
// records made under it stay, so every lookup by pseudonym looks for All of them.
type Pseudonyms struct{ key []byte }

// NewPseudonyms keys the pseudonyms with a key derived from secret, which every
// replica shares and which never changes: a new secret would make every lead a new
// person in the audit trails, and orphan what the portal keeps under the old one.
// The secret is not used as it is, so that it could key nothing else by mistake.
func NewPseudonyms(secret []byte) (Pseudonyms, error) {
	if len(secret) < MinPseudonymSecret {
		return Pseudonyms{}, fmt.Errorf("signin: the pseudonyms' secret must be at least %d bytes", MinPseudonymSecret)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "tc-portal pseudonyms", 32)
	if err != nil {
		return Pseudonyms{}, fmt.Errorf("signin: derive the pseudonyms' key: %w", err)
	}
	return Pseudonyms{key: key}, nil
}

// Keyed reports whether p was made by NewPseudonyms, with a key.
func (p Pseudonyms) Keyed() bool { return len(p.key) > 0 }

// Of is the pseudonym of an address: "pk-" and 24 hexadecimal digits. The prefix
// tells it from the unkeyed "p-" of earlier releases.
func (p Pseudonyms) Of(email string) string { return p.OfSubject(personal.Subject(email)) }

// OfSubject is the pseudonym of the address whose digest is sub (personal.Subject):
// an erasure, which names the person by that digest alone, finds by it what the
// portal keeps under their pseudonym.
func (p Pseudonyms) OfSubject(sub string) string {
	if len(p.key) == 0 {
		// A zero Pseudonyms would key with nothing: the digest anyone could make.
		panic(errors.New("signin: pseudonyms used without a key (NewPseudonyms)"))
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(sub))
	return "pk-" + hex.EncodeToString(m.Sum(nil)[:12])
}

// All are the pseudonyms records of the address may hold: the keyed one and the
// unkeyed one of records made before it (tokens, colleagues, saved reviews, and
// the commits made with tokens signed by an earlier release).
func (p Pseudonyms) All(email string) []string {
	return []string{p.Of(email), UnkeyedPseudonym(email)}
}

// UnkeyedPseudonym is the pseudonym releases before keyed pseudonyms recorded: an
// unkeyed digest of the address, which anyone holding the address can work out.
// It is only looked for, never written.
func UnkeyedPseudonym(email string) string {
	sum := sha256.Sum256([]byte("tc-portal-person:" + NormaliseEmail(email)))
	return "p-" + hex.EncodeToString(sum[:12])
}
