package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// TestDeprecatedActionPathsAnswerAsTheirNouns: each action renamed from a verb to a
// noun (docs/API.md) still answers at its old path until its sunset, as it does at
// the new one: the same status and body, but for the objects' own ids, owners and
// times; and only the old path's answer carries Deprecation, Sunset and a Link to the
// new path.
func TestDeprecatedActionPathsAnswerAsTheirNouns(t *testing.T) {
	t.Parallel()
	h := start(t)

	t.Run("submission", func(t *testing.T) {
		h.announced("d1")
		h.announced("d2")
		a, b := h.drafted("d1", complete("Start an award")), h.drafted("d2", complete("Start an award"))
		n := h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+a+"/submission", h.Token(auth.RoleLead, "d1"), nil))
		o := h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+b+"/submit", h.Token(auth.RoleLead, "d2"), nil))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/submissions/"+b+"/submission",
			"id", "organisation_id", "organisation_name", "obligation_id", "created_at", "updated_at", "submitted_at")
	})

	t.Run("revision request and withholding", func(t *testing.T) {
		round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
		base := "/v1/review-rounds/" + round + "/submissions/" + sub + "/reviews/"
		reviewed := func() {
			for _, r := range []string{"x", "y"} {
				h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+sub+"/reviews", h.as(r), review(3)))
			}
		}
		for _, r := range []string{"x", "y"} {
			h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+sub+"/response", h.as(r), map[string]any{"accept": true}))
		}
		reviewed()
		reason := map[string]any{"reason": "Please say what the scores rest on."}
		n := h.Must(http.StatusOK, h.Do("POST", base+"x/revision-request", h.ops, reason))
		o := h.Must(http.StatusOK, h.Do("POST", base+"y/return", h.ops, reason))
		testenv.SameAnswerDeprecated(t, n, o, base+"y/revision-request", "reviewer_id", "author")

		reviewed()
		reason = map[string]any{"reason": "Names a member of staff."}
		n = h.Must(http.StatusOK, h.Do("POST", base+"x/withholding", h.ops, reason))
		o = h.Must(http.StatusOK, h.Do("POST", base+"y/withhold", h.ops, reason))
		testenv.SameAnswerDeprecated(t, n, o, base+"y/withholding", "reviewer_id", "author")
	})

	t.Run("automatic assignment", func(t *testing.T) {
		// Two rounds alike, each with one submission and the pool to fill it.
		h.announced("aa1")
		h.announced("aa2")
		s1, s2 := h.submitted("aa1"), h.submitted("aa2")
		h.reviewer("aa-x", "b", true, 5)
		h.reviewer("aa-y", "c", true, 5)
		r1 := h.openRound("Round one", start0.Add(30*24*time.Hour), s1)
		r2 := h.openRound("Round two", start0.Add(30*24*time.Hour), s2)
		body := map[string]any{"reviewers_per_submission": 1}
		n := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+r1+"/automatic-assignments", h.ops, body))
		o := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+r2+"/auto-assign", h.ops, body))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/review-rounds/"+r2+"/automatic-assignments", "round")
	})

	t.Run("closure", func(t *testing.T) {
		open := func() string {
			return h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, map[string]any{
				"name": "Autumn 2027", "review_deadline": start0.Add(60 * 24 * time.Hour).Format(time.RFC3339)})).JSON(t)["id"].(string)
		}
		a, b := open(), open()
		reason := map[string]any{"reason": "The review deadline has passed"}
		n := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+a+"/closure", h.ops, reason))
		o := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+b+"/close", h.ops, reason))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/review-rounds/"+b+"/closure", "id")
	})

	t.Run("replays", func(t *testing.T) {
		n := h.Must(http.StatusNotFound, h.Do("POST", "/v1/ops/dead-letters/999999/replays", h.ops, nil))
		o := h.Must(http.StatusNotFound, h.Do("POST", "/v1/ops/dead-letters/999999/replay", h.ops, nil))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/ops/dead-letters/999999/replays")
	})
}
