package service

import (
	"context"
	"encoding/csv"
	"fmt"
	stdhtml "html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/oidcdev/oidcdevtest"
	"github.com/itss/techcommit/libs/testenv"
)

// opsSignIn signs email in through the portal's OpenID provider, as ITSS staff do,
// and returns the session cookie.
func opsSignIn(t *testing.T, p *portal, email string) string {
	t.Helper()
	start := p.do("GET", "/signin/ops", "", nil)
	if start.status != http.StatusFound && start.status != http.StatusSeeOther {
		t.Fatalf("GET /signin/ops = %d: %s", start.status, start.body)
	}
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
	res := oidcdevtest.SignIn(t, &http.Client{Jar: jar}, start.header.Get("Location"), email, testOpsPassword)
	if res.Location == nil || res.Location.Path != "/auth/callback" {
		t.Fatalf("the provider did not send %s back to the callback: %d %v", email, res.Status, res.Location)
	}
	r := p.do("GET", "/auth/callback?"+res.Location.RawQuery, flow, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("callback for %s = %d: %s", email, r.status, r.body)
	}
	return sessionCookie(t, r)
}

// opsToken is a token of the development issuer for a service, for the tests'
// own look at what a service recorded.
func opsToken(t *testing.T, c *testenv.Client, service string) string {
	t.Helper()
	tok, err := c.Issuer.MintFor(auth.Principal{Subject: "ops-test-reader", Role: auth.RoleOps}, time.Hour, config.DevAudience(service))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// opsMustStatus checks a page's status.
func opsMustStatus(t *testing.T, r response, want int, what string) response {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s = %d, want %d: %s", what, r.status, want, r.body)
	}
	return r
}

// opsFieldMessage is the message the page shows beside a field, or "".
func opsFieldMessage(t *testing.T, body, field string) string {
	t.Helper()
	id := "field-" + strings.NewReplacer(".", "-").Replace(field) + "-error"
	for _, n := range find(parse(t, body), func(n *html.Node) bool { return attr(n, "id") == id }) {
		return text(n)
	}
	return ""
}

func opsEnquiry(name, email string) url.Values {
	return url.Values{"name": {name}, "kind": {"signatory"}, "sector": {"higher_education"}, "country": {"GB"},
		"website": {"https://www.example.ac.uk"}, "enquiry_contact.name": {"Sam Patel"}, "enquiry_contact.email": {email}}
}

// Only ITSS staff reach the console: a lead and a reviewer, signed in, find every
// console page "not found" and cannot act through it; a visitor not signed in is
// sent to sign in.
func TestOpsConsoleIsForOpsOnly(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	s.p.addReviewer("rev-1", org, "rita@example.ac.uk")
	lead := s.p.signIn("lead-a@example.ac.uk")
	reviewer := s.p.signIn("rita@example.ac.uk")
	gets := []string{"/ops", "/ops/organisations", "/ops/organisations.csv", "/ops/obligations.csv", "/ops/organisations/new", "/ops/organisations/" + org,
		"/ops/organisations/" + org + "/withdrawal", "/ops/fund", "/ops/fund/rounds/new", "/ops/fund/applications",
		"/ops/fund/applications.csv", "/ops/fund/applications/app-1", "/ops/email", "/ops/email/reminders", "/ops/dead-letters",
		"/ops/review", "/ops/review/rounds/new", "/ops/review/rounds/r-1", "/ops/review/rounds/r-1/progress.csv",
		"/ops/review/rounds/r-1/submissions/s-1", "/ops/review/reviewers", "/ops/review/reviewers/new", "/ops/review/reviewers/rev-1", "/ops/people"}
	for _, path := range gets {
		for who, cookie := range map[string]string{"lead": lead, "reviewer": reviewer} {
			r := s.p.do("GET", path, cookie, nil)
			if r.status != http.StatusNotFound || strings.Contains(r.body, "Exampleton") {
				t.Errorf("%s: GET %s = %d (want 404 naming nothing): %.200s", who, path, r.status, r.body)
			}
		}
		if r := s.p.do("GET", path, "", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin/ops" {
			t.Errorf("not signed in: GET %s = %d to %q", path, r.status, r.header.Get("Location"))
		}
	}
	withdraw := url.Values{"withdrawn_on": {time.Now().Format(time.DateOnly)}, "initiated_by": {"itss"}, "reason": {"Test"}}
	posts := map[string]url.Values{"/ops/organisations": opsEnquiry("Lead's Own College", "x@example.ac.uk"),
		"/ops/organisations/" + org + "/withdrawal": withdraw, "/ops/fund/rounds": {}, "/ops/fund/applications/app-1/award": {"amount": {"100"}},
		"/ops/email/deliveries/0123456789abcdef0123456789abcdef/resend": {}, "/ops/dead-letters/signatory/1/replay": {},
		"/ops/review/rounds": {"name": {"Round"}}, "/ops/review/rounds/r-1/auto-assign": {}, "/ops/review/rounds/r-1/close": {},
		"/ops/review/rounds/r-1/submissions/s-1/feedback": {"feedback": {"x"}}, "/ops/review/rounds/r-1/submissions/s-1/reviews/rev-1/return": {},
		"/ops/review/reviewers": {}, "/ops/review/reviewers/rev-1": {},
		"/ops/people/access": {"email": {"lead-a@example.ac.uk"}}, "/ops/people/erasure": {"email": {"lead-a@example.ac.uk"}},
		"/ops/people/erasures": {"email": {"lead-a@example.ac.uk"}, "confirm": {"lead-a@example.ac.uk"}}}
	for path, form := range posts {
		for who, cookie := range map[string]string{"lead": lead, "reviewer": reviewer} {
			if r := s.p.do("POST", path, cookie, form); r.status != http.StatusNotFound {
				t.Errorf("%s: POST %s = %d, want 404", who, path, r.status)
			}
		}
	}
	got := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+org, opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	if got["status"] != "announced" {
		t.Errorf("after the lead's and reviewer's posts the organisation is %v", got["status"])
	}
	if list := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations", opsToken(t, s.sig, "signatory"), nil)).Body; strings.Contains(string(list), "Lead's Own College") {
		t.Errorf("a lead recorded an enquiry through the console")
	}
}

// An ops person onboards an organisation through the console's forms, meeting the
// portal's and the service's field errors beside the fields; the signatory service
// records each step as the person who took it (their own subject at the identity
// provider, not a shared identity), and the history page shows it.
func TestOpsOnboardsAnOrganisationAsThemselves(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	one := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	two := opsSignIn(t, s.p, testOpsTwo)

	// The portal's own check, then the service's (the address's format is the
	// signatory's to judge), each beside its field.
	bad := opsEnquiry("", "sam at example")
	r := opsMustStatus(t, s.p.do("POST", "/ops/organisations", one, bad), http.StatusBadRequest, "an enquiry without a name")
	if got := opsFieldMessage(t, r.body, "name"); got != "Error: Enter organisation name" {
		t.Errorf("beside the name: %q", got)
	}
	bad.Set("name", "Newtown University")
	r = opsMustStatus(t, s.p.do("POST", "/ops/organisations", one, bad), http.StatusBadRequest, "an enquiry with a bad address")
	if got := opsFieldMessage(t, r.body, "enquiry_contact.email"); !strings.HasPrefix(got, "Error: ") || len(got) < 12 {
		t.Errorf("beside the contact's email: %q in %s", got, r.body)
	}
	if !strings.Contains(r.body, `value="Newtown University"`) {
		t.Errorf("the form lost what was typed")
	}
	// An enquiry sent with no date records none (the signatory takes the day as
	// optional): the form says so, rather than promising today.
	if form := opsMustStatus(t, s.p.do("GET", "/ops/organisations/new", one, nil), http.StatusOK, "the enquiry form"); strings.Contains(form.body, "for today") ||
		!strings.Contains(form.body, "no date is then recorded") {
		t.Errorf("the enquiry form's hint for the date does not say what an empty date does")
	}
	// The form sent twice as a browser sends it (a double click, a reload), with the
	// key the page gave it, records one organisation: both answers lead to it.
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(opsMustStatus(t, s.p.do("GET", "/ops/organisations/new", one, nil), http.StatusOK, "the enquiry form").body)
	if key == nil {
		t.Fatal("the enquiry form carries no key")
	}
	sent := opsEnquiry("Newtown University", "sam.patel@newtown.ac.uk")
	sent.Set("key", key[1])
	r = opsMustStatus(t, s.p.do("POST", "/ops/organisations", one, sent), http.StatusSeeOther, "the enquiry")
	orgPath := r.header.Get("Location")
	if again := opsMustStatus(t, s.p.do("POST", "/ops/organisations", one, sent), http.StatusSeeOther, "the enquiry sent again"); again.header.Get("Location") != orgPath {
		t.Errorf("the enquiry sent twice led to %s and %s, want one organisation", orgPath, again.header.Get("Location"))
	}
	id := strings.TrimPrefix(orgPath, "/ops/organisations/")

	// Not yet announced, it has no technicians to offer the reviewer pool.
	if enquired := opsMustStatus(t, s.p.do("GET", orgPath, one, nil), http.StatusOK, "the enquiry's page"); strings.Contains(enquired.body, "Add a reviewer") {
		t.Errorf("an enquiry's page offers to add a reviewer from it")
	}

	day := func(d int) string { return time.Now().AddDate(0, 0, d).Format(time.DateOnly) }
	opsMustStatus(t, s.p.do("POST", orgPath+"/meeting", one, url.Values{"held_on": {"2026-02-30"}}), http.StatusBadRequest, "a meeting on no real day")
	opsMustStatus(t, s.p.do("POST", orgPath+"/meeting", one, url.Values{"held_on": {day(0)}, "notes": {"Met the Dean."}}), http.StatusSeeOther, "the meeting")
	opsMustStatus(t, s.p.do("POST", orgPath+"/form", one, url.Values{"signed_on": {day(0)},
		"leader.name": {"Prof. Jane Smith"}, "leader.title": {"Vice-Chancellor"}, "leader.email": {"vc@newtown.ac.uk"},
		"nominated_lead.name": {"Sam Patel"}, "nominated_lead.email": {"sam.patel@newtown.ac.uk"},
		"point_of_contact.name": {"Technical Services Office"}, "plan_page": {"https://www.newtown.ac.uk/tc"}}), http.StatusSeeOther, "the signed form")
	opsMustStatus(t, s.p.do("POST", orgPath+"/announcement", two, url.Values{"announced_on": {day(0)}}), http.StatusSeeOther, "the announcement")

	// The contacts, changed by the second person from the form filled with them.
	contacts := opsMustStatus(t, s.p.do("GET", orgPath+"/contacts", two, nil), http.StatusOK, "the contacts form")
	if !strings.Contains(contacts.body, `value="sam.patel@newtown.ac.uk"`) || !strings.Contains(contacts.body, `value="Technical Services Office"`) {
		t.Fatalf("the contacts form is not filled in: %s", contacts.body)
	}
	opsMustStatus(t, s.p.do("POST", orgPath+"/contacts", two, url.Values{
		"leader.name": {"Prof. Jane Smith"}, "leader.title": {"Vice-Chancellor"}, "leader.email": {"vc@newtown.ac.uk"},
		"nominated_lead.name": {"Sam Patel"}, "nominated_lead.email": {"sam.patel@newtown.ac.uk"},
		"point_of_contact.name": {"Technician Commitment Office"}, "plan_page": {"https://www.newtown.ac.uk/tc"},
		"version": {hidden(parse(t, contacts.body), "version")}}), http.StatusSeeOther, "the contacts")

	page := opsMustStatus(t, s.p.do("GET", orgPath, one, nil), http.StatusOK, "the organisation's page")
	if h := h1(t, page.body); h != "Newtown University" {
		t.Errorf("heading %q", h)
	}
	for _, want := range []string{"Announced", "Prof. Jane Smith", "sam.patel@newtown.ac.uk", "Self-assessment and action plan",
		"Technician Commitment Office"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the organisation's page does not show %q", want)
		}
	}

	// Announced, its page gives the identifier other forms ask for, and leads to the
	// reviewer pool's form with it filled in (the pool takes signatories' technicians,
	// by the identifier the signatory service holds).
	if !strings.Contains(page.body, "<dt>Identifier</dt><dd>"+id+"</dd>") {
		t.Errorf("the organisation's page does not give its identifier %s", id)
	}
	add := "/ops/review/reviewers/new?organisation_id=" + id
	if !strings.Contains(page.body, `<a href="`+add+`">Add a reviewer from this organisation</a>`) {
		t.Errorf("the organisation's page does not lead to the reviewer pool's form")
	}
	form := opsMustStatus(t, s.p.do("GET", add, one, nil), http.StatusOK, "the reviewer pool's form")
	if !strings.Contains(form.body, `value="`+id+`"`) {
		t.Errorf("the reviewer pool's form does not hold the organisation's identifier: %s", form.body)
	}

	hist := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+id+"/history", opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	var actors []string
	for _, e := range hist["items"].([]any) {
		actors = append(actors, e.(map[string]any)["actor"].(string))
	}
	// The enquiry, the meeting and the form are the first person's; the
	// announcement (with the obligation it starts) and the contacts the second's.
	want := []string{"ops:local-ops", "ops:local-ops", "ops:local-ops"}
	for len(want) < len(actors) {
		want = append(want, "ops:"+testOpsTwoSubject)
	}
	if len(actors) < 4 || !slices.Equal(actors, want) {
		t.Fatalf("the history's actors are %v, want %v", actors, want)
	}

	// The history page shows each ops person by the name their identity provider
	// gave at sign-in (the signed-in person as "you"), and anyone who never signed
	// in to the portal (here a change made with the API directly) as ITSS staff, by
	// the subject the service recorded.
	s.sig.Must(http.StatusOK, s.sig.Do("PUT", "/v1/organisations/"+id+"/contacts", opsToken(t, s.sig, "signatory"), map[string]any{
		"leader":           map[string]any{"name": "Prof. Jane Smith", "title": "Vice-Chancellor", "email": "vc@newtown.ac.uk"},
		"nominated_lead":   map[string]any{"name": "Sam Patel", "email": "sam.patel@newtown.ac.uk"},
		"point_of_contact": map[string]any{"name": "Technical Services Office"}, "plan_page": "https://www.newtown.ac.uk/tc"}))
	page = opsMustStatus(t, s.p.do("GET", orgPath, one, nil), http.StatusOK, "the organisation's page")
	var history []string
	for _, tb := range find(parse(t, page.body), func(n *html.Node) bool { return attr(n, "class") == "table history" }) {
		for _, tr := range find(tb, element("tr")) {
			if cells := find(tr, element("td")); len(cells) == 3 {
				history = append(history, text(cells[2]))
			}
		}
	}
	wantWho := []string{"You (" + oidcdev.LocalOpsName + ")", "You (" + oidcdev.LocalOpsName + ")", "You (" + oidcdev.LocalOpsName + ")"}
	for len(wantWho) < len(actors) {
		wantWho = append(wantWho, "Second Ops")
	}
	wantWho = append(wantWho, "ITSS operations staff (ops-test-reader)")
	if !slices.Equal(history, wantWho) {
		t.Errorf("the history page names %v, want %v", history, wantWho)
	}
}

// Today shows what needs someone: enquiries waiting, obligations overdue and due
// soon (not those far off), the fund's rounds with their budget; a service that
// does not answer (here, review) is named and the rest still shows.
func TestOpsToday(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	onboardOn(t, s.p, s.sig, "Overdue University", "lead-o@example.ac.uk", time.Now().AddDate(0, -19, 0))
	onboardOn(t, s.p, s.sig, "Soon College", "lead-s@example.ac.uk", time.Now().AddDate(0, -17, 0))
	onboardOn(t, s.p, s.sig, "Faraway Institute", "lead-f@example.ac.uk", time.Now().AddDate(0, -2, 0))
	s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", opsToken(t, s.sig, "signatory"), map[string]any{
		"name": "Waiting Enquiry College", "kind": "supporter", "sector": "network", "country": "GB", "website": "https://www.example.org",
		"enquiry_contact": map[string]any{"name": "Ann Other", "email": "ann@example.org"}}))
	s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "Technician Collaboration Fund Today", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339),
		"closes": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "budget_pence": 750000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": time.Now().AddDate(0, 2, 0).Format(time.DateOnly), "project_end": time.Now().AddDate(0, 10, 0).Format(time.DateOnly),
		"themes": []string{"visibility"}}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	var body string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/ops", ops, nil)
		body = r.body
		if r.status != http.StatusOK {
			return fmt.Errorf("GET /ops = %d", r.status)
		}
		for _, want := range []string{"Waiting Enquiry College", "Overdue University", "Soon College", "Technician Collaboration Fund Today"} {
			if !strings.Contains(r.body, want) {
				return fmt.Errorf("Today does not show %q yet", want)
			}
		}
		return nil
	})
	doc := parse(t, body)
	rows := map[string]string{}
	for _, tr := range find(doc, element("tr")) {
		rows[strings.SplitN(text(tr), " ", 2)[0]] = text(tr)
	}
	if got := rows["Overdue"]; !strings.Contains(got, "days overdue") {
		t.Errorf("the overdue organisation's row reads %q", got)
	}
	if got := rows["Soon"]; !strings.Contains(got, "days left") {
		t.Errorf("the organisation due soon reads %q", got)
	}
	if strings.Contains(body, "Faraway Institute") {
		t.Errorf("Today lists an organisation whose obligation is more than 90 days off")
	}
	// Every obligation, in the export.
	exp := opsMustStatus(t, s.p.do("GET", "/ops/obligations.csv", ops, nil), http.StatusOK, "the obligations export")
	recs, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "organisation_id" {
		t.Fatalf("the obligations export: %v %q", err, recs)
	}
	overdue := map[string]string{}
	for _, rec := range recs[1:] {
		overdue[rec[1]] = rec[8] + " " + rec[10]
	}
	if got := overdue["Overdue University"]; !strings.HasPrefix(got, "overdue ") || got == "overdue " {
		t.Errorf("the overdue obligation is exported as %q", got)
	}
	if got := overdue["Faraway Institute"]; got != "open " {
		t.Errorf("the obligation far off is exported as %q", got)
	}
	if got := rows["Technician"]; !strings.Contains(got, "£7,500") || !strings.Contains(got, "£0") {
		t.Errorf("the fund round reads %q", got)
	}
	if !strings.Contains(body, "Not available at the moment: Review rounds") {
		t.Errorf("Today does not say the review service is unavailable")
	}
}

// A fund round run from the console: open it (a bad amount refused beside its
// field), assess two applications, and two ops people award both at once from a
// budget that covers one: exactly one award is made, and the other person is told
// plainly that the budget was taken, with what is left. The other application is
// then declined with feedback. The export lists both, safe for a spreadsheet.
func TestOpsFundRoundAwardRaceAndDecline(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	orgA := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	orgB := onboard(t, s.p, s.sig, "Othertown College", "lead-b@example.ac.uk")
	one := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	two := opsSignIn(t, s.p, testOpsTwo)

	london, _ := time.LoadLocation("Europe/London")
	year := time.Now().Year() + 1
	round := url.Values{"name": {"Technician Collaboration Fund Race"}, "opens": {time.Now().Add(-time.Hour).In(london).Format("2006-01-02T15:04")},
		"closes": {time.Now().AddDate(0, 1, 0).In(london).Format("2006-01-02T15:04")}, "budget": {"a thousand"}, "min_award": {"100"},
		"max_award": {"1,000"}, "project_start": {fmt.Sprintf("%d-03-01", year)}, "project_end": {fmt.Sprintf("%d-12-31", year)},
		"themes": {"visibility", "career_development"}}
	r := opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds", one, round), http.StatusBadRequest, "a round with a budget in words")
	if got := opsFieldMessage(t, r.body, "budget"); !strings.Contains(got, "Budget in pounds must be an amount in pounds") {
		t.Errorf("beside the budget: %q", got)
	}
	// The service's own refusal (the smallest award above the largest) is shown
	// beside the field it names, renamed from the API's.
	round.Set("budget", "£1,000")
	round.Set("min_award", "2000")
	r = opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds", one, round), http.StatusBadRequest, "a round whose smallest award is above its largest")
	// The fund counts in pence; the form speaks in pounds, and so does its message.
	if got := opsFieldMessage(t, r.body, "max_award"); got != "Error: Largest award in pounds must be at least the smallest award (£2,000)" {
		t.Errorf("beside the largest award: %q", got)
	}
	round.Set("min_award", "100")
	// The form's idempotency key is the page's: sent twice (a double click), it
	// opens one round.
	for _, in := range find(parse(t, r.body), element("input")) {
		if attr(in, "name") == "key" {
			round.Set("key", attr(in, "value"))
		}
	}
	if round.Get("key") == "" {
		t.Fatalf("the round form has no key: %s", r.body)
	}
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds", one, round), http.StatusSeeOther, "the round")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds", one, round), http.StatusSeeOther, "the round sent again")
	// Sent again with another value (back, a change, send), the form's key has been
	// used: the person is told what happened in words, not the API's terms.
	again := url.Values{}
	for k, v := range round {
		again[k] = v
	}
	again.Set("name", "Another round")
	r = opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds", one, again), http.StatusConflict, "the round sent again, changed")
	if !strings.Contains(r.body, "This form was already sent, and what it did stands") || strings.Contains(r.body, "Idempotency-Key") {
		t.Errorf("a changed form sent again says: %s", r.body)
	}
	rounds := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds", opsToken(t, s.fund, "fund"), nil)).JSON(t)["items"].([]any)
	if len(rounds) != 1 {
		t.Fatalf("the round form sent twice opened %d rounds", len(rounds))
	}
	roundID := rounds[0].(map[string]any)["id"].(string)
	if got := rounds[0].(map[string]any)["budget_pence"]; got != float64(100000) {
		t.Fatalf("the round's budget is %v pence", got)
	}

	// The open round corrected: the form comes filled with its terms (in pounds,
	// on the London clock); the fund refuses a budget below the largest award for an
	// open round, shown beside that, and takes a new name and a later closing time.
	edit := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+roundID+"/edit", one, nil), http.StatusOK, "the round's correction form")
	filled := url.Values{}
	for _, in := range find(parse(t, edit.body), element("input")) {
		if _, checked := attrOK(in, "checked"); attr(in, "type") != "checkbox" || checked {
			filled.Add(attr(in, "name"), attr(in, "value"))
		}
	}
	if filled.Get("name") != "Technician Collaboration Fund Race" || filled.Get("budget") != "1,000" || filled.Get("max_award") != "1,000" ||
		!slices.Equal(filled["themes"], []string{"visibility", "career_development"}) {
		t.Fatalf("the correction form is filled with %v", filled)
	}
	filled.Set("budget", "500")
	r = opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+roundID, one, filled), http.StatusBadRequest, "a budget below the largest award for an open round")
	if got := opsFieldMessage(t, r.body, "max_award"); !strings.Contains(got, "must not exceed the budget") {
		t.Errorf("beside the largest award: %q", got)
	}
	closes := time.Now().AddDate(0, 2, 0).In(london)
	filled.Set("budget", "1,000")
	filled.Set("name", "Technician Collaboration Fund Race (extended)")
	filled.Set("closes", closes.Format("2006-01-02 15:04"))
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+roundID, one, filled), http.StatusSeeOther, "the corrected round")
	corrected := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+roundID, "", nil)).JSON(t)
	if corrected["name"] != "Technician Collaboration Fund Race (extended)" || corrected["closes_london"] != closes.Format("2006-01-02 15:04 MST") ||
		corrected["budget_pence"] != float64(100000) || corrected["exclude_previously_funded"] != true {
		t.Errorf("the corrected round reads %v", corrected)
	}

	appA, appB := opsSubmitApplication(t, s, roundID, orgA, "lead-a@example.ac.uk", year), opsSubmitApplication(t, s, roundID, orgB, "lead-b@example.ac.uk", year)
	for _, id := range []string{appA, appB} {
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+id, one, nil), http.StatusOK, "the application")
		if !strings.Contains(page.body, "Start assessment") || !strings.Contains(page.body, "£700") {
			t.Fatalf("the submitted application's page: %s", page.body)
		}
		// Pressed twice (a double click), with the key the page gave the form: both
		// answers lead to the application (the second was refused).
		key := regexp.MustCompile(`action="/ops/fund/applications/[^"]+/assessment">\s*<input type="hidden" name="key" value="([^"]+)"`).FindStringSubmatch(page.body)
		if key == nil {
			t.Fatalf("the assessment form carries no key: %s", page.body)
		}
		for range 2 {
			opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+id+"/assessment", one, url.Values{"key": {key[1]}}), http.StatusSeeOther, "start assessment")
		}
	}
	// The fund's refusals of an amount, beside a field typed in pounds, give
	// pounds, not the pence the fund counts in.
	for amount, want := range map[string]string{
		"1,500": "Error: Amount in pounds must be between £100 and £1,000 for this round",
		"800":   "Error: Amount in pounds must not exceed the £700 the application requested",
	} {
		r := opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+appA+"/award", one, url.Values{"amount": {amount}}), http.StatusBadRequest, "an award of £"+amount)
		if got := opsFieldMessage(t, r.body, "amount"); got != want {
			t.Errorf("beside an award of £%s: %q, want %q", amount, got, want)
		}
	}
	page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+appA, one, nil), http.StatusOK, "the application in assessment")
	if !strings.Contains(page.body, "has <strong>£1,000</strong> left") {
		t.Errorf("the award form does not show the budget left")
	}

	// Both at once, each with the form as its page gave it (its idempotency key).
	awardForm := func(cookie, app string) url.Values {
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+app, cookie, nil), http.StatusOK, "the award form")
		for _, in := range find(parse(t, page.body), element("input")) {
			if attr(in, "name") == "key" {
				return url.Values{"amount": {"700"}, "key": {attr(in, "value")}}
			}
		}
		t.Fatalf("the award form has no key: %s", page.body)
		return nil
	}
	forms := []url.Values{awardForm(one, appA), awardForm(two, appB)}
	var wg sync.WaitGroup
	results := make([]response, 2)
	startLine := make(chan struct{})
	for i, c := range []struct{ cookie, app string }{{one, appA}, {two, appB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startLine
			results[i] = s.p.do("POST", "/ops/fund/applications/"+c.app+"/award", c.cookie, forms[i])
		}()
	}
	close(startLine)
	wg.Wait()
	won, lost := -1, -1
	for i, res := range results {
		switch res.status {
		case http.StatusSeeOther:
			won = i
		case http.StatusConflict:
			lost = i
		default:
			t.Fatalf("award %d = %d: %s", i, res.status, res.body)
		}
	}
	if won < 0 || lost < 0 {
		t.Fatalf("awards answered %d and %d; want one award and one refusal", results[0].status, results[1].status)
	}
	if msg := text(find(parse(t, results[lost].body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); !strings.Contains(msg,
		"Nothing was awarded: the round's budget has £300 left, not enough for £700") {
		t.Errorf("the refused award reads %q", msg)
	}
	// The winning form sent again (a double click) awards nothing more.
	winnerCookie := []string{one, two}[won]
	opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+[]string{appA, appB}[won]+"/award", winnerCookie, forms[won]), http.StatusSeeOther, "the award sent twice")
	ledger := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+roundID+"/ledger", opsToken(t, s.fund, "fund"), nil)).JSON(t)
	if ledger["awarded_pence"] != float64(70000) {
		t.Fatalf("the ledger has %v pence awarded", ledger["awarded_pence"])
	}

	fund := opsMustStatus(t, s.p.do("GET", "/ops/fund", one, nil), http.StatusOK, "the fund's page")
	var reports string
	for _, tb := range find(parse(t, fund.body), element("table")) {
		if attr(tb, "aria-labelledby") == "reports" {
			reports = text(tb)
		}
	}
	if !strings.Contains(reports, "Skills exchange") || !strings.Contains(reports, "£700") || !strings.Contains(reports, "Not yet due") {
		t.Errorf("the awarded project's report reads %q", reports)
	}

	loser := []string{appA, appB}[lost]
	r = opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+loser+"/decline", one, url.Values{"feedback": {" "}}), http.StatusBadRequest, "a decline without feedback")
	if got := opsFieldMessage(t, r.body, "feedback"); got != "Error: Enter feedback for the applicant" {
		t.Errorf("beside the feedback: %q", got)
	}
	declineKey := regexp.MustCompile(`action="/ops/fund/applications/[^"]+/decline" novalidate>\s*<input type="hidden" name="key" value="([^"]+)"`).FindStringSubmatch(r.body)
	if declineKey == nil {
		t.Fatalf("the decline form carries no key: %s", r.body)
	}
	decline := url.Values{"feedback": {"=Strong idea; the budget ran out."}, "key": {declineKey[1]}}
	for range 2 { // pressed twice: both answers lead on
		opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+loser+"/decline", one, decline), http.StatusSeeOther, "the decline")
	}
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+loser, opsToken(t, s.fund, "fund"), nil)).JSON(t)
	if got["status"] != "declined" {
		t.Errorf("the declined application is %v", got["status"])
	}

	// The fund recorded each decision as the person who took it: the award (its
	// draw on the budget, the ledger's reservation, and the award on the
	// application) as its winner, the assessments and the decline as the first
	// person.
	winnerSubject := []string{"ops:local-ops", "ops:" + testOpsTwoSubject}[won]
	testenv.Eventually(t, 10*time.Second, func() error {
		ledgerEvents := opsActors(t, s, events.StreamFund, roundID+"-ledger")
		wonEvents, lostEvents := opsActors(t, s, events.StreamFund, []string{appA, appB}[won]), opsActors(t, s, events.StreamFund, loser)
		reserved := ledgerEvents[events.BudgetReservedV1{}.EventType()]
		declined := lostEvents[events.ApplicationDeclinedV1{}.EventType()]
		awarded := wonEvents[events.ApplicationAwardedV1{}.EventType()]
		assessed := append(wonEvents[events.ApplicationAssessmentStartedV1{}.EventType()], lostEvents[events.ApplicationAssessmentStartedV1{}.EventType()]...)
		if !slices.Equal(reserved, []string{winnerSubject}) || !slices.Equal(awarded, []string{winnerSubject}) || !slices.Equal(declined, []string{"ops:local-ops"}) || !slices.Equal(assessed, []string{"ops:local-ops", "ops:local-ops"}) {
			return fmt.Errorf("the fund recorded the reservation as %v, the award as %v, the assessments as %v and the decline as %v (events %v, %v, %v)",
				reserved, awarded, assessed, declined, ledgerEvents, wonEvents, lostEvents)
		}
		return nil
	})

	exp := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications.csv?round="+roundID, one, nil), http.StatusOK, "the applications export")
	if ct := exp.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("export content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, exp.body)
	}
	if len(recs) != 3 || recs[0][0] != "id" {
		t.Fatalf("the export has %d records: %v", len(recs), recs)
	}
	statuses := map[string]string{}
	for _, rec := range recs[1:] {
		statuses[rec[0]] = rec[4] + " " + rec[6]
	}
	winner := []string{appA, appB}[won]
	if statuses[winner] != "awarded 700.00" || statuses[loser] != "declined " {
		t.Errorf("the export's statuses and awards: %v", statuses)
	}
}

// The organisations export is CSV a spreadsheet reads safely: a name that starts
// like a formula is written as text, and commas and quotes survive.
func TestOpsOrganisationsExportIsSafeCSV(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	tok := opsToken(t, s.sig, "signatory")
	names := []string{"=HYPERLINK(\"https://evil.example\") College", "@SUM(A1) Institute", `Smith, "Jones" & Co`}
	for _, n := range names {
		s.sig.Must(http.StatusCreated, s.sig.Do("POST", "/v1/organisations", tok, map[string]any{
			"name": n, "kind": "supporter", "sector": "network", "country": "GB", "website": "https://www.example.org",
			"enquiry_contact": map[string]any{"name": "Ann Other", "email": "ann@example.org"}}))
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	var recs [][]string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.p.do("GET", "/ops/organisations.csv?status=enquiry", ops, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("export = %d", r.status)
		}
		var err error
		if recs, err = csv.NewReader(strings.NewReader(r.body)).ReadAll(); err != nil {
			return err
		}
		if len(recs) != len(names)+1 {
			return fmt.Errorf("export has %d records", len(recs))
		}
		return nil
	})
	var got []string
	for _, rec := range recs[1:] {
		got = append(got, rec[1])
	}
	slices.Sort(got)
	want := []string{"'=HYPERLINK(\"https://evil.example\") College", "'@SUM(A1) Institute", `Smith, "Jones" & Co`}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("exported names %q, want %q", got, want)
	}
	// The export searches by name as the list does.
	named := opsMustStatus(t, s.p.do("GET", "/ops/organisations.csv?status=enquiry&q=institute", ops, nil), http.StatusOK, "the export searched")
	if recs, err := csv.NewReader(strings.NewReader(named.body)).ReadAll(); err != nil || len(recs) != 2 || recs[1][1] != "'@SUM(A1) Institute" {
		t.Errorf("the export searched for institute: %v %q", err, recs)
	}
	// The list page searches by name within the filters.
	list := opsMustStatus(t, s.p.do("GET", "/ops/organisations?q=jones&status=enquiry", ops, nil), http.StatusOK, "the search")
	if !strings.Contains(list.body, "Smith, &#34;Jones&#34; &amp; Co") || strings.Contains(list.body, "SUM(A1)") {
		t.Errorf("the search for jones found: %s", list.body)
	}
	if r := s.p.do("GET", "/ops/organisations?status=nonsense", ops, nil); r.status != http.StatusBadRequest || opsFieldMessage(t, r.body, "status") == "" {
		t.Errorf("a status the form does not offer = %d", r.status)
	}
}

// opsSubmitApplication is an applicant's tool drafting and submitting an application
// for £700 to a round whose projects run in year, endorsed by the organisation's lead.
func opsSubmitApplication(t *testing.T, s *stack, roundID, org, lead string, year int) string {
	t.Helper()
	tok, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "tool-" + org, Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	// The fund learns of the organisations from the signatory's events in its own time.
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.fund.Do("POST", "/v1/applications", tok, map[string]any{
			"round_id": roundID, "title": "Skills exchange " + org, "summary": "Joint workshops.", "themes": []string{"career_development"},
			"requested_amount_pence": 70000, "partners": []map[string]any{{"name": "Partner College"}},
			"endorsement":  map[string]any{"name": "Sam Patel", "email": lead},
			"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": 70000}},
			"milestones":   []map[string]any{{"description": "Workshop", "due": fmt.Sprintf("%d-06-15", year)}}})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create application = %d: %s", r.Status, r.Body)
		}
		id = r.JSON(t)["id"].(string)
		return nil
	})
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/submission", tok, nil))
	return id
}

// opsActors reads a service's stream and returns who caused each event of the
// aggregate, by event type: what the service recorded as the actor.
func opsActors(t *testing.T, s *stack, stream, aggregate string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.env.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		e, err := bus.Envelope(m.Subject, m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.AggregateID == aggregate {
			out[e.Type] = append(out[e.Type], e.Actor)
		}
	}
	return out
}

// Two ops people (or tabs) change one organisation's contacts from forms opened
// together: the second save is refused, not applied over the first, and its form
// comes back as typed with what happened; saved again from there, it is applied.
func TestOpsTwoTabsChangingContactsDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	page := "/ops/organisations/" + org + "/contacts"
	versionRe := regexp.MustCompile(`name="version" value="([^"]+)"`)
	open := func() url.Values {
		t.Helper()
		v := versionRe.FindStringSubmatch(opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, "the contacts form").body)
		if v == nil {
			t.Fatal("the contacts form carries no version")
		}
		return url.Values{"leader.name": {"Prof. Jane Smith"}, "leader.title": {"VC"}, "leader.email": {"vc@exampleton.ac.uk"},
			"nominated_lead.name": {"Lead"}, "nominated_lead.email": {"lead-a@example.ac.uk"},
			"point_of_contact.name": {"Technical Services Office"}, "plan_page": {"https://www.exampleton.ac.uk/tc"}, "version": {stdhtml.UnescapeString(v[1])}}
	}
	a, b := open(), open()
	b.Set("leader.title", "Vice-Chancellor")
	opsMustStatus(t, s.p.do("POST", page, ops, b), http.StatusSeeOther, "tab B's save")
	a.Set("plan_page", "https://www.exampleton.ac.uk/technicians")
	r := opsMustStatus(t, s.p.do("POST", page, ops, a), http.StatusConflict, "tab A's save over B's")
	if !strings.Contains(r.body, "Someone else changed this organisation since you opened the form") || !strings.Contains(r.body, `value="https://www.exampleton.ac.uk/technicians"`) {
		t.Errorf("tab A's refused save: %s", r.body)
	}
	if again := open(); again.Get("version") == a.Get("version") {
		t.Fatal("the organisation's version did not change with B's save")
	}
	got := s.sig.Must(http.StatusOK, s.sig.Do("GET", "/v1/organisations/"+org, opsToken(t, s.sig, "signatory"), nil)).JSON(t)
	if leader := got["leader"].(map[string]any); leader["title"] != "Vice-Chancellor" {
		t.Errorf("B's change was lost: the leader is %v", leader)
	}
	// Saved again from the page A was shown (which carries the version now).
	a.Set("version", stdhtml.UnescapeString(versionRe.FindStringSubmatch(r.body)[1]))
	opsMustStatus(t, s.p.do("POST", page, ops, a), http.StatusSeeOther, "tab A's save once checked")
}

// The console's forms sent twice with the key their page gave them (a double click)
// act once, and both answers lead where the first did: an onboarding step (the second
// said "cannot record a meeting ... whose status is meeting_held"), a reviewer's
// registration (it said "already in the pool") and a round's closing (it said
// "already closed", naming the round by its id).
func TestOpsFormsSentTwiceActOnce(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	signatory := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	keyRe := regexp.MustCompile(`name="key" value="([^"]+)"`)
	keyOn := func(page string) string {
		t.Helper()
		k := keyRe.FindStringSubmatch(opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, page).body)
		if k == nil {
			t.Fatalf("%s: the form carries no key", page)
		}
		return k[1]
	}
	twice := func(what, page, action string, sent url.Values) {
		t.Helper()
		sent.Set("key", keyOn(page))
		first := opsMustStatus(t, s.p.do("POST", action, ops, sent), http.StatusSeeOther, what)
		second := opsMustStatus(t, s.p.do("POST", action, ops, sent), http.StatusSeeOther, what+" sent again")
		if first.header.Get("Location") != second.header.Get("Location") {
			t.Errorf("%s sent twice led to %s and %s", what, first.header.Get("Location"), second.header.Get("Location"))
		}
	}

	enquiry := opsMustStatus(t, s.p.do("POST", "/ops/organisations", ops, opsEnquiry("Newtown University", "sam.patel@newtown.ac.uk")), http.StatusSeeOther, "the enquiry")
	org := enquiry.header.Get("Location")
	twice("the meeting", org+"/meeting", org+"/meeting", url.Values{"held_on": {time.Now().Format(time.DateOnly)}, "notes": {"Met the Dean."}})

	twice("the reviewer", "/ops/review/reviewers/new", "/ops/review/reviewers", url.Values{"reviewer_id": {"rev.twice"}, "name": {"Rita Twice"},
		"email": {"rita.twice@example.ac.uk"}, "organisation_id": {signatory}, "trained": {"on"}, "capacity": {"2"}})

	deadline := time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04")
	round := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, url.Values{"name": {"Round to close"}, "review_deadline": {deadline}, "reviewers_per_submission": {"2"}}),
		http.StatusSeeOther, "the round").header.Get("Location")
	twice("closing the round", round, round+"/close", url.Values{"reason": {"Opened by mistake"}})
}

// Two ops people (or tabs) change one reviewer's record from forms opened together:
// the second save is refused, not applied over the first (a capacity set by one
// went back when the other changed the name), and its form comes back as typed.
func TestOpsTwoTabsChangingAReviewerDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	testenv.Eventually(t, 10*time.Second, func() error { // the review service knows the signatory
		if r := s.p.do("POST", "/ops/review/reviewers", ops, url.Values{"reviewer_id": {"rev.tabs"}, "name": {"Rita Tabs"},
			"email": {"rita.tabs@example.ac.uk"}, "organisation_id": {org}, "trained": {"on"}, "capacity": {"2"}}); r.status != http.StatusSeeOther {
			return fmt.Errorf("registering = %d", r.status)
		}
		return nil
	})
	page := "/ops/review/reviewers/rev.tabs"
	versionRe := regexp.MustCompile(`name="version" value="([^"]+)"`)
	open := func() url.Values {
		t.Helper()
		v := versionRe.FindStringSubmatch(opsMustStatus(t, s.p.do("GET", page, ops, nil), http.StatusOK, "the reviewer's form").body)
		if v == nil {
			t.Fatal("the reviewer's form carries no version")
		}
		return url.Values{"name": {"Rita Tabs"}, "email": {"rita.tabs@example.ac.uk"}, "organisation_id": {org}, "trained": {"on"},
			"capacity": {"2"}, "version": {stdhtml.UnescapeString(v[1])}}
	}
	a, b := open(), open()
	b.Set("capacity", "5")
	opsMustStatus(t, s.p.do("POST", page, ops, b), http.StatusSeeOther, "tab B's save")
	a.Set("name", "Rita Tabs-Jones")
	r := opsMustStatus(t, s.p.do("POST", page, ops, a), http.StatusConflict, "tab A's save over B's")
	if !strings.Contains(r.body, "Someone else changed this reviewer since you opened the form") || !strings.Contains(r.body, `value="Rita Tabs-Jones"`) {
		t.Errorf("tab A's refused save: %s", r.body)
	}
	if got := s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/reviewers/rev.tabs", opsToken(t, s.review, "review"), nil)).JSON(t); got["capacity"] != float64(5) {
		t.Errorf("B's change was lost: the reviewer is %v", got)
	}
	a.Set("version", stdhtml.UnescapeString(versionRe.FindStringSubmatch(r.body)[1]))
	opsMustStatus(t, s.p.do("POST", page, ops, a), http.StatusSeeOther, "tab A's save once checked")
}
