package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/config"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// TestAnErasedReviewerIsTakenOffWhatTheyHadNotReviewed: a reviewer with three
// assignments in an open round (one accepted and reviewed, one accepted and not
// reviewed, one unanswered) is erased at their request. They are taken off the two
// whose review is not in, each with a removal that gives the reason and names neither
// them nor an address (notify writes to nobody erased), so ops see those submissions
// need another reviewer; their review that is in stays on the record; another
// reviewer's assignment is untouched; and the next passes take nobody off twice.
func TestAnErasedReviewerIsTakenOffWhatTheyHadNotReviewed(t *testing.T) {
	t.Parallel()
	h := startWith(t, func(c *config.Config) { c.Review.DeadlineRecheck = 100 * time.Millisecond })
	for _, org := range []string{"a", "b", "c", "d"} {
		h.announced(org)
	}
	subB, subC, subD := h.submitted("b"), h.submitted("c"), h.submitted("d")
	h.reviewer("ra", "a", true, 3)
	h.reviewer("rx", "a", true, 3)
	rid := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), subB, subC, subD)
	for _, a := range []struct{ sub, reviewer string }{{subB, "ra"}, {subC, "ra"}, {subD, "ra"}, {subB, "rx"}} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+rid+"/assignments", h.ops, map[string]any{
			"action": "assign", "submission_id": a.sub, "reviewer_id": a.reviewer, "reason": "specialist"}))
	}
	for _, sub := range []string{subB, subC} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+rid+"/submissions/"+sub+"/response", h.as("ra"), map[string]any{"accept": true}))
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+rid+"/submissions/"+subC+"/reviews", h.as("ra"), review(3)))

	h.publish("person-ra", events.PersonErasedV1{Subject: personal.Subject("ra@reviewers.example")})

	testenv.Eventually(t, 20*time.Second, func() error {
		if n := h.published()[events.SubjectAssignmentRemoved]; n < 2 {
			return fmt.Errorf("%d removals published, want 2", n)
		}
		return nil
	})
	var got []string
	for _, p := range payloads[events.AssignmentRemovedV1](h, events.SubjectAssignmentRemoved) {
		got = append(got, p.ReviewerID+" off "+p.SubmissionID)
		if p.Reason != round.ErasedReason {
			t.Errorf("the removal of %s from %s gives the reason %q, want %q", p.ReviewerID, p.SubmissionID, p.Reason, round.ErasedReason)
		}
		if p.ReviewerEmail != "" || p.ReviewerName != "" {
			t.Errorf("the removal of the erased reviewer names %q <%s>, want nobody, so that notify writes to nobody", p.ReviewerName, p.ReviewerEmail)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(sorted("ra off "+subB, "ra off "+subD), got); diff != "" {
		t.Errorf("removals on the erasure (-want +got):\n%s", diff)
	}
	as := h.assignments(rid)
	if diff := cmp.Diff([]string{"rx"}, active(as, subB)); diff != "" {
		t.Errorf("reviewers on %s after the erasure (-want +got):\n%s", subB, diff)
	}
	if diff := cmp.Diff([]string{"ra"}, active(as, subC)); diff != "" {
		t.Errorf("the erased reviewer's review that is in (-want +got):\n%s", diff)
	}
	if got := active(as, subD); len(got) != 0 {
		t.Errorf("reviewers %v on %s after the erasure, want none: it needs another reviewer", got, subD)
	}
	reviews := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+rid+"/submissions/"+subC+"/reviews", h.ops, nil)).JSON(t)["items"].([]any)
	if len(reviews) != 1 {
		t.Errorf("%d reviews of %s after the erasure, want the erased reviewer's one", len(reviews), subC)
	}

	// Later passes of the deadline watch find nothing more to take off.
	for range 2 {
		if _, err := h.svc.App.SweepOverdue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.logged(rid, events.AssignmentRemovedV1{}); n != 2 {
		t.Errorf("the round's log holds %d removals, want 2", n)
	}
}
