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
