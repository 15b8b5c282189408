package service

import (
	"net/http"
	"strings"
	"testing"

	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// A reviewer who declines an assignment says why (often a conflict of interest, for
// ITSS to record in the pool), and the review service keeps the reason for ITSS
// (declined_reason), but the console's round showed only "Declined": ITSS could read
// why only with curl. The round's page now gives the reason beside the decline, as
// it gives why a review was returned or held back, and a reload shows the same.
func TestJourneyOpsReadsWhyAReviewerDeclined(t *testing.T) {
	t.Parallel()
	s := startOpsStack(t, true)
	rr := startReviewRound(t, s.env, s.review, s.p)
	const why = "I advised Exampleton on this plan last year"
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+rr.round+"/submissions/"+rr.mine+"/response", rr.mint(bob),
		map[string]any{"accept": false, "reason": why}))
	held := s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/review-rounds/"+rr.round+"/assignments?submission_id="+rr.mine, rr.ops, nil)).JSON(t)
	found := false
	for _, a := range held["items"].([]any) {
		found = found || a.(map[string]any)["declined_reason"] == why
	}
	if !found {
		t.Fatalf("the review service holds no decline with the reason: %v", held)
	}

	b := newBrowser(t)
	opsBrowserSignIn(t, b, s)
	tabTo(t, b, "link", "Review rounds")
	b.Enter()
	heading(t, b, "Review rounds")
	tabTo(t, b, "link", "Round 2027")
	b.Enter()
	heading(t, b, "Round 2027")
	for range 2 { // as opened, and reloaded
		got := b.Text(browsertest.CSS("#submissions-caption + thead + tbody"))
		if !strings.Contains(got, "Bob Byname: Declined") || !strings.Contains(got, why) {
			t.Errorf("the round's reviewers read %q, want Bob's decline with why", got)
		}
		b.Open(b.CurrentURL())
	}
}
