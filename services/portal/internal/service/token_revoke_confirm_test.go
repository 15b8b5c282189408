package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Revoking an API token stops the organisation's tool within seconds and cannot be
// undone, yet it was one press of "Revoke" in a table row, for ITSS staff (every
// organisation's tokens on one page) and for the lead alike. The row's Revoke now
// opens a page naming the token, its organisation and what revoking does, whose
// button revokes it; "Cancel" leaves it.
func TestRevokingAnAPITokenIsConfirmedFirst(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	lead := s.p.signIn("lead-a@example.ac.uk")
	if made := s.p.do("POST", "/organisations/"+org+"/tokens", lead, url.Values{"name": {"Nightly sync"}, "days": {"7"}}); made.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", made.status, made.body)
	}
	id := tokenID(t, s.p, org)
	ops := sessionCookie(t, s.p.do("GET", "/auth/callback?good=1", "", nil))

	for who, c := range map[string]struct{ cookie, list, revoke string }{
		"ops":  {ops, "/ops/api-tokens", "/ops/api-tokens/" + id + "/revoke"},
		"lead": {lead, "/organisations/" + org + "/tokens", "/organisations/" + org + "/tokens/" + id + "/revoke"},
	} {
		list := parse(t, opsMustStatus(t, s.p.do("GET", c.list, c.cookie, nil), http.StatusOK, who+"'s tokens").body)
		if posts := find(list, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == c.revoke }); len(posts) > 0 {
			t.Errorf("%s: the list revokes the token in one press", who)
		}
		if links := find(list, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == c.revoke }); len(links) == 0 {
			t.Errorf("%s: the list has no link to revoke the token", who)
		}
		r := opsMustStatus(t, s.p.do("GET", c.revoke, c.cookie, nil), http.StatusOK, who+"'s confirmation")
		page := parse(t, r.body)
		words := text(page)
		for _, want := range []string{"Nightly sync", "University of Exampleton", "cannot be undone", "refuses it"} {
			if !strings.Contains(words, want) {
				t.Errorf("%s: the confirmation does not say %q: %s", who, want, words)
			}
		}
		if posts := find(page, func(n *html.Node) bool {
			return n.Data == "form" && attr(n, "action") == c.revoke && attr(n, "method") == "post"
		}); len(posts) != 1 {
			t.Errorf("%s: the confirmation has no form that revokes", who)
		}
	}
	opsMustStatus(t, s.p.do("POST", "/ops/api-tokens/"+id+"/revoke", ops, url.Values{}), http.StatusSeeOther, "revoking")
	// A revoked token's address answers as the list does: there is nothing to confirm.
	if r := s.p.do("GET", "/ops/api-tokens/"+id+"/revoke", ops, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/ops/api-tokens" {
		t.Errorf("confirming a revoked token = %d to %q", r.status, r.header.Get("Location"))
	}
}
