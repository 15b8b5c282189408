package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// A lead who starts the next submission the moment the last is in: the signatory
// service opens the next obligation when it hears of the receipt, and the review
// service hears of that a moment later. Until it does, a draft is a passing refusal
// (503 with Retry-After, its reason in the service's log), not "the
// submission for this obligation exists already", which sent a lead to the
// submission they had just sent; once it does, the draft is of the next obligation.
// A supporter's one action plan is followed by nothing: a draft after it is still
// refused as existing.
func TestADraftBeforeTheNextObligationIsKnownIsAskedAgainLater(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("n")
	first := h.submitted("n")
	lead := h.Token(auth.RoleLead, "n")

	r := h.Do("POST", "/v1/submissions", lead, complete("Next cycle"))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || strings.Contains(string(r.Body), "exists already") {
		t.Fatalf("a draft before the next obligation is known = %d (Retry-After %q) %s, want 503 asking to retry", r.Status, r.Header.Get("Retry-After"), r.Body)
	}

	h.obligation("n", 2)
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/submissions", lead, complete("Next cycle"))
		if r.Status != http.StatusCreated {
			return fmt.Errorf("the draft once the next obligation is known = %d %s", r.Status, r.Body)
		}
		if got := r.JSON(t); got["id"] == first || got["cycle"] != float64(2) {
			return fmt.Errorf("the draft is %v of cycle %v, want a new one of cycle 2", got["id"], got["cycle"])
		}
		return nil
	})

	// A supporter's one action plan: nothing follows it, and nothing is asked again.
	h.publish("sp", events.OrganisationAnnouncedV1{OrganisationID: "sp", Name: "Society of sp", Kind: "supporter", AnnouncedOn: civil.New(2026, 3, 20)})
	h.publish("sp", events.ObligationScheduledV1{OrganisationID: "sp", OrganisationName: "Society of sp", ObligationID: "sp-c1",
		Kind: events.ObligationActionPlan, Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2026, 9, 20)})
	supporter := h.Token(auth.RoleLead, "sp")
	plan := complete("Plan")
	plan["self_assessment"] = []any{} // a supporter owes the action plan alone
	id := h.drafted("sp", plan)
	h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+id+"/submission", supporter, nil))
	if r := h.Do("POST", "/v1/submissions", supporter, plan); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "exists already") {
		t.Errorf("a draft after the supporter's plan = %d %s, want 409 saying it exists already", r.Status, r.Body)
	}
}
