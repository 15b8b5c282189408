package service

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/oidcdev"
)

// A round of 26 submissions with two reviewers each (52 assignments) shows its
// assignments a page of 50 at a time: the first page links to the next, which holds
// the rest and links back to the first; every submission appears on one page or the
// other, and the heading counts them all.
func TestOpsReviewRoundPageIsPaged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	const n = 26
	var subs []string
	for i := range n {
		subs = append(subs, opsSubmitted(t, s, fmt.Sprintf("org-%02d", i)))
	}
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	var members []map[string]any
	for i := range 3 {
		members = append(members, map[string]any{"reviewer_id": fmt.Sprintf("rev-%d", i),
			"name": fmt.Sprintf("Reviewer %d", i), "email": fmt.Sprintf("rev%d@other.ac.uk", i), "organisation_id": "org-other",
			"trained": true, "capacity": 20, "conflicts": []string{}})
	}
	registerReviewers(t, s.p, s.review, tok, members...)
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Review round 2027",
		"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "reviewers_per_submission": 2})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", tok, map[string]any{"submission_ids": subs}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", tok, map[string]any{}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	reviewersOn := regexp.MustCompile(`Reviewer \d: Assigned`)
	first := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+round, ops, nil), http.StatusOK, "the round's first page")
	next := regexp.MustCompile(`<a href="([^"]+)">Next page of assignments</a>`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("the first page does not link to the next")
	}
	if got := len(reviewersOn.FindAllString(first.body, -1)); got != 50 {
		t.Errorf("the first page lists %d assignments, want 50", got)
	}
	if !strings.Contains(first.body, "<dd>26</dd>") || !strings.Contains(first.body, "52 waiting for an answer") {
		t.Errorf("the heading does not count the round's 26 submissions and 52 assignments")
	}
	second := opsMustStatus(t, s.p.do("GET", html.UnescapeString(next[1]), ops, nil), http.StatusOK, "the round's second page")
	if got := len(reviewersOn.FindAllString(second.body, -1)); got != 2 {
		t.Errorf("the second page lists %d assignments, want 2", got)
	}
	if strings.Contains(second.body, "Next page of assignments") || !strings.Contains(second.body, `href="/ops/review/rounds/`+round+`">First page</a>`) {
		t.Errorf("the last page links onwards, or not back to the first")
	}
	for _, sub := range subs {
		if !strings.Contains(first.body+second.body, `href="/ops/review/rounds/`+round+`/submissions/`+sub+`"`) {
			t.Errorf("submission %s is on neither page", sub)
		}
	}
}

// A round's page names each of its submissions by what it answers, "Self-assessment
// and action plan (cycle 1)", as the review service says with the submission; it was
// listed by its bare id, a UUID that says nothing to ITSS staff. The id is still
// shown, as a hint under the name, for the form that assigns a reviewer by it.
func TestOpsReviewRoundNamesItsSubmissionsInWords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-words")
	tok := opsReviewToken(t, s, auth.Principal{Subject: "ops-setup", Role: auth.RoleOps})
	registerReviewers(t, s.p, s.review, tok, map[string]any{"reviewer_id": "rev-w", "name": "Reviewer W", "email": "revw@other.ac.uk",
		"organisation_id": "org-other", "trained": true, "capacity": 5, "conflicts": []string{}})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", tok, map[string]any{"name": "Review round 2027",
		"review_deadline": time.Now().AddDate(0, 1, 0).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", tok, map[string]any{"submission_ids": []string{sub}}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", tok, map[string]any{}))
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	page := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+round, ops, nil), http.StatusOK, "the round's page")
	links := find(parse(t, page.body), func(n *xhtml.Node) bool {
		return n.Data == "a" && attr(n, "href") == "/ops/review/rounds/"+round+"/submissions/"+sub
	})
	if len(links) != 1 {
		t.Fatalf("the round's page has %d links to its submission: %s", len(links), page.body)
	}
	if got := text(links[0]); !strings.HasPrefix(got, "Self-assessment and action plan (cycle 1)") || strings.Contains(got, sub) {
		t.Errorf("the round's submission is named %q, want what it answers", got)
	}
}
