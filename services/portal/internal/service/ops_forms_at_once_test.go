package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
)

// opsFieldMessages are the messages a console page shows beside each of fields, by
// field ("" beside none).
func opsFieldMessages(t *testing.T, body string, fields ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range fields {
		out[f] = opsFieldMessage(t, body, f)
	}
	return out
}

// An enquiry with five problems tells all five on its first sending, each saying
// what to type: the portal's own checks stopped at the name and the country's length
// ("2 characters or fewer", when a single G is refused too), and the service's (the
// address, the website, the date to come) came only with the next.
func TestTheEnquiryFormTellsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	bad := opsEnquiry("", "bad")
	bad.Set("country", "gbr")
	bad.Set("website", "www.x.com")
	bad.Set("enquired_on", "2030-01-01")
	r := opsMustStatus(t, s.p.do("POST", "/ops/organisations", ops, bad), http.StatusBadRequest, "an enquiry with five problems")
	got := opsFieldMessages(t, r.body, "name", "country", "website", "enquiry_contact.email", "enquired_on")
	for field, says := range map[string]string{
		"name":                  "Enter organisation name",
		"country":               "Country must be two capital letters, like GB",
		"website":               "Website must be a web address starting https:// or http://",
		"enquiry_contact.email": "Contact's email address must be an email address such as name@example.ac.uk",
		"enquired_on":           "Enquiry received on must be today or earlier",
	} {
		if !strings.Contains(got[field], says) {
			t.Errorf("beside %s: %q, want %q", field, got[field], says)
		}
	}
	bad.Set("country", "G")
	r = opsMustStatus(t, s.p.do("POST", "/ops/organisations", ops, bad), http.StatusBadRequest, "an enquiry with one letter for its country")
	if got := opsFieldMessage(t, r.body, "country"); !strings.Contains(got, "Country must be two capital letters, like GB") {
		t.Errorf("beside a country of one letter: %q", got)
	}
}

// A reviewer with three problems is refused with all three on the first sending, in
// words saying what to type: a capacity below nothing (said to be "a whole number,
// like 3", which it is), an identifier with a space and a "!" (said to be "the
// subject of the reviewer's sign-in token"), and a conflict naming no organisation
// (said to be not among "the ids the signatory service holds"), which each took a
// sending of its own.
func TestThePoolFormTellsEveryProblemAtOnceInPlainWords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboard(t, s.p, s.sig, "University of Reviewers", "lead-r@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	form := url.Values{"reviewer_id": {"rev weird!"}, "name": {"Rita Jones"}, "email": {"rita.jones@example.ac.uk"}, "organisation_id": {org},
		"trained": {"true"}, "capacity": {"-3"}, "conflicts": {"nonsense"}}
	r := opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, form), http.StatusBadRequest, "a reviewer with three problems")
	got := opsFieldMessages(t, r.body, "capacity", "reviewer_id", "conflicts")
	for field, says := range map[string]string{
		"capacity":    "Most submissions a round must be a whole number from 0 to 20",
		"reviewer_id": "Reviewer identifier must be letters, digits, dots, - and _ only",
		"conflicts":   "“nonsense” is not the identifier of one. Type the identifier each organisation's page shows",
	} {
		if !strings.Contains(got[field], says) {
			t.Errorf("beside %s: %q, want %q", field, got[field], says)
		}
	}
	for _, code := range []string{"sign-in token", "signatory service", "like 3"} {
		if strings.Contains(shownText(t, r.body), code) {
			t.Errorf("the form says %q: %s", code, shownText(t, r.body))
		}
	}

	// With the portal's own problems put right, the review service is asked, and its
	// refusal of the conflict is told in the same words.
	form.Set("reviewer_id", "rita.jones")
	form.Set("capacity", "2")
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, form), http.StatusBadRequest, "a reviewer with a conflict naming nothing")
	if got := opsFieldMessage(t, r.body, "conflicts"); !strings.Contains(got, "“nonsense” is not the identifier of one. Type the identifier each organisation's page shows") {
		t.Errorf("beside the conflicts, from the review service: %q", got)
	}
}
