package service_test

import (
	"net/http"
	"testing"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/testenv"
)

// TestDeprecatedActionPathsAnswerAsTheirNouns: each action renamed from a verb to a
// noun (docs/API.md) still answers at its old path until its sunset, as it does at
// the new one: the same status and body, but for the objects' own ids and times; and
// only the old path's answer carries Deprecation, Sunset and a Link to the new path.
func TestDeprecatedActionPathsAnswerAsTheirNouns(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-dep", "signatory")
	round := h.openRound(100000, 1000, 10000)
	applicant := h.Token(auth.RoleApplicant, "org-dep")
	h.eligible(applicant, round, 1000)
	ownTimes := []string{"id", "created_at", "updated_at", "submitted_at"}
	both := func(name, older, newer string, token string, body any) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			a, b := h.drafted(applicant, round), h.drafted(applicant, round)
			if name != "submission" {
				for _, id := range []string{a, b} {
					h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/submission", applicant, nil))
					if name == "refusal" {
						h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/assessment", h.ops, nil))
					}
				}
			}
			n := h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+a+"/"+newer, token, body))
			o := h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+b+"/"+older, token, body))
			testenv.SameAnswerDeprecated(t, n, o, "/v1/applications/"+b+"/"+newer, ownTimes...)
		})
	}
	both("submission", "submit", "submission", applicant, nil)
	both("withdrawal", "withdraw", "withdrawal", applicant, map[string]any{"reason": "The partner left."})
	both("refusal", "decline", "refusal", h.ops, map[string]any{"feedback": "Please find a second partner."})

	t.Run("closure", func(t *testing.T) {
		a, b := h.openRound(100000, 1000, 10000), h.openRound(100000, 1000, 10000)
		reason := map[string]any{"reason": "The budget is committed."}
		n := h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+a+"/closure", h.ops, reason))
		o := h.Must(http.StatusOK, h.Do("POST", "/v1/rounds/"+b+"/close", h.ops, reason))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/rounds/"+b+"/closure", "id")
	})
	t.Run("replays", func(t *testing.T) {
		n := h.Must(http.StatusNotFound, h.Do("POST", "/v1/ops/dead-letters/999999/replays", h.ops, nil))
		o := h.Must(http.StatusNotFound, h.Do("POST", "/v1/ops/dead-letters/999999/replay", h.ops, nil))
		testenv.SameAnswerDeprecated(t, n, o, "/v1/ops/dead-letters/999999/replays")
	})
}

// drafted drafts an application in round and returns its id.
func (h *harness) drafted(applicant, round string) string {
	h.t.Helper()
	return h.Must(http.StatusCreated, h.Do("POST", "/v1/applications", applicant, draft(round, 5000))).JSON(h.t)["id"].(string)
}
