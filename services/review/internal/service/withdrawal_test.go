package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/app"
	eventport "github.com/itss/techcommit/services/review/internal/ports/events"
)

// removal is what an AssignmentRemovedV1 says, as the test compares it.
type removal struct {
	Round, Sub, Reviewer, Org string
	Told                      bool // it names the reviewer's address, for notify to tell them
}

// removals reads the removals published on the review stream.
func (h *harness) removals() []removal {
	h.t.Helper()
	var out []removal
	for _, p := range payloads[events.AssignmentRemovedV1](h, events.SubjectAssignmentRemoved) {
		if !strings.Contains(p.Reason, "withdrew from the Technician Commitment") {
			h.t.Errorf("removal of %s from %s gives the reason %q, which does not say the organisation withdrew", p.ReviewerID, p.SubmissionID, p.Reason)
		}
		out = append(out, removal{Round: p.RoundID, Sub: p.SubmissionID, Reviewer: p.ReviewerID, Org: p.OrganisationID, Told: p.ReviewerEmail == p.ReviewerID+"@reviewers.example"})
	}
	slices.SortFunc(out, func(a, b removal) int { return strings.Compare(a.Reviewer, b.Reviewer) })
	return out
}

// logged counts the events of one type in an aggregate's log: what was decided,
// whatever the relay has published yet.
func (h *harness) logged(aggregate string, p events.Payload) int {
	h.t.Helper()
	log, err := h.svc.Events.Load(context.Background(), aggregate)
	if err != nil {
		h.t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Type == p.EventType() {
			n++
		}
	}
	return n
}

// listed is the submissions on a reviewer's own list of assignments.
func (h *harness) listed(reviewer string) []string {
	h.t.Helper()
	out := []string{}
	for _, x := range h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as(reviewer), nil)).JSON(h.t)["items"].([]any) {
		out = append(out, x.(map[string]any)["submission_id"].(string))
	}
	slices.Sort(out)
	return out
}

// TestAWithdrawalTakesTheReviewersOffTheOrganisationsSubmission: an organisation
// withdraws while its submission is in an open round, with one reviewer who accepted
// and one who had not answered. Both are taken off it, with the reason (so notify
// tells them no review is needed, and chases them no more), and it leaves their
// lists; another organisation's submission in the round, and the same reviewer's
// assignment to it, are untouched. The withdrawal handled again takes nobody off
// twice; the submission can no longer be given reviewers, by hand (409 saying why)
// or automatically; and at the deadline only the other submission's reviews are
// chased.
func TestAWithdrawalTakesTheReviewersOffTheOrganisationsSubmission(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("leaves")
	h.announced("stays")
	gone, kept := h.submitted("leaves"), h.submitted("stays")
	h.reviewer("accepted", "x", true, 3)
	h.reviewer("unanswered", "y", true, 3)
	h.reviewer("other", "z", true, 3)
	deadline := start0.Add(30 * 24 * time.Hour)
	round := h.openRound("Spring 2027", deadline, gone, kept)
	assignments := "/v1/review-rounds/" + round + "/assignments"
	for _, a := range []struct{ sub, reviewer string }{{gone, "accepted"}, {gone, "unanswered"}, {kept, "accepted"}, {kept, "other"}} {
		h.Must(http.StatusOK, h.Do("POST", assignments, h.ops, map[string]any{"action": "assign", "submission_id": a.sub, "reviewer_id": a.reviewer, "reason": "specialist"}))
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+gone+"/response", h.as("accepted"), map[string]any{"accept": true}))
	if got := h.listed("accepted"); !cmp.Equal(got, sorted(gone, kept)) {
		t.Fatalf("accepted's list %v before the withdrawal, want both submissions", got)
	}

	withdrawal := events.OrganisationWithdrawnV1{OrganisationID: "leaves", Reason: "Closed its technical services", InitiatedBy: "organisation"}
	h.publish("leaves", withdrawal)

	want := []removal{
		{Round: round, Sub: gone, Reviewer: "accepted", Org: "leaves", Told: true},
		{Round: round, Sub: gone, Reviewer: "unanswered", Org: "leaves", Told: true},
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectAssignmentRemoved]; n < 2 {
			return fmt.Errorf("%d removals published, want 2", n)
		}
		return nil
	})
	if diff := cmp.Diff(want, h.removals()); diff != "" {
		t.Errorf("removals on the withdrawal (-want +got):\n%s", diff)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got, want := h.listed("accepted"), []string{kept}; !cmp.Equal(got, want) {
			return fmt.Errorf("accepted's list %v, want %v", got, want)
		}
		if got := h.listed("unanswered"); len(got) != 0 {
			return fmt.Errorf("unanswered's list %v, want none", got)
		}
		return nil
	})
	if got := active(h.assignments(round), kept); !cmp.Equal(got, []string{"accepted", "other"}) {
		t.Errorf("the other organisation's reviewers %v, want accepted and other still on it", got)
	}

	// The withdrawal handled again (redelivered, published again, on another
	// replica) takes nobody off twice: the same message straight to the handler, and
	// the signatory service's event again through the stream.
	data, _ := json.Marshal(withdrawal)
	handle := h.svc.Handlers()[eventport.DurableOrganisations]
	again := events.Envelope{ID: "withdrawal-again", Source: "/tc/signatory", Type: withdrawal.EventType(), AggregateType: "organisation",
		AggregateID: "leaves", Version: 2, Time: time.Now(), Data: data}
	for range 2 {
		if err := handle(context.Background(), again); err != nil {
			t.Fatal(err)
		}
	}
	h.publish("leaves", withdrawal)
	// An announcement published after it is in once the repeat has been handled (the
	// consumer takes one message at a time, in order): a technician of it joins the
	// pool (with no capacity, so that automatic assignment below gives them nothing).
	h.reviewer("probe", "probe", true, 0)
	if n, err := h.svc.App.OrganisationWithdrawn(context.Background(), "leaves"); err != nil || n != 0 {
		t.Errorf("the withdrawal handled once more took %d off (%v), want none", n, err)
	}
	if n := h.logged(round, events.AssignmentRemovedV1{}); n != 2 {
		t.Errorf("the round's log holds %d removals after the withdrawal was handled again, want 2", n)
	}

	// Nobody can be given the submission any more, by hand or automatically.
	r := h.Must(http.StatusConflict, h.Do("POST", assignments, h.ops, map[string]any{"action": "assign", "submission_id": gone, "reviewer_id": "other", "reason": "specialist"}))
	detail(t, r, "withdrawn from the Technician Commitment")
	report := h.autoAssign(round, 2)
	for _, u := range report.Uncovered {
		if u.SubmissionId == gone {
			t.Errorf("automatic assignment counts the withdrawn organisation's submission as uncovered: %+v", u)
		}
	}
	if got := active(h.assignments(round), gone); len(got) != 0 {
		t.Errorf("reviewers %v on the withdrawn organisation's submission after automatic assignment, want none", got)
	}

	// At the deadline the other submission's outstanding reviews are chased, and
	// nobody about the withdrawn organisation's.
	// (The deadline watch may mark some of them first, woken by the assignments.)
	h.clock.Set(deadline.Add(time.Minute))
	if n, err := h.svc.App.SweepOverdue(context.Background()); err != nil || n > 2 {
		t.Fatalf("overdue sweep marked %d (%v), want the 2 reviews of the other submission at most", n, err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewOverdue]; n != 2 {
			return fmt.Errorf("%d overdue events, want 2", n)
		}
		return nil
	})
	for _, p := range payloads[events.ReviewOverdueV1](h, events.SubjectReviewOverdue) {
		if p.SubmissionID != kept {
			t.Errorf("%s chased for %s's submission %s", p.ReviewerID, p.OrganisationID, p.SubmissionID)
		}
	}
}

// TestTheDeadlineWatchTakesOffWhatAWithdrawalLeft: an assignment still in force on
// the submission of an organisation recorded as withdrawn (a withdrawal handled
// before reviewers were taken off on it, or an assignment decided at the very moment
// of the withdrawal) is taken off by the deadline watch's next pass, and is never
// chased as overdue.
func TestTheDeadlineWatchTakesOffWhatAWithdrawalLeft(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("leaves")
	gone := h.submitted("leaves")
	h.reviewer("rv", "x", true, 3)
	deadline := start0.Add(30 * 24 * time.Hour)
	round := h.openRound("Spring 2027", deadline, gone)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": gone, "reviewer_id": "rv", "reason": "specialist"}))
	// Recorded withdrawn as the read model did before withdrawals took reviewers off.
	if err := h.svc.App.UpdateOrganisation(context.Background(), "leaves", func(o *app.Organisation) { o.Withdrawn = true }); err != nil {
		t.Fatal(err)
	}

	// The watch's next pass, before the deadline, takes the reviewer off.
	if _, err := h.svc.App.SweepOverdue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.logged(round, events.AssignmentRemovedV1{}); n != 1 {
		t.Errorf("the round's log holds %d removals, want rv's", n)
	}
	if got := active(h.assignments(round), gone); len(got) != 0 {
		t.Errorf("reviewers %v still on the withdrawn organisation's submission", got)
	}

	// At the deadline nobody is chased for it.
	h.clock.Set(deadline.Add(time.Minute))
	if n, err := h.svc.App.SweepOverdue(context.Background()); err != nil || n != 0 {
		t.Errorf("overdue sweep marked %d (%v), want none", n, err)
	}
	if n := h.logged(round, events.ReviewOverdueV1{}); n != 0 {
		t.Errorf("the round's log holds %d overdue events, want none", n)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
