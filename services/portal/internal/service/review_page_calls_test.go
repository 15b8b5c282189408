package service

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The review page asks the review service for the submission's reviews only when it
// has one to show: the list loads the whole round in the service, so that the page
// cost what the round holds, and before the reviewer's own review is in the list is
// empty (the others' are shown only after). Before, every view of the page asked.
func TestTheReviewPageAsksForTheReviewsOnlyWhenThereAreSome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	p, review, calls := startCountedReview(t)
	rr := startReviewRound(t, p.env, review, p)
	page := "/reviews/" + rr.round + "/" + rr.mine
	reviews := "/v1/review-rounds/" + rr.round + "/submissions/" + rr.mine + "/reviews"
	cookie := p.signIn(ritaEmail)
	rr.reviewBy(t, bob, rr.mine, "Bob's summary.")

	for _, step := range []struct {
		what  string
		do    func()
		asked int
		shows []string
		not   []string
	}{
		{"before accepting", func() {}, 0, []string{"Accept this assignment"}, []string{"Bob&#39;s summary."}},
		{"accepted, writing", func() {
			if r := p.do("POST", page+"/respond", cookie, url.Values{"accept": {"true"}, "next": {"review"}}); r.status != http.StatusSeeOther {
				t.Fatalf("accepting = %d", r.status)
			}
		}, 0, []string{`name="summary"`}, []string{"Bob&#39;s summary."}},
		{"reviewed", func() {
			if r := p.do("POST", page, cookie, reviewForm("Rita's summary.")); r.status != http.StatusSeeOther {
				t.Fatalf("the review = %d: %s", r.status, r.body)
			}
		}, 1, []string{"Rita&#39;s summary.", "Bob&#39;s summary."}, nil},
	} {
		step.do()
		calls.reset()
		r := p.do("GET", page, cookie, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: the page = %d", step.what, r.status)
		}
		if n := calls.count("GET", reviews); n != step.asked {
			t.Errorf("%s: the page asked for the reviews %d times, want %d", step.what, n, step.asked)
		}
		for _, want := range step.shows {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: the page lacks %q", step.what, want)
			}
		}
		for _, not := range step.not {
			if strings.Contains(r.body, not) {
				t.Errorf("%s: the page shows %q", step.what, not)
			}
		}
	}
}
