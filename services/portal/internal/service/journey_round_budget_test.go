package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone, raises the budget of a closed round recorded too
// low (£500 for £5,000), when its awards are decided: the fund page offers to change
// it for the closed round, the form is filled with the budget as it stands, a budget
// below what the round's awards hold is refused beside the field as the fund says
// why, and the page then shows the budget raised. axe-core checks every page on the
// way.
func TestJourneyOpsRaisesAClosedRoundsBudget(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	year := time.Now().Year() + 1
	const name = "Technician Collaboration Fund Slip"
	ops := opsToken(t, s.fund, "fund")
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", ops, map[string]any{
		"name": name, "opens": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339),
		"budget_pence": 50000, "min_award_pence": 10000, "max_award_pence": 50000, "project_start": fmt.Sprintf("%d-03-01", year),
		"project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"visibility"}})).JSON(t)["id"].(string)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	app := inAssessment(t, s, org, "lead-a@example.ac.uk", round, 45000, time.Date(year, 6, 1, 0, 0, 0, 0, time.UTC))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/rounds/"+round+"/closure", ops, map[string]any{"reason": "Enough applications."}))
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/award", ops, map[string]any{"amount_pence": 45000}))

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	b.Open(s.p.url + "/ops/fund")
	heading(t, b, "Collaboration Fund")
	tabTo(t, b, "link", "Change the budget of "+name)
	b.Enter()
	heading(t, b, "Change the budget")
	if got := b.Value(browsertest.CSS("#field-budget")); got != "500" {
		t.Errorf("the form is filled with %q, want the budget as it stands, 500", got)
	}
	opsTypeInto(t, b, "textbox", "Budget in pounds", "400")
	tabTo(t, b, "button", "Change the budget")
	b.Enter()
	heading(t, b, "Change the budget")
	errorSummaryHasFocus(t, b, "field-budget", "Budget in pounds")
	// The fund's reason is a sentence of its own, not one after the field's label
	// ("Budget in pounds the round's awards hold ..." it read).
	const reason = "The round's awards hold £450 of its budget: it may be lowered to no less than that"
	if got := strings.Join(strings.Fields(b.Text(browsertest.CSS("#field-budget-error"))), " "); got != "Error: "+reason {
		t.Errorf("the message beside the field reads %q, want %q", got, "Error: "+reason)
	}
	if got := b.Text(browsertest.CSS(".error-summary li")); got != reason {
		t.Errorf("the error summary reads %q, want %q", got, reason)
	}
	b.WaitFor(browsertest.CSS(`#field-budget[aria-describedby~="field-budget-error"][aria-invalid="true"]`))
	screenshot(b, "ops-round-budget-refused")
	b.ShiftTab()
	opsTypeInto(t, b, "textbox", "Budget in pounds", "5000")
	tabTo(t, b, "button", "Change the budget")
	b.Enter()
	heading(t, b, "Collaboration Fund")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "£5,000\t£450\t£4,550") {
		t.Errorf("the fund page reads %q, want the budget raised to £5,000 with £450 awarded and £4,550 left", got)
	}
	screenshot(b, "ops-round-budget-raised")
	got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
	if got["budget_pence"] != float64(500000) || got["status"] != "closed" || got["name"] != name {
		t.Errorf("the round after its budget was raised: %v, want 500000 pence, closed, its name kept", got)
	}
}

// The budget's form applies only to the round as it showed it: sent twice (a double
// click) it leads on as the first did; a second tab opened before the first saved is
// refused, nothing saved, saying beside the field what the budget is now.
func TestTwoTabsRaisingABudgetDoNotOverwriteEachOther(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	year := time.Now().Year() + 1
	fundOps := opsToken(t, s.fund, "fund")
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
		"name": "Technician Collaboration Fund Tabs", "opens": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339),
		"budget_pence": 50000, "min_award_pence": 10000, "max_award_pence": 50000, "project_start": fmt.Sprintf("%d-03-01", year),
		"project_end": fmt.Sprintf("%d-12-31", year), "themes": []string{"visibility"}})).JSON(t)["id"].(string)
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/rounds/"+round+"/closure", fundOps, map[string]any{}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	// The round's correction form, refused for a closed round, says what may still
	// change and leads to it ("A closed round can no longer change" was untrue).
	closed := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+round+"/edit", ops, nil), http.StatusConflict, "the closed round's correction form")
	if body := string(closed.body); !strings.Contains(body, "only its budget may still change") || !strings.Contains(body, `href="/ops/fund/rounds/`+round+`/budget"`) {
		t.Errorf("the closed round's correction form says: %s", body)
	}
	form := func() url.Values {
		page := opsMustStatus(t, s.p.do("GET", "/ops/fund/rounds/"+round+"/budget", ops, nil), http.StatusOK, "the budget's form")
		filled := url.Values{}
		for _, in := range find(parse(t, page.body), element("input")) {
			filled.Set(attr(in, "name"), attr(in, "value"))
		}
		return filled
	}
	first, second := form(), form()
	first.Set("budget", "5,000")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+round+"/budget", ops, first), http.StatusSeeOther, "the first tab's budget")
	opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+round+"/budget", ops, first), http.StatusSeeOther, "the first tab's budget sent again")
	second.Set("budget", "6,000")
	r := opsMustStatus(t, s.p.do("POST", "/ops/fund/rounds/"+round+"/budget", ops, second), http.StatusConflict, "the second tab's budget")
	if !strings.Contains(string(r.body), "nothing was saved") {
		t.Errorf("the second tab's refusal does not say nothing was saved: %s", r.body)
	}
	if got := opsFieldMessage(t, r.body, "budget"); !strings.Contains(got, "5,000") {
		t.Errorf("beside the budget: %q, want what is saved now, £5,000", got)
	}
	if got := s.fund.Must(http.StatusOK, s.fund.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["budget_pence"] != float64(500000) || got["version"] != float64(3) {
		t.Errorf("the round after the two tabs: %v, want the first tab's £5,000 alone (version 3: opened, closed, raised)", got)
	}
}
