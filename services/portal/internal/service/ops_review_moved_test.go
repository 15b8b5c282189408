package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// opsMovedRound sets up, through the review service, a closed round "Quick round"
// whose only submission (with one reviewer assigned) moved to the open "Later
// round"; it answers the two rounds and the submission.
func opsMovedRound(t *testing.T, s *stack) (first, later, sub string) {
	t.Helper()
	sub = opsSubmitted(t, s, "org-q")
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	registerReviewers(t, s.p, s.review, tok, map[string]any{"reviewer_id": "rev-b", "name": "Bo Brown",
		"email": "bo@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	open := func(name string) string {
		return s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": name,
			"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	}
	first = open("Quick round")
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.review.Do("POST", "/v1/review-rounds/"+first+"/submissions", tok, map[string]any{"submission_ids": []string{sub}}); r.Status != http.StatusOK {
			return fmt.Errorf("adding the submission: %d %s", r.Status, r.Body)
		}
		return nil
	})
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+first+"/assignments", tok, map[string]any{"action": "assign",
		"submission_id": sub, "reviewer_id": "rev-b", "reason": "specialist"}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+first+"/closure", tok, map[string]any{"reason": "Nobody answered in time"}))
	later = open("Later round")
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+later+"/submissions", tok, map[string]any{"submission_ids": []string{sub}}))
	return first, later, sub
}

// Removing a reviewer who is not on the submission typed (a slip in either
// identifier) answered the console's "Page not found", which blamed the address,
// lost what was typed and hid the review service's reason. It is the round's page
// again, 404 as the service said, with the reason beside the reviewer and the form as
// typed.
func TestOpsRemoveUnassignedReviewerShowsReasonOnForm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	registerReviewers(t, s.p, s.review, tok, map[string]any{"reviewer_id": "rev-b", "name": "Bo Brown",
		"email": "bo@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Review round 2027",
		"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", tok, map[string]any{"submission_ids": []string{sub}}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	r := s.p.do("POST", "/ops/review/rounds/"+round+"/assignments", ops, url.Values{"action": {"remove"}, "reviewer_id": {"rev-b"},
		"submission_id": {sub}, "change_reason": {"No longer needed"}})
	if r.status != http.StatusNotFound {
		t.Errorf("removing a reviewer not on the submission = %d, want 404 as the service said", r.status)
	}
	if strings.Contains(r.body, "Page not found") || h1(t, r.body) != "Review round 2027" {
		t.Fatalf("removing a reviewer not on the submission answered another page: %s", r.body)
	}
	if got := opsFieldMessage(t, r.body, "reviewer_id"); !strings.Contains(got, "No assignment of rev-b to "+sub) {
		t.Errorf("beside the reviewer: %q", got)
	}
	for _, typed := range []string{`value="rev-b"`, `value="` + sub + `"`, `value="No longer needed"`} {
		if !strings.Contains(r.body, typed) {
			t.Errorf("the form lost %s", typed)
		}
	}
	// A round that is not there is still "Page not found".
	opsMustStatus(t, s.p.do("POST", "/ops/review/rounds/no-such-round/assignments", ops, url.Values{"action": {"remove"}, "reviewer_id": {"rev-b"},
		"submission_id": {sub}, "change_reason": {"No longer needed"}}), http.StatusNotFound, "a change in a round that is not there")
}

// After a submission moved to a later round, the round it left still listed it
// ("Not released", its reviewer "Removed") with a link to "Page not found", and its
// progress CSV its assignments. The round it leaves no longer lists it (README).
func TestOpsRoundPageAfterMoveDoesNotListMovedSubmission(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	first, _, sub := opsMovedRound(t, s)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	// The page reads the review service's read models, which follow the move.
	testenv.Eventually(t, 10*time.Second, func() error {
		page := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+first, ops, nil), http.StatusOK, "the round it left")
		if strings.Contains(page.body, sub) || strings.Contains(page.body, "Not released") {
			return fmt.Errorf("the round it left still lists the submission: %s", page.body)
		}
		return nil
	})
	csv := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+first+"/progress.csv", ops, nil), http.StatusOK, "the progress CSV")
	if strings.Contains(csv.body, sub) {
		t.Errorf("the round's progress CSV still lists the submission: %s", csv.body)
	}
}

// A closed round whose only submission moved on stayed "Closed" on Today for ever,
// with nothing left to do there; it leaves Today, and the rounds list says it is done.
func TestOpsTodayLeavesOutARoundWhoseSubmissionsAllMoved(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	_, _, _ = opsMovedRound(t, s)
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	testenv.Eventually(t, 10*time.Second, func() error {
		today := opsMustStatus(t, s.p.do("GET", "/ops", ops, nil), http.StatusOK, "Today")
		if !strings.Contains(today.body, "Later round") {
			return fmt.Errorf("Today does not list the later round yet")
		}
		if strings.Contains(today.body, "Quick round") {
			return fmt.Errorf("Today still lists the round whose submission moved on")
		}
		return nil
	})
	rounds := opsMustStatus(t, s.p.do("GET", "/ops/review", ops, nil), http.StatusOK, "the rounds")
	if !strings.Contains(rounds.body, "Feedback released") {
		t.Errorf("the round whose submission moved on is not shown done: %s", rounds.body)
	}
}
