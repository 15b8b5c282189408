package service_test

import (
	"net/http"
	"testing"
	"time"
)

// A reviewer's reason for declining reaches ITSS: the round, as ops read it (whole
// or a page of its assignments), carries it beside the declined assignment.
func TestDeclineReasonShownToOps(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round
	const why = "I worked at University of a until last year"
	h.Must(http.StatusOK, h.Do("POST", base+"/submissions/"+sub+"/response", h.as("x"), map[string]any{"accept": false, "reason": why}))

	reasons := func(items []any) map[string]any {
		out := map[string]any{}
		for _, x := range items {
			a := x.(map[string]any)
			out[a["reviewer_id"].(string)] = a["declined_reason"]
		}
		return out
	}
	whole := reasons(h.Must(http.StatusOK, h.Do("GET", base, h.ops, nil)).JSON(t)["assignments"].([]any))
	paged := reasons(h.Must(http.StatusOK, h.Do("GET", base+"/assignments", h.ops, nil)).JSON(t)["items"].([]any))
	for name, got := range map[string]map[string]any{"the round": whole, "its assignments": paged} {
		if got["x"] != why {
			t.Errorf("%s gives x's declined_reason as %v, want %q", name, got["x"], why)
		}
		if r, has := got["y"]; has && r != nil {
			t.Errorf("%s gives y, who did not decline, a declined_reason %v", name, r)
		}
	}
}

// A review ITSS returned and then held back needs no revision: the reviewer's list
// says it is held back, and a revision is refused rather than taken for nothing.
func TestAReturnedReviewThatIsWithheldTakesNoRevision(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Please expand on sustainability."}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews/x/withholding", h.ops, map[string]any{"reason": "Not revised in time"}))

	mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["withheld_reason"] != "Not revised in time" {
		t.Errorf("x's assignments are %v, want one held back with the reason", mine)
	}
	refusedSaying(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("x"), review(4))), sub,
		"held your review of University of a's submission back from the feedback (Not revised in time), so no revision of it is needed")
}
