package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// TestALeadWhoseOrganisationSignedAgainCanTellItsRecordsApart: an organisation that
// withdraws and later signs again is a new record under the same name, often with
// the same nominated lead. The lead's pages list both: the one in the Commitment
// first, and the one that withdrew saying so with its day, so that the lead does not
// choose between two identical names.
func TestALeadWhoseOrganisationSignedAgainCanTellItsRecordsApart(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	const lead = "lead-again@example.ac.uk"
	old := onboardAs(t, s.p, s.sig, "signatory", "University of Returnton", lead, time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC))
	ops, err := s.sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	withdrawn := time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+old+"/withdrawal", ops, map[string]any{
		"withdrawn_on": withdrawn.Format(time.DateOnly), "reason": "Left for a year", "initiated_by": "organisation"}))
	again := onboardAs(t, s.p, s.sig, "signatory", "University of Returnton", lead, time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC))
	s.p.waitFor(lead, func(p signin.Person) bool { _, a := p.LeadOf(old); _, b := p.LeadOf(again); return a && b })

	cookie := s.p.signIn(lead)
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/account", cookie, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("account = %d: %s", r.status, r.body)
		}
		var items []string
		for _, li := range find(parse(t, r.body), element("li")) {
			if strings.Contains(text(li), "University of Returnton") {
				items = append(items, text(li))
			}
		}
		if len(items) != 2 {
			return fmt.Errorf("the account lists %d entries of the organisation, want 2: %q", len(items), items)
		}
		if strings.Contains(items[0], "withdrew") || !strings.Contains(items[1], "withdrew on Friday 10 January 2025") {
			return fmt.Errorf("the account lists %q: want the organisation in the Commitment first, then the one that withdrew, saying when", items)
		}
		return nil
	})
}
