package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
)

// A budget typed too low (£50 for £100) is raised once the round has closed, when its
// awards are decided: the award it refused is then made, and the ledger holds both.
// It is never lowered below what it was (409 naming budget_pence), and nothing else
// of a closed round changes.
func TestARoundsBudgetIsRaisedAfterItClosedForTheAwardsStillToDecide(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-budget", "signatory")
	round := h.openRound(5000, 1000, 5000)
	applicant := h.Token(auth.RoleApplicant, "org-budget")
	h.eligible(applicant, round, 5000)
	first := h.submitted(applicant, round, 5000, true)
	second := h.submitted(applicant, round, 5000, true)

	// 1 April: the round closed on 31 March.
	h.clock.Set(time.Date(2027, 4, 1, 10, 0, 0, 0, time.UTC))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+first+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+second+"/award", h.ops, map[string]any{"amount_pence": 5000}))

	terms := func(name string, budget int64) map[string]any {
		return map[string]any{
			"name": name, "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
			"budget_pence": budget, "min_award_pence": 1000, "max_award_pence": 5000,
			"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
		}
	}
	etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
	raised := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms("TCF 2027", 10000), "If-Match", etag)).JSON(t)
	if raised["budget_pence"] != float64(10000) || raised["status"] != "closed" {
		t.Errorf("the closed round with its budget raised: %v, want budget_pence 10000 and still closed", raised)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+second+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	ledger := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
	if ledger["budget_pence"] != float64(10000) || ledger["awarded_pence"] != float64(10000) || ledger["remaining_pence"] != float64(0) {
		t.Errorf("ledger %v, want 10000 budgeted and awarded, nothing left", ledger)
	}

	lowered := h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms("TCF 2027", 9000))).JSON(t)
	if lowered["field"] != "budget_pence" {
		t.Errorf("lowering a closed round's budget: %v, want 409 naming budget_pence", lowered)
	}
	h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+round, h.ops, terms("TCF 2027 (renamed)", 20000)))
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["budget_pence"] != float64(10000) || got["name"] != "TCF 2027" {
		t.Errorf("after the refused changes the round is %v, want its raised budget and name kept", got)
	}
}
