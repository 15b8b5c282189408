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

// TestTheReviewServiceNamesAnOrganisationByItsCorrectedName: once ITSS corrects an
// organisation's name (OrganisationDetailsCorrectedV1), the review service's
// organisations hold the new one, from which its answers, the rounds a submission is
// added to and the feedback's email name it: a technician of an organisation
// announced for a day ahead is refused naming it by its corrected name.
func TestTheReviewServiceNamesAnOrganisationByItsCorrectedName(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.publish("ahead", events.OrganisationAnnouncedV1{OrganisationID: "ahead", Name: "Univeristy of Exampleton", Kind: "signatory", AnnouncedOn: civil.Of(start0).AddDays(10)})
	h.publish("ahead", events.OrganisationDetailsCorrectedV1{OrganisationID: "ahead", Name: "University of Exampleton",
		Sector: "higher_education", Country: "GB", Website: "https://www.exampleton.ac.uk"})
	member := map[string]any{"reviewer_id": "early", "name": "Reviewer", "email": "early@reviewers.example", "organisation_id": "ahead",
		"trained": true, "capacity": 2, "conflicts": []string{}}
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/reviewers", h.ops, member)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("a technician of an organisation announced ahead: %d %s, want 400", r.Status, r.Body)
		}
		if !strings.Contains(string(r.Body), "University of Exampleton's announcement is dated") {
			return fmt.Errorf("the refusal does not name the corrected name: %s", r.Body)
		}
		return nil
	})
}

// TestAReviewerIsToldTheCorrectedNameOfASubmissionAlreadyInARound: a submission put
// in a round before ITSS corrected its organisation's name keeps, in the round, the
// name it was added with (its events read the same to every release); a reviewer's
// assignments, and the answer to their acceptance, name the organisation as it now
// stands, from the service's organisations.
func TestAReviewerIsToldTheCorrectedNameOfASubmissionAlreadyInARound(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	h.publish("a", events.OrganisationDetailsCorrectedV1{OrganisationID: "a", Name: "University of Aberdare",
		Sector: "higher_education", Country: "GB", Website: "https://www.aberdare.ac.uk"})
	testenv.Eventually(t, 10*time.Second, func() error {
		mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["organisation_name"] != "University of Aberdare" {
			return fmt.Errorf("x's assignments are %v, want one naming University of Aberdare", mine)
		}
		return nil
	})
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+sub+"/response", h.as("x"), map[string]any{"accept": true})).JSON(t)
	if got["organisation_name"] != "University of Aberdare" {
		t.Errorf("the answer to accepting names %v, want University of Aberdare", got["organisation_name"])
	}
}
