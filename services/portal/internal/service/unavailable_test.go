package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
)

// When a service does not answer, a page says so as 503 with Retry-After, and a form
// sent then is not met with "Try again later" alone: the lead who pressed Save on an
// hour's narrative is told it may not have been saved and that going back a page
// gets what they typed back. Here the review service is not running.
func TestAFormSentWhileAServiceIsDownSaysItMayNotBeSavedAndHowToGetItBack(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	const lead = "lead@downton.ac.uk"
	org := onboard(t, s.p, s.sig, "University of Downton", lead)
	cookie := s.p.signIn(lead)
	editor := "/obligations/" + org + "/submission"

	page := s.p.do("GET", editor, cookie, nil)
	if page.status != http.StatusServiceUnavailable || page.header.Get("Retry-After") == "" {
		t.Errorf("the editor with review down = %d, Retry-After %q; want 503 with Retry-After", page.status, page.header.Get("Retry-After"))
	}
	if shown := shownText(t, page.body); !strings.Contains(shown, "not available at the moment") || !strings.Contains(shown, "Try again in a few minutes") {
		t.Errorf("the editor with review down says: %s", shown)
	}
	sent := s.p.do("POST", editor, cookie, url.Values{"narrative-visibility": {"An hour's work."}, "rating-visibility": {"3"}})
	shown := shownText(t, sent.body)
	if sent.status != http.StatusServiceUnavailable || !strings.Contains(shown, "What you sent may not have been saved") ||
		!strings.Contains(shown, "Go back a page (your browser should still hold what you typed)") {
		t.Errorf("a draft saved with review down = %d: %s", sent.status, shown)
	}
}

// A page that is not the visitor's is "not found", as one that does not exist; but a
// signed-in visitor is told whom they are signed in as (a link sent to another of
// their addresses lands here), and the console points one who is not ITSS staff to
// the staff sign-in.
func TestPageNotFoundSaysWhoIsSignedInAndWhereStaffSignIn(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	const lead = "lead@notfound.ac.uk"
	onboard(t, s.p, s.sig, "University of Nowhere", lead)
	other := onboard(t, s.p, s.sig, "University of Elsewhere", "lead@elsewhere.ac.uk")
	cookie := s.p.signIn(lead)

	r := s.p.do("GET", "/obligations/"+other, cookie, nil)
	if shown := shownText(t, r.body); r.status != http.StatusNotFound || !strings.Contains(shown, "You are signed in as") || !strings.Contains(shown, lead) {
		t.Errorf("another organisation's page = %d: %s", r.status, shown)
	}
	r = s.p.do("GET", "/ops", cookie, nil)
	if r.status != http.StatusNotFound || !strings.Contains(r.body, `href="/signin/ops"`) {
		t.Errorf("the console for a lead = %d, want 404 linking the staff sign-in: %.600s", r.status, r.body)
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	if r := s.p.do("GET", "/ops/organisations/no-such-organisation", ops, nil); strings.Contains(r.body, `href="/signin/ops"`) {
		t.Errorf("staff are sent to the staff sign-in from a console page not found: %.600s", r.body)
	}
}
