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

// A lead, by keyboard alone, signs in with the link emailed to them, opens their
// organisation's fund applications, makes an API token (a mistake in the form
// first) and reads it the one time it is shown; their tool drafts an application
// with it through the fund's API over HTTP, which the lead then finds on their fund
// pages; the lead revokes the token and the fund refuses it. axe-core checks every
// page on the way.
func TestJourneyAPIToken(t *testing.T) {
	t.Parallel()
	s, mine, _ := leadStack(t)
	ops, err := s.fund.Issuer.MintFor(auth.Principal{Subject: "ops-1", Role: auth.RoleOps}, time.Hour, config.DevAudience("fund"))
	if err != nil {
		t.Fatal(err)
	}
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", ops, map[string]any{
		"name": "TCF 2030", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": "2030-01-31T17:00:00Z",
		"budget_pence": 1000000, "min_award_pence": 10000, "max_award_pence": 100000,
		"project_start": "2030-03-01", "project_end": "2030-12-31", "themes": []string{"visibility"},
	})).JSON(t)["id"].(string)
	b := newBrowser(t)

	b.Open(s.p.url + "/")
	tabTo(t, b, "link", "Sign in")
	b.Enter()
	heading(t, b, "Sign in")
	before := len(s.box.links("lead-a@example.ac.uk"))
	tabTo(t, b, "textbox", "Email address")
	b.Type("lead-a@example.ac.uk")
	tabTo(t, b, "button", "Email me a sign-in link")
	b.Enter()
	heading(t, b, "Check your email")
	b.Open(s.mailedLink(t, "lead-a@example.ac.uk", before))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	heading(t, b, "Your pages")

	tabTo(t, b, "link", "fund applications of University of Exampleton")
	b.Enter()
	heading(t, b, "Fund applications")
	if got := pagePath(t, b); got != "/organisations/"+mine+"/fund" {
		t.Fatalf("the fund applications link led to %s", got)
	}
	screenshot(b, "fund-applications")
	tabTo(t, b, "link", "Manage API tokens")
	b.Enter()
	heading(t, b, "API tokens")
	screenshot(b, "api-tokens")

	// A mistake first: the focus lands on the error summary, which links to the field.
	tabTo(t, b, "textbox", "Name")
	b.Type("Grants uploader")
	tabTo(t, b, "textbox", "Days until it stops working")
	b.Type("900") // Tab selected the 90 already there
	tabTo(t, b, "button", "Make the token")
	b.Enter()
	heading(t, b, "API tokens")
	errorSummaryHasFocus(t, b, "field-days", "Days until it stops working")
	b.ShiftTab()
	b.Tab()
	b.CheckFocusVisible(t)
	if got := b.Text(browsertest.CSS("#field-days-error")); !strings.Contains(got, "between 1 and 90") {
		t.Errorf("the days error reads %q", got)
	}
	b.ShiftTab()
	tabTo(t, b, "textbox", "Days until it stops working")
	b.Type("30")
	tabTo(t, b, "button", "Make the token")
	b.Enter()
	heading(t, b, "Your new API token")
	screenshot(b, "api-token-made")
	secret := strings.TrimSpace(b.Value(browsertest.CSS("#made-token")))
	if strings.Count(secret, ".") != 2 {
		t.Fatalf("the token shown is not a JWT: %q", secret)
	}

	// The organisation's tool uses it, over HTTP, as the fund's guide says.
	var id string
	testenv.Eventually(t, 15*time.Second, func() error {
		r := s.fund.Do("POST", "/v1/applications", secret, fundDraft(round, "lead-a@example.ac.uk"))
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft with the new token: %d %s", r.Status, r.Body)
		}
		id = r.JSON(t)["id"].(string)
		return nil
	})

	// Reloaded, the page no longer shows the token: it was shown once.
	b.Open(s.p.url + "/organisations/" + mine + "/tokens")
	heading(t, b, "API tokens")
	if strings.Contains(b.Text(browsertest.CSS("body")), secret) {
		t.Error("the tokens page shows the token again")
	}
	tabTo(t, b, "link", "Your organisation's fund applications")
	b.Enter()
	heading(t, b, "Fund applications")
	tabTo(t, b, "link", "Shared 3D-printing skills exchange")
	b.Enter()
	heading(t, b, "Shared 3D-printing skills exchange")
	if got := pagePath(t, b); got != "/organisations/"+mine+"/fund/"+id {
		t.Fatalf("the application's link led to %s", got)
	}
	screenshot(b, "fund-application")

	// Revoked in the portal, refused by the fund.
	b.Open(s.p.url + "/organisations/" + mine + "/tokens")
	tabTo(t, b, "link", "Revoke Grants uploader")
	b.Enter()
	// Asked first: revoking cannot be undone.
	heading(t, b, "Revoke the API token Grants uploader")
	tabTo(t, b, "button", "Revoke the token")
	b.Enter()
	heading(t, b, "API tokens")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Revoked") {
		t.Errorf("the list does not say the token is revoked: %q", got)
	}
	// Said at the top too, as a status message: the button pressed has gone.
	if got, want := b.Text(browsertest.CSS(`#done[role="status"]`)), "The token \u201cGrants uploader\u201d was revoked: it no longer works."; got != want {
		t.Errorf("after the revoke the page says %q, want %q", got, want)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if got := s.fund.Do("GET", "/v1/applications", secret, nil).Status; got != http.StatusUnauthorized {
			return fmt.Errorf("the fund answers the revoked token %d", got)
		}
		return nil
	})
}
