package service

import (
	"net/http"
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
