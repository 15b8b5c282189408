package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// awardedTypo drafts, submits and awards an application of org in a new round, the
// award typed £70 for the £700 requested; it returns the application's id.
func awardedTypo(t *testing.T, s *stack, org, lead string) string {
	t.Helper()
	fundOps := opsToken(t, s.fund, "fund")
	today := time.Now().In(opsLondon())
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
		"name": "TCF Corrections", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).Format(time.RFC3339),
		"budget_pence": 1000000, "min_award_pence": 5000, "max_award_pence": 100000,
		"project_start": today.Format(time.DateOnly), "project_end": today.AddDate(0, 6, 0).Format(time.DateOnly), "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	app := inAssessment(t, s, org, lead, round, 70000, today.AddDate(0, 1, 0))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/award", fundOps, map[string]any{"amount_pence": 7000}))
	return app
}

// inAssessment drafts, submits and starts assessing an application of org (whose
// nominated lead is lead) to an open round, for requested pence, with its one
// milestone due on the day given; it returns the application's id.
func inAssessment(t *testing.T, s *stack, org, lead, round string, requested int64, milestone time.Time) string {
	t.Helper()
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "grants-tool", Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	var app string
	testenv.Eventually(t, 15*time.Second, func() error { // the fund learns of the organisation from its events
		r := s.fund.Do("POST", "/v1/applications", tool, map[string]any{
			"round_id": round, "title": "Skills exchange", "summary": "Joint workshops.", "themes": []string{"visibility"},
			"requested_amount_pence": requested, "partners": []map[string]any{{"name": "Partner College"}},
			"endorsement":  map[string]any{"name": "Sam Patel", "email": lead},
			"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": requested}},
			"milestones":   []map[string]any{{"description": "Workshop", "due": milestone.Format(time.DateOnly)}}})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create application = %d: %s", r.Status, r.Body)
		}
		app = r.JSON(t)["id"].(string)
		return nil
	})
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/submission", tool, nil))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/assessment", opsToken(t, s.fund, "fund"), nil))
	return app
}

// An ops person, by keyboard alone, corrects an award typed wrong (£70 for the £700
// requested) from the application's page: the form is filled with the award as it
// stands, an amount over the request is refused beside the field as the fund says
// why, and the page then shows the award corrected, as does the lead's page of the
// application. axe-core checks every page on the way.
func TestJourneyOpsCorrectsAnAwardTypedWrong(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	app := awardedTypo(t, s, org, "lead-a@example.ac.uk")

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	b.Open(s.p.url + "/ops/fund/applications/" + app)
	heading(t, b, "Skills exchange")
	if got := b.Value(browsertest.CSS("#field-corrected_amount")); got != "70" {
		t.Errorf("the correction's form is filled with %q, want the award as it stands, 70", got)
	}
	opsTypeInto(t, b, "textbox", "Corrected amount in pounds", "800")
	opsTypeInto(t, b, "textbox", "Why it is corrected", "£70 was typed for £700.")
	tabTo(t, b, "button", "Correct the award")
	b.Enter()
	heading(t, b, "Skills exchange")
	errorSummaryHasFocus(t, b, "field-corrected_amount", "Corrected amount in pounds")
	if got := b.Text(browsertest.CSS("#field-corrected_amount-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "requested") {
		t.Errorf("the message beside the field reads %q, want the fund's reason", got)
	}
	screenshot(b, "ops-award-correction-refused")
	b.Open(s.p.url + "/ops/fund/applications/" + app) // the page afresh: the form as it shows
	opsTypeInto(t, b, "textbox", "Corrected amount in pounds", "700")
	opsTypeInto(t, b, "textbox", "Why it is corrected", "£70 was typed for £700.")
	tabTo(t, b, "button", "Correct the award")
	b.Enter()
	heading(t, b, "Skills exchange")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "Awarded\t£700") && !strings.Contains(got, "Awarded\n£700") {
		t.Errorf("the console's page reads %q, want the award corrected to £700", got)
	}
	screenshot(b, "ops-award-corrected")
	fundOps := opsToken(t, s.fund, "fund")
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+app, fundOps, nil)).JSON(t); got["award_pence"] != float64(70000) {
		t.Errorf("the fund holds %v, want the award corrected to 70000 pence", got["award_pence"])
	}

	lead := newBrowser(t)
	lead.Open(s.p.url + "/signin")
	before := len(s.box.links("lead-a@example.ac.uk"))
	lead.Fill("Email address", "lead-a@example.ac.uk")
	lead.Click(browsertest.Role("button", "Email me a sign-in link"))
	heading(t, lead, "Check your email")
	lead.Open(s.mailedLink(t, "lead-a@example.ac.uk", before))
	lead.Click(browsertest.Role("button", "Sign in"))
	heading(t, lead, "Your pages")
	lead.Open(s.p.url + "/organisations/" + org + "/fund/" + app)
	heading(t, lead, "Skills exchange")
	if got := lead.Text(browsertest.CSS("main")); !strings.Contains(got, "£700") {
		t.Errorf("the lead's page of the application reads %q, want the award corrected to £700", got)
	}
}

// The correction's form applies only to the application as its page showed it: sent
// twice (a double click) it leads on as the first did; a second tab opened before the
// first saved is refused, nothing corrected, saying beside the field what the award
// is now; a form that carries no version changes nothing.
func TestTwoTabsCorrectingAnAwardDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Tabbington", "lead-t@example.ac.uk")
	app := awardedTypo(t, s, org, "lead-t@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	form := func() url.Values {
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+app, ops, nil), http.StatusOK, "the application's page")
		filled := url.Values{}
		for _, f := range find(parse(t, page.body), element("form")) {
			if !strings.HasSuffix(attr(f, "action"), "/award-correction") {
				continue
			}
			for _, in := range find(f, element("input")) {
				filled.Set(attr(in, "name"), attr(in, "value"))
			}
		}
		return filled
	}
	first, second := form(), form()
	if first.Get("version") == "" {
		t.Fatalf("the correction's form carries no version: %v", first)
	}
	path := "/ops/fund/applications/" + app + "/award-correction"
	noVersion := form()
	noVersion.Del("version")
	noVersion.Set("corrected_amount", "600")
	noVersion.Set("correction_reason", "Typed wrong.")
	opsMustStatus(t, s.p.do("POST", path, ops, noVersion), http.StatusConflict, "a correction that says no version")
	first.Set("corrected_amount", "700")
	first.Set("correction_reason", "£70 was typed for £700.")
	opsMustStatus(t, s.p.do("POST", path, ops, first), http.StatusSeeOther, "the first tab's correction")
	opsMustStatus(t, s.p.do("POST", path, ops, first), http.StatusSeeOther, "the first tab's correction sent again")
	second.Set("corrected_amount", "600")
	second.Set("correction_reason", "£70 was typed for £600.")
	r := opsMustStatus(t, s.p.do("POST", path, ops, second), http.StatusConflict, "the second tab's correction")
	if !strings.Contains(string(r.body), "nothing was saved") {
		t.Errorf("the second tab's refusal does not say nothing was saved: %s", r.body)
	}
	if got := opsFieldMessage(t, r.body, "corrected_amount"); !strings.Contains(got, "700") {
		t.Errorf("beside the amount: %q, want what is awarded now, £700", got)
	}
	fundOps := opsToken(t, s.fund, "fund")
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+app, fundOps, nil)).JSON(t); got["award_pence"] != float64(70000) {
		t.Errorf("the application after the two tabs: %v, want the first tab's £700 alone", got["award_pence"])
	}
}
