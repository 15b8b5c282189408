package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
)

// The console's irreversible actions said nothing of what follows them: recording a
// withdrawal (the organisation leaves the directory, its reminders stop, the fund
// withdraws its undecided applications, reviewers come off its submission) was one
// form of a date, who asked and a reason; an award or a decline was one button. Each
// form now says what will happen, and that it cannot be undone.
func TestOpsIrreversibleFormsSayWhatWillHappen(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	org := onboard(t, s.p, s.sig, "University of Exampleton", "lead-a@example.ac.uk")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	withdrawal := text(parse(t, opsMustStatus(t, s.p.do("GET", "/ops/organisations/"+org+"/withdrawal", ops, nil), http.StatusOK, "the withdrawal form").body))
	for _, want := range []string{"cannot be undone", "leaves the directory", "reminders stop", "not yet decided are withdrawn", "taken off"} {
		if !strings.Contains(withdrawal, want) {
			t.Errorf("the withdrawal form does not say %q: %s", want, withdrawal)
		}
	}

	year := time.Now().Year() + 1
	round := s.fund.Must(http.StatusCreated, s.fund.Do("POST", "/v1/rounds", opsToken(t, s.fund, "fund"), map[string]any{
		"name": "TCF Decisions", "opens": time.Now().Add(-time.Hour).Format(time.RFC3339), "closes": time.Now().AddDate(0, 1, 0).Format(time.RFC3339),
		"budget_pence": 500000, "min_award_pence": 10000, "max_award_pence": 100000, "project_start": fmt.Sprintf("%d-03-01", year), "project_end": fmt.Sprintf("%d-12-31", year),
		"themes": []string{"career_development"}})).JSON(t)["id"].(string)
	app := opsSubmitApplication(t, s, round, org, "lead-a@example.ac.uk", year)
	s.fund.Must(http.StatusOK, s.fund.Do("POST", "/v1/applications/"+app+"/assessment", opsToken(t, s.fund, "fund"), nil))
	page := text(parse(t, opsMustStatus(t, s.p.do("GET", "/ops/fund/applications/"+app, ops, nil), http.StatusOK, "the application").body))
	for _, want := range []string{"An award is final", "A decline is final", "emailed"} {
		if !strings.Contains(page, want) {
			t.Errorf("the application's page does not say %q: %s", want, page)
		}
	}
}
