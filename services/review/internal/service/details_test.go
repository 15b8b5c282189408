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

// TestRefusalsNameASubmissionInARoundByItsOrganisationsCorrectedName: the refusals
// about a submission put in a round before ITSS corrected its organisation's name,
// to its reviewers and to ops (an assignment, a change to the pool, a review, a
// removal, moderation, a later round, the feedback), name the organisation as it now
// stands, although the round keeps the name it was added with; they named the old one
// for the rest of the round.
func TestRefusalsNameASubmissionInARoundByItsOrganisationsCorrectedName(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	h.reviewer("z", "a", true, 3)
	h.publish("a", events.OrganisationDetailsCorrectedV1{OrganisationID: "a", Name: "University of Aberdare",
		Sector: "higher_education", Country: "GB", Website: "https://www.aberdare.ac.uk"})
	testenv.Eventually(t, 10*time.Second, func() error {
		mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["organisation_name"] != "University of Aberdare" {
			return fmt.Errorf("x's assignments are %v, want one naming University of Aberdare", mine)
		}
		return nil
	})
	const whose = "University of Aberdare's submission"
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	namedNow := func(what string, r testenv.Response, want string) {
		t.Helper()
		if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, want) || strings.Contains(d, "University of a's") {
			t.Errorf("%s is refused saying %q, want %q and not the name before the correction", what, d, want)
		}
	}

	namedNow("an assignment of a technician of the organisation", h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops,
		map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": "z", "reason": "specialist"})), "Reviewer z may not review "+whose)
	namedNow("a conflict declared by an assigned reviewer", h.Must(http.StatusConflict, h.Do("PUT", "/v1/reviewers/y", h.ops, member("y", "c", "a"))),
		"y is assigned to "+whose)
	namedNow("a later round while this one is open", h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+h.openRound("Autumn 2027", start0.Add(60*24*time.Hour))+"/submissions", h.ops,
		map[string]any{"submission_ids": []string{sub}})), whose+" is already in review round")
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	namedNow("a second review", h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("x"), review(2))), "you have already submitted your review of "+whose)
	namedNow("a return of a review not in", h.Must(http.StatusNotFound, h.Do("POST", base+"/reviews/y/revision-request", h.ops, map[string]any{"reason": "Why?"})),
		"Reviewer y has not submitted a review of "+whose)
	namedNow("a removal of a reviewer whose review is in", h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops,
		map[string]any{"action": "remove", "submission_id": sub, "reviewer_id": "x", "reason": "Busy"})), "Reviewer x has submitted a review of "+whose)

	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Commended."}))
	namedNow("a second feedback", h.Must(http.StatusConflict, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Again."})), "feedback on "+whose+" is already released")
	namedNow("a return once the feedback is out", h.Must(http.StatusConflict, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Too late"})),
		"feedback on "+whose+" is already released")
}
