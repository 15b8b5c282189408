package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/oidcdev"
)

// A reviewer removed by hand from a submission, the form sent twice (a double click,
// or back and send again): the second said "There is a problem: No assignment of
// rev-c to ... in this round", though the first had done what was asked. When the
// round holds the reviewer removed from that submission, the form leads on to the
// round as the first did; a reviewer never assigned is still refused beside the field.
func TestOpsRemovingAReviewerTwiceLeadsOnBothTimes(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	registerReviewers(t, s.p, s.review, opsToken(t, s.review, "review"),
		map[string]any{"reviewer_id": "rev-c", "name": "Cy Clark", "email": "c@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2})
	deadline := time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04")
	round := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, url.Values{"name": {"Round twice"}, "review_deadline": {deadline},
		"reviewers_per_submission": {"2"}}), http.StatusSeeOther, "the round").header.Get("Location")
	var added response
	for deadline := time.Now().Add(crossService); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if added = s.p.do("POST", round+"/submissions", ops, url.Values{"submission_ids": {sub}}); added.status == http.StatusSeeOther {
			break
		}
	}
	opsMustStatus(t, added, http.StatusSeeOther, "adding the submission")
	change := url.Values{"action": {"assign"}, "reviewer_id": {"rev-c"}, "submission_id": {sub}, "change_reason": {"A specialist"}}
	opsMustStatus(t, s.p.do("POST", round+"/assignments", ops, change), http.StatusSeeOther, "assigning rev-c")
	change.Set("action", "remove")
	change.Set("change_reason", "Two reviews are enough")
	opsMustStatus(t, s.p.do("POST", round+"/assignments", ops, change), http.StatusSeeOther, "removing rev-c")
	if again := s.p.do("POST", round+"/assignments", ops, change); again.status != http.StatusSeeOther || again.header.Get("Location") != round {
		t.Errorf("removing rev-c again = %d to %q, want %d to %s: %s", again.status, again.header.Get("Location"), http.StatusSeeOther, round, text(parse(t, again.body)))
	}
	change.Set("reviewer_id", "rev-nobody")
	if r := s.p.do("POST", round+"/assignments", ops, change); r.status != http.StatusNotFound || !strings.Contains(opsFieldMessage(t, r.body, "reviewer_id"), "No assignment of rev-nobody") {
		t.Errorf("removing a reviewer never assigned = %d: %s", r.status, text(parse(t, r.body)))
	}
}

// A review returned or held back with a reason, and the feedback released, each form
// sent twice (a double click): the second was answered "There is a problem: The
// review is already returned to its reviewer: ..." (or already withheld, or already
// released), though the first had done just that. When the review (or the
// submission's feedback) stands as the form asked, it leads on as the first did; a
// different reason is still refused.
func TestOpsModerationSentTwiceLeadsOnBothTimes(t *testing.T) {
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	registerReviewers(t, s.p, s.review, opsToken(t, s.review, "review"),
		map[string]any{"reviewer_id": "rev-a", "name": "Alice Jones", "email": "a@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2},
		map[string]any{"reviewer_id": "rev-b", "name": "Bo Brown", "email": "b@other.ac.uk", "organisation_id": "org-other", "trained": true, "capacity": 2})
	deadline := time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04")
	roundPath := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, url.Values{"name": {"Round twice"}, "review_deadline": {deadline},
		"reviewers_per_submission": {"2"}}), http.StatusSeeOther, "the round").header.Get("Location")
	round := strings.TrimPrefix(roundPath, "/ops/review/rounds/")
	var added response
	for deadline := time.Now().Add(crossService); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if added = s.p.do("POST", roundPath+"/submissions", ops, url.Values{"submission_ids": {sub}}); added.status == http.StatusSeeOther {
			break
		}
	}
	opsMustStatus(t, added, http.StatusSeeOther, "adding the submission")
	for _, rev := range []string{"rev-a", "rev-b"} {
		opsMustStatus(t, s.p.do("POST", roundPath+"/assignments", ops, url.Values{"action": {"assign"}, "reviewer_id": {rev}, "submission_id": {sub},
			"change_reason": {"Specialist"}}), http.StatusSeeOther, "assigning "+rev)
	}
	opsReview(t, s, round, sub, "rev-a", true, "A good start.")
	opsReview(t, s, round, sub, "rev-b", true, "Promising.")
	subPath := roundPath + "/submissions/" + sub

	twice := func(what, action string, sent url.Values, to string) {
		t.Helper()
		opsMustStatus(t, s.p.do("POST", action, ops, sent), http.StatusSeeOther, what)
		if again := s.p.do("POST", action, ops, sent); again.status != http.StatusSeeOther || again.header.Get("Location") != to {
			t.Errorf("%s sent again = %d to %q, want %d to %s: %s", what, again.status, again.header.Get("Location"), http.StatusSeeOther, to, text(parse(t, again.body)))
		}
	}
	twice("returning a's review", subPath+"/reviews/rev-a/return", url.Values{"return-rev-a": {"Evidence, please."}}, subPath)
	if r := s.p.do("POST", subPath+"/reviews/rev-a/return", ops, url.Values{"return-rev-a": {"Another reason"}}); r.status != http.StatusConflict {
		t.Errorf("returning a's review again with another reason = %d, want %d", r.status, http.StatusConflict)
	}
	opsReview(t, s, round, sub, "rev-a", false, "A good start, with evidence.")
	opsMustStatus(t, s.p.do("POST", roundPath+"/close", ops, url.Values{"reason": {"All in"}}), http.StatusSeeOther, "closing the round")
	twice("holding b's review back", subPath+"/reviews/rev-b/withhold", url.Values{"withhold-rev-b": {"Names staff"}}, subPath)
	twice("releasing the feedback", subPath+"/feedback", url.Values{"feedback": {"A clear plan; say more on career development."}}, roundPath)
}
