package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	notifytest "github.com/itss/techcommit/services/notify/servicetest"
	"github.com/itss/techcommit/services/portal/internal/signin"
	sigtest "github.com/itss/techcommit/services/signatory/servicetest"
)

// portalIssuer is the test portal's PORTAL_PUBLIC_URL, the issuer of its tokens: an
// address on this machine, as PORTAL_INSECURE_COOKIES (plain http) asks.
const portalIssuer = "http://127.0.0.1"

// withSignatory runs the real signatory and notify services trusting the portal,
// and a portal calling them. The service fetches the portal's keys from the portal's own
// /.well-known/jwks.json (through a forwarder, since the portal's address is known
// only once it runs).
func withSignatory(t *testing.T) (*portal, *testenv.Client) {
	t.Helper()
	env := testenv.NewEnv(t)
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	sig := sigtest.Start(t, env, portalIssuer, jwks)
	// Notify mails nothing in these tests: its relay is a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpPort := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	notify := notifytest.Start(t, env, portalIssuer, jwks, "127.0.0.1", smtpPort)
	p := startPortalOn(t, env, services{signatory: sig.URL, notify: notify.URL})
	portalURL = p.url
	return p, sig
}

// forwardJWKS serves the keys of the portal at *portalURL, once it is set: the
// services are told where the portal's keys are before the portal runs.
func forwardJWKS(t *testing.T, portalURL *string) string {
	t.Helper()
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(*portalURL + "/.well-known/jwks.json")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(jwks.Close)
	return jwks.URL
}

// onboard takes an organisation through to its announcement with lead as its
// nominated lead, as ITSS staff would, and waits until the portal knows the lead.
func onboard(t *testing.T, p *portal, sig *testenv.Client, name, lead string) string {
	t.Helper()
	return onboardOn(t, p, sig, name, lead, time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC))
}

// onboardOn is onboard with the announcement on the given day (the meeting and the
// signed form come weeks before it), which sets when its obligations fall due.
func onboardOn(t *testing.T, p *portal, sig *testenv.Client, name, lead string, announced time.Time) string {
	t.Helper()
	return onboardAs(t, p, sig, "signatory", name, lead, announced)
}

// onboardAs is onboardOn for an organisation of the given kind (signatory or supporter).
func onboardAs(t *testing.T, p *portal, sig *testenv.Client, kind, name, lead string, announced time.Time) string {
	t.Helper()
	day := func(d time.Time) string { return d.Format(time.DateOnly) }
	ops, err := sig.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("signatory"))
	if err != nil {
		t.Fatal(err)
	}
	created := sig.Must(http.StatusCreated, sig.Do("POST", "/v1/organisations", ops, map[string]any{
		"name": name, "kind": kind, "sector": "higher_education", "country": "GB", "website": "https://www.example.ac.uk",
		"enquiry_contact": map[string]any{"name": "Sam Patel", "email": lead},
	})).JSON(t)
	id := created["id"].(string)
	for _, s := range []struct {
		path string
		body any
	}{
		{"/meeting", map[string]any{"held_on": day(announced.AddDate(0, 0, -40))}},
		{"/form", map[string]any{"signed_on": day(announced.AddDate(0, 0, -20)),
			"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@example.ac.uk"},
			"nominated_lead":   map[string]any{"name": "Sam Patel", "email": lead},
			"point_of_contact": map[string]any{"name": "Technical Services Office", "email": "technicians@example.ac.uk"},
			"plan_page":        "https://www.example.ac.uk/technician-commitment"}},
		{"/announcement", map[string]any{"announced_on": day(announced)}},
	} {
		sig.Must(http.StatusOK, sig.Do("POST", "/v1/organisations/"+id+s.path, ops, s.body))
	}
	p.waitFor(lead, func(person signin.Person) bool { _, ok := person.LeadOf(id); return ok })
	return id
}

// The portal's tokens are what the services verify: minted for one service's
// audience, good for five minutes, checked against the portal's published keys.
func TestServicesVerifyThePortalsTokens(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	v, err := auth.NewVerifier(config.Auth{JWKSURL: "https://id.example.org/jwks", Issuer: "https://id.example.org", Audience: "tc-signatory",
		PortalIssuer: portalIssuer, PortalJWKSURL: p.url + "/.well-known/jwks.json", AllowInsecureJWKS: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Found as the pages find the person signed in, with their pseudonym.
	person, err := p.svc.People.Lookup(context.Background(), "lead@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.svc.Minter.Mint(person.AsLead("org-1"), "tc-signatory")
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), tok)
	if err != nil || got.Role != auth.RoleLead || got.Org != "org-1" || got.Subject != pseudonymOf(t, "lead@example.ac.uk") {
		t.Fatalf("verified %+v, %v", got, err)
	}
	// The services record the subject as the actor of what the lead changes, and
	// keep it after the lead's erasure: it is not the digest anyone holding the
	// address could make.
	if got.Subject == signin.UnkeyedPseudonym("lead@example.ac.uk") {
		t.Errorf("the lead's token names them by %q, the unkeyed digest of their address", got.Subject)
	}
	if strings.Contains(got.Subject, "lead@") || got.Email != "" {
		t.Errorf("the token carries the address: %+v", got)
	}
	other, _ := p.svc.Minter.Mint(person.AsLead("org-1"), "tc-fund")
	if _, err := v.Verify(context.Background(), other); err == nil {
		t.Error("a token for the fund service was accepted by the signatory's verifier")
	}
}

// A lead sees their organisation's page, made from the signatory service's answers
// to the portal's token; another organisation's pages (and the reviewers') answer
// "page not found" without calling anything or naming it.
func TestLeadSeesOwnOrganisationAndNoOther(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	mine := onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	theirs := onboard(t, p, sig, "Othertown College", "lead-b@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")

	r := p.do("GET", "/obligations/"+mine, cookie, nil)
	if r.status != http.StatusOK {
		t.Fatalf("own organisation = %d: %s", r.status, r.body)
	}
	doc := parse(t, r.body)
	if h1(t, r.body) != "Your organisation" || !strings.Contains(text(doc), "University of Exampleton") || !strings.Contains(text(doc), "Technical Services Office") {
		t.Errorf("the page does not show the organisation: %s", r.body)
	}
	rows := find(doc, func(n *html.Node) bool { return n.Data == "tr" && len(find(n, element("td"))) > 0 })
	if len(rows) == 0 {
		t.Fatalf("no obligation rows: %s", r.body)
	}
	status := text(find(rows[0], element("td"))[3])
	if !strings.Contains(status, "overdue") && !strings.Contains(status, "left") && !strings.Contains(status, "Due today") {
		t.Errorf("obligation status %q says neither days left nor overdue", status)
	}
	rotate := find(doc, func(n *html.Node) bool {
		return n.Data == "form" && attr(n, "action") == "/obligations/"+mine+"/calendar/rotate"
	})
	if len(rotate) != 1 || attr(rotate[0], "method") != "post" {
		t.Errorf("no rotate form posting to the calendar rotation")
	}

	for _, req := range []struct{ method, path string }{
		{"GET", "/obligations/" + theirs}, {"POST", "/obligations/" + theirs + "/calendar/rotate"},
		{"GET", "/obligations/" + theirs + "/feedback/sub-1"}, {"GET", "/reviews/round-1/sub-1"},
		{"GET", "/reviews"}, {"POST", "/reviews/round-1/sub-1/respond"},
	} {
		r := p.do(req.method, req.path, cookie, url.Values{"accept": {"true"}})
		if r.status != http.StatusNotFound || strings.Contains(r.body, "Othertown") {
			t.Errorf("%s %s as another organisation's lead = %d, want 404 naming nothing", req.method, req.path, r.status)
		}
	}
	// Signed out, the page sends the visitor to sign in and back.
	r = p.do("GET", "/obligations/"+mine, "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Errorf("signed out = %d to %q, want 303 to /signin", r.status, r.header.Get("Location"))
	}
}

// The public directory lists the announced organisations from the signatory
// service, searchable by name and kind; a bad kind is refused beside the field.
func TestDirectorySearch(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	onboard(t, p, sig, "Othertown College", "lead-b@example.ac.uk")
	names := func(body string) []string { return firstCells(parse(t, body)) }
	// The directory is the signatory service's projection, which may lag its events.
	testenv.Eventually(t, 10*time.Second, func() error {
		all := p.do("GET", "/directory", "", nil)
		if got := names(all.body); all.status != http.StatusOK || len(got) != 2 {
			return fmt.Errorf("directory = %d, %v", all.status, got)
		}
		return nil
	})
	some := p.do("GET", "/directory?name=othertown&kind=signatory", "", nil)
	if got := names(some.body); len(got) != 1 || got[0] != "Othertown College" {
		t.Fatalf("search by name = %v", got)
	}
	// Each organisation's kind reads as the filter offers it, not as the API's value.
	var kind string
	if cells := find(parse(t, some.body), element("td")); len(cells) > 1 {
		kind = cellText(cells[1])
	}
	if kind != "Signatory" {
		t.Errorf("the kind column reads %q, want Signatory", kind)
	}
	// Listed with its named point of contact (DESIGN.md), whom the public can write to.
	if !strings.Contains(some.body, "Technical Services Office") || !strings.Contains(some.body, `href="mailto:technicians@example.ac.uk"`) {
		t.Errorf("the directory does not name the point of contact: %s", some.body)
	}
	if got := names(p.do("GET", "/directory?kind=supporter", "", nil).body); len(got) != 0 {
		t.Fatalf("supporters = %v, want none", got)
	}
	bad := p.do("GET", "/directory?kind=nonsense", "", nil)
	doc := parse(t, bad.body)
	if bad.status != http.StatusBadRequest || len(find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#field-kind" })) != 1 ||
		len(find(doc, func(n *html.Node) bool { return n.Data == "p" && attr(n, "id") == "field-kind-error" })) != 1 {
		t.Fatalf("bad kind = %d, want 400 with the summary linking to the field and a message beside it: %s", bad.status, bad.body)
	}
}

// The lead's page gives the calendar feed's address from notify, and its button
// makes a new one: the page then shows an address other than the old.
func TestLeadRotatesTheCalendarAddress(t *testing.T) {
	t.Parallel()
	p, sig := withSignatory(t)
	org := onboard(t, p, sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := p.signIn("lead-a@example.ac.uk")
	calendar := func() string {
		r := p.do("GET", "/obligations/"+org, cookie, nil)
		for _, c := range find(parse(t, r.body), func(n *html.Node) bool { return n.Data == "p" && attr(n, "class") == "calendar-url" }) {
			return text(c)
		}
		return ""
	}
	var before string
	// Notify learns of the organisation from the signatory's events, in its own time.
	testenv.Eventually(t, 10*time.Second, func() error {
		if before = calendar(); !strings.HasPrefix(before, "https://notify.example.org/") {
			return fmt.Errorf("calendar address = %q", before)
		}
		return nil
	})
	r := p.do("POST", "/obligations/"+org+"/calendar/rotate", cookie, url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/obligations/"+org+"?calendar=new" {
		t.Fatalf("rotate = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	if after := calendar(); after == before || !strings.HasPrefix(after, "https://notify.example.org/") {
		t.Fatalf("after rotation the address is %q (before: %q)", after, before)
	}
}
