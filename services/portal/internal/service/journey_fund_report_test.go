package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// A funded project's report (what it did, and what the grant paid for) reached the
// fund and was shown nowhere: the console's page of the application and the lead's
// said only that it was received, so ITSS read the report itself with curl. Both
// pages now give it, as the fund holds it, and a reload shows the same.
func TestJourneyFundReportIsReadInThePortal(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	fundOps := opsToken(t, s.fund, "fund")
	london := opsLondon()
	today := time.Now().In(london)
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", fundOps, map[string]any{
		"name": "TCF Reports", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).Format(time.RFC3339),
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": today.Format(time.DateOnly), "project_end": today.AddDate(0, 6, 0).Format(time.DateOnly), "themes": []string{"visibility"},
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
	const report = "Four workshops ran with 38 technicians from both sites."
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/report", tool, map[string]any{"summary": report, "spent_pence": 64210}))

	reads := func(b *browsertest.Browser, who string) {
		t.Helper()
		for range 2 { // as opened, and reloaded
			got := b.Text(browsertest.CSS("main"))
			for _, want := range []string{report, "£642.10"} {
				if !strings.Contains(got, want) {
					t.Errorf("%s's page of the application does not give %q: %q", who, want, got)
				}
			}
			b.Open(b.CurrentURL())
		}
	}

	// ITSS, from the fund's page of reports to the application.
	ops := newBrowser(t)
	opsBrowserSignIn(t, ops, s)
	tabTo(t, ops, "link", "Collaboration Fund")
	ops.Enter()
	heading(t, ops, "Collaboration Fund")
	tabTo(t, ops, "link", "Skills exchange")
	ops.Enter()
	heading(t, ops, "Skills exchange")
	reads(ops, "the console")

	// The organisation's lead, signed in with an emailed link.
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
	reads(lead, "the lead")
}
