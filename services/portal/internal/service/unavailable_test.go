package service

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
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

// gatedProvider is an OpenID provider for the portal's ITSS staff sign-in that can
// stop answering (503), as one restarting or in an outage does.
type gatedProvider struct {
	down atomic.Bool
	next http.Handler
}

func (g *gatedProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}

// ITSS staff whose identity provider stops answering between their sign-in there and
// the portal's callback are told the provider is unavailable and to sign in again in
// a few minutes (503, Retry-After), on the portal's page: not 403 "Your ITSS account
// could not be signed in to the portal", as if their account were refused.
func TestStaffSignInWithTheProviderDownSaysSoNotRefused(t *testing.T) {
	t.Parallel()
	gate, issuer := startGatedProvider(t)
	p := startPortal(t, services{env: map[string]string{"PORTAL_OIDC_ISSUER": issuer}})

	start := p.do("GET", "/signin/ops", "", nil)
	var flow string
	for _, c := range (&http.Response{Header: start.header}).Cookies() {
		if c.Value != "" {
			flow = c.Name + "=" + c.Value
		}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := oidcdevtest.SignIn(t, &http.Client{Jar: jar}, start.header.Get("Location"), oidcdev.LocalOpsEmail, testOpsPassword)
	if res.Location == nil || res.Location.Path != "/auth/callback" {
		t.Fatalf("the provider did not send staff back to the callback: %d %v", res.Status, res.Location)
	}
	gate.down.Store(true)
	providerDownPage(t, "the callback", p.do("GET", "/auth/callback?"+res.Location.RawQuery, flow, nil))
}

// A portal started while the provider is down sends nobody to it: /signin/ops says,
// on the portal's page, that the provider did not answer (it was a line of plain
// text).
func TestStaffSignInStartedWithTheProviderDownSaysSoOnAPage(t *testing.T) {
	t.Parallel()
	gate, issuer := startGatedProvider(t)
	gate.down.Store(true)
	p := startPortal(t, services{env: map[string]string{"PORTAL_OIDC_ISSUER": issuer}})
	providerDownPage(t, "/signin/ops", p.do("GET", "/signin/ops", "", nil))
}

func startGatedProvider(t *testing.T) (*gatedProvider, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	provider, err := oidcdev.New(oidcdev.Config{Issuer: issuer, ClientID: oidcdev.LocalClientID, ClientSecret: testClientSecret,
		RedirectURIs: []string{testOpsRedirect}, Users: []oidcdev.User{oidcdev.Local{OpsPassword: testOpsPassword}.OpsUser()}})
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedProvider{next: provider}
	srv.Config.Handler = gate
	srv.Start()
	t.Cleanup(srv.Close)
	return gate, issuer
}

// providerDownPage checks r is the portal's page saying the provider did not answer.
func providerDownPage(t *testing.T, what string, r response) {
	t.Helper()
	shown := shownText(t, r.body)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		!strings.Contains(shown, "identity provider did not answer") || !strings.Contains(r.body, `href="/signin/ops"`) {
		t.Errorf("%s with the provider down = %d, Retry-After %q: %s", what, r.status, r.header.Get("Retry-After"), shown)
	}
	if strings.Contains(shown, "could not be signed in") || !strings.Contains(r.body, "</footer>") {
		t.Errorf("%s with the provider down is not the portal's page saying so: %s", what, r.body)
	}
}

// The console's pages that read from every service say which part did not answer,
// and never stand in for it with "none": with the review service hung (it takes the
// connection and never answers), Today said "No review round is in progress" and "No
// dead letters" under its notice, and the dead letters page, which asked the
// services one after another within one deadline, named as unavailable review and
// every service asked after it, and then said "No dead letters".
func TestTheConsoleSaysWhichPartIsUnavailableNotNone(t *testing.T) {
	t.Parallel()
	hung, err := net.Listen("tcp", "127.0.0.1:0") // the kernel takes connections; nothing answers
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hung.Close() })
	s := startStackCalling(t, false, "http://"+hung.Addr().String())
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	today := s.p.do("GET", "/ops", ops, nil)
	shown := shownText(t, today.body)
	if today.status != http.StatusOK || !strings.Contains(shown, "Not available at the moment: Review rounds, Dead letters of review") {
		t.Errorf("Today with review hung = %d: %s", today.status, shown)
	}
	for _, none := range []string{"No review round is in progress", "No dead letters"} {
		if strings.Contains(shown, none) {
			t.Errorf("Today with review hung says %q: %s", none, shown)
		}
	}
	letters := s.p.do("GET", "/ops/dead-letters", ops, nil)
	shown = shownText(t, letters.body)
	if letters.status != http.StatusOK || !strings.Contains(shown, "Not available at the moment: Review.") {
		t.Errorf("the dead letters with review hung = %d, want only review named unavailable: %s", letters.status, shown)
	}
	if strings.Contains(shown, "No dead letters.") {
		t.Errorf("the dead letters with review hung say there are none: %s", shown)
	}
}
