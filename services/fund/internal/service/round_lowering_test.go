package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// budgetTerms are openRound's terms with the budget given (and the awards' limits).
func budgetTerms(budget, min, max int64) map[string]any {
	return map[string]any{
		"name": "TCF 2027", "opens": start0.Add(-time.Hour).Format(time.RFC3339), "closes": "2027-03-31T17:00:00+01:00",
		"budget_pence": budget, "min_award_pence": min, "max_award_pence": max,
		"project_start": "2027-05-01", "project_end": "2027-12-31", "themes": []string{"visibility", "career_development"},
	}
}

// A budget typed too high (£100 for £60) is lowered by ITSS, open or closed, to no
// less than its awards hold (409 naming budget_pence, saying how much); the round's
// read, the list of rounds and the ledger then give the budget lowered, and awards
// are decided against it.
func TestARoundsBudgetTypedTooHighIsLoweredToNoLessThanIsAwarded(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-lower", "signatory")
	round := h.openRound(10000, 1000, 4000)
	applicant := h.Token(auth.RoleApplicant, "org-lower")
	h.eligible(applicant, round, 4000)
	first := h.submitted(applicant, round, 4000, true)
	second := h.submitted(applicant, round, 1000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+first+"/award", h.ops, map[string]any{"amount_pence": 4000}))

	etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
	lowered := h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(6000, 1000, 4000), "If-Match", etag)).JSON(t)
	if lowered["budget_pence"] != float64(6000) || lowered["status"] != "open" {
		t.Errorf("the open round lowered: %v, want budget_pence 6000", lowered)
	}
	// Closed, it is lowered to what is awarded (below its largest award, which only
	// an open round's terms are held to), and the next award is refused.
	h.clock.Set(time.Date(2027, 4, 1, 10, 0, 0, 0, time.UTC))
	below := h.Must(http.StatusConflict, h.Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(3999, 1000, 4000))).JSON(t)
	if below["field"] != "budget_pence" || !strings.Contains(fmt.Sprint(below["detail"]), "4000 pence") {
		t.Errorf("lowering below what is awarded: %v, want 409 naming budget_pence and saying 4000 pence are awarded", below)
	}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(4000, 1000, 4000)))
	h.Must(http.StatusConflict, h.Do("POST", "/v1/applications/"+second+"/award", h.ops, map[string]any{"amount_pence": 1000}))
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t); got["budget_pence"] != float64(4000) {
		t.Errorf("the round reads %v, want budget_pence 4000", got)
	}
	items := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds", "", nil)).JSON(t)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["budget_pence"] != float64(4000) {
		t.Errorf("the list of rounds: %v, want the round with budget_pence 4000", items)
	}
	if l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t); l["budget_pence"] != float64(4000) || l["remaining_pence"] != float64(0) {
		t.Errorf("ledger %v, want 4000 budgeted and nothing left", l)
	}
	// Raised again, the ledger follows.
	h.Must(http.StatusOK, h.Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(5000, 1000, 4000)))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+second+"/award", h.ops, map[string]any{"amount_pence": 1000}))
}

// A lowering races an award in its round, through two replicas, again and again:
// the ledger puts them in one order, so either the award is made and the lowering
// refused, or the lowering is made and the award refused, never both; the round
// reads the budget its ledger holds, and the awards never exceed it.
func TestALoweringRacingAnAwardNeverLeavesTheAwardsOverTheBudget(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica()}
	outcomes := map[string]int{}
	for i := range 9 {
		// An organisation of its own each time: the rounds exclude the previous
		// round's grantees.
		org := fmt.Sprintf("org-lrace-%d", i)
		h.announce(org, "signatory")
		applicant := h.Token(auth.RoleApplicant, org)
		round := h.openRound(10000, 1000, 5000)
		h.eligible(applicant, round, 2000)
		drawn := h.submitted(applicant, round, 4000, true)
		racing := h.submitted(applicant, round, 2000, true)
		h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+drawn+"/award", h.ops, map[string]any{"amount_pence": 4000}))
		var lowering, award int
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			// Sent at once, or a moment after the award, so that the award's read of
			// the round and its draw on the ledger fall either side of the lowering.
			time.Sleep(time.Duration(i%3) * 15 * time.Millisecond)
			lowering = replicas[i%2].Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(5000, 1000, 5000)).Status
		}()
		go func() {
			defer wg.Done()
			award = replicas[(i+1)%2].Do("POST", "/v1/applications/"+racing+"/award", h.ops, map[string]any{"amount_pence": 2000}).Status
		}()
		wg.Wait()
		outcomes[fmt.Sprintf("lowering %d, award %d", lowering, award)]++
		if (lowering == http.StatusOK) == (award == http.StatusOK) || (lowering != http.StatusOK && lowering != http.StatusConflict) || (award != http.StatusOK && award != http.StatusConflict) {
			t.Errorf("race %d: the lowering answered %d and the award %d, want one made and the other refused with 409", i, lowering, award)
		}
		l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
		r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
		if l["awarded_pence"].(float64) > l["budget_pence"].(float64) || r["budget_pence"] != l["budget_pence"] {
			t.Errorf("race %d: ledger %v, round budget %v: the awards over the budget, or the round not reading the ledger's", i, l, r["budget_pence"])
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// The same change of budget sent twice at once from one reading (a double click, two
// replicas): one is recorded, the other refused with 412, and the budget is the one
// sent, on the round and on its ledger alike; the refused one does not put back what
// the other recorded.
func TestABudgetChangeSentTwiceAtOnceIsRecordedOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	replicas := []*testenv.Client{h.Client, h.replica()}
	for i := range 8 {
		round := h.openRound(10000, 1000, 4000)
		etag := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).Header.Get("ETag")
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for j := range statuses {
			wg.Go(func() {
				statuses[j] = replicas[j].Do("PUT", "/v1/rounds/"+round, h.ops, budgetTerms(6000+int64(i), 1000, 4000), "If-Match", etag).Status
			})
		}
		wg.Wait()
		if ok := (statuses[0] == http.StatusOK) != (statuses[1] == http.StatusOK); !ok || statuses[0]+statuses[1] != http.StatusOK+http.StatusPreconditionFailed {
			t.Errorf("try %d: the two answered %v, want one 200 and one 412", i, statuses)
		}
		r := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round, "", nil)).JSON(t)
		l := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
		if want := float64(6000 + i); r["budget_pence"] != want || l["budget_pence"] != want || r["version"] != float64(2) {
			t.Errorf("try %d: the round %v (budget %v) and its ledger %v, want %v on both", i, r["version"], r["budget_pence"], l["budget_pence"], want)
		}
	}
}
