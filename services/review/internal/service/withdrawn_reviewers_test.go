package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	eventport "github.com/itss/techcommit/services/review/internal/ports/events"
)

// TestAReviewerWhoseOrganisationWithdrewIsTakenOffWhatTheyHadNotReviewed: three
// technicians of organisation b are assigned submissions of other organisations (one
// has put their review in, one has only accepted, one has only been assigned), beside
// a technician of c. When b withdraws from the Commitment, the two whose review is not
// in are taken off, each with a removal that gives the reason and names them and their
// address (notify tells them no review is needed from them), so ops see those
// submissions need another reviewer; the review that is in stays on the record; c's
// reviewer is untouched; and the withdrawal handled again, or the deadline watch's
// passes, take nobody off twice.
func TestAReviewerWhoseOrganisationWithdrewIsTakenOffWhatTheyHadNotReviewed(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.announced("d")
	subA, subD := h.submitted("a"), h.submitted("d")
	h.reviewer("b-reviewed", "b", true, 3)
	h.reviewer("b-accepted", "b", true, 3)
	h.reviewer("b-assigned", "b", true, 3)
	h.reviewer("c-reviewer", "c", true, 3)
	rid := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), subA, subD)
	for _, a := range []struct{ sub, reviewer string }{{subA, "b-reviewed"}, {subA, "b-accepted"}, {subD, "b-assigned"}, {subA, "c-reviewer"}, {subD, "c-reviewer"}} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+rid+"/assignments", h.ops, map[string]any{
			"action": "assign", "submission_id": a.sub, "reviewer_id": a.reviewer, "reason": "specialist"}))
	}
	base := "/v1/review-rounds/" + rid + "/submissions/" + subA
	for _, rv := range []string{"b-reviewed", "b-accepted"} {
		h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as(rv), map[string]any{"accept": true}))
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("b-reviewed"), review(3)))

	withdrawal := events.OrganisationWithdrawnV1{OrganisationID: "b", Reason: "Closed its technical services", InitiatedBy: "organisation"}
	h.publish("b", withdrawal)

	testenv.Eventually(t, 20*time.Second, func() error {
		if n := h.published()[events.SubjectAssignmentRemoved]; n < 2 {
			return fmt.Errorf("%d removals published, want 2", n)
		}
		return nil
	})
	var got []string
	for _, p := range payloads[events.AssignmentRemovedV1](h, events.SubjectAssignmentRemoved) {
		got = append(got, p.ReviewerID+" off "+p.SubmissionID)
		if p.Reason != round.ReviewersOrgWithdrawnReason {
			t.Errorf("the removal of %s from %s gives the reason %q, want %q", p.ReviewerID, p.SubmissionID, p.Reason, round.ReviewersOrgWithdrawnReason)
		}
		if p.ReviewerName != "Reviewer "+p.ReviewerID || p.ReviewerEmail != p.ReviewerID+"@reviewers.example" {
			t.Errorf("the removal of %s names %q <%s>, want them and their address, so that notify tells them", p.ReviewerID, p.ReviewerName, p.ReviewerEmail)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(sorted("b-accepted off "+subA, "b-assigned off "+subD), got); diff != "" {
		t.Errorf("removals on the withdrawal of the reviewers' organisation (-want +got):\n%s", diff)
	}
	as := h.assignments(rid)
	if diff := cmp.Diff(sorted("b-reviewed", "c-reviewer"), sorted(active(as, subA)...)); diff != "" {
		t.Errorf("reviewers on %s after b withdrew (-want +got):\n%s", subA, diff)
	}
	if diff := cmp.Diff([]string{"c-reviewer"}, active(as, subD)); diff != "" {
		t.Errorf("reviewers on %s after b withdrew (-want +got):\n%s", subD, diff)
	}
	reviews := h.Must(http.StatusOK, h.Do("GET", base+"/reviews", h.ops, nil)).JSON(t)["items"].([]any)
	if len(reviews) != 1 {
		t.Errorf("%d reviews of %s after b withdrew, want b-reviewed's one", len(reviews), subA)
	}

	// The withdrawal handled again (redelivered, on another replica, published again)
	// and the deadline watch's passes take nobody off twice.
	data, _ := json.Marshal(withdrawal)
	handle := h.svc.Handlers()[eventport.DurableOrganisations]
	again := events.Envelope{ID: "withdrawal-again", Source: "/tc/signatory", Type: withdrawal.EventType(), AggregateType: "organisation",
		AggregateID: "b", Version: 2, Time: time.Now(), Data: data}
	for range 2 {
		if err := handle(context.Background(), again); err != nil {
			t.Fatal(err)
		}
	}
	h.publish("b", withdrawal)
	// An announcement published after it is in once the repeat has been handled (the
	// consumer takes one message at a time, in order).
	h.reviewer("probe", "probe", true, 0)
	if n, err := h.svc.App.OrganisationWithdrawn(context.Background(), "b"); err != nil || n != 0 {
		t.Errorf("the withdrawal handled once more took %d off (%v), want none", n, err)
	}
	for range 2 {
		if _, err := h.svc.App.SweepOverdue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.logged(rid, events.AssignmentRemovedV1{}); n != 2 {
		t.Errorf("the round's log holds %d removals after the withdrawal was handled again, want 2", n)
	}
}
