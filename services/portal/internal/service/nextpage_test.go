package service

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// The page remembered for after sign-in never leads off the site, whatever the
// cookie holds: a browser drops tabs and line breaks from an address and reads a
// backslash as a slash, so "/<tab>/evil.example" is "//evil.example" to it, another
// site. The portal sent that Location as it was (a cookie planted by a sibling
// domain, or over plain http before the first https visit, put it there).
func TestARememberedPageCannotLeadOffTheSite(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{env: map[string]string{"PORTAL_SIGNIN_PER_CLIENT": "100"}})
	for i, next := range []string{
		"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\t\\evil.example",
		"/ /evil.example", "/\x00/evil.example", "/\x7f/evil.example", "/\u00a0/evil.example",
		"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
		"/reviews\t/../../evil.example",
	} {
		email := fmt.Sprintf("next%d@example.ac.uk", i)
		p.addLead(fmt.Sprintf("org-next-%d", i), email)
		link := p.requestLink(email)
		// Sent by the transport itself: Go's client refuses to read a Location with a
		// control character in it, which a browser follows.
		req, err := http.NewRequest(http.MethodPost, p.url+link, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", "tc_next="+url.QueryEscape(next))
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Errorf("remembered %q: %d to %q, want 303 to /account", next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// Outside local development the remembered page is kept in a __Host- cookie, as the
// session is: a browser takes one only from this host over https, never from a
// sibling domain or plain http, which could set a plain "tc_next" for the whole
// domain and choose where a person lands after signing in (ASVS 5 3.3.1).
func TestTheRememberedPageIsAHostCookieOutsideLocalDevelopment(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{secure: true})
	p.addLead("org-next-secure", "next-secure@example.ac.uk")
	r := p.do("GET", "/obligations/org-next-secure", "", nil)
	var next *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			t.Errorf("the remembered page is in a cookie without a prefix: %+v", c)
		}
		if c.Name == "__Host-tc_next" {
			next = c
		}
	}
	if next == nil {
		t.Fatalf("no __Host-tc_next cookie in %v", r.header)
	}
	if !next.Secure || !next.HttpOnly || next.Path != "/" || next.Domain != "" {
		t.Errorf("remembered page cookie %+v", next)
	}
	// One without the prefix, as another site would plant, is not followed.
	link := p.requestLink("next-secure@example.ac.uk")
	if used := p.do("POST", link, "tc_next="+url.QueryEscape("/obligations/elsewhere"), url.Values{}); used.header.Get("Location") != "/account" {
		t.Errorf("a plain tc_next cookie was followed to %q", used.header.Get("Location"))
	}
	link = p.requestLink("next-secure@example.ac.uk")
	used := p.do("POST", link, next.Name+"="+next.Value, url.Values{})
	if used.header.Get("Location") != "/obligations/org-next-secure" {
		t.Fatalf("after sign-in = %d to %q, want the page remembered", used.status, used.header.Get("Location"))
	}
	var cleared bool
	for _, c := range (&http.Response{Header: used.header}).Cookies() {
		cleared = cleared || c.Name == "__Host-tc_next" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("the remembered page is not cleared at sign-in: %v", used.header)
	}
}
