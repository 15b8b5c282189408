package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// typedReview is a complete review with words of its own in every field, to look
// for on a page.
func typedReview(tag string) url.Values {
	v := url.Values{"summary": {tag + " summary of the whole."}}
	for i := range 4 {
		v.Set(fmt.Sprintf("themes.%d.score", i), "3")
		v.Set(fmt.Sprintf("themes.%d.strengths", i), fmt.Sprintf("%s strengths %d.", tag, i))
		v.Set(fmt.Sprintf("themes.%d.recommendations", i), fmt.Sprintf("%s recommendations %d.", tag, i))
	}
	return v
}

// keepsTyped checks that a page holds every text of the review f sent.
func keepsTyped(t *testing.T, r response, f url.Values) {
	t.Helper()
	for name, vs := range f {
		if strings.HasSuffix(name, ".score") {
			continue
		}
		if !strings.Contains(r.body, vs[0]) {
			t.Errorf("the page does not show the %s typed (%q): %s", name, vs[0], r.body)
		}
	}
}

// A review written while ITSS closed the round, or took the reviewer off the
// submission, is not lost on Submit: the page says it was not sent and why, and
// shows all that was typed, read-only, to copy.
func TestReviewSubmittedAfterRoundClosedKeepsWhatWasTyped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	rita := p.signIn(ritaEmail)
	p.do("POST", "/reviews/"+rr.round+"/"+rr.mine+"/respond", rita, url.Values{"accept": {"true"}})
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/closure", rr.ops, map[string]any{"reason": "Deadline reached"}))

	f := typedReview("RitaLate")
	r := p.do("POST", "/reviews/"+rr.round+"/"+rr.mine, rita, f)
	if r.status != http.StatusConflict || h1(t, r.body) != "Your review was not sent" || !strings.Contains(r.body, "ITSS have closed this review round") {
		t.Fatalf("a review sent after the close = %d: %s", r.status, r.body)
	}
	keepsTyped(t, r, f)
	if strings.Contains(r.body, `name="summary"`) {
		t.Errorf("the review not sent is offered to be sent again: %s", r.body)
	}

	// Taken off "theirs" while writing: Carol's review is kept the same way.
	p.waitFor("carol@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	carol := p.signIn("carol@reviewers.example")
	round2 := review.Must(http.StatusCreated, review.Do("POST", "/v1/review-rounds", rr.ops, map[string]any{"name": "Round 2028",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)})).JSON(t)["id"].(string)
	sub := submitted(t, p, review, rr.mint, "org-u", "University of U", "U's")
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round2+"/submissions", rr.ops, map[string]any{"submission_ids": []string{sub}}))
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round2+"/assignments", rr.ops, map[string]any{
		"action": "assign", "submission_id": sub, "reviewer_id": "rev-carol", "reason": "Knows the sector"}))
	p.do("POST", "/reviews/"+round2+"/"+sub+"/respond", carol, url.Values{"accept": {"true"}})
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round2+"/assignments", rr.ops, map[string]any{
		"action": "remove", "submission_id": sub, "reviewer_id": "rev-carol", "reason": "Conflict found"}))
	f = typedReview("CarolGone")
	r = p.do("POST", "/reviews/"+round2+"/"+sub, carol, f)
	if r.status != http.StatusNotFound || h1(t, r.body) != "Your review was not sent" || !strings.Contains(r.body, "no longer assigned to you") {
		t.Fatalf("a review sent after being taken off = %d: %s", r.status, r.body)
	}
	keepsTyped(t, r, f)
}

// A review ITSS returned and then held back is shown as held back, with the reason
// and no form: the page agrees with the email that no revision is needed. A
// revision sent from a page opened before is refused, and kept.
func TestReturnedThenWithheldReviewIsNotOfferedForRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)
	if r := p.do("POST", page, rita, reviewForm("Rita's summary.")); r.status != http.StatusSeeOther {
		t.Fatalf("submitting = %d: %s", r.status, r.body)
	}
	moderate := "/v1/review-rounds/" + rr.round + "/submissions/" + rr.mine + "/reviews/rev-rita/"
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/closure", rr.ops, map[string]any{"reason": "Deadline reached"}))
	review.Must(http.StatusOK, review.Do("POST", moderate+"revision-request", rr.ops, map[string]any{"reason": "Please expand on sustainability."}))
	review.Must(http.StatusOK, review.Do("POST", moderate+"withholding", rr.ops, map[string]any{"reason": "Not revised in time"}))

	list := p.do("GET", "/reviews", rita, nil)
	if strings.Contains(list.body, "Returned for revision") || !strings.Contains(list.body, "no revision needed") {
		t.Errorf("the assignments page of a review held back: %s", list.body)
	}
	r := p.do("GET", page, rita, nil)
	if r.status != http.StatusOK || strings.Contains(r.body, `name="summary"`) || strings.Contains(r.body, "Revise your review") ||
		!strings.Contains(r.body, "held your review back from the feedback: Not revised in time") || !strings.Contains(r.body, "No revision of it is needed") {
		t.Fatalf("the review page of a review held back = %d: %s", r.status, r.body)
	}
	f := typedReview("RitaRevised")
	r = p.do("POST", page, rita, f)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "no revision of it is needed") {
		t.Fatalf("a revision of a review held back = %d: %s", r.status, r.body)
	}
	keepsTyped(t, r, f)
}

// A reviewer who accepted may still give the assignment back, with why, from their
// list or the review page, until their review is in.
func TestAcceptedReviewerCanDeclineBeforeReviewing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	_, p, _, page, rita := ritaAccepts(t)

	if list := p.do("GET", "/reviews", rita, nil); !strings.Contains(list.body, "Accepted") || !strings.Contains(list.body, "Reason for declining") {
		t.Errorf("the assignments page offers no decline once accepted: %s", list.body)
	}
	r := p.do("GET", page, rita, nil)
	if !strings.Contains(r.body, `name="summary"`) || !strings.Contains(r.body, "Decline this assignment") || !strings.Contains(r.body, `action="`+page+`/respond"`) {
		t.Fatalf("the review page offers no decline once accepted: %s", r.body)
	}
	r = p.do("POST", page+"/respond", rita, url.Values{"accept": {"false"}, "reason": {"Changed job"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/reviews?declined=") {
		t.Fatalf("declining once accepted = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}

	// Bob, once his review is in, is offered no decline (the service would refuse it).
	p.waitFor(bobEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	bobs := p.signIn(bobEmail)
	p.do("POST", page+"/respond", bobs, url.Values{"accept": {"true"}})
	if r := p.do("POST", page, bobs, reviewForm("Bob's summary.")); r.status != http.StatusSeeOther {
		t.Fatalf("Bob's review = %d: %s", r.status, r.body)
	}
	if list := p.do("GET", "/reviews", bobs, nil); strings.Contains(list.body, "Reason for declining") {
		t.Errorf("the assignments page offers a decline of a review that is in: %s", list.body)
	}
	if r := p.do("GET", page, bobs, nil); strings.Contains(r.body, "Decline this assignment") {
		t.Errorf("the review page offers a decline of a review that is in: %s", r.body)
	}
}

// An assignment whose deadline passed before the reviewer answered wants nothing of
// them: its page says so, and does not call it overdue.
func TestEndedAssignmentPageHasNoOverdueTag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	rita := p.signIn(ritaEmail)
	sub := submitted(t, p, review, rr.mint, "org-u", "University of U", "U's")
	deadline := time.Now().Add(3 * time.Second)
	round := review.Must(http.StatusCreated, review.Do("POST", "/v1/review-rounds", rr.ops, map[string]any{"name": "Quick round",
		"review_deadline": deadline.Format(time.RFC3339Nano)})).JSON(t)["id"].(string)
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round+"/submissions", rr.ops, map[string]any{"submission_ids": []string{sub}}))
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+round+"/assignments", rr.ops, map[string]any{
		"action": "assign", "submission_id": sub, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	testenv.Eventually(t, 15*time.Second, func() error {
		r := p.do("GET", "/reviews/"+round+"/"+sub, rita, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, "no review of it is needed from you") {
			return fmt.Errorf("the page after the deadline = %d: %s", r.status, r.body)
		}
		if strings.Contains(r.body, "Overdue") {
			return fmt.Errorf("the page of an ended assignment says Overdue: %s", r.body)
		}
		return nil
	})
}

// A reviewer who declines from the review page without saying why is answered on
// that page, the message beside the reason, the reason's field keeping what was
// typed; it was answered with the assignments list, away from the page they were on.
func TestADeclineRefusedOnTheReviewPageIsShownThere(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	_, p, _, page, rita := ritaAccepts(t)
	respond := page + "/respond"
	decline := formIn(t, p.do("GET", page, rita, nil).body, respond)

	decline.Set("reason", "")
	r := p.do("POST", respond, rita, decline)
	errorBeside(t, r, "reason", "Enter why you are declining")
	if got := h1(t, r.body); got != "Review a submission" {
		t.Errorf("a refused decline is answered on the page headed %q, not the review page", got)
	}

	long := strings.Repeat("On leave ", 250)
	decline.Set("reason", long)
	r = p.do("POST", respond, rita, decline)
	errorBeside(t, r, "reason", "2000 characters or fewer")
	if got := value(parse(t, r.body), "field-reason"); got != strings.TrimSpace(long) {
		t.Errorf("the reason is shown back as %q, want what was typed", got)
	}
}
