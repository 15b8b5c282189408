package service

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// A sign-in link signs in once: the second use, even moments later, is refused.
// Opening the link (GET) does not use it, so a mail scanner cannot spend it.
func TestSigninLinkWorksOnceAndOnlyWhenPosted(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-a", "Lead@Example.ac.uk")
	link := p.requestLink("lead@example.ac.uk")

	for range 2 {
		r := p.do("GET", link, "", nil)
		if r.status != http.StatusOK || len(find(parse(t, r.body), func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == link })) != 1 {
			t.Fatalf("GET link = %d, want a page with a form posting to the link: %s", r.status, r.body)
		}
	}
	r := p.do("POST", link, "", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account" {
		t.Fatalf("first use = %d to %q, want 303 to /account", r.status, r.header.Get("Location"))
	}
	cookie := sessionCookie(t, r)
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_session" && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/") {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/", c)
		}
	}
	account := p.do("GET", "/account", cookie, nil)
	if account.status != http.StatusOK || !strings.Contains(account.body, `href="/obligations/org-a"`) {
		t.Fatalf("GET /account = %d: %s", account.status, account.body)
	}
	again := p.do("POST", link, "", url.Values{})
	if again.status != http.StatusGone {
		t.Fatalf("second use = %d, want 410", again.status)
	}
}

// Of many requests racing with one link, exactly one signs in.
func TestSigninLinkRaceHasOneWinner(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addReviewer("rev-1", "org-r", "reviewer@example.ac.uk")
	link := p.requestLink("reviewer@example.ac.uk")
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch p.do("POST", link, "", url.Values{}).status {
			case http.StatusSeeOther:
				wins.Add(1)
			case http.StatusGone:
				losses.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 11 {
		t.Fatalf("wins = %d, losses = %d; want 1 and 11", wins.Load(), losses.Load())
	}
}

// A link expires 15 minutes after it was sent.
func TestSigninLinkExpires(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-b", "lead-b@example.ac.uk")
	link := p.requestLink("lead-b@example.ac.uk")
	p.clock.Advance(signin.LinkLifetime)
	if r := p.do("POST", link, "", url.Values{}); r.status != http.StatusGone {
		t.Fatalf("use at expiry = %d, want 410", r.status)
	}
	fresh := p.requestLink("lead-b@example.ac.uk")
	p.clock.Advance(signin.LinkLifetime - time.Second)
	if r := p.do("POST", fresh, "", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("use a second before expiry = %d, want 303", r.status)
	}
}

// Known or not, an address gets the same page; only a known one is sent a link.
func TestSigninAnswersTheSameForAnUnknownAddress(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-c", "known@example.ac.uk")
	known := p.do("POST", "/signin", "", url.Values{"email": {"known@example.ac.uk"}})
	unknown := p.do("POST", "/signin", "", url.Values{"email": {"stranger@example.ac.uk"}})
	if known.status != http.StatusOK || unknown.status != known.status || unknown.body != known.body {
		t.Fatalf("known: %d, unknown: %d; the pages differ:\n%s\n---\n%s", known.status, unknown.status, known.body, unknown.body)
	}
	reqs := p.linkRequests()
	if len(reqs) != 1 || reqs[0].Email != "known@example.ac.uk" {
		t.Fatalf("link requests = %+v, want one for the known address", reqs)
	}
}

// An address is sent a bounded number of links, whoever asks; the answer does not
// change when the bound is reached.
func TestSigninLinksPerAddressAreLimited(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-d", "busy@example.ac.uk")
	first := p.do("POST", "/signin", "", url.Values{"email": {"busy@example.ac.uk"}})
	for range 4 {
		r := p.do("POST", "/signin", "", url.Values{"email": {"busy@example.ac.uk"}})
		if r.status != first.status || r.body != first.body {
			t.Fatalf("a limited request was answered differently: %d %s", r.status, r.body)
		}
	}
	if n := len(p.linkRequests()); n != 3 {
		t.Fatalf("links sent = %d, want 3 (PORTAL_SIGNIN_PER_ADDRESS)", n)
	}
	// The page, the same for everyone, says that repeated asking sends no more: a
	// lead who asked five times is not left waiting for a fifth link.
	if !strings.Contains(first.body, "only the first few links in a quarter of an hour are sent") {
		t.Errorf("the page does not say that repeated requests send no more links: %s", first.body)
	}
}

// The bounds hold across replicas of the portal: two portals on one database, asked
// in turn, send an address as many links as one would, and count one client's
// requests together (they counted in each replica's memory, so that six replicas
// sent six times the bound).
func TestSigninLimitsHoldAcrossReplicas(t *testing.T) {
	t.Parallel()
	env := testenv.NewEnv(t)
	shared := services{env: map[string]string{"MONGO_DATABASE": testenv.DatabaseName(t)}}
	replicas := []*portal{startPortalOn(t, env, shared), startPortalOn(t, env, shared)}
	// One clock for both, mid-way through a quarter hour, so that the requests fall
	// in one window of each limit whatever the time the test runs at.
	at := time.Now().Truncate(15 * time.Minute).Add(7*time.Minute + 30*time.Second)
	for _, p := range replicas {
		p.clock.Set(at)
	}
	replicas[0].addLead("org-r", "twice@example.ac.uk")
	replicas[1].waitFor("twice@example.ac.uk", func(person signin.Person) bool { _, ok := person.LeadOf("org-r"); return ok })
	for i := range 6 {
		replicas[i%2].do("POST", "/signin", "", url.Values{"email": {"twice@example.ac.uk"}})
	}
	for _, p := range replicas {
		p.svc.WaitSignins()
	}
	if n := len(replicas[0].linkRequests()); n != 3 {
		t.Errorf("links sent by two replicas = %d, want 3 (PORTAL_SIGNIN_PER_ADDRESS)", n)
	}
	// Ten requests a minute from one client (PORTAL_SIGNIN_PER_CLIENT), six made:
	// four more are answered, the next is refused, whichever replica takes it.
	for i := range 4 {
		if r := replicas[i%2].do("POST", "/signin", "", url.Values{"email": {"nobody@example.ac.uk"}}); r.status != http.StatusOK {
			t.Fatalf("request %d of the client's ten = %d", 7+i, r.status)
		}
	}
	if r := replicas[0].do("POST", "/signin", "", url.Values{"email": {"nobody@example.ac.uk"}}); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("the client's eleventh request = %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
}

// Neither a link's secret nor the address it went to appears in the portal's logs,
// through the whole journey: asking, opening, using, and using again.
func TestNoSigninSecretOrAddressInLogs(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-e", "private@example.ac.uk")
	link := p.requestLink("private@example.ac.uk")
	p.do("GET", link, "", nil)
	cookie := sessionCookie(t, p.do("POST", link, "", url.Values{}))
	p.do("POST", link, "", url.Values{})
	p.do("GET", "/account", cookie, nil)
	secret := strings.TrimPrefix(link, "/signin/")
	logs := p.logs.String()
	if !strings.Contains(logs, `"route":"POST /signin/{token}"`) {
		t.Fatalf("the log has no line for the link's use (is anything captured?):\n%s", logs)
	}
	for _, s := range []string{secret, "private@example.ac.uk", strings.TrimPrefix(cookie, "tc_session=")} {
		if strings.Contains(logs, s) {
			t.Fatalf("the log contains %q:\n%s", s, logs)
		}
	}
}

// A malformed address is refused beside the field, with the error summary linking
// to it, and no link is sent.
func TestSigninFormErrorsAreShownBesideTheField(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	r := p.do("POST", "/signin", "", url.Values{"email": {"not an address"}})
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", r.status)
	}
	doc := parse(t, r.body)
	summary := find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#field-email" })
	input := find(doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "id") == "field-email" })
	message := find(doc, func(n *html.Node) bool { return n.Data == "p" && attr(n, "id") == "field-email-error" })
	if len(summary) != 1 || len(input) != 1 || len(message) != 1 || attr(input[0], "value") != "not an address" {
		t.Fatalf("want a summary link, the field with its value and a message beside it: %s", r.body)
	}
	if !strings.Contains(text(message[0]), "correct format") {
		t.Errorf("message = %q", text(message[0]))
	}
	if n := len(p.linkRequests()); n != 0 {
		t.Fatalf("links sent = %d, want 0", n)
	}
}

// Forms refuse a post the browser says came from another site.
func TestFormsRefuseCrossOriginPosts(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-f", "lead-f@example.ac.uk")
	for _, path := range []string{"/signin", "/signout", "/obligations/org-f/calendar/rotate"} {
		r := p.do("POST", path, "", url.Values{"email": {"lead-f@example.ac.uk"}}, "Sec-Fetch-Site", "cross-site")
		if r.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d, want 403", path, r.status)
		}
		r = p.do("POST", path, "", url.Values{"email": {"lead-f@example.ac.uk"}}, "Origin", "https://evil.example")
		if r.status != http.StatusForbidden {
			t.Errorf("POST %s from another origin = %d, want 403", path, r.status)
		}
	}
	if n := len(p.linkRequests()); n != 0 {
		t.Fatalf("links sent = %d, want 0", n)
	}
}

// Every page carries a content security policy that allows no script, and pages are
// not cached.
func TestPagesForbidScriptAndCaching(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	for _, path := range []string{"/", "/signin", "/privacy", "/no-such-page"} {
		r := p.do("GET", path, "", nil)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy = %q", path, csp)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q", path, r.header.Get("Cache-Control"))
		}
		if len(find(parse(t, r.body), element("script"))) != 0 {
			t.Errorf("GET %s has a script element", path)
		}
	}
	if r := p.do("GET", "/no-such-page", "", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown page = %d, want 404", r.status)
	}
}

// Signing out ends the session on the server, not only in the browser.
func TestSignoutEndsTheSession(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addReviewer("rev-2", "org-r", "out@example.ac.uk")
	cookie := p.signIn("out@example.ac.uk")
	if r := p.do("POST", "/signout", cookie, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("sign out = %d", r.status)
	}
	if r := p.do("GET", "/account", cookie, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("the old cookie after sign-out: %d to %q, want 303 to /signin", r.status, r.header.Get("Location"))
	}
}

// Outside local development the session cookie is Secure and __Host- prefixed (this
// host only, every path, never a parent domain), besides HttpOnly and SameSite=Lax.
func TestSessionCookieIsSecureOutsideLocalDevelopment(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{secure: true})
	p.addLead("org-g", "lead-g@example.ac.uk")
	link := p.requestLink("lead-g@example.ac.uk")
	r := p.do("POST", link, "", url.Values{})
	var found bool
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name != "__Host-tc_session" {
			continue
		}
		found = true
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Value == "" {
			t.Errorf("session cookie %+v", c)
		}
		if acc := p.do("GET", "/account", c.Name+"="+c.Value, nil); acc.status != http.StatusOK {
			t.Errorf("the secure cookie does not sign in: %d", acc.status)
		}
	}
	if !found {
		t.Fatalf("no __Host-tc_session cookie in %v", r.header)
	}
	if reqs := p.linkRequests(); !strings.HasPrefix(reqs[0].Link, "https://portal.test/signin/") {
		t.Errorf("link = %q, want the public https address", reqs[0].Link)
	}
}

// One client asking for links for many addresses is stopped after
// PORTAL_SIGNIN_PER_CLIENT requests a minute, so that nobody can walk a list of
// addresses through the form; the refusal says how long to wait (it said nothing).
func TestSigninRequestsPerClientAreLimited(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	for i := range 10 {
		if r := p.do("POST", "/signin", "", url.Values{"email": {fmt.Sprintf("person%d@example.ac.uk", i)}}); r.status != http.StatusOK {
			t.Fatalf("request %d = %d", i+1, r.status)
		}
	}
	r := p.do("POST", "/signin", "", url.Values{"email": {"person10@example.ac.uk"}})
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("the 11th request in a minute = %d, want 429", r.status)
	}
	wantRetryAfter(t, "the 11th request's 429", r)
	// Everyone behind one campus address shares the allowance, so the eleventh of them
	// is refused for what their colleagues did: the page says so, how long to wait, and
	// gives the form back with the address they typed, to send again.
	for _, want := range []string{
		`action="/signin"`,
		`value="person10@example.ac.uk"`,
		"from your network",
		"Wait a minute",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the 429 page lacks %s:\n%s", want, r.body)
		}
	}
}

// No sign-in secret rests longer than it works: the stream carrying links to notify
// keeps a message 15 minutes, and the sweep deletes expired links (used or not) and
// ended sessions.
func TestSecretsDoNotOutliveTheirLifetime(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	ctx := context.Background()
	stream, err := p.env.JS.Stream(ctx, events.StreamPortal)
	if err != nil {
		t.Fatal(err)
	}
	if got := stream.CachedInfo().Config.MaxAge; got != signin.LinkLifetime {
		t.Errorf("the portal stream keeps messages %s, want %s", got, signin.LinkLifetime)
	}
	p.addLead("org-h", "lead-h@example.ac.uk")
	used := p.requestLink("lead-h@example.ac.uk")
	p.requestLink("lead-h@example.ac.uk") // left unused
	cookie := sessionCookie(t, p.do("POST", used, "", url.Values{}))
	count := func() map[string]int64 {
		out := map[string]int64{}
		for _, c := range []string{"signin_links", "signin_links_used", "sessions"} {
			n, err := p.svc.DB.Collection(c).CountDocuments(ctx, bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			out[c] = n
		}
		return out
	}
	if got := count(); got["signin_links"] != 2 || got["signin_links_used"] != 1 || got["sessions"] != 1 {
		t.Fatalf("before expiry: %v", got)
	}
	p.clock.Advance(signin.LinkLifetime)
	if _, err := p.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got["signin_links"] != 0 || got["signin_links_used"] != 0 || got["sessions"] != 1 {
		t.Fatalf("after the links expired: %v, want only the session left", got)
	}
	p.clock.Advance(8 * time.Hour) // PORTAL_SESSION_LIFETIME's default
	if r := p.do("GET", "/account", cookie, nil); r.status != http.StatusSeeOther {
		t.Errorf("an ended session still signs in: %d", r.status)
	}
	if _, err := p.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got["sessions"] != 0 {
		t.Fatalf("after the session ended: %v", got)
	}
	// An ITSS staff member's name is kept PORTAL_STAFF_NAME_RETENTION (default 400
	// days) after their latest sign-in.
	staff := p.svc.DB.Collection("ops_staff")
	if _, err := staff.InsertOne(ctx, bson.D{{Key: "_id", Value: "k.okafor"}, {Key: "name", Value: "Kim Okafor"}, {Key: "seen_at", Value: p.clock.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		by   time.Duration
		want int64
	}{{9600*time.Hour - time.Second, 1}, {time.Second, 0}} {
		p.clock.Advance(step.by)
		if _, err := p.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := staff.CountDocuments(ctx, bson.D{}); err != nil || n != step.want {
			t.Fatalf("%s later: %d staff names (%v), want %d", step.by, n, err, step.want)
		}
	}
}

// An email's link lands on its page through sign-in: a visitor not signed in is sent
// to sign in, and the link they then follow takes them back to that page. Only a
// path on this site is remembered.
func TestEmailLinksLandThroughSignin(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addReviewer("rev-3", "org-r", "rev3@example.ac.uk")
	r := p.do("GET", "/reviews/round-1/sub-1", "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("signed out = %d to %q", r.status, r.header.Get("Location"))
	}
	var next string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			next = c.Name + "=" + c.Value
		}
	}
	link := p.requestLink("rev3@example.ac.uk")
	used := p.do("POST", link, next, url.Values{})
	if used.status != http.StatusSeeOther || used.header.Get("Location") != "/reviews/round-1/sub-1" {
		t.Fatalf("after sign-in = %d to %q, want the page the email linked to", used.status, used.header.Get("Location"))
	}
	cookie := sessionCookie(t, used)
	// The review page itself, with the review service behind it, is followed by
	// TestEveryEmailLinkLandsOnItsPage.
	// A remembered address elsewhere is not followed, escaped or not.
	link = p.requestLink("rev3@example.ac.uk")
	if r := p.do("POST", link, "tc_next=//evil.example/x", url.Values{}); r.header.Get("Location") != "/account" {
		t.Fatalf("a remembered address off the site was followed: %q", r.header.Get("Location"))
	}
	p.addReviewer("rev-4", "org-r", "rev4@example.ac.uk")
	link = p.requestLink("rev4@example.ac.uk")
	if r := p.do("POST", link, "tc_next="+url.QueryEscape("//evil.example/x"), url.Values{}); r.header.Get("Location") != "/account" {
		t.Fatalf("a remembered address off the site, escaped, was followed: %q", r.header.Get("Location"))
	}
	// The page is remembered with its query (a filtered list, a page of one).
	withQuery := "/reviews?cursor=a,b&limit=5"
	r = p.do("GET", withQuery, "", nil)
	next = ""
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_next" {
			next = c.Name + "=" + c.Value
		}
	}
	link = p.requestLink("rev4@example.ac.uk")
	if used := p.do("POST", link, next, url.Values{}); used.header.Get("Location") != withQuery {
		t.Fatalf("after sign-in from %s: to %q, want back to it with its query", withQuery, used.header.Get("Location"))
	}
	// A reviewer is not a lead: feedback pages are another's.
	if r := p.do("GET", "/obligations/org-r/feedback/sub-1", cookie, nil); r.status != http.StatusNotFound {
		t.Fatalf("a reviewer on a lead's feedback page = %d, want 404", r.status)
	}
}

// A form's body is bounded: an oversized one is refused without being read whole,
// and nothing is sent.
func TestOversizedFormsAreRefused(t *testing.T) {
	t.Parallel()
	p := startPortal(t, services{})
	p.addLead("org-i", "lead-i@example.ac.uk")
	r := p.do("POST", "/signin", "", url.Values{"email": {"lead-i@example.ac.uk"}, "padding": {strings.Repeat("x", 2<<20)}})
	if r.status != http.StatusRequestEntityTooLarge || h1(t, r.body) != "What you sent is too long" {
		t.Fatalf("a 2 MiB form = %d, want 413 saying it is too long: %s", r.status, r.body)
	}
	if n := len(p.linkRequests()); n != 0 {
		t.Fatalf("links sent = %d, want 0", n)
	}
}
