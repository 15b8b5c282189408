package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/oidcdev"
)

// When a service does not answer, a page says so as 503 with Retry-After, and a form
// sent then is not met with "Try again later" alone: the lead who pressed Save on an
// hour's narrative is told it may not have been saved, and the page holds what they
// sent, in a form that sends it again to the same address. It used to tell them to go
// back a page, where their browser "should still hold what you typed": but the
// editor is never cached (no-store), so going back asked the review service for it
// again, met the same outage, and the narrative was gone. Here the review service is
// not running.
func TestAFormSentWhileAServiceIsDownIsKeptOnThePageToSendAgain(t *testing.T) {
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
	typed := url.Values{"narrative-visibility": {"An hour's work,\non two lines."}, "rating-visibility": {"3"}, "webpage": {""}}
	sent := s.p.do("POST", editor, cookie, typed)
	shown := shownText(t, sent.body)
	if sent.status != http.StatusServiceUnavailable || sent.header.Get("Retry-After") == "" || !strings.Contains(shown, "What you sent may not have been saved") {
		t.Errorf("a draft saved with review down = %d, Retry-After %q: %s", sent.status, sent.header.Get("Retry-After"), shown)
	}
	if strings.Contains(shown, "Go back a page") {
		t.Errorf("a draft saved with review down sends the lead back to a page that is not there: %s", shown)
	}
	var again *html.Node
	for _, f := range find(parse(t, sent.body), element("form")) {
		if attr(f, "action") == editor && strings.EqualFold(attr(f, "method"), "post") {
			again = f
		}
	}
	if again == nil {
		t.Fatalf("the page for a draft saved with review down has no form sending it again to %s: %.3000s", editor, sent.body)
	}
	held := url.Values{}
	for _, c := range find(again, func(n *html.Node) bool { return n.Data == "input" || n.Data == "textarea" }) {
		if c.Data == "textarea" {
			held.Add(attr(c, "name"), text(c))
			if attr(c, "id") == "" || len(find(again, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == attr(c, "id") })) != 1 {
				t.Errorf("what the lead typed is shown without a label: %s", attr(c, "name"))
			}
			continue
		}
		held.Add(attr(c, "name"), attr(c, "value"))
	}
	// The textarea's text is compared with its spaces collapsed, as text gives it.
	want := url.Values{"narrative-visibility": {"An hour's work, on two lines."}, "rating-visibility": {"3"}, "webpage": {""}}
	if diff := cmp.Diff(want, held); diff != "" {
		t.Errorf("what the page holds to send again (-typed +held):\n%s", diff)
	}
	if len(find(again, func(n *html.Node) bool { return n.Data == "button" && text(n) == "Send it again" })) != 1 {
		t.Errorf("the form holding what the lead sent has no Send it again button")
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
