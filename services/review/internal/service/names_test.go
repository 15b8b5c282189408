package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
)

// refusedSaying checks a refusal's detail says want and never the submission's id,
// which people cannot tell one submission from another by.
func refusedSaying(t *testing.T, r testenv.Response, sub, want string) {
	t.Helper()
	d, _ := r.JSON(t)["detail"].(string)
	if !strings.Contains(d, want) || strings.Contains(d, sub) {
		t.Errorf("the refusal reads %q, want it to say %q and not the id %s", d, want, sub)
	}
}

// A reviewer's assignments, and the answers to their answer and their review, say
// whose submission each is, as the assignment email does; the refusals people read
// name the submission by its organisation and a reviewer by their name, not by ids.
func TestAssignmentsAndRefusalsSayWhoseSubmissionItIs(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	const whose = "University of a's submission"

	mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
	if len(mine) != 1 {
		t.Fatalf("x's assignments are %v, want one", mine)
	}
	if mine[0].(map[string]any)["organisation_name"] != "University of a" {
		t.Errorf("x's assignment %v does not name the submitting organisation", mine[0])
	}
	if got := h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true})).JSON(t); got["organisation_name"] != "University of a" {
		t.Errorf("the answer to accepting is %v, without the organisation's name", got)
	}
	if got := h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3))).JSON(t); got["organisation_name"] != "University of a" {
		t.Errorf("the answer to the review is %v, without the organisation's name", got)
	}
	refusedSaying(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("x"), review(2))), sub, "you have already submitted your review of "+whose)
	refusedSaying(t, h.Must(http.StatusNotFound, h.Do("POST", base+"/reviews/y/revision-request", h.ops, map[string]any{"reason": "Why?"})), sub,
		"Reviewer y has not submitted a review of "+whose)
	refusedSaying(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "remove", "submission_id": sub, "reviewer_id": "x", "reason": "Busy"})), sub,
		"Reviewer x has submitted a review of "+whose)

	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Commended."}))
	refusedSaying(t, h.Must(http.StatusConflict, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Again."})), sub,
		"feedback on "+whose+" is already released")
	refusedSaying(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Too late"})), sub,
		"feedback on "+whose+" is already released")
}
