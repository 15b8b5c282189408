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
)

// TestTheFundPagesSayWhoCannotApply: only signatories that have not withdrawn may
// apply to the Collaboration Fund (DESIGN.md), so a supporter's lead, and the lead of
// an organisation that withdrew, are not told that applications are made from their
// tools: the fund page says why the organisation cannot apply. A supporter, never
// funded, is offered no API tokens (on that page, its organisation's page or the
// lead's account), which the fund would refuse; an organisation that withdrew still
// sends the report on a project it was awarded from its tools (the fund takes it),
// so it is told so and keeps its tokens. A signatory's pages offer tokens as before.
func TestTheFundPagesSayWhoCannotApply(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	announced := time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC)
	signatory := onboardAs(t, s.p, s.sig, "signatory", "University of Exampleton", "lead-s@example.ac.uk", announced)
	supporter := onboardAs(t, s.p, s.sig, "supporter", "Society of Technicians", "lead-p@example.org", announced)
	gone := onboardAs(t, s.p, s.sig, "signatory", "Withdrawn University", "lead-w@example.ac.uk", announced)
	ops, err := s.sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	s.sig.Must(http.StatusOK, s.sig.Do("POST", "/v1/organisations/"+gone+"/withdrawal", ops, map[string]any{
		"withdrawn_on": time.Now().Format(time.DateOnly), "reason": "Merged with another university", "initiated_by": "organisation"}))

	for _, tc := range []struct {
		org, lead, says string
		tokens          bool
	}{
		{signatory, "lead-s@example.ac.uk", "", true},
		{supporter, "lead-p@example.org", "Society of Technicians is a supporter of the Technician Commitment: only signatories may apply to the Collaboration Fund", false},
		{gone, "lead-w@example.ac.uk", "Withdrawn University withdrew from the Technician Commitment, so it can no longer apply to the Collaboration Fund. The report on a project the fund awarded it is still due", true},
	} {
		cookie := s.p.signIn(tc.lead)
		link := `href="/organisations/` + tc.org + `/tokens"`
		testenv.Eventually(t, 15*time.Second, func() error {
			fund := s.p.do("GET", "/organisations/"+tc.org+"/fund", cookie, nil)
			if fund.status != http.StatusOK {
				return fmt.Errorf("%s's fund page = %d: %s", tc.lead, fund.status, fund.body)
			}
			page := text(parse(t, fund.body))
			if tc.says != "" && !strings.Contains(page, tc.says) {
				return fmt.Errorf("%s's fund page does not say %q: %q", tc.lead, tc.says, page)
			}
			if got := strings.Contains(fund.body, link); got != tc.tokens {
				return fmt.Errorf("%s's fund page offers API tokens: %v, want %v: %q", tc.lead, got, tc.tokens, page)
			}
			org := s.p.do("GET", "/obligations/"+tc.org, cookie, nil)
			if org.status != http.StatusOK {
				return fmt.Errorf("%s's organisation page = %d: %s", tc.lead, org.status, org.body)
			}
			if got := strings.Contains(org.body, link); got != tc.tokens {
				return fmt.Errorf("%s's organisation page offers API tokens: %v, want %v", tc.lead, got, tc.tokens)
			}
			account := s.p.do("GET", "/account", cookie, nil)
			if account.status != http.StatusOK {
				return fmt.Errorf("%s's account = %d: %s", tc.lead, account.status, account.body)
			}
			if got := strings.Contains(account.body, link); got != tc.tokens {
				return fmt.Errorf("%s's account page offers API tokens: %v, want %v", tc.lead, got, tc.tokens)
			}
			return nil
		})
	}

	// Reached by its address, a supporter's tokens page made tokens the fund refuses:
	// it now says why there are none, and refuses to make one or to name a colleague.
	cookie := s.p.signIn("lead-p@example.org")
	page := s.p.do("GET", "/organisations/"+supporter+"/tokens", cookie, nil)
	if page.status != http.StatusOK || strings.Contains(page.body, "Make the token") || strings.Contains(page.body, "Add colleague") ||
		!strings.Contains(text(parse(t, page.body)), "its tools have no use for an API token") {
		t.Errorf("a supporter's tokens page = %d, offers to make a token: %q", page.status, text(parse(t, page.body)))
	}
	for path, form := range map[string]url.Values{"/tokens": {"name": {"Grants tool"}, "days": {"30"}, "key": {"k-supporter"}},
		"/applicants": {"applicant_name": {"Sam Lee"}, "applicant_email": {"sam@example.org"}}} {
		r := s.p.do("POST", "/organisations/"+supporter+path, cookie, form)
		if r.status != http.StatusConflict || !strings.Contains(text(parse(t, r.body)), "its tools have no use for an API token") {
			t.Errorf("a supporter's POST %s = %d, want 409 saying why: %q", path, r.status, text(parse(t, r.body)))
		}
	}
	b := newBrowser(t)
	b.SetCookie(s.p.url, cookie)
	b.Open(s.p.url + "/organisations/" + supporter + "/tokens")
	heading(t, b, "API tokens")
}
