package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/config"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// portal is a portal running in-process for a test, against the test's own NATS and
// database, with a client that keeps no cookies and follows no redirects.
type portal struct {
	tb    testing.TB
	svc   *Service
	env   *testenv.Env
	url   string
	admin string // the admin listener: health, readiness, metrics
	clock *clock.Fake
	logs  *testenv.Log
}

// services are the addresses the portal calls; tests of sign-in need none to answer.
type services struct {
	signatory, review, notify, fund string
	// ops is the ITSS staff sign-in plugged in, if any.
	ops signin.OpsFlow
	// secure runs the portal as in production (an https public address, Secure
	// cookies) rather than as the local stack.
	secure bool
	// env adds settings to the portal's environment (its OpenID provider, say).
	env map[string]string
	// opsRedirect, when set, is the callback the portal registers at its OpenID
	// provider instead of testOpsRedirect: one a browser can follow.
	opsRedirect string
}

func startPortal(tb testing.TB, svcs services) *portal {
	tb.Helper()
	return startPortalOn(tb, testenv.NewEnv(tb), svcs)
}

// startPortalOn starts a portal on env, where the services it calls may run too.
func startPortalOn(tb testing.TB, env *testenv.Env, svcs services) *portal {
	tb.Helper()
	key := filepath.Join(tb.TempDir(), "portal.pem")
	if err := auth.CreateKey(key); err != nil {
		tb.Fatal(err)
	}
	unreachable := "http://127.0.0.1:1"
	for _, s := range []*string{&svcs.signatory, &svcs.review, &svcs.notify, &svcs.fund} {
		if *s == "" {
			*s = unreachable
		}
	}
	// ITSS staff sign in through a real OpenID provider, as in production: the
	// local ops user, and a colleague outside the ops group.
	redirect := testOpsRedirect
	if svcs.opsRedirect != "" {
		redirect = svcs.opsRedirect
	}
	issuer := oidcdevtest.Start(tb, oidcdev.Config{ClientID: oidcdev.LocalClientID, ClientSecret: testClientSecret,
		RedirectURIs: []string{redirect}, Users: []oidcdev.User{oidcdev.Local{OpsPassword: testOpsPassword}.OpsUser(),
			{Subject: "colleague", Email: testColleague, Name: "A Colleague", Password: testOpsPassword, Groups: []string{"itss-finance"}},
			{Subject: testOpsTwoSubject, Email: testOpsTwo, Name: "Second Ops", Password: testOpsPassword, Groups: []string{oidcdev.LocalOpsGroup}}}})
	cfg, err := config.LoadFrom(with(map[string]string{
		"MONGO_URI": testenv.MongoURI(tb), "MONGO_DATABASE": testenv.DatabaseName(tb), "NATS_URL": env.NATS.URL,
		"PORTAL_PUBLIC_URL": portalIssuer, "PORTAL_INSECURE_COOKIES": "true", "PORTAL_SIGNING_KEY_FILE": key,
		"PORTAL_PSEUDONYM_KEY": testPseudonymKey, "PORTAL_CONTACT_EMAIL": testContact, "PORTAL_DPO_CONTACT": testDPO, "PORTAL_TRANSFERS_OUTSIDE_UK": "none",
		"PORTAL_SIGNATORY_URL": svcs.signatory, "PORTAL_REVIEW_URL": svcs.review, "PORTAL_NOTIFY_URL": svcs.notify, "PORTAL_FUND_URL": svcs.fund,
		"PORTAL_SIGNATORY_AUDIENCE": libconfig.DevAudience("signatory"), "PORTAL_REVIEW_AUDIENCE": libconfig.DevAudience("review"),
		"PORTAL_NOTIFY_AUDIENCE": libconfig.DevAudience("notify"), "PORTAL_FUND_AUDIENCE": libconfig.DevAudience("fund"),
		"LOG_LEVEL":          "debug",
		"PORTAL_OIDC_ISSUER": issuer, "PORTAL_OIDC_CLIENT_ID": oidcdev.LocalClientID, "PORTAL_OIDC_CLIENT_SECRET": testClientSecret,
		"PORTAL_OIDC_REDIRECT_URL": redirect, "PORTAL_OPS_GROUP": oidcdev.LocalOpsGroup,
	}, svcs.env))
	if err != nil {
		tb.Fatal(err)
	}
	if svcs.secure {
		cfg.Portal.PublicURL, cfg.Portal.InsecureCookies = "https://portal.test", false
	}
	// The fake clock starts at the real time: the services check the tokens the
	// portal signs against theirs.
	p := &portal{tb: tb, env: env, clock: clock.NewFake(time.Now()), logs: &testenv.Log{}}
	// Everything the portal logs is kept, at debug level, for the tests that look for secrets in it.
	logger := slog.New(slog.NewJSONHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, cleanup, err := New(context.Background(), cfg, Options{Clock: p.clock, Logger: logger, Ops: svcs.ops})
	if err != nil {
		tb.Fatal(err)
	}
	p.svc = svc
	c := env.Serve(tb, svc.Serve, cleanup)
	p.url, p.admin = c.URL, c.AdminURL
	for _, s := range []bus.StreamSpec{{Name: events.StreamSignatory, Subjects: []string{events.SubjectsSignatory}},
		{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}} {
		if _, err := bus.EnsureStream(context.Background(), env.JS, s); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

// publish sends an event as its producing service would.
func (p *portal) publish(source, aggregate string, payload events.Payload) {
	p.tb.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		p.tb.Fatal(err)
	}
	env := events.Envelope{ID: uuid.NewString(), Source: source, Type: payload.EventType(), AggregateType: "test",
		AggregateID: aggregate, Version: 1, Time: time.Now(), Actor: "ops:test", Data: data}
	if _, err := p.env.JS.PublishMsg(context.Background(), bus.Message(env)); err != nil {
		p.tb.Fatal(err)
	}
}

// announce announces org as a signatory on the signatory's stream, as the signatory
// service would, its nominated lead at lead@<org>.ac.uk.
func (p *portal) announce(org string) {
	p.tb.Helper()
	p.publish("/tc/signatory", org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "University of " + org, Kind: "signatory",
		AnnouncedOn: civil.New(2026, 3, 20), NominatedLead: events.Person{Name: "Lead", Email: "lead@" + org + ".ac.uk"}})
}

// addLead records email as org's nominated lead through the signatory's events and
// waits until the portal knows it.
func (p *portal) addLead(org, email string) {
	p.tb.Helper()
	p.publish("/tc/signatory", org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "University of " + org, Kind: "signatory",
		NominatedLead: events.Person{Name: "Lead of " + org, Email: email}})
	p.waitFor(email, func(person signin.Person) bool { _, ok := person.LeadOf(org); return ok })
	// The same handler then revokes the tokens made before the change by those who
	// may no longer make them; the portal's clock is the test's, behind the event's
	// time, so a token the test makes before that step ends would be taken as made
	// before the change and revoked under it (a test under load saw its token gone).
	testenv.Consumed(p.tb, p.env.JS, events.StreamSignatory, signin.DurableLeads)
}

// addReviewer adds a reviewer to the pool through the review service's events.
func (p *portal) addReviewer(id, org, email string) {
	p.tb.Helper()
	p.publish("/tc/review", id, events.ReviewerRegisteredV1{ReviewerID: id, Name: "Reviewer " + id, Email: email, OrganisationID: org, Capacity: 2})
	p.waitFor(email, func(person signin.Person) bool { return person.Reviewer != nil && person.Reviewer.ID == id })
}

func (p *portal) waitFor(email string, ok func(signin.Person) bool) {
	p.tb.Helper()
	testenv.Eventually(p.tb, 10*time.Second, func() error {
		person, err := p.svc.People.Lookup(context.Background(), email)
		if err != nil {
			return err
		}
		if !ok(person) {
			return fmt.Errorf("the portal does not know %s yet", email)
		}
		return nil
	})
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with the given cookie (may be empty), following no redirect.
// A POST is a form as a browser sends one (an empty one when form is nil).
func (p *portal) do(method, path, cookie string, form url.Values, headers ...string) response {
	p.tb.Helper()
	if form == nil && method == http.MethodPost {
		form = url.Values{}
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.url+path, body)
	if err != nil {
		p.tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// linkRequests reads every sign-in link request on the portal's stream, once the
// requests answered so far have been dealt with.
func (p *portal) linkRequests() []events.SigninLinkRequestedV1 {
	p.tb.Helper()
	p.svc.WaitSignins()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := p.env.JS.Stream(ctx, events.StreamPortal)
	if err != nil {
		p.tb.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		p.tb.Fatal(err)
	}
	var out []events.SigninLinkRequestedV1
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil || m.Header.Get(bus.HeaderType) != (events.SigninLinkRequestedV1{}).EventType() {
			continue // the stream carries the API tokens' events too
		}
		var v events.SigninLinkRequestedV1
		if err := json.Unmarshal(m.Data, &v); err != nil {
			p.tb.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// requestLink asks for a link for email and returns its path (secret included).
func (p *portal) requestLink(email string) string {
	p.tb.Helper()
	before := len(p.linkRequests())
	r := p.do("POST", "/signin", "", url.Values{"email": {email}})
	if r.status != http.StatusOK {
		p.tb.Fatalf("POST /signin = %d: %s", r.status, r.body)
	}
	reqs := p.linkRequests()
	if len(reqs) != before+1 {
		p.tb.Fatalf("sign-in link requests = %d, want %d", len(reqs), before+1)
	}
	u, err := url.Parse(reqs[len(reqs)-1].Link)
	if err != nil {
		p.tb.Fatal(err)
	}
	return u.Path
}

// signIn follows a link's sign-in button and returns the session cookie.
func (p *portal) signIn(email string) string {
	p.tb.Helper()
	link := p.requestLink(email)
	r := p.do("POST", link, "", url.Values{})
	if r.status != http.StatusSeeOther {
		p.tb.Fatalf("POST link = %d: %s", r.status, r.body)
	}
	return sessionCookie(p.tb, r)
}

func sessionCookie(tb testing.TB, r response) string {
	tb.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "tc_session" && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	tb.Fatalf("no session cookie in %v", r.header)
	return ""
}

// parse parses a page, failing the test when it is not HTML.
func parse(tb testing.TB, body string) *html.Node {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

// find returns every element for which match is true.
// linkLabelled is the address of the first link in doc whose text is label, or "".
func linkLabelled(doc *html.Node, label string) string {
	for _, a := range find(doc, element("a")) {
		if text(a) == label {
			return attr(a, "href")
		}
	}
	return ""
}

func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string { return textWithout(n, func(*html.Node) bool { return false }) }

// textWithout is n's text, spaces collapsed, leaving out the elements skip names.
func textWithout(n *html.Node, skip func(*html.Node) bool) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && skip(n) {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// cellText is a table cell's text as a wide screen shows it: without the label a
// phone's screen shows before the value, where a table is a list (class stack-label).
func cellText(n *html.Node) string {
	return textWithout(n, func(n *html.Node) bool {
		return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool {
			return a.Key == "class" && slices.Contains(strings.Fields(a.Val), "stack-label")
		})
	})
}

func element(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// firstCells is the text of the first cell of every table row under doc that has
// cells (the header row has none).
func firstCells(doc *html.Node) []string {
	var out []string
	for _, row := range find(doc, element("tr")) {
		if cells := find(row, element("td")); len(cells) > 0 {
			out = append(out, text(cells[0]))
		}
	}
	return out
}

func h1(tb testing.TB, body string) string {
	tb.Helper()
	hs := find(parse(tb, body), element("h1"))
	if len(hs) != 1 {
		tb.Fatalf("page has %d h1 elements: %s", len(hs), body)
	}
	return text(hs[0])
}

// with returns base with extra's settings added, leaving base as it was.
func with(base, extra map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, extra)
	return out
}

// testContact is ITSS's address every test portal gives (PORTAL_CONTACT_EMAIL).
const testContact = "itss@example.org"

// testDPO is ITSS's data protection officer every test portal gives
// (PORTAL_DPO_CONTACT).
const testDPO = "dpo@example.org"

// testPseudonymKey keys the pseudonyms of every test portal (PORTAL_PSEUDONYM_KEY).
const testPseudonymKey = "the portal's pseudonym secret, for the tests"

// pseudonymOf is the pseudonym a test portal records the person of email by.
func pseudonymOf(tb testing.TB, email string) string {
	tb.Helper()
	return testPseudonyms(tb).Of(email)
}

func testPseudonyms(tb testing.TB) signin.Pseudonyms {
	tb.Helper()
	ps, err := signin.NewPseudonyms([]byte(testPseudonymKey))
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// The OpenID provider every test portal signs ITSS staff in with.
const (
	testClientSecret = "portal-secret-for-the-tests"
	testOpsPassword  = "ops password for the tests"
	testColleague    = "colleague@itss.example"
	// testOpsTwo is a second member of the ops group, so that the tests can tell
	// two ops people's actions apart.
	testOpsTwo        = "second.ops@itss.example"
	testOpsTwoSubject = "second-ops"
	// testOpsRedirect is the callback as registered at the provider: https, as in
	// production (the tests send the flow's cookie themselves).
	testOpsRedirect = "https://portal.test/auth/callback"
)

// The portal's readiness answers as the services' does (deploy/README.md, "Verify"):
// each check by name, and the status they come to.
func TestReadinessAnswersAsTheServicesDo(t *testing.T) {
	t.Parallel()
	tel, shutdown, err := telemetry.Setup(context.Background(), telemetry.Options{Service: Name, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	for _, c := range []struct {
		check  error
		code   int
		answer string
	}{
		{nil, http.StatusOK, `{"checks":{"mongo":"ok"},"status":"ok"}`},
		{errors.New("down"), http.StatusServiceUnavailable, `{"checks":{"mongo":"unavailable"},"status":"unavailable"}`},
	} {
		h := admin(tel, map[string]func(context.Context) error{"mongo": func(context.Context) error { return c.check }})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != c.code || strings.TrimSpace(rec.Body.String()) != c.answer {
			t.Errorf("readyz = %d %s, want %d %s", rec.Code, rec.Body, c.code, c.answer)
		}
	}
}
