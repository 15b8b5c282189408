package service

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
	"golang.org/x/net/html"
)

// An ITSS staff member signed out who opens a console page (a bookmark, a colleague's
// link) was sent to the leads' and reviewers' sign-in page, which asks for an address
// to email a link to: staff are sent no link there. A console page now sends them to
// ITSS staff sign-in, and back to the page once signed in; a console form sent after
// the sign-in ended says to sign in with the ITSS account.
func TestOpsSignedOutAreSentToStaffSignInAndBack(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	const page = "/ops/fund/applications?status=submitted"
	r := s.p.do("GET", page, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin/ops" {
		t.Fatalf("%s signed out = %d to %q, want ITSS staff sign-in", page, r.status, r.header.Get("Location"))
	}
	var next string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			next = c.Name + "=" + c.Value
		}
	}
	start := s.p.do("GET", "/signin/ops", next, nil)
	cookies := next
	for _, c := range (&http.Response{Header: start.header}).Cookies() {
		if c.Value != "" {
			cookies += "; " + c.Name + "=" + c.Value
		}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := oidcdevtest.SignIn(t, &http.Client{Jar: jar}, start.header.Get("Location"), oidcdev.LocalOpsEmail, testOpsPassword)
	if res.Location == nil {
		t.Fatalf("the provider did not send the person back: %d", res.Status)
	}
	back := s.p.do("GET", "/auth/callback?"+res.Location.RawQuery, cookies, nil)
	if back.status != http.StatusSeeOther || back.header.Get("Location") != page {
		t.Errorf("signed in = %d to %q, want back to %s", back.status, back.header.Get("Location"), page)
	}

	sent := s.p.do("POST", "/ops/organisations", "", url.Values{"name": {"Typed before the sign-in ended"}})
	links := find(parse(t, sent.body), func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/signin/ops" })
	if sent.status != http.StatusUnauthorized || len(links) == 0 {
		t.Errorf("a console form sent signed out = %d, with no link to ITSS staff sign-in: %s", sent.status, text(parse(t, sent.body)))
	}
}
