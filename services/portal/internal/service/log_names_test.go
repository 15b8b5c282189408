package service

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The log names the person who asked for a sign-in link by a digest keyed with a
// secret: it told one person's requests apart by their Pseudonym, an unkeyed digest
// of the address, which anyone reading the log could work out from a guessed address
// ("when did s.patel@... sign in?"), even after that person's erasure.
func TestTheLogNamesPeopleByADigestOnlyThePortalCanMake(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	const lead = "lead-logged@example.ac.uk"
	org := onboard(t, p, sig, "University of Loggington", lead)
	for range 2 {
		p.do("POST", "/signin", "", url.Values{"email": {lead}})
	}
	// The links are sent after the answer, as the answer says nothing of them.
	sent := regexp.MustCompile(`"msg":"sign-in link sent"[^\n]*"person":"([^"]+)"`)
	var logs string
	var named [][]string
	testenv.Eventually(t, 10*time.Second, func() error {
		logs = p.logs.String()
		if named = sent.FindAllStringSubmatch(logs, -1); len(named) < 2 {
			return fmt.Errorf("%d links sent so far", len(named))
		}
		return nil
	})
	if named[0][1] != named[1][1] {
		t.Fatalf("the two requests are logged as %q, want one name twice:\n%s", named, logs)
	}
	// The lead signs in and makes an API token: its issue is logged without its maker.
	cookie := p.signIn(lead)
	page := "/organisations/" + org + "/tokens"
	k := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(p.do("GET", page, cookie, nil).body)
	if k == nil {
		t.Fatal("the new-token form carries no key")
	}
	if r := p.do("POST", page, cookie, url.Values{"name": {"Logged tool"}, "days": {"30"}, "key": {k[1]}}); r.status != http.StatusCreated {
		t.Fatalf("making the token = %d: %s", r.status, r.body)
	}
	logs = p.logs.String()
	if !strings.Contains(logs, "API token issued") {
		t.Fatalf("the token's issue is not logged:\n%s", logs)
	}
	for _, tell := range []string{lead, pseudonymOf(t, lead), signin.UnkeyedPseudonym(lead)} {
		if strings.Contains(logs, tell) {
			t.Errorf("the log holds %q, from which anyone can tell who signed in", tell)
		}
	}
}
