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

// An announcement whose date ITSS corrects (OrganisationAnnouncementCorrectedV1, then
// the first obligation scheduled again under its id) moves what the review service
// keeps of it: its technicians join the pool from the corrected day, not the day typed
// first, and its submission is taken from the corrected window's first day.
func TestACorrectedAnnouncementDateMovesWhatReviewKeeps(t *testing.T) {
	t.Parallel()
	h := start(t)
	today := civil.Of(start0)
	ahead, past := today.AddDays(10), today.AddDays(-20)
	correct := func(org string, announced, previous, opens, due civil.Date) {
		h.publish(org, events.OrganisationAnnouncementCorrectedV1{OrganisationID: org, OrganisationName: "University of " + org,
			AnnouncedOn: announced, PreviousAnnouncedOn: previous, ObligationID: org + "-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
			WindowOpens: opens, Due: due})
		h.publish(org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: "University of " + org, ObligationID: org + "-c1",
			Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: opens, Due: due})
	}

	// Typed ten days ahead, corrected to twenty days ago: a signatory now.
	h.signatories["fixed"] = true
	h.publish("fixed", events.OrganisationAnnouncedV1{OrganisationID: "fixed", Name: "University of fixed", Kind: "signatory", AnnouncedOn: ahead,
		NominatedLead: events.Person{Name: "Lead of fixed", Email: "lead@fixed.ac.uk"}})
	correct("fixed", past, ahead, past.AddMonths(12), past.AddMonths(18))
	member := map[string]any{"reviewer_id": "fixer", "name": "Reviewer fixer", "email": "fixer@reviewers.example", "organisation_id": "fixed",
		"trained": true, "capacity": 2, "conflicts": []string{}}
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.Do("POST", "/v1/reviewers", h.ops, member); r.Status != http.StatusCreated {
			return fmt.Errorf("a technician of a signatory whose announcement was corrected to %s: %d %s", past, r.Status, r.Body)
		}
		return nil
	})

	// The window typed as opening in three weeks opened last week.
	h.signatory("win")
	typed, fixed := today.AddDays(21), today.AddDays(-7)
	h.publish("win", events.ObligationScheduledV1{OrganisationID: "win", OrganisationName: "University of win", ObligationID: "win-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: typed, Due: typed.AddMonths(6)})
	id := h.drafted("win", complete("Start an award"))
	lead := h.Token(auth.RoleLead, "win")
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/submissions/"+id+"/submission", lead, nil))
	detail(t, r, typed.InWords())
	correct("win", fixed.AddMonths(-12), typed.AddMonths(-12), fixed, fixed.AddMonths(6))
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.Do("POST", "/v1/submissions/"+id+"/submission", lead, nil); r.Status != http.StatusOK {
			if !strings.Contains(string(r.Body), typed.InWords()) {
				t.Fatalf("the submission after the correction: %d %s", r.Status, r.Body)
			}
			return fmt.Errorf("the submission is still refused until %s: %s", typed, r.Body)
		}
		return nil
	})
}
