package service

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An action pasted from a plan written in Word keeps its lines: a lead's bulleted
// steps were run together into one line in the editor's table of the plan, as the
// table showed the text with its line breaks collapsed, though the reviewer's page
// showed them.
func TestAnActionsLinesShowInThePlan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboardOn(t, s.p, s.sig, "University of Pasted Lines", "lead@pasted.example.ac.uk", time.Now().AddDate(0, -13, 0))
	lead := s.p.signIn("lead@pasted.example.ac.uk")
	e := startDraft(t, s, org, lead)
	e.setPlan(t, "Survey technicians:\n•\tin every faculty\n•\ttwice a year")

	b := newBrowser(t)
	b.SetCookie(s.p.url, lead)
	b.Open(s.p.url + e.editor() + "?draft=" + e.draft)
	if got := b.Text(browsertest.CSS("#action-plan ~ div td.stack-first")); !strings.Contains(got, "Survey technicians:\n•") || !strings.Contains(got, "faculty\n•") {
		t.Errorf("the editor's plan shows the action as %q, its lines run together", got)
	}
}

// What a lead pastes into an action is kept whole, and the page says the limit
// before it is reached. The text areas once had a maxlength, which the browser
// applies by cutting a paste short without a word, and counts in UTF-16 units, so an
// action with emoji lost its end well within the 4,000 characters the service takes,
// and one pasted over the limit was saved cut, never told.
func TestAPastedActionIsKeptWholeOrRefusedSayingSo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboardOn(t, s.p, s.sig, "University of Long Pastes", "lead@pastes.example.ac.uk", time.Now().AddDate(0, -13, 0))
	lead := s.p.signIn("lead@pastes.example.ac.uk")
	e := startDraft(t, s, org, lead)

	b := newBrowser(t)
	b.SetCookie(s.p.url, lead)
	b.Open(s.p.url + e.items() + "/new?draft=" + e.draft)
	emoji := strings.Repeat("🔬 ", 1500) + "end" // 3,003 characters, 4,503 UTF-16 units
	b.Fill("Action", emoji)
	if got := b.Value(browsertest.Label("Action")); got != emoji {
		t.Errorf("an action of 3,003 characters with emoji was cut to %d characters", len([]rune(got)))
	}
	long := strings.Repeat("x", 4100)
	b.Fill("Success measure", long)
	b.Fill("Theme", "Visibility")
	b.Fill("Owner", "Head of Technical Services")
	b.Fill("Day", "31")
	b.Fill("Month", "7")
	b.Fill("Year", "2027")
	b.Click(browsertest.Role("button", "Save action"))
	if msg := b.Text(browsertest.CSS("main")); !strings.Contains(msg, "Success measure must be 4,000 characters or fewer") {
		t.Errorf("a success measure of 4,100 characters was not refused saying so: the page is %q", b.Title())
	}
	if got := b.Value(browsertest.Label("Success measure")); got != long {
		t.Errorf("the success measure refused was shown back as %d characters, not the 4,100 typed", len(got))
	}
	if got := b.Value(browsertest.Label("Action")); got != emoji {
		t.Errorf("the action was shown back as %d characters, not the 3,003 typed", len([]rune(got)))
	}
	if hint := b.Text(browsertest.CSS("#field-action-hint")); !strings.Contains(hint, "4,000 characters") {
		t.Errorf("the action's hint reads %q, not its limit", hint)
	}
}

// A plan at the most actions the review service keeps (200) says so on the editor,
// and an action added to it is refused saying what to do in the lead's words, with
// what was typed kept: it was refused as "must list at most 200 items", the
// service's words, naming nothing the lead had written.
func TestAFullPlanSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	org := onboardOn(t, s.p, s.sig, "University of Full Plans", "lead@full.example.ac.uk", time.Now().AddDate(0, -13, 0))
	lead := s.p.signIn("lead@full.example.ac.uk")
	e := startDraft(t, s, org, lead)
	var plan []map[string]any
	for i := range 200 {
		plan = append(plan, map[string]any{"theme": "visibility", "action": fmt.Sprintf("Action %d", i+1), "owner": "Head of Technical Services",
			"success_measure": "Done", "target_date": "2027-07-31"})
	}
	tok, err := s.env.Issuer.MintFor(auth.Principal{Subject: "lead-check", Role: auth.RoleLead, Org: org}, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	s.review.Must(http.StatusOK, s.review.Do("PUT", "/v1/submissions/"+e.draft, tok, map[string]any{"self_assessment": []any{}, "action_plan": plan,
		"technician_voice": map[string]any{"participants": 0}, "webpage": ""}, "If-Match", "*"))

	if r := e.get(e.editor()); !strings.Contains(r.body, "200 actions") {
		t.Errorf("the editor of a full plan does not say it holds the most actions it can")
	}
	f := formIn(t, e.get(e.items()+"/new").body, e.items())
	for k, v := range map[string]string{"theme": "recognition", "action": "One more action", "owner": "Head of Technical Services", "success_measure": "Done",
		"target_day": "31", "target_month": "7", "target_year": "2027"} {
		f.Set(k, v)
	}
	r := e.post(e.items(), f)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Your plan has 200 actions, the most it can hold") || !strings.Contains(r.body, "One more action") {
		t.Errorf("a 201st action = %d, not refused saying the plan is full with what was typed kept: %s", r.status, summaryText(r.body))
	}
}

// summaryText is what a page's error summary says, its markup aside.
func summaryText(body string) string {
	m := regexp.MustCompile(`(?s)class="error-summary".*?</div>`).FindString(body)
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m, " ")), " ")
}
