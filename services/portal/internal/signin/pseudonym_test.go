package signin_test

import (
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// testSecret keys the pseudonyms of the tests, as PORTAL_PSEUDONYM_KEY does the portal's.
const testSecret = "the portal's pseudonym secret, for the tests"

func testPseudonyms(tb testing.TB) signin.Pseudonyms {
	tb.Helper()
	ps, err := signin.NewPseudonyms([]byte(testSecret))
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// A lead's pseudonym is the actor the services' audit trails record for what they
// changed, kept after their erasure: it cannot be worked out from the address alone
// (as the unkeyed digest of earlier releases could), only with the portal's secret.
func TestAPseudonymCannotBeMadeWithoutThePortalsSecret(t *testing.T) {
	t.Parallel()
	const email = "Sam.Patel@Exampleton.ac.uk"
	ours := testPseudonyms(t)
	theirs, err := signin.NewPseudonyms([]byte("somebody else's secret of 32 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	p := ours.Of(email)
	if !strings.HasPrefix(p, "pk-") || len(p) != len("pk-")+24 {
		t.Errorf("pseudonym %q, want pk- and 24 hexadecimal digits", p)
	}
	if p != ours.Of(" sam.patel@exampleton.ac.uk") {
		t.Error("the pseudonym changes with the address's case or spaces")
	}
	// An erasure names the person by the digest of their address alone.
	if ours.OfSubject(personal.Subject(email)) != p {
		t.Error("the pseudonym is not found from the digest an erasure names the person by")
	}
	if again, _ := signin.NewPseudonyms([]byte(testSecret)); again.Of(email) != p {
		t.Error("the same secret makes another pseudonym: a replica, or the next start, would record another person")
	}
	if theirs.Of(email) == p {
		t.Error("another secret makes the same pseudonym: the address alone tells it")
	}
	if p == signin.UnkeyedPseudonym(email) || strings.Contains(p, strings.TrimPrefix(signin.UnkeyedPseudonym(email), "p-")) {
		t.Error("the pseudonym is the unkeyed digest anyone holding the address can make")
	}
	if got := ours.All(email); len(got) != 2 || got[0] != p || got[1] != signin.UnkeyedPseudonym(email) {
		t.Errorf("All = %v, want the keyed and the unkeyed pseudonym", got)
	}
	for _, short := range []string{"", "too short a secret"} {
		if _, err := signin.NewPseudonyms([]byte(short)); err == nil {
			t.Errorf("a secret of %d bytes was taken", len(short))
		}
	}
	if (signin.Pseudonyms{}).Keyed() {
		t.Error("pseudonyms made without a key say they are keyed")
	}
}
