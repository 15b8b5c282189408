package service

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
)

// The console's form for a new fund round had no field for the previous round's
// grantees: every round it opened excluded them, though the fund can open one that
// lets them apply. The form now has a box to let them apply, left unticked as the
// fund's default (and the console's rounds until now) has it; a form sent without
// it opens a round that excludes them, as before.
func TestOpsOpensARoundThatLetsThePreviousRoundsGranteesApply(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	staff := sessionCookie(t, s.p.do("GET", "/auth/callback?good=1", "", nil))
	year := time.Now().Year() + 1
	newRound := func(name string, change func(url.Values)) response {
		t.Helper()
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/new", staff, nil), http.StatusOK, "the new round form")
		form := formAsSent(t, page.body, "/ops/fund/rounds")
		form.Set("name", name)
		form.Set("opens", time.Now().Add(-time.Hour).In(opsLondon()).Format("2006-01-02 15:04"))
		form.Set("closes", time.Now().AddDate(0, 1, 0).In(opsLondon()).Format("2006-01-02 15:04"))
		form.Set("budget", "10,000")
		form.Set("min_award", "100")
		form.Set("max_award", "1,000")
		form.Set("project_start", fmt.Sprintf("%d-03-01", year))
		form.Set("project_end", fmt.Sprintf("%d-12-31", year))
		if change != nil {
			change(form)
		}
		return s.p.do("POST", "/ops/fund/rounds", staff, form)
	}
	letIn := func(f url.Values) { f.Set("previously_funded_may_apply", "true") }

	page := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/new", staff, nil), http.StatusOK, "the new round form")
	box := checkbox(t, page.body, "previously_funded_may_apply")
	if box == nil {
		t.Fatalf("the new round form has no box to let the previous round's grantees apply: %s", text(parse(t, page.body)))
	}
	if _, ticked := attrOK(box, "checked"); ticked {
		t.Error("the box letting the previous round's grantees apply is ticked: the fund's default excludes them")
	}
	if label := labelFor(parse(t, page.body), attr(box, "id")); !strings.Contains(label, "funded in the previous round") {
		t.Errorf("the box is labelled %q", label)
	}

	// Shown again for a problem, the form keeps the box as it was sent.
	r := opsMustStatus(t, newRound("Let in, mistyped", func(f url.Values) { letIn(f); f.Set("budget", "lots") }), http.StatusBadRequest, "a round with a budget in words")
	if _, ticked := attrOK(checkbox(t, r.body, "previously_funded_may_apply"), "checked"); !ticked {
		t.Error("the form shown again for a mistyped budget lost the ticked box")
	}

	opsMustStatus(t, newRound("Technician Collaboration Fund Usual", nil), http.StatusSeeOther, "a round as the form comes")
	opsMustStatus(t, newRound("Technician Collaboration Fund Open to all", letIn), http.StatusSeeOther, "a round letting the previous grantees apply")
	opsMustStatus(t, newRound("Technician Collaboration Fund Old form", func(f url.Values) { f.Del("previously_funded_may_apply") }), http.StatusSeeOther,
		"a round from a form without the box")

	got := map[string]any{}
	for _, rd := range s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds", "", nil)).JSON(t)["items"].([]any) {
		rd := rd.(map[string]any)
		got[rd["name"].(string)] = rd["exclude_previously_funded"]
	}
	want := map[string]any{"Technician Collaboration Fund Usual": true, "Technician Collaboration Fund Open to all": false, "Technician Collaboration Fund Old form": true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the rounds opened exclude the previous round's grantees (-want +got):\n%s", d)
	}
}

// The award form was filled with the amount the application requested even when the
// round's budget had less left, and pressing Award as filled was refused. It is now
// filled with the budget left when that is less, and pressing Award awards it; with
// nothing left the page says the budget is spent and fills in nothing (not £0).
func TestOpsAwardFormIsFilledWithNoMoreThanTheBudgetLeft(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", s.fundOps, map[string]any{
		"name": "TCF Small Budget", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 80000, "min_award_pence": 10000, "max_award_pence": 50000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	// Three applications for £500 each, each from another of the organisation's
	// tools, in assessment.
	var apps []string
	for i := range 3 {
		tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: fmt.Sprintf("tool-%d", i), Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
		if err != nil {
			t.Fatal(err)
		}
		id := s.draftWith(t, tool, round, "lead-a@example.ac.uk")
		s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/submission", tool, nil))
		s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/assessment", s.fundOps, nil))
		apps = append(apps, id)
	}
	staff := sessionCookie(t, s.p.do("GET", "/auth/callback?good=1", "", nil))
	awardPage := func(app string) (response, url.Values) {
		t.Helper()
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+app, staff, nil), http.StatusOK, "the application's page")
		return page, formAsSent(t, page.body, "/ops/fund/applications/"+app+"/award")
	}
	left := func() float64 {
		return s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round+"/ledger", s.fundOps, nil)).JSON(t)["remaining_pence"].(float64)
	}

	// With the whole budget left (£800), the form asks for what was requested.
	_, form := awardPage(apps[0])
	if form.Get("amount") != "500" {
		t.Errorf("with £800 left, the award form of a £500 request is filled with %q", form.Get("amount"))
	}
	opsMustStatus(t, s.p.do("POST", "/ops/fund/applications/"+apps[0]+"/award", staff, form), http.StatusSeeOther, "the first award")

	// £300 left: the form asks for £300, and the award as filled is made.
	page, form := awardPage(apps[1])
	if !strings.Contains(page.body, "has <strong>£300</strong> left") || form.Get("amount") != "300" {
		t.Errorf("with £300 left, the award form of a £500 request is filled with %q: %s", form.Get("amount"), text(parse(t, page.body)))
	}
	if r := s.p.do("POST", "/ops/fund/applications/"+apps[1]+"/award", staff, form); r.status != http.StatusSeeOther {
		t.Errorf("the award as the form was filled = %d: %s", r.status, text(parse(t, r.body)))
	}
	if got := left(); got != 0 {
		t.Errorf("after the awards the round has %v pence left, want 0", got)
		// The rest is about a spent budget: spent through the fund.
		s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+apps[1]+"/award", s.fundOps, map[string]any{"amount_pence": int64(got)}))
	}

	// Nothing left: the page says so beside the form, which is left empty.
	page, form = awardPage(apps[2])
	if form.Get("amount") != "" {
		t.Errorf("with nothing left, the award form is filled with %q", form.Get("amount"))
	}
	award := find(parse(t, page.body), func(n *html.Node) bool { return n.Data == "h2" && text(n) == "Award" })
	if len(award) != 1 {
		t.Fatalf("the page has %d Award headings: %s", len(award), page.body)
	}
	var said string
	for n := award[0].NextSibling; n != nil && n.Data != "form"; n = n.NextSibling {
		said += text(n)
	}
	if !strings.Contains(said, "budget is spent") {
		t.Errorf("with nothing left, beside the award form the page says %q", said)
	}
	if got := left(); got != 0 {
		t.Errorf("the round has %v pence left, want 0", got)
	}
}

// The lead's list of fund applications named no round: applications to two rounds
// (the same project, say, sent again the next year) could not be told apart. Each
// row now names its round, as the console does.
func TestTheLeadsFundApplicationsNameTheirRound(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	first := s.openRound(t) // TCF 2030
	second := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", s.fundOps, map[string]any{
		"name": "TCF Spring Skills", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-02-28T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "grants-tool", Role: auth.RoleApplicant, Org: mine}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		s.draftWith(t, tool, first, "lead-a@example.ac.uk"):  "TCF 2030",
		s.draftWith(t, tool, second, "lead-a@example.ac.uk"): "TCF Spring Skills",
	}
	lead := s.p.signIn("lead-a@example.ac.uk")
	testenv.Eventually(t, 15*time.Second, func() error { // the fund's list is its view, which may lag
		r := s.p.do("GET", "/organisations/"+mine+"/fund", lead, nil)
		if r.status != http.StatusOK {
			return fmt.Errorf("the lead's fund applications = %d: %s", r.status, r.body)
		}
		doc := parse(t, r.body)
		col := slices.IndexFunc(find(doc, element("th")), func(n *html.Node) bool { return text(n) == "Round" })
		if col < 0 {
			return fmt.Errorf("the table has no Round column: %q", text(doc))
		}
		got := map[string]string{}
		for _, row := range find(doc, element("tr")) {
			cells := find(row, element("td"))
			if len(cells) <= col {
				continue
			}
			links := find(cells[0], element("a"))
			if len(links) != 1 {
				return fmt.Errorf("a row's first cell has %d links: %q", len(links), text(row))
			}
			got[strings.TrimPrefix(attr(links[0], "href"), "/organisations/"+mine+"/fund/")] = cellText(cells[col])
		}
		if d := cmp.Diff(want, got); d != "" {
			return fmt.Errorf("the applications' rounds (-want +got):\n%s", d)
		}
		return nil
	})
}

// formAsSent is what a browser sends with the form on the page whose action is
// action: its fields as the page fills them, boxes only when ticked.
func formAsSent(t *testing.T, body, action string) url.Values {
	t.Helper()
	form := formIn(t, body, action)
	for _, in := range find(parse(t, body), element("input")) {
		if _, ticked := attrOK(in, "checked"); (attr(in, "type") == "checkbox" || attr(in, "type") == "radio") && !ticked {
			form[attr(in, "name")] = slices.DeleteFunc(form[attr(in, "name")], func(v string) bool { return v == attr(in, "value") })
			if len(form[attr(in, "name")]) == 0 {
				form.Del(attr(in, "name"))
			}
		}
	}
	return form
}

// checkbox is the page's checkbox of that name, or nil.
func checkbox(t *testing.T, body, name string) *html.Node {
	t.Helper()
	for _, in := range find(parse(t, body), element("input")) {
		if attr(in, "type") == "checkbox" && attr(in, "name") == name {
			return in
		}
	}
	return nil
}

// labelFor is the text of the label of the control with that id.
func labelFor(doc *html.Node, id string) string {
	for _, l := range find(doc, element("label")) {
		if attr(l, "for") == id {
			return text(l)
		}
	}
	return ""
}

// With less left in the round's budget than its smallest award (£50 of a round that
// awards from £100), the award form was filled with the £50, which the fund refuses
// ("must be between £100 and £1,000"), and the page said only "£50 left". The page
// now says nothing more can be awarded from the round, and fills in nothing.
func TestOpsAwardFormSaysWhenWhatIsLeftIsLessThanTheSmallestAward(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", s.fundOps, map[string]any{
		"name": "TCF Nearly Spent", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 55000, "min_award_pence": 10000, "max_award_pence": 50000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	var apps []string
	for i := range 2 {
		tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: fmt.Sprintf("tool-%d", i), Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
		if err != nil {
			t.Fatal(err)
		}
		id := s.draftWith(t, tool, round, "lead-a@example.ac.uk") // £500 each
		s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/submission", tool, nil))
		s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/assessment", s.fundOps, nil))
		apps = append(apps, id)
	}
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+apps[0]+"/award", s.fundOps, map[string]any{"amount_pence": 50000}))

	staff := sessionCookie(t, s.p.do("GET", "/auth/callback?good=1", "", nil))
	page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+apps[1], staff, nil), http.StatusOK, "the application's page")
	form := formAsSent(t, page.body, "/ops/fund/applications/"+apps[1]+"/award")
	if form.Get("amount") != "" {
		t.Errorf("with £50 left of a round that awards from £100, the award form is filled with %q", form.Get("amount"))
	}
	award := find(parse(t, page.body), func(n *html.Node) bool { return n.Data == "h2" && text(n) == "Award" })
	if len(award) != 1 {
		t.Fatalf("the page has %d Award headings: %s", len(award), page.body)
	}
	var said string
	for n := award[0].NextSibling; n != nil && n.Data != "form"; n = n.NextSibling {
		said += text(n)
	}
	if !strings.Contains(said, "£50 left") || !strings.Contains(said, "less than its smallest award, £100") {
		t.Errorf("with £50 left of a round that awards from £100, beside the award form the page says %q", said)
	}
}

// The email telling a lead that a funded project's report is due asks them to send it
// and links to the application's page, which said only "Report: Not yet due" (or "Due
// now"): nothing there sends it, and nothing said what does. The page of an awarded
// application whose report is not in now says the report is sent by the organisation's
// software through the fund's API, and links to the API tokens for it; once the
// report is in, it says nothing of sending one.
func TestTheLeadsPageOfAFundedProjectSaysHowItsReportIsSent(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", s.fundOps, map[string]any{
		"name": "TCF Under Way", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 100000, "min_award_pence": 10000, "max_award_pence": 50000,
		"project_start": time.Now().In(opsLondon()).Format(time.DateOnly), "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "tool", Role: auth.RoleApplicant, Org: mine}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	id := s.draftWith(t, tool, round, "lead-a@example.ac.uk")
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/submission", tool, nil))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/assessment", s.fundOps, nil))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/award", s.fundOps, map[string]any{"amount_pence": 50000}))

	cookie := s.p.signIn("lead-a@example.ac.uk")
	page := s.p.do("GET", "/organisations/"+mine+"/fund/"+id, cookie, nil)
	said := text(parse(t, page.body))
	if page.status != http.StatusOK || !strings.Contains(said, "sent by your organisation's software through the fund's API") ||
		!strings.Contains(page.body, `href="/organisations/`+mine+`/tokens"`) {
		t.Errorf("the page of a funded project whose report is owed = %d, says:\n%s", page.status, said)
	}
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+id+"/report", tool, map[string]any{"summary": "Four workshops.", "spent_pence": 50000}))
	page = s.p.do("GET", "/organisations/"+mine+"/fund/"+id, cookie, nil)
	if said := text(parse(t, page.body)); strings.Contains(said, "through the fund's API") {
		t.Errorf("the page of a funded project whose report is in still says how to send it:\n%s", said)
	}
}

// The page showing a new API token said it acts "drafting, submitting and reading its
// applications, and nothing else", though the fund takes with it the withdrawal of an
// application and a funded project's report, which nothing else sends: a lead asked
// for the report would read that no token of theirs could send it. It now says all
// the token does.
func TestANewAPITokenSaysItSendsTheProjectsReport(t *testing.T) {
	t.Parallel()
	s := startFundStack(t)
	mine := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	cookie := s.p.signIn("lead-a@example.ac.uk")
	made := s.p.do("POST", "/organisations/"+mine+"/tokens", cookie, url.Values{"name": {"Grants uploader"}, "days": {"30"}})
	if made.status != http.StatusCreated {
		t.Fatalf("making a token = %d: %s", made.status, made.body)
	}
	said := text(parse(t, made.body))
	for _, want := range []string{"withdrawing", "sending a funded project's report"} {
		if !strings.Contains(said, want) {
			t.Errorf("the new token's page does not say %q of what it does:\n%s", want, said)
		}
	}
	if strings.Contains(said, "and nothing else") && !strings.Contains(said, "report") {
		t.Errorf("the new token's page says it does nothing else:\n%s", said)
	}
}
