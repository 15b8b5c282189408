package round_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/services/review/internal/domain/assign"
	"github.com/itss/techcommit/services/review/internal/domain/round"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

var (
	now      = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	deadline = now.Add(30 * 24 * time.Hour)
)

// history builds an aggregate's events from payloads.
type history []events.Envelope

func (h *history) add(t testing.TB, ps ...events.Payload) {
	t.Helper()
	for _, p := range ps {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		*h = append(*h, events.Envelope{ID: p.EventType(), Type: p.EventType(), Version: len(*h) + 1, Time: now, Data: data})
	}
}

func rebuild(t testing.TB, id string, h history) *round.Round {
	t.Helper()
	r, err := round.Rebuild(id, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// must returns a function that fails t on an error and otherwise passes the value on.
func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func reviewer(id, org string, conflicts ...string) round.Reviewer {
	return round.Reviewer{Reviewer: assign.Reviewer{ID: id, Org: org, Trained: true, Capacity: 3, Conflicts: conflicts}, Name: "Name " + id, Email: id + "@example.ac.uk"}
}

func submitted(t testing.TB, id, org string) *submission.Submission {
	t.Helper()
	var h history
	h.add(t, events.SubmissionDraftedV1{SubmissionID: id, OrganisationID: org, ObligationID: org + "-c1", Kind: events.ObligationActionPlan},
		events.SubmissionReceivedV1{SubmissionID: id, OrganisationID: org, ReceivedAt: now})
	s, err := submission.Rebuild(id, h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scores(n int) []events.ThemeReview {
	var out []events.ThemeReview
	for _, th := range submission.Themes {
		out = append(out, events.ThemeReview{Theme: th, Score: n, Strengths: "s", Recommendations: "r"})
	}
	return out
}

// opened is a round with submission s1 of org "a" in it.
func opened(t testing.TB) history {
	var h history
	r := rebuild(t, "r1", h)
	h.add(t, must[[]events.Payload](t)(r.Open("Spring", deadline, 0, now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).AddSubmission(submitted(t, "s1", "a"), "University of A", 0))...)
	return h
}

func TestOpenChecksItsArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		title    string
		deadline time.Time
		n        int
		field    string
	}{
		{"no name", " ", deadline, 0, "name"},
		{"deadline passed", "R", now.Add(-time.Second), 0, "review_deadline"},
		{"deadline over a year ahead", "R", now.AddDate(1, 0, 0).Add(time.Second), 0, "review_deadline"},
		{"too many reviewers", "R", deadline, 6, "reviewers_per_submission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := rebuild(t, "r", nil).Open(tt.title, tt.deadline, tt.n, now)
			if e, ok := apperr.As(err); !ok || e.Field != tt.field {
				t.Errorf("error %v, want one about %s", err, tt.field)
			}
		})
	}
	p := must[[]events.Payload](t)(rebuild(t, "r", nil).Open("R", deadline, 0, now))
	if got := p[0].(events.ReviewRoundOpenedV1).ReviewersPerSubmission; got != round.DefaultReviewersPerSubmission {
		t.Errorf("N is %d by default, want %d", got, round.DefaultReviewersPerSubmission)
	}
}

func isField(err error, field string) bool {
	e, ok := apperr.As(err)
	return ok && e.Field == field
}

// A deadline too far ahead is refused with the latest one allowed said as every
// other refusal says a time: on the London clock, with its zone.
func TestOpenSaysTheLatestDeadlineInLondonTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 4, 21, 1, 14, 0, time.UTC), "(by Saturday 4 December 2027, 21:01 GMT)"},
		{time.Date(2027, 6, 30, 16, 30, 0, 0, time.UTC), "(by Friday 30 June 2028, 17:30 BST)"},
		// A year on is the same time on the London clock, whichever way the clocks
		// went in between: noon in winter a year before a day of summer time is noon.
		{time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC), "(by Monday 27 March 2028, 12:00 BST)"},
		{time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC), "(by Saturday 30 October 2027, 12:00 BST)"},
		{time.Date(2027, 10, 29, 11, 0, 0, 0, time.UTC), "(by Sunday 29 October 2028, 12:00 GMT)"},
		// A year after 29 February is 28 February, as every date the suite counts on
		// (libs/civil), not 1 March.
		{time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC), "(by Wednesday 28 February 2029, 10:00 GMT)"},
	} {
		_, err := rebuild(t, "r", nil).Open("R", tt.now.AddDate(1, 0, 1), 0, tt.now)
		e, ok := apperr.As(err)
		if !ok || e.Field != "review_deadline" || !strings.Contains(e.Message, tt.want) {
			t.Errorf("a deadline over a year after %s is refused with %v, want one saying %q", tt.now, err, tt.want)
		}
	}
	// What the refusal says is the bound: on 29 February 2028 at 10:00, reviews due
	// on 1 March 2029 are more than a year ahead, and so are reviews due at 12:30 BST
	// a year after noon GMT.
	leap := time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC)
	if _, err := rebuild(t, "r", nil).Open("R", time.Date(2029, 3, 1, 9, 0, 0, 0, time.UTC), 0, leap); !isField(err, "review_deadline") {
		t.Errorf("a deadline of 1 March 2029 opened on 29 February 2028: %v, want it refused as over a year ahead", err)
	}
	spring := time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC)
	if _, err := rebuild(t, "r", nil).Open("R", time.Date(2028, 3, 27, 11, 30, 0, 0, time.UTC), 0, spring); !isField(err, "review_deadline") {
		t.Errorf("a deadline of 12:30 BST on 27 March 2028 opened at noon on 27 March 2027: %v, want it refused as over a year ahead", err)
	}
	if _, err := rebuild(t, "r", nil).Open("R", time.Date(2028, 3, 27, 11, 0, 0, 0, time.UTC), 0, spring); err != nil {
		t.Errorf("a deadline of noon BST on 27 March 2028 opened at noon on 27 March 2027: %v, want it taken", err)
	}
}

func TestManualAssignmentKeepsTheConflictRules(t *testing.T) {
	t.Parallel()
	h := opened(t)
	r := rebuild(t, "r1", h)
	for _, rv := range []round.Reviewer{reviewer("own", "a"), reviewer("conflicted", "b", "a")} {
		if _, err := r.Assign(rv, "s1", "asked", now); !apperr.Is(err, apperr.Conflict) {
			t.Errorf("%s: %v, want a conflict", rv.ID, err)
		}
	}
	if _, err := r.Assign(reviewer("x", "b"), "s1", " ", now); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("no reason: %v, want invalid", err)
	}
	p := must[[]events.Payload](t)(r.Assign(reviewer("x", "b"), "s1", "specialist", now))
	if a := p[0].(events.ReviewerAssignedV1); !a.Manual || a.Reason != "specialist" || a.ReviewerEmail != "x@example.ac.uk" || !a.ReviewDeadline.Equal(deadline) {
		t.Errorf("assignment event %+v", a)
	}
}

func TestReviewsFeedbackAndOverdue(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("y", "c"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("z", "d"), "s1", "m", now))...)

	if _, err := rebuild(t, "r1", h).ReleaseFeedback("s1", "text", round.Contact{}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("release with no review: %v, want a conflict", err)
	}
	if _, err := rebuild(t, "r1", h).SubmitReview("s1", "x", scores(2), "sum"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "accept") {
		t.Errorf("review before accepting: %v, want a conflict saying to accept first", err)
	}
	for _, rv := range []string{"x", "y", "z"} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept("s1", rv, now))...)
	}
	if _, err := rebuild(t, "r1", h).SubmitReview("s1", "x", scores(5), "sum"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("score 5: %v, want invalid", err)
	}
	if _, err := rebuild(t, "r1", h).SubmitReview("s1", "nobody", scores(2), "sum"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("unassigned reviewer: %v, want not found", err)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "x", scores(2), "sum"))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "y", scores(4), "sum"))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "z", scores(1), "sum"))...)
	// A conflict of z's found after they reviewed: their review is withheld (removing
	// them would drop it unsaid), and their scores leave the consolidation.
	if _, err := rebuild(t, "r1", h).Remove("s1", "z", "conflict found late"); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("remove after reviewing: %v, want a conflict", err)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).WithholdReview("s1", "z", "conflict found late"))...)
	if _, err := rebuild(t, "r1", h).Decline("s1", "x", ""); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("decline after reviewing: %v, want a conflict", err)
	}

	// Nothing is overdue before the deadline, nor reviews that are in.
	if p := rebuild(t, "r1", h).MarkOverdue(deadline.Add(time.Hour), nil); len(p) != 0 {
		t.Errorf("overdue %v with every review in", p)
	}
	if _, err := rebuild(t, "r1", h).ReleaseFeedback("s1", "text", round.Contact{}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("release in an open round: %v, want a conflict", err)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	p := must[[]events.Payload](t)(rebuild(t, "r1", h).ReleaseFeedback("s1", " Well done. ", round.Contact{LeadEmail: "lead@a.ac.uk"}))
	f := p[0].(events.FeedbackReleasedV1)
	if f.Feedback != "Well done." || f.LeadEmail != "lead@a.ac.uk" || f.RoundName != "Spring" || len(f.Scores) != 4 || f.Scores[0].Score != 3 {
		t.Errorf("feedback %+v, want the mean 3 of x and y only", f)
	}
	h.add(t, p...)
	if _, err := rebuild(t, "r1", h).Assign(reviewer("w", "e"), "s1", "late", now); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("assign after release: %v, want a conflict", err)
	}
	if st := rebuild(t, "r1", h).Status(); st != round.StatusFeedbackReleased {
		t.Errorf("status %s with every feedback out, want %s", st, round.StatusFeedbackReleased)
	}
}

// TestWhatARoundRefusesAndWhy runs every command against a round in a state it does
// not fit, and checks each is refused as a conflict that says why.
func TestWhatARoundRefusesAndWhy(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("y", "c"), "s1", "m", now))...)
	open := h
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept("s1", "x", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "x", scores(2), "sum"))...)
	reviewed := h
	closed := append(history(nil), reviewed...)
	closed.add(t, must[[]events.Payload](t)(rebuild(t, "r1", closed).Close("deadline"))...)
	released := append(history(nil), closed...)
	released.add(t, must[[]events.Payload](t)(rebuild(t, "r1", released).ReleaseFeedback("s1", "Good.", round.Contact{}))...)

	tests := []struct {
		name string
		h    history
		do   func(*round.Round) ([]events.Payload, error)
		want string
	}{
		{"review never accepted", open, func(r *round.Round) ([]events.Payload, error) { return r.SubmitReview("s1", "y", scores(2), "s") }, "accept the assignment first"},
		{"second review", reviewed, func(r *round.Round) ([]events.Payload, error) { return r.SubmitReview("s1", "x", scores(3), "s") }, "already submitted"},
		{"decline after reviewing", reviewed, func(r *round.Round) ([]events.Payload, error) { return r.Decline("s1", "x", "") }, "already submitted"},
		{"accept after the deadline", open, func(r *round.Round) ([]events.Payload, error) { return r.Accept("s1", "y", deadline) }, "deadline passed"},
		{"review in a closed round", closed, func(r *round.Round) ([]events.Payload, error) { return r.SubmitReview("s1", "y", scores(2), "s") }, "closed"},
		{"accept in a closed round", closed, func(r *round.Round) ([]events.Payload, error) { return r.Accept("s1", "y", now) }, "closed"},
		{"assign after the deadline", open, func(r *round.Round) ([]events.Payload, error) {
			return r.Assign(reviewer("w", "e"), "s1", "m", deadline)
		}, "deadline passed"},
		{"auto-assign after the deadline", open, func(r *round.Round) ([]events.Payload, error) {
			p, _, err := r.AutoAssign([]round.Reviewer{reviewer("w", "e")}, 0, round.Weighing{}, deadline)
			return p, err
		}, "deadline passed"},
		{"assign in a closed round", closed, func(r *round.Round) ([]events.Payload, error) { return r.Assign(reviewer("w", "e"), "s1", "m", now) }, "closed"},
		{"remove a reviewer whose review is in", reviewed, func(r *round.Round) ([]events.Payload, error) { return r.Remove("s1", "x", "m") }, "withhold it"},
		{"remove in a closed round", closed, func(r *round.Round) ([]events.Payload, error) { return r.Remove("s1", "y", "m") }, "closed"},
		{"add to a closed round", closed, func(r *round.Round) ([]events.Payload, error) { return r.AddSubmission(submitted(t, "s2", "b"), "", 0) }, "closed"},
		{"close twice", closed, func(r *round.Round) ([]events.Payload, error) { return r.Close("") }, "already closed"},
		{"release in an open round", reviewed, func(r *round.Round) ([]events.Payload, error) { return r.ReleaseFeedback("s1", "f", round.Contact{}) }, "close it first"},
		{"review after release", released, func(r *round.Round) ([]events.Payload, error) { return r.SubmitReview("s1", "y", scores(2), "s") }, "already released"},
		{"return after release", released, func(r *round.Round) ([]events.Payload, error) { return r.ReturnReview("s1", "x", "why") }, "already released"},
		{"withhold after release", released, func(r *round.Round) ([]events.Payload, error) { return r.WithholdReview("s1", "x", "why") }, "already released"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.do(rebuild(t, "r1", tt.h))
			if !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want a conflict saying %q", err, tt.want)
			}
		})
	}
}

func TestAReturnedReviewIsRevisedAndAWithheldOneLeavesTheScores(t *testing.T) {
	t.Parallel()
	h := opened(t)
	for _, rv := range []round.Reviewer{reviewer("x", "b"), reviewer("y", "c")} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(rv, "s1", "m", now))...)
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept("s1", rv.ID, now))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "x", scores(1), "sum"))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "y", scores(4), "sum"))...)
	if _, err := rebuild(t, "r1", h).ReturnReview("s1", "x", " "); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("return without a reason: %v, want invalid", err)
	}
	p := must[[]events.Payload](t)(rebuild(t, "r1", h).ReturnReview("s1", "x", "Explain the 1s"))
	if ret := p[0].(events.ReviewReturnedV1); ret.ReviewerEmail != "x@example.ac.uk" || ret.RoundName != "Spring" || ret.OrganisationName != "University of A" {
		t.Errorf("return event %+v", ret)
	}
	h.add(t, p...)
	if a, _ := rebuild(t, "r1", h).Assignment("s1", "x"); a.ReturnedReason != "Explain the 1s" || a.Reviewed() || a.Counts() {
		t.Errorf("returned assignment %+v", a)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	if _, err := rebuild(t, "r1", h).ReleaseFeedback("s1", "f", round.Contact{}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("release with a review out for revision: %v, want a conflict", err)
	}
	// The revision is taken though the round is closed.
	p = must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", "x", scores(2), "revised"))
	if !p[0].(events.ReviewSubmittedV1).Resubmission {
		t.Errorf("revision %+v not marked as a resubmission", p[0])
	}
	h.add(t, p...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).WithholdReview("s1", "y", "Names staff"))...)
	f := must[[]events.Payload](t)(rebuild(t, "r1", h).ReleaseFeedback("s1", "f", round.Contact{}))[0].(events.FeedbackReleasedV1)
	if f.Scores[0].Score != 2 {
		t.Errorf("scores %v, want x's revised 2 alone", f.Scores)
	}
}

func TestOverdueIsRecordedOnce(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	if p := rebuild(t, "r1", h).MarkOverdue(deadline.Add(-time.Second), nil); len(p) != 0 {
		t.Fatalf("overdue before the deadline: %v", p)
	}
	if r := rebuild(t, "r1", h); !r.NextDeadline().Equal(deadline) || !r.Overdue(first(r), deadline) || r.Overdue(first(r), deadline.Add(-time.Second)) {
		t.Errorf("next deadline %s; overdue at the deadline %v, want %s and true (and false a second before)", r.NextDeadline(), r.Overdue(first(r), deadline), deadline)
	}
	p := rebuild(t, "r1", h).MarkOverdue(deadline, nil)
	if len(p) != 1 || p[0].(events.ReviewOverdueV1).ReviewerEmail != "x@example.ac.uk" || p[0].(events.ReviewOverdueV1).OrganisationID != "a" {
		t.Fatalf("overdue %v, want x's review of a's submission", p)
	}
	h.add(t, p...)
	if p := rebuild(t, "r1", h).MarkOverdue(deadline.Add(time.Hour), nil); len(p) != 0 {
		t.Errorf("overdue recorded twice: %v", p)
	}
	if d := rebuild(t, "r1", h).NextDeadline(); !d.IsZero() {
		t.Errorf("next deadline %s once every outstanding review is recorded overdue, want none", d)
	}
}

func first(r *round.Round) round.Assignment { return r.Assignments()[0] }

// TestAContinuedRoundIsTheRebuiltOne: a round continued from any earlier state of it
// with its whole history is the round rebuilt from that history, and the earlier
// state it continued from is left as it was.
func TestAContinuedRoundIsTheRebuiltOne(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("y", "c"), "s1", "m", now))...)
	for _, rv := range []string{"x", "y"} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept("s1", rv, now))...)
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", rv, scores(3), "sum"))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).ReturnReview("s1", "x", "why"))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).WithholdReview("s1", "x", "names staff"))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).ReleaseFeedback("s1", "Fine.", round.Contact{}))...)
	state := func(r *round.Round) string {
		f, _ := r.Feedback("s1")
		var as []string
		for _, a := range r.Assignments() {
			review := a.Review
			a.Review = nil
			as = append(as, fmt.Sprintf("%+v review %+v", a, review))
		}
		return fmt.Sprintf("%d %s %v %v %+v", r.Version(), r.Status(), r.Submissions(), as, f)
	}
	want := state(rebuild(t, "r1", h))
	for k := 1; k <= len(h); k++ {
		earlier := rebuild(t, "r1", h[:k])
		before := state(earlier)
		if got := state(must[*round.Round](t)(earlier.Continue(h))); got != want {
			t.Errorf("continued from version %d:\n%s\nwant\n%s", k, got, want)
		}
		if after := state(earlier); after != before {
			t.Errorf("continuing from version %d changed it:\n%s\nwas\n%s", k, after, before)
		}
	}
}

// A closed round lets a submission go to a later round only when nothing of it there
// can still be released; once gone it is no longer among the round's submissions,
// its reviewers there are off it, and its feedback is not released there.
func TestAClosedRoundLetsASubmissionNobodyReviewedGo(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "specialist", now))...)
	if _, err := rebuild(t, "r1", h).MoveSubmission("s1", "r2"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "still open") {
		t.Errorf("moving from an open round: %v, want Conflict saying it is still open", err)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	moved := must[[]events.Payload](t)(rebuild(t, "r1", h).MoveSubmission("s1", "r2"))
	if len(moved) != 1 {
		t.Fatalf("moving: %v, want one event", moved)
	}
	h.add(t, moved...)
	r := rebuild(t, "r1", h)
	if subs := r.Submissions(); len(subs) != 0 {
		t.Errorf("submissions %v after the move, want none", subs)
	}
	if to, org, ok := r.Moved("s1"); !ok || to != "r2" || org != "a" {
		t.Errorf("Moved: %q %q %v, want r2 a true", to, org, ok)
	}
	if a, _ := r.Assignment("s1", "x"); a.State != round.Removed {
		t.Errorf("the reviewer's assignment is %s, want removed", a.State)
	}
	if again, err := r.MoveSubmission("s1", "r2"); err != nil || len(again) != 0 {
		t.Errorf("moving again to the same round: %v, %v; want nothing", again, err)
	}
	if _, err := r.MoveSubmission("s1", "r3"); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("moving again elsewhere: %v, want Conflict", err)
	}
	if _, err := r.ReleaseFeedback("s1", "Text", round.Contact{}); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "to a later review round") {
		t.Errorf("releasing feedback on it: %v, want Conflict saying where it went", err)
	}
}

// TestAWithdrawalTakesOffTheReviewsStillToDo: once organisation a withdraws, the
// reviewers of its submission whose review is not in (unanswered, accepted, returned
// for revision) come off it, each once, and are chased no more; a review that is in
// stays, as does every assignment to another organisation's submission; nobody can
// be given a's submission, by hand or automatically; a closed round is left as it is.
func TestAWithdrawalTakesOffTheReviewsStillToDo(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).AddSubmission(submitted(t, "s2", "b"), "University of B", 0))...)
	for _, rv := range []round.Reviewer{reviewer("unanswered", "c"), reviewer("accepted", "c"), reviewer("returned", "d"), reviewer("reviewed", "d")} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(rv, "s1", "m", now))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("accepted", "c"), "s2", "m", now))...)
	for _, rv := range []string{"accepted", "returned", "reviewed"} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept("s1", rv, now))...)
	}
	for _, rv := range []string{"returned", "reviewed"} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview("s1", rv, scores(2), "sum"))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).ReturnReview("s1", "returned", "Say more"))...)

	withdrawn := map[string]bool{"a": true}
	if p := rebuild(t, "r1", h).TakeOffWithdrawn(nil); len(p) != 0 {
		t.Errorf("with nobody withdrawn: %v", p)
	}
	p := rebuild(t, "r1", h).TakeOffWithdrawn(withdrawn)
	var off []string
	for _, e := range p {
		rm := e.(events.AssignmentRemovedV1)
		if rm.SubmissionID != "s1" || rm.OrganisationID != "a" || rm.Reason != round.WithdrawnReason || rm.Cause != events.RemovalOrganisationWithdrew || rm.ReviewerEmail != rm.ReviewerID+"@example.ac.uk" ||
			rm.RoundName != "Spring" || rm.OrganisationName != "University of A" || !rm.ReviewDeadline.Equal(deadline) {
			t.Errorf("removal %+v does not say what, why and to whom", rm)
		}
		off = append(off, rm.ReviewerID)
	}
	if want := []string{"accepted", "returned", "unanswered"}; fmt.Sprint(off) != fmt.Sprint(want) {
		t.Errorf("taken off %v, want %v", off, want)
	}
	h.add(t, p...)
	r := rebuild(t, "r1", h)
	if p := r.TakeOffWithdrawn(withdrawn); len(p) != 0 {
		t.Errorf("taken off again: %v", p)
	}
	if as, _ := r.Assignment("s1", "reviewed"); as.State != round.Accepted || !as.Counts() {
		t.Errorf("the review that is in: %+v, want it kept", as)
	}
	if as, _ := r.Assignment("s2", "accepted"); as.State != round.Assigned {
		t.Errorf("the assignment to b's submission: %+v, want it kept", as)
	}
	if _, err := r.Assign(reviewer("w", "e"), "s1", "m", now); err != nil {
		t.Fatal(err) // the round alone does not know a withdrew: Reviewable says it
	}
	if err := r.Reviewable("s1", withdrawn); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "withdrawn from the Technician Commitment") {
		t.Errorf("giving a's submission reviewers: %v, want a conflict saying a withdrew", err)
	}
	if err := r.Reviewable("s2", withdrawn); err != nil {
		t.Errorf("giving b's submission reviewers: %v", err)
	}
	if p, _, _ := r.AutoAssign([]round.Reviewer{reviewer("w", "e")}, 0, round.Weighing{Withdrawn: withdrawn}, now); len(p) != 1 || p[0].(events.ReviewerAssignedV1).SubmissionID != "s2" {
		t.Errorf("automatic assignment %v, want w on b's submission only", p)
	}
	for _, e := range r.MarkOverdue(deadline, withdrawn) {
		if o := e.(events.ReviewOverdueV1); o.SubmissionID != "s2" {
			t.Errorf("chased for a's submission: %+v", o)
		}
	}

	// A closed round takes no assignment changes, and chases nobody.
	h = opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	if p := rebuild(t, "r1", h).TakeOffWithdrawn(withdrawn); len(p) != 0 {
		t.Errorf("taken off in a closed round: %v", p)
	}
}

// TestReviewersWhoseOrganisationWithdrewComeOffWhatTheyOwe: the reviewers whose own
// organisation withdrew (gone) come off each assignment whose review is not in
// (unanswered, accepted, returned for revision), once, each removal naming them and
// their address with the reason; their review that is in stays, as does every other
// reviewer's place; a closed round is left as it is.
func TestReviewersWhoseOrganisationWithdrewComeOffWhatTheyOwe(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).AddSubmission(submitted(t, "s2", "b"), "University of B", 0))...)
	for _, rv := range []string{"unanswered", "accepted", "returned", "reviewed", "other"} {
		org := "c"
		if rv == "other" {
			org = "d"
		}
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer(rv, org), "s1", "m", now))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("other", "d"), "s2", "m", now))...)
	for _, a := range []struct{ sub, rv string }{{"s1", "accepted"}, {"s1", "returned"}, {"s1", "reviewed"}, {"s2", "other"}} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Accept(a.sub, a.rv, now))...)
	}
	for _, a := range []struct{ sub, rv string }{{"s1", "returned"}, {"s1", "reviewed"}, {"s2", "other"}} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).SubmitReview(a.sub, a.rv, scores(2), "sum"))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).ReturnReview("s1", "returned", "Say more"))...)

	gone := map[string]bool{"unanswered": true, "accepted": true, "returned": true, "reviewed": true}
	r := rebuild(t, "r1", h)
	if got, want := r.Outstanding(), []string{"accepted", "other", "returned", "unanswered"}; fmt.Sprint(sortedCopy(got)) != fmt.Sprint(want) {
		t.Errorf("outstanding %v, want %v", got, want)
	}
	if p := r.TakeOffReviewersOfWithdrawn(nil); len(p) != 0 {
		t.Errorf("with nobody gone: %v", p)
	}
	p := r.TakeOffReviewersOfWithdrawn(gone)
	var off []string
	for _, e := range p {
		rm := e.(events.AssignmentRemovedV1)
		if rm.SubmissionID != "s1" || rm.OrganisationID != "a" || rm.Reason != round.ReviewersOrgWithdrawnReason || rm.Cause != events.RemovalReviewerOrganisationWithdrew || rm.ReviewerEmail != rm.ReviewerID+"@example.ac.uk" ||
			rm.ReviewerName == "" || rm.RoundName != "Spring" || rm.OrganisationName != "University of A" || !rm.ReviewDeadline.Equal(deadline) {
			t.Errorf("removal %+v does not say what, why and to whom", rm)
		}
		off = append(off, rm.ReviewerID)
	}
	if want := []string{"accepted", "returned", "unanswered"}; fmt.Sprint(sortedCopy(off)) != fmt.Sprint(want) {
		t.Errorf("taken off %v, want %v", off, want)
	}
	h.add(t, p...)
	r = rebuild(t, "r1", h)
	if p := r.TakeOffReviewersOfWithdrawn(gone); len(p) != 0 {
		t.Errorf("taken off again: %v", p)
	}
	for _, a := range []struct{ sub, rv string }{{"s1", "reviewed"}, {"s1", "other"}, {"s2", "other"}} {
		if as, _ := r.Assignment(a.sub, a.rv); as.State != round.Accepted && as.State != round.Assigned {
			t.Errorf("%s on %s: %+v, want it kept", a.rv, a.sub, as)
		}
	}

	// A closed round takes no assignment changes.
	h = opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("x", "b"), "s1", "m", now))...)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Close(""))...)
	if p := rebuild(t, "r1", h).TakeOffReviewersOfWithdrawn(map[string]bool{"x": true}); len(p) != 0 {
		t.Errorf("taken off in a closed round: %v", p)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestReadingALargeRoundCopiesNothing: a read of a round the service holds at its
// latest version (one submission's reviews, in a round of 200) copies nothing of it:
// Continue with nothing new answers the round itself, and AssignmentsOf gives a
// submission's assignments alone, by reviewer. Every read copied the round before
// (issue 22: a submission's reviews cost 1.8x with ten times the round).
func TestReadingALargeRoundCopiesNothing(t *testing.T) {
	h := opened(t) // not parallel: AllocsPerRun counts the whole process's allocations
	for i := range 200 {
		sub := fmt.Sprintf("s%03d", i)
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).AddSubmission(submitted(t, sub, fmt.Sprintf("o%d", i)), "Org", 0))...)
	}
	r := rebuild(t, "r1", h)
	for i := range 200 {
		sub := fmt.Sprintf("s%03d", i)
		for _, rv := range []string{fmt.Sprintf("y%d", i), fmt.Sprintf("x%d", i)} {
			h.add(t, must[[]events.Payload](t)(r.Assign(reviewer(rv, "b"), sub, "m", now))...)
			r = must[*round.Round](t)(r.Continue(h))
		}
	}
	var same *round.Round
	var err error
	allocs := testing.AllocsPerRun(20, func() { same, err = r.Continue(h) })
	if err != nil || same != r || allocs != 0 {
		t.Errorf("Continue with nothing new: the same round %v, %.0f allocations; want the round itself and none", same == r, allocs)
	}
	got := r.AssignmentsOf("s007")
	if len(got) != 2 || got[0].ReviewerID != "x7" || got[1].ReviewerID != "y7" || got[0].SubmissionID != "s007" {
		t.Errorf("AssignmentsOf(s007) = %+v, want x7's and y7's", got)
	}
	// Something new is still applied to a copy, leaving the round as it was.
	h.add(t, must[[]events.Payload](t)(r.Accept("s007", "x7", now))...)
	next := must[*round.Round](t)(r.Continue(h))
	if a, _ := next.Assignment("s007", "x7"); a.State != round.Accepted {
		t.Errorf("continued with an accept: %+v", a)
	}
	if a, _ := r.Assignment("s007", "x7"); a.State != round.Assigned {
		t.Errorf("the round continued from changed: %+v", a)
	}
}

func TestAReviewerWhoseRecordRuledOutTheirAssignmentComesOffIt(t *testing.T) {
	t.Parallel()
	h := opened(t)
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).AddSubmission(submitted(t, "s2", "b"), "University of B", 0))...)
	was := reviewer("x", "c")
	for _, sub := range []string{"s1", "s2"} {
		h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(was, sub, "m", now))...)
	}
	h.add(t, must[[]events.Payload](t)(rebuild(t, "r1", h).Assign(reviewer("y", "c"), "s1", "m", now))...)
	r := rebuild(t, "r1", h)
	if p := r.TakeOffIneligible(was, was); len(p) != 0 {
		t.Errorf("with the record unchanged: %v", p)
	}
	// A reason the record before had too is not the change's doing.
	withdrawn := reviewer("x", "c", "a")
	withdrawn.OrgWithdrawn, was.OrgWithdrawn = true, true
	if p := r.TakeOffIneligible(was, withdrawn); len(p) != 0 {
		t.Errorf("for what the change did not do: %v", p)
	}
	was.OrgWithdrawn = false

	p := r.TakeOffIneligible(was, reviewer("x", "c", "a"))
	if len(p) != 1 {
		t.Fatalf("took off %v, want x off s1 alone", p)
	}
	rm := p[0].(events.AssignmentRemovedV1)
	if rm.SubmissionID != "s1" || rm.ReviewerID != "x" || rm.Reason != fmt.Sprintf(round.IneligibleReason, "declared conflict") || rm.Cause != "" || rm.ReviewerEmail != "x@example.ac.uk" {
		t.Errorf("removal %+v does not say what, why and to whom", rm)
	}
	h.add(t, p...)
	if p := rebuild(t, "r1", h).TakeOffIneligible(was, reviewer("x", "c", "a")); len(p) != 0 {
		t.Errorf("taken off again: %v", p)
	}
}

// TestARoundNamesASubmissionAsItsOrganisationNowStandsInWordsAlone: a round naming
// its submissions by their organisations' names as they now stand (Naming) says them
// in its refusals, while the events it decides carry the name the submission was
// added with, as before, and the round it was copied from is unchanged.
func TestARoundNamesASubmissionAsItsOrganisationNowStandsInWordsAlone(t *testing.T) {
	t.Parallel()
	r := rebuild(t, "r1", opened(t))
	named := r.Naming(func(sub string) string {
		if sub != "s1" {
			t.Errorf("asked the name of %s's organisation, want s1's", sub)
		}
		return "University of Aberdare"
	})
	if _, err := named.Assign(reviewer("own", "a"), "s1", "asked", now); err == nil || !strings.Contains(err.Error(), "may not review University of Aberdare's submission") {
		t.Errorf("the named round refuses %v, want it to name University of Aberdare's submission", err)
	}
	if _, err := r.Assign(reviewer("own", "a"), "s1", "asked", now); err == nil || !strings.Contains(err.Error(), "may not review University of A's submission") {
		t.Errorf("the round it was copied from refuses %v, want it to name the submission as it was added", err)
	}
	p := must[[]events.Payload](t)(named.Assign(reviewer("x", "b"), "s1", "specialist", now))
	if a := p[0].(events.ReviewerAssignedV1); a.OrganisationName != "University of A" {
		t.Errorf("the named round's assignment names %q, want the name the submission was added with", a.OrganisationName)
	}
	blank := r.Naming(func(string) string { return "" })
	if _, err := blank.Assign(reviewer("own", "a"), "s1", "asked", now); err == nil || !strings.Contains(err.Error(), "University of A's submission") {
		t.Errorf("a round with no name now for the submission refuses %v, want it to name it as it was added", err)
	}
}
