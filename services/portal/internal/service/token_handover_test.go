package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// changeLead has ops give org's nominated lead a new name and address, as the
// contacts page (or PUT /v1/organisations/{id}/contacts) does.
func (s *fundStack) changeLead(t *testing.T, org, name, email string) {
	t.Helper()
	ops, err := s.sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+org+"/contacts", ops, map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@example.ac.uk"},
		"nominated_lead":   map[string]any{"name": name, "email": email},
		"point_of_contact": map[string]any{"name": "Technical Services Office", "email": "technicians@example.ac.uk"},
		"plan_page":        "https://www.example.ac.uk/technician-commitment",
	}))
	s.p.waitFor(email, func(person signin.Person) bool { _, ok := person.LeadOf(org); return ok })
}

// makeToken has the person signed in with cookie make a token for org, and returns it.
func (s *fundStack) makeToken(t *testing.T, org, cookie, name string) string {
	t.Helper()
	made := s.p.do("POST", "/organisations/"+org+"/tokens", cookie, url.Values{"name": {name}, "days": {"30"}})
	if made.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", made.status, made.body)
	}
	return secretOn(t, made.body)
}

// refusedSaying waits until the fund refuses tok with 401 and a detail that says
// each of says.
func (s *fundStack) refusedSaying(t *testing.T, tok string, says ...string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		r := s.fund.Do("GET", "/v1/applications", tok, nil)
		if r.Status != http.StatusUnauthorized {
			return fmt.Errorf("the fund answers the token %d, want 401", r.Status)
		}
		detail, _ := r.JSON(t)["detail"].(string)
		for _, w := range says {
			if !strings.Contains(detail, w) {
				return fmt.Errorf("the refusal says %q, not %q", detail, w)
			}
		}
		return nil
	})
}

// A token acts for the person who made it: once the lead hands the role on, the
// tokens they made (and those of the colleagues they named) no longer act for the
// organisation. The fund refuses them saying why, and the new lead's tokens page
// says what happened. A token the new lead makes works.
func TestATokenMadeBeforeTheLeadHandsOverIsRefusedAfterIt(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.openRound(t)
	old := s.p.signIn("lead-a@example.ac.uk")
	if r := s.p.do("POST", "/organisations/"+org+"/applicants", old, url.Values{"applicant_name": {"Dev Eloper"}, "applicant_email": {"dev@example.ac.uk"}}); r.status != http.StatusSeeOther {
		t.Fatalf("naming a colleague = %d: %s", r.status, r.body)
	}
	leads := s.makeToken(t, org, old, "Lead's uploader")
	colleagues := s.makeToken(t, org, s.p.signIn("dev@example.ac.uk"), "Colleague's uploader")
	s.draftWith(t, leads, round, "lead-a@example.ac.uk")
	s.draftWith(t, colleagues, round, "lead-a@example.ac.uk")

	s.changeLead(t, org, "Chris Lee", "c.lee@example.ac.uk")
	for _, tok := range []string{leads, colleagues} {
		s.refusedSaying(t, tok, "revoked", "no longer the organisation's nominated lead")
	}
	lead := s.p.signIn("c.lee@example.ac.uk")
	page := s.p.do("GET", "/organisations/"+org+"/tokens", lead, nil)
	if n := strings.Count(shownText(t, page.body), "no longer the organisation's nominated lead"); n != 2 {
		t.Errorf("the new lead's tokens page says %d times why a token was revoked, want 2: %s", n, shownText(t, page.body))
	}
	s.draftWith(t, s.makeToken(t, org, lead, "New uploader"), round, "c.lee@example.ac.uk")
}

// A token carries the address of the person who made it, and the fund writes to it:
// once the lead's address is corrected, a token made with the old one is revoked
// (the fund would otherwise send its receipts to both addresses), and the fund and
// the tokens page say so. A token made after the correction works.
func TestATokenMadeBeforeTheLeadsAddressIsCorrectedIsRefusedAfterIt(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "sam.patel@old.example.ac.uk")
	round := s.openRound(t)
	before := s.makeToken(t, org, s.p.signIn("sam.patel@old.example.ac.uk"), "Uploader")
	s.draftWith(t, before, round, "sam.patel@old.example.ac.uk")

	s.changeLead(t, org, "Sam Patel", "sam.patel@example.ac.uk")
	s.refusedSaying(t, before, "revoked", "address of the lead who made it was corrected")
	lead := s.p.signIn("sam.patel@example.ac.uk")
	if page := shownText(t, s.p.do("GET", "/organisations/"+org+"/tokens", lead, nil).body); !strings.Contains(page, "address was corrected") {
		t.Errorf("the tokens page does not say why the token was revoked: %s", page)
	}
	s.draftWith(t, s.makeToken(t, org, lead, "Uploader"), round, "sam.patel@example.ac.uk")
}

// A colleague the lead removes no longer acts for the organisation, and neither do
// the tokens they made: the fund refuses them saying why, and the page says they
// were revoked. The lead's own token keeps working.
func TestTheTokensOfAColleagueTheLeadRemovesAreRefused(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.openRound(t)
	lead := s.p.signIn("lead-a@example.ac.uk")
	if r := s.p.do("POST", "/organisations/"+org+"/applicants", lead, url.Values{"applicant_name": {"Dev Eloper"}, "applicant_email": {"dev@example.ac.uk"}}); r.status != http.StatusSeeOther {
		t.Fatalf("naming a colleague = %d: %s", r.status, r.body)
	}
	dev := s.p.signIn("dev@example.ac.uk")
	colleagues := []string{s.makeToken(t, org, dev, "CI"), s.makeToken(t, org, dev, "Uploader")}
	leads := s.makeToken(t, org, lead, "Lead's uploader")
	s.draftWith(t, colleagues[0], round, "lead-a@example.ac.uk")

	r := s.p.do("POST", "/organisations/"+org+"/applicants/remove", lead, url.Values{"email": {"dev@example.ac.uk"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("removing the colleague = %d: %s", r.status, r.body)
	}
	if page := shownText(t, s.p.do("GET", r.header.Get("Location"), lead, nil).body); !strings.Contains(page, "the 2 tokens they made were revoked") {
		t.Errorf("the page does not say the colleague's tokens were revoked: %s", page)
	}
	for _, tok := range colleagues {
		s.refusedSaying(t, tok, "revoked", "nor a colleague the lead named")
	}
	s.draftWith(t, leads, round, "lead-a@example.ac.uk")
}

// A lead erased at their request is no longer the organisation's lead: signatory
// records the contacts change first and the erasure after it. The lead's tokens are
// revoked by the first, and the fund's refusal and the lists say why as the erasure
// would: the maker's details were erased, not that they handed the role on (there is
// no lead to ask for a new token until ITSS records one).
func TestATokenOfALeadErasedSaysItsMakerWasErased(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.openRound(t)
	tok := s.makeToken(t, org, s.p.signIn("lead-a@example.ac.uk"), "Lead's uploader")
	s.draftWith(t, tok, round, "lead-a@example.ac.uk")

	ops, err := s.sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/ops/erasures", ops, map[string]any{"email": "lead-a@example.ac.uk"}))
	s.refusedSaying(t, tok, "revoked", "erased", "until ITSS records a new one")
	if r := s.fund.Do("GET", "/v1/applications", tok, nil); strings.Contains(string(r.Body), "no longer the organisation's nominated lead") {
		t.Errorf("the refusal says the erased maker handed the role on: %s", r.Body)
	}
}
