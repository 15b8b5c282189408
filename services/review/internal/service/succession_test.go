package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// An organisation that withdrew and signed again is a new record, announced as
// succeeding the old one, or recorded as succeeding it later (its announcement did
// not name it): a reviewer who declared a conflict with the old record is in
// conflict with the new one, automatically and by hand, as they would be with the
// old, whichever way the link was made.
func TestAConflictWithTheRecordAnOrganisationSucceedsHoldsForIt(t *testing.T) {
	t.Parallel()
	for _, later := range []bool{false, true} {
		t.Run(map[bool]string{false: "at the announcement", true: "recorded later"}[later], func(t *testing.T) {
			t.Parallel()
			h := start(t)
			h.signatory("alpha-old")
			h.reviewer("wary", "b", true, 3, "alpha-old")
			h.publish("alpha-old", events.OrganisationWithdrawnV1{OrganisationID: "alpha-old", WithdrawnOn: civil.New(2026, 6, 1), Reason: "signing again", InitiatedBy: "organisation"})
			h.signatories["alpha-new"] = true
			announced := events.OrganisationAnnouncedV1{OrganisationID: "alpha-new", Name: "University of alpha", Kind: "signatory", AnnouncedOn: civil.New(2026, 6, 1),
				NominatedLead: events.Person{Name: "Lead of alpha", Email: "lead@alpha.ac.uk"}, Succeeds: "alpha-old"}
			if later {
				announced.Succeeds = ""
			}
			h.publish("alpha-new", announced)
			if later {
				// Recorded after the announcement; the read model takes the signatory's
				// events in order, so the obligation after it (which the draft waits for)
				// finds it taken.
				h.publish("alpha-new", events.OrganisationSuccessionRecordedV1{OrganisationID: "alpha-new", Succeeds: "alpha-old"})
			}
			h.obligation("alpha-new", 1)
			sub := h.submitted("alpha-new")
			round := h.openRound("Autumn", start0.Add(30*24*time.Hour), sub)

			report := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1})).JSON(t)
			if report["added"] != float64(0) {
				t.Fatalf("a reviewer in conflict with the record alpha succeeds was assigned to it: %v", report)
			}
			if u := report["uncovered"].([]any); len(u) != 1 || !strings.Contains(fmt.Sprint(u[0].(map[string]any)["reason"]), "declared conflict") {
				t.Errorf("uncovered %v, want the submission uncovered for a declared conflict", u)
			}
			testenv.Eventually(t, 10*time.Second, func() error {
				r := h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": "wary", "reason": "Asked for by name"})
				if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "declared conflict") {
					return fmt.Errorf("assigning by hand a reviewer in conflict with the record alpha succeeds: %d %s, want 409 declared conflict", r.Status, r.Body)
				}
				return nil
			})
		})
	}
}
