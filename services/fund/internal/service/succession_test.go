package service_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// An organisation funded in a round that withdrew and signed again is a new record,
// announced as succeeding the old one, or recorded as succeeding it later (its
// announcement did not name it): the next round, which excludes the previous round's
// grantees, refuses it as it would the old record. Alpha University was awarded in
// the 2026 round, withdrew, signed again the same day and was awarded in the 2027
// round too.
func TestAnOrganisationThatSignedAgainIsExcludedAsTheOneItSucceeds(t *testing.T) {
	t.Parallel()
	for _, later := range []bool{false, true} {
		t.Run(map[bool]string{false: "at the announcement", true: "recorded later"}[later], func(t *testing.T) {
			t.Parallel()
			excludedAsTheOneItSucceeds(t, later)
		})
	}
}

func excludedAsTheOneItSucceeds(t *testing.T, later bool) {
	h := start(t)
	h.announce("org-alpha-old", "signatory")
	first := h.openRound(100000, 1000, 10000)
	old := h.Token(auth.RoleApplicant, "org-alpha-old")
	h.eligible(old, first, 1000)
	id := h.submitted(old, first, 5000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 5000}))
	h.clock.Set(start0.Add(24 * time.Hour))
	h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+first+"/closure", h.ops, map[string]any{"reason": "budget committed"}))
	h.awardedIn(first, 1)

	h.publishSignatory(events.OrganisationWithdrawnV1{OrganisationID: "org-alpha-old", WithdrawnOn: mustDate("2027-03-02"),
		Reason: "signing again", InitiatedBy: "organisation"}, "org-alpha-old")
	announced := events.OrganisationAnnouncedV1{OrganisationID: "org-alpha-new", Name: "Org org-alpha-new", Kind: "signatory",
		AnnouncedOn: mustDate("2027-03-02"), NominatedLead: events.Person{Name: "Sam Patel", Email: "s.patel@example.ac.uk"},
		Succeeds: "org-alpha-old"}
	if later {
		announced.Succeeds = ""
	}
	h.publishSignatory(announced, "org-alpha-new")
	if later {
		h.publishSignatory(events.OrganisationSuccessionRecordedV1{OrganisationID: "org-alpha-new", Succeeds: "org-alpha-old"}, "org-alpha-new")
	}
	// Another organisation, announced as succeeding none, is not held to the old one's award.
	h.announce("org-beta", "signatory")
	next := h.openRoundFrom("TCF 2027 second call", "2027-03-10T09:00:00Z", "2027-06-30T17:00:00+01:00", "2028-03-31")
	h.clock.Set(time.Date(2027, 3, 11, 9, 0, 0, 0, time.UTC))
	h.eligible(h.Token(auth.RoleApplicant, "org-beta"), next, 1000)

	successor := h.Token(auth.RoleApplicant, "org-alpha-new")
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/applications", successor, draft(next, 5000))
		if r.Status == http.StatusForbidden {
			return fmt.Errorf("the successor is not known yet: %s", r.Body)
		}
		if r.Status != http.StatusConflict || !strings.Contains(r.JSON(t)["detail"].(string), "funded in the previous round") {
			t.Fatalf("the successor of last round's grantee drafting in the next round: %d %s, want 409 funded in the previous round", r.Status, r.Body)
		}
		return nil
	})
}
