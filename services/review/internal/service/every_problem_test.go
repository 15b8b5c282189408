package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/testenv"
)

// problemFields is the fields a problem+json refusal names, in its order.
func problemFields(t *testing.T, r testenv.Response) []string {
	t.Helper()
	var out []string
	errs, _ := r.JSON(t)["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// TestAReviewersRecordIsRefusedNamingEveryProblem: a registration, and an update,
// with an organisation the Commitment never announced and a conflict with another such
// is refused once naming both, not one per attempt.
func TestAReviewersRecordIsRefusedNamingEveryProblem(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.reviewer("rv", "a", true, 2)
	// "b" is a signatory the service knows: registering one of its members waits
	// until it has taken the announcement (its consumer may lag the publish).
	h.reviewer("rb", "b", true, 1)
	bad := map[string]any{"reviewer_id": "rv2", "name": "Rita", "email": "rita@reviewers.example", "organisation_id": "nowhere",
		"trained": true, "capacity": 2, "conflicts": []string{"b", "unheard-of"}}
	want := []string{"organisation_id", "conflicts.1"}
	r := h.Do("POST", "/v1/reviewers", h.ops, bad)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("the registration: %d %s, want 400", r.Status, r.Body)
	}
	if diff := cmp.Diff(want, problemFields(t, r)); diff != "" {
		t.Errorf("the registration's refusal names (-want +got):\n%s", diff)
	}
	detail(t, r, "(and 1 more problem)")

	bad["reviewer_id"], bad["email"] = "rv", "rv@reviewers.example"
	r = h.Do("PUT", "/v1/reviewers/rv", h.ops, bad)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("the update: %d %s, want 400", r.Status, r.Body)
	}
	if diff := cmp.Diff(want, problemFields(t, r)); diff != "" {
		t.Errorf("the update's refusal names (-want +got):\n%s", diff)
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/rv", h.ops, nil)).JSON(t); got["organisation_id"] != "a" || got["capacity"] != float64(2) {
		t.Errorf("after a refused update the record is %v", got)
	}
}

// TestSubmissionsAddedToARoundAreRefusedNamingEveryProblem: a batch naming two
// submissions that do not exist and one twice is refused once naming each of them,
// and nothing is added.
func TestSubmissionsAddedToARoundAreRefusedNamingEveryProblem(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	sub := h.submitted("a")
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour))
	r := h.addTo(round, "no-such-1", sub, "no-such-2", sub)
	if r.Status != http.StatusBadRequest {
		t.Fatalf("the batch: %d %s, want 400", r.Status, r.Body)
	}
	if diff := cmp.Diff([]string{"submission_ids.0", "submission_ids.2", "submission_ids.3"}, problemFields(t, r)); diff != "" {
		t.Errorf("the batch's refusal names (-want +got):\n%s", diff)
	}
	if got := h.roundSubmissions(round); len(got) != 0 {
		t.Errorf("the round holds %v after the refused batch, want nothing", got)
	}
}
