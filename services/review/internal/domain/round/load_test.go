package round_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// roundWith is a round due at due in which each reviewer of loads holds that many
// assignments, and "gone" was assigned and then removed.
func roundWith(t *testing.T, id string, due time.Time, loads map[string]int) *round.Round {
	t.Helper()
	var h history
	h.add(t, must[[]events.Payload](t)(rebuild(t, id, h).Open("Round "+id, due, 0, due.Add(-time.Hour)))...)
	for i := range 3 {
		sub := fmt.Sprintf("%s-s%d", id, i)
		h.add(t, must[[]events.Payload](t)(rebuild(t, id, h).AddSubmission(submitted(t, sub, "a"), "University of A", 0))...)
	}
	for rv, n := range loads {
		for i := range n {
			h.add(t, events.ReviewerAssignedV1{RoundID: id, SubmissionID: fmt.Sprintf("%s-s%d", id, i), ReviewerID: rv, OrganisationID: "a"})
		}
	}
	h.add(t, events.ReviewerAssignedV1{RoundID: id, SubmissionID: id + "-s0", ReviewerID: "gone", OrganisationID: "a"},
		events.AssignmentRemovedV1{RoundID: id, SubmissionID: id + "-s0", ReviewerID: "gone", Reason: "conflict found"})
	return rebuild(t, id, h)
}

// TestHistoryCountsTheLatestPreviousRounds: fairness weighs the work reviewers took on
// (assignments in force; removed ones are not theirs) in the HistoryRounds rounds due
// last before this one, not later rounds nor older ones.
func TestHistoryCountsTheLatestPreviousRounds(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	var all []*round.Round
	for i := range round.HistoryRounds + 1 { // the oldest falls out of the window
		all = append(all, roundWith(t, fmt.Sprintf("old%d", i), deadline.Add(-time.Duration(200*(i+1))*day), map[string]int{"ann": 1, "bob": i % 2}))
	}
	this := roundWith(t, "this", deadline, map[string]int{"ann": 2})
	later := roundWith(t, "later", deadline.Add(200*day), map[string]int{"cat": 3})
	all = append(all, this, later)

	if diff := cmp.Diff(map[string]int{"ann": 2}, this.Load()); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	got, n := round.History(this, all)
	if diff := cmp.Diff(map[string]int{"ann": 4, "bob": 2}, got); diff != "" || n != round.HistoryRounds {
		t.Errorf("history over %d rounds (-want +got):\n%s", n, diff)
	}
}
