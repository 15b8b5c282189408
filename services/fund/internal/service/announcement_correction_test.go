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

// An announcement whose date ITSS corrects (OrganisationAnnouncementCorrectedV1)
// makes a signatory from the corrected day: one typed ahead and corrected to a day
// gone applies now, one corrected from a day gone to a day ahead applies from it.
func TestAnOrganisationWhoseAnnouncementIsCorrectedAppliesFromTheCorrectedDay(t *testing.T) {
	t.Parallel()
	h := start(t)
	today := civil.Of(start0) // start0 is GMT: its UTC day is the London day
	ahead, past := today.AddDays(10), today.AddDays(-20)
	announce := func(org string, on civil.Date) {
		h.publishSignatory(events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Org " + org, Kind: "signatory", AnnouncedOn: on,
			NominatedLead: events.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"}}, org)
	}
	correct := func(org string, on, was civil.Date) {
		h.publishSignatory(events.OrganisationAnnouncementCorrectedV1{OrganisationID: org, OrganisationName: "Org " + org,
			AnnouncedOn: on, PreviousAnnouncedOn: was, ObligationID: org + "-c1", ObligationKind: events.ObligationSelfAssessmentAndActionPlan,
			WindowOpens: on.AddMonths(12), Due: on.AddMonths(18)}, org)
	}
	announce("org-early", ahead)
	correct("org-early", past, ahead)
	announce("org-late", past)
	correct("org-late", ahead, past)
	rnd := h.openRound(100000, 1000, 10000)
	h.eligible(h.Token(auth.RoleApplicant, "org-early"), rnd, 1000)
	late := h.Token(auth.RoleApplicant, "org-late")
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", late, draft(rnd, 5000))
		if r.Status != http.StatusForbidden || !strings.Contains(r.JSON(t)["detail"].(string), ahead.InWords()) {
			return fmt.Errorf("a draft before the corrected announcement's day: %d %s, want 403 naming %s", r.Status, r.Body, ahead)
		}
		return nil
	})
}
