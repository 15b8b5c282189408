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

// An ops person, by keyboard alone, corrects the project window of a closed round
// recorded a year short, once its project is funded: the fund page offers it for the
// closed round, the form is filled with the window as it stands, a window ending by
// the round's close is refused beside the field as the fund says why, and the
// funded project's report is then due a month after the new end, as the lead's page
// of the application says. axe-core checks every page on the way.
func TestJourneyOpsCorrectsAClosedRoundsProjectWindow(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	fundOps := opsToken(t, s.fund, "fund")
	london := opsLondon()
	today := time.Now().In(london)
	const name = "Technician Collaboration Fund Window"
	short, right := today.AddDate(0, 3, 0), today.AddDate(1, 3, 0)
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
		"name": name, "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": time.Now().AddDate(0, 0, 7).Format(time.RFC3339),
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": today.Format(time.DateOnly), "project_end": short.Format(time.DateOnly), "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	tool, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "grants-tool", Role: auth.RoleApplicant, Org: org}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	var app string
	testenv.Eventually(t, 15*time.Second, func() error { // the fund learns of the organisation from its events
		r := s.fund.Do("POST", "/v1/applications", tool, map[string]any{
			"round_id": round, "title": "Skills exchange", "summary": "Joint workshops.", "themes": []string{"visibility"},
			"requested_amount_pence": 70000, "partners": []map[string]any{{"name": "Partner College"}},
			"endorsement":  map[string]any{"name": "Sam Patel", "email": "lead-a@example.ac.uk"},
			"budget_lines": []map[string]any{{"description": "Consumables", "amount_pence": 70000}},
			"milestones":   []map[string]any{{"description": "Workshop", "due": today.AddDate(0, 1, 0).Format(time.DateOnly)}}})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create application = %d: %s", r.Status, r.Body)
		}
		app = r.JSON(t)["id"].(string)
		return nil
	})
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/submission", tool, nil))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/assessment", fundOps, nil))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/award", fundOps, map[string]any{"amount_pence": 70000}))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/rounds/"+round+"/closure", fundOps, map[string]any{"reason": "Enough applications."}))

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	b.Open(s.p.url + "/ops/fund")
	heading(t, b, "Collaboration Fund")
	tabTo(t, b, "link", "Correct the project window of "+name)
	b.Enter()
	heading(t, b, "Correct the project window")
	if got := b.Value(browsertest.CSS("#field-project_end")); got != short.Format(time.DateOnly) {
		t.Errorf("the form is filled with %q, want the window's end as it stands, %s", got, short.Format(time.DateOnly))
	}
	opsTypeInto(t, b, "textbox", "Projects end by", today.AddDate(0, 0, 3).Format(time.DateOnly)) // before the round closes
	tabTo(t, b, "button", "Correct the project window")
	b.Enter()
	heading(t, b, "Correct the project window")
	errorSummaryHasFocus(t, b, "field-project_end", "Projects end by")
	if got := b.Text(browsertest.CSS("#field-project_end-error")); !strings.HasPrefix(got, "Error:") || !strings.Contains(got, "after the round closes") {
		t.Errorf("the message beside the field reads %q, want the fund's reason", got)
	}
	b.WaitFor(browsertest.CSS(`#field-project_end[aria-describedby~="field-project_end-error"][aria-invalid="true"]`))
	screenshot(b, "ops-round-window-refused")
	b.ShiftTab()
	opsTypeInto(t, b, "textbox", "Projects end by", right.Format(time.DateOnly))
	tabTo(t, b, "button", "Correct the project window")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	screenshot(b, "ops-round-window-corrected")
	due := right.AddDate(0, 1, 0)
	if page := b.Text(browsertest.CSS("main")); !strings.Contains(page, due.Format("Monday 2 January 2006")) {
		t.Errorf("the fund page's project reports read %q, want the report due %s", page, due.Format("Monday 2 January 2006"))
	}
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/applications/"+app, fundOps, nil)).JSON(t)
	if got["report_due"] != due.Format(time.DateOnly) {
		t.Errorf("the funded application's report is due %v, want %s, a month after the corrected end", got["report_due"], due.Format(time.DateOnly))
	}

	// The organisation's lead reads the new day on the application's page.
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
	if page := lead.Text(browsertest.CSS("main")); !strings.Contains(page, due.Format("Monday 2 January 2006")) || strings.Contains(page, short.AddDate(0, 1, 0).Format("Monday 2 January 2006")) {
		t.Errorf("the lead's page of the application reads %q, want the report due %s and not the day before", page, due.Format("Monday 2 January 2006"))
	}
}

// The project window's forms apply only to the round as they showed it: the closed
// round's form sent twice (a double click) leads on as the first did, and a second tab
// opened before the first saved is refused, nothing saved, saying beside the field
// what the window's end is now. An open round's window is corrected with the rest of
// its terms (Fund → Correct), which the fund now takes once the round is open.
func TestTwoTabsCorrectingAProjectWindowDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	year := time.Now().Year() + 1
	fundOps := opsToken(t, s.fund, "fund")
	newRound := func(name string) string {
		return s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
			"name": name, "opens": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339),
			"budget_pence": 50000, "min_award_pence": 10000, "max_award_pence": 50000, "project_start": fmt.Sprintf("%d-03-01", year),
			"project_end": fmt.Sprintf("%d-06-30", year), "themes": []string{"visibility"}})).JSON(t)["id"].(string)
	}
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	open := newRound("Technician Collaboration Fund Open Window")
	form := formAsSent(t, string(opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+open+"/edit", ops, nil), http.StatusOK, "the open round's correction form").body), "/ops/fund/rounds/"+open)
	form.Set("project_end", fmt.Sprintf("%d-12-31", year))
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+open, ops, form), http.StatusSeeOther, "the open round's window corrected")
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+open, "", nil)).JSON(t); got["project_end"] != fmt.Sprintf("%d-12-31", year) {
		t.Errorf("the open round after its window was corrected: %v", got)
	}

	closed := newRound("Technician Collaboration Fund Closed Window")
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/rounds/"+closed+"/closure", fundOps, map[string]any{}))
	page := func() url.Values {
		return formAsSent(t, string(opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+closed+"/window", ops, nil), http.StatusOK, "the window's form").body), "/ops/fund/rounds/"+closed+"/window")
	}
	first, second := page(), page()
	first.Set("project_end", fmt.Sprintf("%d-12-31", year))
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+closed+"/window", ops, first), http.StatusSeeOther, "the first tab's window")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+closed+"/window", ops, first), http.StatusSeeOther, "the first tab's window sent again")
	second.Set("project_end", fmt.Sprintf("%d-11-30", year))
	r := opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+closed+"/window", ops, second), http.StatusConflict, "the second tab's window")
	if !strings.Contains(string(r.body), "nothing was saved") {
		t.Errorf("the second tab's refusal does not say nothing was saved: %s", r.body)
	}
	if got := opsFieldMessage(t, r.body, "project_end"); !strings.Contains(got, fmt.Sprintf("%d-12-31", year)) {
		t.Errorf("beside the window's end: %q, want what is saved now, %d-12-31", got, year)
	}
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+closed, "", nil)).JSON(t); got["project_end"] != fmt.Sprintf("%d-12-31", year) || got["version"] != float64(3) {
		t.Errorf("the round after the two tabs: %v, want the first tab's end alone (version 3: opened, closed, corrected)", got)
	}
}
