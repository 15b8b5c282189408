package service

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// An ops person, by keyboard alone and with JavaScript off, assigns a reviewer by
// hand on a round's page: the form takes the reviewer's identifier (not a choice of
// the whole pool); one not in the pool is refused beside the field, and the one typed
// next is assigned and listed with the submission. axe-core checks each page.
func TestJourneyOpsReviewAssignByHand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startOpsStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	registerReviewers(t, s.p, s.review, tok, map[string]any{"reviewer_id": "rev-b", "name": "Bo Brown",
		"email": "bo@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Review round 2027",
		"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", tok, map[string]any{"submission_ids": []string{sub}}))

	b := newBrowser(t)
	b.DisableJavaScript()
	opsBrowserSignIn(t, b, s)
	b.Open(s.p.url + "/ops/review/rounds/" + round)
	heading(t, b, "Review round 2027")
	if got := b.Text(browsertest.CSS("main")); !strings.Contains(got, "No reviewer is assigned in this round yet.") {
		t.Fatalf("the round without assignments reads %q", got)
	}
	opsTypeInto(t, b, "textbox", "Reviewer identifier", "rev-nobody")
	opsTypeInto(t, b, "textbox", "Submission", sub)
	opsTypeInto(t, b, "textbox", "Reason for the change", "A specialist in recognition")
	tabTo(t, b, "button", "Make the change")
	b.Enter()
	heading(t, b, "Review round 2027")
	if got := b.Text(browsertest.CSS(".field-error .error-message")); !strings.Contains(got, "rev-nobody") {
		t.Fatalf("beside the reviewer: %q", got)
	}
	opsTypeInto(t, b, "textbox", "Reviewer identifier", "rev-b")
	opsTypeInto(t, b, "textbox", "Submission", sub)
	opsTypeInto(t, b, "textbox", "Reason for the change", "A specialist in recognition")
	tabTo(t, b, "button", "Make the change")
	b.Enter()
	heading(t, b, "Review round 2027")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, sub) || !strings.Contains(got, "Bo Brown: Assigned") {
		t.Fatalf("after the assignment the round reads %q", got)
	}
	if got := b.Text(browsertest.CSS(".summary")); !strings.Contains(got, "1 waiting for an answer") {
		t.Errorf("the round's progress reads %q", got)
	}
}
