package service

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// london is the zone the portal gives times in.
var londonZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

func portalTime(t time.Time) string {
	return t.In(londonZone).Format("Monday 2 January 2006, 15:04 MST")
}

// A sign-in in use does not end under the person at work (WCAG 2.2.1, Timing
// Adjustable): each page opened or form sent keeps it for PORTAL_SESSION_LIFETIME
// (8 hours) more, every page says until when and has a "Stay signed in" button,
// and it ends at the latest PORTAL_SESSION_MAX_LIFETIME (24 hours) after the
// sign-in, which the pages say, once it is the end, as a warning with no button.
// Before, a sign-in ended 8 hours after it began, however busy its person was, and
// no page said when. One left unused still ends after 8 hours; sign-out still ends
// it; and the sweep deletes it once it has ended.
func TestASignInInUseLastsUntilItIsLeftOrItsLongestLifetime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPortal(t, services{})
	p.addLead("org-s", "lead-s@example.ac.uk")
	signedIn := p.clock.Now()
	link := p.requestLink("lead-s@example.ac.uk")
	first := p.do("POST", link, "", url.Values{})
	cookie := sessionCookie(t, first)
	// The browser keeps the cookie as long as the sign-in could last; the portal
	// says when it has ended.
	if c := first.header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=86400") {
		t.Errorf("session cookie %q: want Max-Age=86400, the longest a sign-in lasts", c)
	}

	page := func(path string) response {
		t.Helper()
		r := p.do("GET", path, cookie, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s after %s signed in = %d, want 200: %s", path, p.clock.Now().Sub(signedIn), r.status, r.body)
		}
		return r
	}
	p.clock.Advance(7 * time.Hour)
	r := page("/account")
	if want := "You are signed in until " + portalTime(p.clock.Now().Add(8*time.Hour)) + ". Each page you open or form you send keeps you signed in for 8 hours more, for up to 24 hours after you signed in."; !strings.Contains(text(parse(t, r.body)), want) {
		t.Errorf("the page does not say %q:\n%s", want, r.body)
	}
	if !strings.Contains(r.body, `<form method="post" action="/stay-signed-in"`) || !strings.Contains(r.body, `name="page" value="/account"`) {
		t.Errorf("the page has no Stay signed in button leading back to it:\n%s", r.body)
	}
	p.clock.Advance(7 * time.Hour) // 14 hours in: past the 8 hours a sign-in lasted
	page("/account")
	// A page with fields to fill in says how to stay signed in, but has no button:
	// opening the page again would lose what its fields hold.
	r = page("/organisations/org-s/tokens")
	if !strings.Contains(r.body, "Each page you open or form you send keeps you signed in") || strings.Contains(r.body, "/stay-signed-in") {
		t.Errorf("the API tokens page, with its form, does not say how to stay signed in or offers the button:\n%s", r.body)
	}

	// The button: a POST, refused from another site as every form is, back to the
	// page it was pressed on (never to another site).
	p.clock.Advance(7 * time.Hour)
	if r := p.do("POST", "/stay-signed-in", cookie, url.Values{"page": {"/account"}}, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("a cross-site Stay signed in = %d, want 403", r.status)
	}
	r = p.do("POST", "/stay-signed-in", cookie, url.Values{"page": {"/account"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account#session" {
		t.Errorf("Stay signed in = %d to %q, want 303 to /account#session", r.status, r.header.Get("Location"))
	}
	if r := p.do("POST", "/stay-signed-in", cookie, url.Values{"page": {"//evil.example/x"}}); r.header.Get("Location") != "/account#session" {
		t.Errorf("Stay signed in with an off-site page led to %q", r.header.Get("Location"))
	}

	// 21 hours in, the end is the longest lifetime's: said as a warning, with no
	// button that could not keep its word.
	r = page("/account")
	latest := signedIn.Add(24 * time.Hour)
	if want := "Your sign-in ends at " + portalTime(latest) + ", 24 hours after you signed in, and cannot be made longer."; !strings.Contains(text(parse(t, r.body)), want) {
		t.Errorf("the page does not warn %q:\n%s", want, r.body)
	}
	if strings.Contains(r.body, "/stay-signed-in") {
		t.Error("a sign-in that cannot be made longer still offers Stay signed in")
	}
	p.clock.Set(latest.Add(-time.Second))
	page("/account")
	p.clock.Set(latest)
	if r := p.do("GET", "/account", cookie, nil); r.status != http.StatusSeeOther {
		t.Errorf("a sign-in at its longest lifetime still signs in: %d", r.status)
	}
	if _, err := p.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := p.svc.DB.Collection("sessions").CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("after the sign-in ended, %d sessions are kept (%v)", n, err)
	}

	// Left unused, a sign-in ends after 8 hours, as before.
	idle := p.signIn("lead-s@example.ac.uk")
	p.clock.Advance(8 * time.Hour)
	if r := p.do("GET", "/account", idle, nil); r.status != http.StatusSeeOther {
		t.Errorf("a sign-in unused for 8 hours still signs in: %d", r.status)
	}

	// Kept alive, it is still signed out by Sign out.
	kept := p.signIn("lead-s@example.ac.uk")
	p.clock.Advance(5 * time.Hour)
	p.do("GET", "/account", kept, nil)
	p.clock.Advance(5 * time.Hour)
	if r := p.do("POST", "/signout", kept, nil); r.status != http.StatusSeeOther {
		t.Fatalf("sign out = %d", r.status)
	}
	if r := p.do("GET", "/account", kept, nil); r.status != http.StatusSeeOther {
		t.Errorf("a renewed sign-in signed out still signs in: %d", r.status)
	}
}

// In Chromium, by keyboard alone: a lead signed in reads at the top of each page
// until when, and puts it off with "Stay signed in", which brings them back to the
// page saying the later time; near the longest lifetime the page warns that the
// sign-in ends and cannot be made longer. The notice fits a 320 pixel screen.
// axe-core checks every page on the way.
func TestJourneyStaySignedIn(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-j", "lead-j@example.ac.uk")
	signedIn := p.clock.Now()
	b := newBrowser(t)
	b.Open(p.url + p.requestLink("lead-j@example.ac.uk"))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	heading(t, b, "Your pages")
	notice := func() string { return b.Text(browsertest.CSS("#session")) }
	if got, want := notice(), "You are signed in until "+portalTime(signedIn.Add(8*time.Hour)); !strings.Contains(got, want) {
		t.Errorf("the page says %q, want %q", got, want)
	}

	// The button is seen to be one on the notice's grey (WCAG 1.4.11): its fill or
	// its edge stands out from the notice at 3:1. Before, a secondary button's grey
	// fill was the notice's own, and its shadow 2.8:1 against it.
	panel := [3]float64{1, 1, 1} // the page's white, unless the notice or body has its own
	for _, el := range []string{"body", "main", "#session"} {
		if bg := b.ComputedStyle(el, "background-color"); bg != "rgba(0, 0, 0, 0)" && bg != "transparent" {
			panel = browserColour(t, bg)
		}
	}
	fill := browserColour(t, b.ComputedStyle("#session button", "background-color"))
	edge := browserColour(t, b.ComputedStyle("#session button", "box-shadow"))
	if c := max(contrast(fill, panel), contrast(edge, panel)); c < 3 {
		t.Errorf("the Stay signed in button stands out from the notice at %.2f:1 (fill %v, edge %v, notice %v), want 3:1", c, fill, edge, panel)
	}

	p.clock.Advance(6 * time.Hour)
	tabTo(t, b, "button", "Stay signed in")
	b.Enter()
	heading(t, b, "Your pages")
	if got, want := notice(), "You are signed in until "+portalTime(p.clock.Now().Add(8*time.Hour)); !strings.Contains(got, want) {
		t.Errorf("after Stay signed in the page says %q, want %q", got, want)
	}
	if got := pagePath(t, b); got != "/account" {
		t.Errorf("Stay signed in led to %s, want back to /account", got)
	}

	p.clock.Advance(7 * time.Hour)
	b.Open(p.url + "/account")
	p.clock.Advance(7 * time.Hour) // 20 hours in: the end is the longest lifetime's
	b.Open(p.url + "/account")
	heading(t, b, "Your pages")
	if got, want := notice(), "Your sign-in ends at "+portalTime(signedIn.Add(24*time.Hour))+", 24 hours after you signed in, and cannot be made longer."; !strings.Contains(got, want) {
		t.Errorf("near its end the page says %q, want %q", got, want)
	}
	b.SetViewport(320, 640)
	b.Open(p.url + "/account")
	if w := b.PageWidth(); w.ScrollsSideways() {
		t.Errorf("at 320 pixels the page scrolls sideways: %+v", w)
	}
}

// "Stay signed in" pressed once the sign-in has ended (a tab left open overnight)
// sent nothing that could be lost: it is the page it was pressed on, opened again,
// so it leads to the sign-in, ITSS staff's for a console page, and from there back
// to the page. Before, it answered as a form sent too late: "What you sent was not
// saved ... go back a page (your browser should still hold what you typed)", with a
// link to the leads' sign-in by email, which emails ITSS staff nothing.
func TestStaySignedInAfterTheSignInEndedSignsInAgainToThePage(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-e", "lead-e@example.ac.uk")
	ended := p.signIn("lead-e@example.ac.uk")
	p.clock.Advance(8 * time.Hour)
	for page, signIn := range map[string]string{
		"/obligations/org-e?cycle=2":             "/signin",
		"/ops/organisations?status=announced":    "/signin/ops",
		"https://evil.example/obligations/org-e": "/signin", // never off the site
	} {
		r := p.do("POST", "/stay-signed-in", ended, url.Values{"page": {page}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != signIn {
			t.Errorf("Stay signed in on %s after the sign-in ended = %d to %q, want 303 to %s: %s", page, r.status, r.header.Get("Location"), signIn, r.body)
		}
	}

	// Signed in again, the lead is back on the page they pressed it on.
	r := p.do("POST", "/stay-signed-in", ended, url.Values{"page": {"/obligations/org-e?cycle=2"}})
	var next string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			next = c.Name + "=" + c.Value
		}
	}
	if next == "" {
		t.Fatalf("Stay signed in after the sign-in ended remembers no page to come back to: %v", r.header)
	}
	r = p.do("POST", p.requestLink("lead-e@example.ac.uk"), next, url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/obligations/org-e?cycle=2" {
		t.Errorf("signed in again = %d to %q, want 303 back to /obligations/org-e?cycle=2", r.status, r.header.Get("Location"))
	}
}

// Once a sign-in can no longer be made longer, its warning says to sign in again
// before it ends, and links to where: the sign-in by email for a lead and ITSS
// staff's own for a member of staff. Before, the warning said "sign in again, before
// then" with no way to: the sign-in page sent a person signed in back to their
// pages. Signed in again, they have a sign-in of its own, which a use renews; one
// that can still be made longer is sent to its pages, as before.
func TestASignInThatCannotBeMadeLongerCanBeStartedAgain(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-a", "lead-a@example.ac.uk")
	lead := p.signIn("lead-a@example.ac.uk")
	ops := opsSignIn(t, p, oidcdev.LocalOpsEmail)
	for _, h := range []time.Duration{7, 7, 3} { // 17 hours in, used all along
		p.clock.Advance(h * time.Hour)
		p.do("GET", "/account", lead, nil)
		p.do("GET", "/account", ops, nil)
	}
	for who, c := range map[string]struct{ cookie, signIn string }{
		"the lead": {lead, "/signin"}, "ITSS staff": {ops, "/signin/ops"},
	} {
		r := p.do("GET", "/account", c.cookie, nil)
		notice := r.body[strings.Index(r.body, `id="session"`)+1:]
		notice = notice[:strings.Index(notice, "</div>")]
		if !strings.Contains(notice, "cannot be made longer") || !strings.Contains(notice, `<a href="`+c.signIn+`">sign in again</a>`) {
			t.Errorf("%s's warning does not link to %s to sign in again: %s", who, c.signIn, notice)
		}
	}

	r := p.do("GET", "/signin", lead, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `<form method="post" action="/signin"`) {
		t.Fatalf("the sign-in page for a lead whose sign-in is ending = %d, want its form: %s", r.status, r.body)
	}
	again := sessionCookie(t, p.do("POST", p.requestLink("lead-a@example.ac.uk"), lead, url.Values{}))
	p.clock.Advance(6 * time.Hour) // 23 hours after the first sign-in
	r = p.do("GET", "/account", again, nil)
	if want := "You are signed in until " + portalTime(p.clock.Now().Add(8*time.Hour)); r.status != http.StatusOK || !strings.Contains(text(parse(t, r.body)), want) {
		t.Errorf("signed in again, the page = %d, want it to say %q: %s", r.status, want, r.body)
	}
	if r := p.do("GET", "/signin", again, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/account" {
		t.Errorf("the sign-in page for a sign-in that can be made longer = %d to %q, want 303 to /account", r.status, r.header.Get("Location"))
	}
}

// browserColour is the first rgb() or rgba() colour in a computed style's value.
func browserColour(t *testing.T, value string) [3]float64 {
	t.Helper()
	m := regexp.MustCompile(`rgba?\((\d+), (\d+), (\d+)`).FindStringSubmatch(value)
	if m == nil {
		t.Fatalf("no colour in %q", value)
	}
	var c [3]float64
	for i := range c {
		n, _ := strconv.Atoi(m[i+1])
		c[i] = float64(n) / 255
	}
	return c
}

// contrast is the WCAG contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
