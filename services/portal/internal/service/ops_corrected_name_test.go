package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
)

// TestTheConsoleNamesAnOrganisationAsCorrectedAtOnce: once ITSS corrects an
// organisation's name in the console, the console's pages that name it among the
// review service's and notify's records (a review round's submissions, a submission
// in review, the emails about it) name it by the corrected name at once; they held
// the name read before for five minutes and went on showing it.
func TestTheConsoleNamesAnOrganisationAsCorrectedAtOnce(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "Univeristy of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	emails := "/ops/email?organisation=" + url.QueryEscape(org)
	if page := opsMustStatus(t, s.p.do("GET", emails, ops, nil), http.StatusOK, "the organisation's emails"); !strings.Contains(page.body, "Univeristy of Exampleton") {
		t.Fatalf("the organisation's emails do not name it: %s", page.body)
	}
	form := opsMustStatus(t, s.p.do("GET", "/ops/organisations/"+org+"/details", ops, nil), http.StatusOK, "the details form")
	opsMustStatus(t, s.p.do("POST", "/ops/organisations/"+org+"/details", ops, url.Values{"name": {"University of Exampleton"}, "sector": {"higher_education"},
		"country": {"GB"}, "website": {"https://www.example.ac.uk"}, "version": {hidden(parse(t, form.body), "version")}}), http.StatusSeeOther, "the corrected details")
	page := opsMustStatus(t, s.p.do("GET", emails, ops, nil), http.StatusOK, "the organisation's emails")
	if !strings.Contains(page.body, "University of Exampleton") || strings.Contains(page.body, "Univeristy") {
		t.Errorf("once corrected, the organisation's emails name it so: %s", page.body)
	}
}
