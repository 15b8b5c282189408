package service

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	fundtest "github.com/itss/techcommit/services/fund/servicetest"
	notifytest "github.com/itss/techcommit/services/notify/servicetest"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
	sigtest "github.com/itss/techcommit/services/signatory/servicetest"
)

// The browser journeys: a person in a real Chromium does their own work in the
// portal, with the mouse and with the keyboard alone, while axe-core checks every
// page they see. The services behind the portal are the real ones, in-process, and
// the sign-in link is read from the email notify sends to a real SMTP server.

var (
	screenshots = flag.String("screenshots", "",
		"directory to write the walkthrough's pictures of the portal's pages into (portal-*.png), e.g. ../../../../docs")
	allScreenshots = flag.Bool("all-screenshots", false,
		"with -screenshots, write a picture of every page the journeys take one of, not only those the README and docs/ show")
)

// docsPictures are the pictures of the portal that the README and docs/ show, which
// -screenshots writes (TestTheDocsShowThePicturesTheJourneysTake keeps them in step):
// the journeys take more, for a person to look at with -all-screenshots, which
// written into docs/ as well left dozens of files there that nothing showed.
var docsPictures = []string{
	"home", "signin", "organisation", "submission", "submission-error", "reviews", "directory", "rounds",
	"ops-organisation", "ops-email",
}

// screenshot keeps a picture of the page for the README when -screenshots is set.
func screenshot(b *browsertest.Browser, name string) {
	if *screenshots != "" && (*allScreenshots || slices.Contains(docsPictures, name)) {
		b.Screenshot(filepath.Join(*screenshots, "portal-"+name+".png"))
	}
}

// mailbox is a real SMTP server in process that keeps the plain text of what it is
// sent, as the local stack's mail catcher does.
type mailbox struct {
	mu   sync.Mutex
	msgs []mailed
	port int
}

type mailed struct {
	to   []string
	text string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct {
	box *mailbox
	to  []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, strings.ToLower(to))
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	m := mailed{to: s.to, text: plainText(msg.Header.Get("Content-Type"), body)}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, m)
	s.box.mu.Unlock()
	return nil
}

// plainText finds the text/plain part of a message (multipart.Reader undoes its
// quoted-printable encoding).
func plainText(contentType string, body []byte) string {
	ct, params, _ := mime.ParseMediaType(contentType)
	if !strings.HasPrefix(ct, "multipart/") {
		return string(body)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		data, _ := io.ReadAll(p)
		if pct := p.Header.Get("Content-Type"); strings.HasPrefix(pct, "multipart/") {
			if s := plainText(pct, data); s != "" {
				return s
			}
		} else if strings.HasPrefix(pct, "text/plain") {
			return string(data)
		}
	}
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	box := &mailbox{}
	s := smtp.NewServer(box)
	s.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return box
}

var signinLink = regexp.MustCompile(`https?://[^\s/]+(/signin/[A-Za-z0-9_-]+)`)

// links returns the sign-in links mailed to email so far, oldest first.
func (m *mailbox) links(email string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.msgs {
		for _, to := range msg.to {
			if to == strings.ToLower(email) {
				if l := signinLink.FindStringSubmatch(msg.text); l != nil {
					out = append(out, l[1])
				}
			}
		}
	}
	return out
}

// stack is the portal with every service it calls, for a journey.
type stack struct {
	p         *portal
	box       *mailbox
	env       *testenv.Env
	sig, fund *testenv.Client
	review    *testenv.Client
	notify    *testenv.Client
}

// startStack runs signatory, notify (mailing the stack's mailbox), fund and, when
// asked, the review service, all trusting the portal's tokens, and the portal.
func startStack(t *testing.T, withReview bool) *stack {
	t.Helper()
	return startStackCalling(t, withReview, "")
}

// startStackCalling is startStack with the portal calling review at reviewURL when
// it is set (one that never answers, say) and review is not run: the portal then
// gives up on a page's calls after two seconds (HTTP_REQUEST_TIMEOUT, 10 s in
// production), so that waiting for a review that never answers takes no longer.
func startStackCalling(t *testing.T, withReview bool, reviewURL string) *stack {
	t.Helper()
	s := &stack{env: testenv.NewEnv(t), box: startMailbox(t)}
	var portalURL string
	jwks := forwardJWKS(t, &portalURL)
	s.sig = sigtest.Start(t, s.env, portalIssuer, jwks)
	s.fund = fundtest.Start(t, s.env, portalIssuer, jwks)
	notify := notifytest.Start(t, s.env, portalIssuer, jwks, "127.0.0.1", s.box.port)
	svcs := services{signatory: s.sig.URL, notify: notify.URL, fund: s.fund.URL, review: reviewURL}
	if reviewURL != "" {
		svcs.env = map[string]string{"HTTP_REQUEST_TIMEOUT": "2s"}
	}
	if withReview {
		s.review = startReview(t, s.env, jwks)
		svcs.review = s.review.URL
	}
	s.p = startPortalOn(t, s.env, svcs)
	portalURL = s.p.url
	return s
}

// mailedLink waits for the link after the first `before` mailed to email and returns
// it on the test portal's address (the mail names the portal's public address).
func (s *stack) mailedLink(t *testing.T, email string, before int) string {
	t.Helper()
	var link string
	testenv.Eventually(t, 15*time.Second, func() error {
		ls := s.box.links(email)
		if len(ls) <= before {
			return fmt.Errorf("no new sign-in link mailed to %s (%d so far)", email, len(ls))
		}
		link = ls[len(ls)-1]
		return nil
	})
	return s.p.url + link
}

// newBrowser is a Chromium checking every page it loads with axe-core.
func newBrowser(t *testing.T) *browsertest.Browser {
	t.Helper()
	b := browsertest.New(t)
	b.CheckEveryPage()
	return b
}

// tabTo presses Tab until the focus is on the control of this role and name, and
// checks at every stop on the way that the focus can be seen, so the whole journey
// is one a keyboard user can follow with their eyes.
func tabTo(t *testing.T, b *browsertest.Browser, role, name string) {
	t.Helper()
	var path []string
	for range browsertest.MaxTabs {
		b.Tab()
		f := b.Focused()
		if f == (browsertest.Focus{}) {
			// Past the last control the focus leaves the page for the browser's own
			// controls, and the next Tab brings it back to the top.
			path = append(path, f.String())
			continue
		}
		b.CheckFocusVisible(t)
		if f.Role == role && f.Name == name {
			return
		}
		path = append(path, f.String())
	}
	t.Fatalf("%s %q not reached by Tab on %s; the focus went through: %s", role, name, b.CurrentURL(), strings.Join(path, ", "))
}

// describedByError checks that the field with this id is described by its error
// message, so that a screen reader reads the message with the field.
func describedByError(t *testing.T, b *browsertest.Browser, id string) {
	t.Helper()
	if got := b.Text(browsertest.CSS("#" + id + "-error")); !strings.HasPrefix(got, "Error:") {
		t.Errorf("the message beside %s reads %q", id, got)
	}
	b.WaitFor(browsertest.CSS("#" + id + `[aria-describedby="` + id + `-error"][aria-invalid="true"]`))
}

// errorSummaryHasFocus checks that a page refusing a form opens with the focus on its
// error summary (as the GOV.UK pattern does), so that a screen reader reads every
// problem first and a person zoomed in sees the list rather than one field out of
// context; that the next Tab reaches the summary's link to the field with this id
// (its first problem); and that following the link puts the focus in the field,
// labelled field. The link is followed with the mouse: the debugger's Enter delivers
// its keypress to the field the link has just focused, which submits the form again
// (a person's Enter does not).
func errorSummaryHasFocus(t *testing.T, b *browsertest.Browser, id, field string) {
	t.Helper()
	if got := b.Title(); !strings.HasPrefix(got, "Error: ") {
		t.Errorf("the refused page's title is %q, not one starting %q", got, "Error: ")
	}
	if f := b.Focused(); f.Name != "There is a problem" {
		t.Fatalf("the refused page opens with the focus on %s, not the error summary", f)
	}
	b.Tab()
	b.CheckFocusVisible(t)
	link := browsertest.CSS(`.error-summary a[href="#` + id + `"]`)
	b.WaitFor(browsertest.CSS(`.error-summary a[href="#` + id + `"]:focus`))
	b.Click(link)
	if f := b.Focused(); f.Name != field {
		t.Fatalf("the summary's link to #%s put the focus on %s, not the field %q", id, f, field)
	}
}

func heading(t *testing.T, b *browsertest.Browser, want string) {
	t.Helper()
	if got := b.Text(browsertest.CSS("h1")); got != want {
		t.Fatalf("on %s the heading is %q, want %q", b.CurrentURL(), got, want)
	}
}

func pagePath(t *testing.T, b *browsertest.Browser) string {
	t.Helper()
	u, err := url.Parse(b.CurrentURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// organisationPage checks the lead's page shows the obligation with its days left
// and returns the calendar address, once notify (which learns of the organisation
// from the signatory's events, in its own time) has one.
func organisationPage(t *testing.T, b *browsertest.Browser, name string) string {
	t.Helper()
	heading(t, b, "Your organisation")
	if got := b.Text(browsertest.CSS(".caption")); got != name {
		t.Errorf("organisation = %q, want %q", got, name)
	}
	if got := b.Text(browsertest.CSS("td .tag")); !regexp.MustCompile(`^\d+ days left$`).MatchString(got) {
		t.Errorf("the obligation's status is %q, want its days left", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if strings.Contains(b.Text(browsertest.CSS("main")), "calendar address is not available") {
			b.Open(b.CurrentURL())
			return fmt.Errorf("no calendar address yet")
		}
		return nil
	})
	return b.Text(browsertest.CSS(".calendar-url"))
}

// leadStack has two organisations whose obligations are open, with days left.
func leadStack(t *testing.T) (s *stack, mine, theirs string) {
	t.Helper()
	s = startStack(t, false)
	announced := time.Now().AddDate(0, -13, 0) // the window opened a month ago; due in five
	mine = onboardOn(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk", announced)
	theirs = onboardOn(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk", announced)
	return s, mine, theirs
}

// A lead signs in by the link emailed to them, finds their organisation's
// obligation with its days left and makes a new calendar address: once with the
// mouse, then by keyboard alone. Each, signed in, finds another organisation's page
// "not found".
func TestJourneyLead(t *testing.T) {
	t.Parallel()
	s, mine, theirs := leadStack(t)
	b := newBrowser(t)

	// With the mouse, as lead A.
	b.Open(s.p.url + "/")
	screenshot(b, "home")
	b.Click(browsertest.CSS(`nav a[href="/signin"]`))
	heading(t, b, "Sign in")
	screenshot(b, "signin")
	before := len(s.box.links("lead-a@example.ac.uk"))
	b.Fill("Email address", "lead-a@example.ac.uk")
	b.Click(browsertest.Role("button", "Email me a sign-in link"))
	heading(t, b, "Check your email")
	link := s.mailedLink(t, "lead-a@example.ac.uk", before)
	b.Open(link)
	b.Click(browsertest.Role("button", "Sign in"))
	heading(t, b, "Your pages")
	// The link works once: used again, even by its owner, it says so.
	b.Open(link)
	b.Click(browsertest.Role("button", "Sign in"))
	heading(t, b, "This sign-in link has expired or been used")
	b.Click(browsertest.Role("link", "Your pages"))
	b.Click(browsertest.Role("link", "University of Exampleton"))
	if got := pagePath(t, b); got != "/obligations/"+mine {
		t.Fatalf("the organisation's link led to %s", got)
	}
	old := organisationPage(t, b, "University of Exampleton")
	screenshot(b, "organisation")
	b.Click(browsertest.Role("button", "Make a new calendar address"))
	if got := pagePath(t, b); got != "/obligations/"+mine {
		t.Fatalf("after rotating the calendar address the browser is on %s", got)
	}
	if now := b.Text(browsertest.CSS(".calendar-url")); now == old || !strings.HasPrefix(now, "https://notify.example.org/") {
		t.Errorf("calendar address after rotation = %q (before: %q)", now, old)
	}
	notFound(t, b, s.p.url, theirs, "Othertown")
	b.Open(s.p.url + "/account")
	b.Click(browsertest.Role("button", "Sign out"))

	// By keyboard alone, as lead B.
	b.Open(s.p.url + "/")
	tabTo(t, b, "link", "Sign in")
	b.Enter()
	heading(t, b, "Sign in")
	before = len(s.box.links("lead-b@example.ac.uk"))
	tabTo(t, b, "textbox", "Email address")
	b.Type("lead-b at example.ac.uk")
	tabTo(t, b, "button", "Email me a sign-in link")
	b.Enter()
	// The page with the error opens on its summary, whose link takes the focus into
	// the field, described by its message. Tabbing back into the field selects what
	// was typed, so the address typed next replaces it.
	heading(t, b, "Sign in")
	errorSummaryHasFocus(t, b, "field-email", "Email address")
	describedByError(t, b, "field-email")
	b.ShiftTab()
	tabTo(t, b, "textbox", "Email address")
	b.Type("lead-b@example.ac.uk")
	tabTo(t, b, "button", "Email me a sign-in link")
	b.Enter()
	heading(t, b, "Check your email")
	// Following a link in an email is opening its address.
	b.Open(s.mailedLink(t, "lead-b@example.ac.uk", before))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	heading(t, b, "Your pages")
	tabTo(t, b, "link", "Othertown College")
	b.Enter()
	if got := pagePath(t, b); got != "/obligations/"+theirs {
		t.Fatalf("the organisation's link led to %s", got)
	}
	old = organisationPage(t, b, "Othertown College")
	tabTo(t, b, "button", "Make a new calendar address")
	b.Enter()
	if now := b.Text(browsertest.CSS(".calendar-url")); now == old {
		t.Errorf("the calendar address did not change: %q", now)
	}
	// The change is said, as a status message: the page reloaded at its top.
	if got, want := b.Text(browsertest.CSS(`#calendar-rotated[role="status"]`)), "Your calendar has a new address, below. The old address no longer works."; got != want {
		t.Errorf("after making a new calendar address the page says %q, want %q", got, want)
	}
	notFound(t, b, s.p.url, mine, "Exampleton")
}

// notFound checks that, signed in, the pages of organisation org are "page not
// found" and name nothing of it.
func notFound(t *testing.T, b *browsertest.Browser, base, org, name string) {
	t.Helper()
	for _, p := range []string{"/obligations/" + org, "/obligations/" + org + "/feedback/sub-1"} {
		b.Open(base + p)
		heading(t, b, "Page not found")
		if strings.Contains(b.Text(browsertest.CSS("body")), name) {
			t.Errorf("%s names the other organisation", p)
		}
	}
}

// A reviewer signs in by keyboard alone with the link emailed to them, finds the
// assignment and accepts it.
func TestJourneyReviewer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	const email = "rita@reviewers.example"
	round, sub := assignReviewer(t, s.env, s.review, s.p, email)
	b := newBrowser(t)

	b.Open(s.p.url + "/signin")
	tabTo(t, b, "textbox", "Email address")
	b.Type(email)
	b.Enter() // Enter in the field submits its form
	heading(t, b, "Check your email")
	b.Open(s.mailedLink(t, email, 0))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	tabTo(t, b, "link", "Your review assignments")
	b.Enter()
	heading(t, b, "Your review assignments")
	if got := b.Text(browsertest.CSS("tbody tr")); !strings.Contains(got, "Round 2027") || !strings.Contains(got, "Waiting for your answer") {
		t.Fatalf("the assignment reads %q", got)
	}
	screenshot(b, "reviews")
	// Declining needs a reason: without one the page says so beside the field.
	tabTo(t, b, "button", "Decline University of S's submission (Round 2027)")
	b.Enter()
	if got := b.Text(browsertest.CSS(".error-summary")); !strings.Contains(got, "There is a problem") {
		t.Fatalf("a decline without a reason: the error summary reads %q", got)
	}
	errorSummaryHasFocus(t, b, "field-reason-"+round+"-"+sub, "Reason for declining University of S's submission (Round 2027)")
	describedByError(t, b, "field-reason-"+round+"-"+sub)
	tabTo(t, b, "button", "Accept University of S's submission (Round 2027)")
	b.Enter()
	if got := pagePath(t, b); got != "/reviews" {
		t.Fatalf("after accepting the browser is on %s", got)
	}
	if got := b.Text(browsertest.CSS("tbody tr")); !strings.Contains(got, "Accepted") {
		t.Fatalf("after accepting the assignment reads %q", got)
	}
	// The submission reads as the lead wrote it: a list typed one point a line keeps
	// its lines.
	b.Open(s.p.url + "/reviews/" + round + "/" + sub)
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, ":\n- a first point\n- a second point") {
		t.Errorf("the narrative reads %q, want its lines kept", got)
	}
}

// Anyone, by keyboard alone, searches the directory and reads the open fund rounds.
func TestJourneyPublic(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	ops, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", ops, map[string]any{
		"name": "Technician Collaboration Fund 2030", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 50000, "max_award_pence": 250000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	}))
	// The directory is the signatory service's projection, which may lag its events.
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.p.do("GET", "/directory", "", nil); !strings.Contains(r.body, "Othertown College") || !strings.Contains(r.body, "Exampleton") {
			return fmt.Errorf("directory = %d without both organisations", r.status)
		}
		return nil
	})
	b := newBrowser(t)

	b.Open(s.p.url + "/")
	// The home page's title says the service's name once (it said it twice).
	if got := b.Title(); got != "Technician Commitment" {
		t.Errorf("the home page's title is %q", got)
	}
	tabTo(t, b, "link", "Directory")
	b.Enter()
	heading(t, b, "Directory")
	screenshot(b, "directory")
	tabTo(t, b, "textbox", "Name")
	b.Type("othertown")
	tabTo(t, b, "combobox", "Kind")
	b.Type("Signatory") // a closed select takes the option typed
	tabTo(t, b, "button", "Search")
	b.Enter()
	if got := b.Text(browsertest.CSS("tbody")); !strings.HasPrefix(got, "Othertown College") || strings.Contains(got, "Exampleton") {
		t.Fatalf("the search found %q", got)
	}
	if got := b.Value(browsertest.Label("Kind")); got != "signatory" {
		t.Errorf("kind searched = %q", got)
	}
	// A kind the form does not offer (an edited address) is refused: the summary
	// has the focus and leads to the field, described by the message.
	b.Open(s.p.url + "/directory?kind=nonsense")
	errorSummaryHasFocus(t, b, "field-kind", "Kind")
	describedByError(t, b, "field-kind")
	tabTo(t, b, "link", "Fund rounds")
	b.Enter()
	heading(t, b, "Collaboration Fund: open rounds")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Technician Collaboration Fund 2030") {
		t.Fatalf("the open rounds read %q", got)
	}
	// Each round gives its project window, and the page says who may apply and how:
	// it gave a name, a closing time and the awards alone.
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Friday 1 March 2030 to Tuesday 31 December 2030") {
		t.Errorf("the open rounds do not give the project window: %q", got)
	}
	for _, want := range []string{"announced signatories of the Technician Commitment that have not withdrawn", "partner organisation outside it",
		"endorsement of its nominated lead", "through the fund's API", "API token", "nominated lead makes in this portal"} {
		if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, want) {
			t.Errorf("the rounds page does not say %q:\n%s", want, got)
		}
	}
	screenshot(b, "rounds")

	// Every page's footer leads, by keyboard, to the privacy notice, which says who
	// holds people's data and how to write to them; the sign-in page leads there too.
	tabTo(t, b, "link", "Privacy notice")
	b.Enter()
	heading(t, b, "Privacy notice")
	if got := pagePath(t, b); got != "/privacy" {
		t.Fatalf("the footer's link led to %s", got)
	}
	for _, want := range []string{"email " + testContact, "Lawful basis", "How long we keep it", "Your rights, and how to use them", "Information Commissioner's Office (ICO)"} {
		if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, want) {
			t.Errorf("the privacy notice does not say %q:\n%s", want, got)
		}
	}
	screenshot(b, "privacy")
	tabTo(t, b, "link", testContact) // ITSS's address, a mailto: link in the notice
	b.Open(s.p.url + "/signin")
	tabTo(t, b, "link", "privacy notice")
	b.Enter()
	heading(t, b, "Privacy notice")
}
