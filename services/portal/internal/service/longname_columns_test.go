package service

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// One long unbroken name, as long as the services take, leaves the rest of its table
// on a desktop's screen: the directory's Kind, Joined, Point of contact and Action
// plan beside an organisation named 200 letters without a space, and a reviewer's
// Accept and Decline beside a round named with 150. Its cell breaks the name to fit
// (it took the whole width, and the other columns were off the screen, to be
// scrolled to); no other word is broken.
func TestALongUnbrokenNameLeavesTheOtherColumnsOnTheScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	long := strings.Repeat("Wide", 50)
	onboardOn(t, s.p, s.sig, long, "lead@wide.example.ac.uk", time.Now().AddDate(0, -1, 0))
	onboardOn(t, s.p, s.sig, "Engineering and Physical Sciences Research Council", "lead@epsrc.example.ac.uk", time.Now().AddDate(0, -1, 0))

	mint := func(pr auth.Principal) string {
		tok, err := s.env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ops := mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})
	sub := submitted(t, s.p, s.review, mint, "org-w", "University of Exampleton", "Our")
	registerReviewers(t, s.p, s.review, ops, map[string]any{
		"reviewer_id": "rev-rita", "name": "Rita Reviewer", "email": ritaEmail, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	round := s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", ops, map[string]any{"name": "Round " + strings.Repeat("X", 150),
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions", ops, map[string]any{"submission_ids": []string{sub}}))
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/assignments", ops, map[string]any{
		"action": "assign", "submission_id": sub, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	s.p.waitFor(ritaEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	rita := s.p.signIn(ritaEmail)
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.p.do("GET", "/directory", "", nil); !strings.Contains(r.body, long) {
			return fmt.Errorf("the directory = %d without the long name", r.status)
		}
		return nil
	})

	b := newBrowser(t)
	b.SetViewport(1280, 900)
	onScreen := func(path, cells string) {
		t.Helper()
		b.Open(s.p.url + path)
		client := float64(b.PageWidth().Client)
		boxes := b.Boxes(cells)
		if len(boxes) == 0 {
			t.Fatalf("%s has no %q to measure", path, cells)
		}
		for _, c := range boxes {
			if c.Right > client {
				t.Errorf("at 1280px %s draws %s to %.0fpx, off the %.0fpx screen", path, c.Element, c.Right, client)
			}
		}
		for _, word := range b.BrokenWords("main") {
			if !strings.Contains(word, "WideWide") && !strings.Contains(word, "XXXX") {
				t.Errorf("at 1280px %s draws %q broken across two lines", path, word)
			}
		}
	}
	onScreen("/directory", "main tbody td:last-child")
	b.SetCookie(s.p.url, rita)
	onScreen("/reviews", "main tbody button")
}
