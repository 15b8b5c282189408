package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// raceIterations is how many fresh reviewers each race below is run with.
const raceIterations = 30

// member is a pool member's record as the pool's PUT takes it: of org, trained, with
// capacity 3 and these conflicts.
func member(id, org string, conflicts ...string) map[string]any {
	if conflicts == nil {
		conflicts = []string{}
	}
	return map[string]any{"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@reviewers.example", "organisation_id": org,
		"trained": true, "capacity": 3, "conflicts": conflicts}
}

// mayReview says whether reviewer id, as the pool now records them, may review a
// submission of org: neither at org nor in conflict with it.
func (h *harness) mayReview(id, org string) bool {
	h.t.Helper()
	rv := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/"+id, h.ops, nil)).JSON(h.t)
	if rv["organisation_id"] == org {
		return false
	}
	for _, c := range rv["conflicts"].([]any) {
		if c == org {
			return false
		}
	}
	return true
}

// raceChange runs assign (an assignment of reviewer id to sub, org's submission in
// round) and the change of id's record to changed at once, raceIterations times with
// a fresh reviewer of organisation "b" each time, and checks after each that id is not
// in force on sub when the pool records them unable to review it, and that each
// answer was true: a change answered 200 is on record, one answered 409 is not, and
// an assignment answered 409 is not in force.
func raceChange(t *testing.T, name string, assign func(h *harness, round, sub, id string) int, changed func(id, org string) map[string]any) {
	t.Helper()
	h := start(t)
	h.announced("a")
	sub := h.submitted("a")
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), sub)
	for i := range raceIterations {
		id := fmt.Sprintf("%s%d", name, i)
		h.reviewer(id, "b", true, 3)
		var assigned, change int
		var wg sync.WaitGroup
		wg.Go(func() { assigned = assign(h, round, sub, id) })
		wg.Go(func() { change = h.Do("PUT", "/v1/reviewers/"+id, h.ops, changed(id, "a")).Status })
		wg.Wait()
		inForce := slices.Contains(active(h.assignments(round), sub), id)
		may := h.mayReview(id, "a")
		switch {
		case !may && inForce:
			t.Errorf("%s: %s is in force on a's submission though the pool records them unable to review it (assignment %d, change %d)", name, id, assigned, change)
		case change == http.StatusOK && may, change == http.StatusConflict && !may:
			t.Errorf("%s: the change answered %d, but the pool records %s able to review a's submission: %v", name, change, id, may)
		case change != http.StatusOK && change != http.StatusConflict:
			t.Errorf("%s: the change answered %d, want 200 or 409", name, change)
		case assigned == http.StatusConflict && inForce:
			t.Errorf("%s: the assignment of %s answered 409 but is in force", name, id)
		}
		if inForce { // the next reviewer is the only one the next run may assign
			h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops,
				map[string]any{"action": "remove", "submission_id": sub, "reviewer_id": id, "reason": "Next run"}))
		}
	}
}

// byHand assigns reviewer id to sub in round by hand, and returns the answer's status.
func byHand(h *harness, round, sub, id string) int {
	return h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops,
		map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": id, "reason": "specialist"}).Status
}

// automatically runs automatic assignment in round for one reviewer a submission.
func automatically(h *harness, round, _, _ string) int {
	return h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1}).Status
}

// An assignment by hand and a conflict declared with the submitting organisation at
// the same moment: the reviewer never ends in force on a submission they are in
// conflict with (both answered 200 and left them so, every run, when the change
// checked the assignments' lagging read model and the assignment the reviewer's
// record read before it appended).
func TestAnAssignmentByHandRacingAConflictLeavesNoConflictedReviewer(t *testing.T) {
	t.Parallel()
	raceChange(t, "conflict", byHand, func(id, org string) map[string]any { return member(id, "b", org) })
}

// The same with the reviewer moved to the submitting organisation.
func TestAnAssignmentByHandRacingAMoveLeavesNoReviewerOfTheirOwnOrganisation(t *testing.T) {
	t.Parallel()
	raceChange(t, "mover", byHand, func(id, org string) map[string]any { return member(id, org) })
}

// The same through automatic assignment, which reads the whole pool well before it
// appends.
func TestAutomaticAssignmentRacingAConflictLeavesNoConflictedReviewer(t *testing.T) {
	t.Parallel()
	raceChange(t, "auto", automatically, func(id, org string) map[string]any { return member(id, "b", org) })
}
