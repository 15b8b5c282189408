package service

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
)

// reviewLinkRE finds the link to a review page in an assignment email.
var reviewLinkRE = regexp.MustCompile(`https?://[^\s/]+(/reviews/[A-Za-z0-9-]+/[A-Za-z0-9-]+)`)

// mailedReviewLink waits for the assignment email to email and returns its link on
// the test portal's address (the mail names the portal's public address).
func (s *stack) mailedReviewLink(t *testing.T, email string) string {
	t.Helper()
	var path string
	testenv.Eventually(t, 15*time.Second, func() error {
		s.box.mu.Lock()
		defer s.box.mu.Unlock()
		for _, msg := range s.box.msgs {
			if len(msg.to) == 1 && msg.to[0] == email {
				if m := reviewLinkRE.FindStringSubmatch(msg.text); m != nil {
					path = m[1]
					return nil
				}
			}
		}
		return fmt.Errorf("no assignment email with a review link mailed to %s", email)
	})
	return s.p.url + path
}

// A reviewer, by keyboard alone, follows the link in their assignment email, signs
// in with the link mailed to them, lands on the submission, accepts, writes the
// review beside it, meets an error (a score left out) with the focus put in the
// field and what they wrote kept, submits, and reads the other reviewer's review
// without its author's name. axe-core checks every page on the way.
func TestJourneyReviewerReviews(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	rr := startReviewRound(t, s.env, s.review, s.p)
	rr.reviewBy(t, bob, rr.mine, "Bob's summary of the plan.")
	page := "/reviews/" + rr.round + "/" + rr.mine
	b := newBrowser(t)

	// The assignment email's link asks for sign-in, and sign-in comes back to it.
	link := s.mailedReviewLink(t, ritaEmail)
	if !strings.HasSuffix(link, page) {
		t.Fatalf("the assignment email links to %s, want %s", link, page)
	}
	b.Open(link)
	heading(t, b, "Sign in")
	tabTo(t, b, "textbox", "Email address")
	b.Type(ritaEmail)
	b.Enter()
	heading(t, b, "Check your email")
	b.Open(s.mailedLink(t, ritaEmail, 0))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	if got := pagePath(t, b); got != page {
		t.Fatalf("after signing in the browser is on %s, want the review page %s", got, page)
	}
	heading(t, b, "Review a submission")
	tabTo(t, b, "button", "Accept this assignment")
	b.Enter()
	if got := pagePath(t, b); got != page {
		t.Fatalf("after accepting the browser is on %s", got)
	}
	// The submission is beside the form: each theme's narrative by its fields.
	if got := b.Text(browsertest.CSS("#theme-1 + .review-columns .review-submission")); !strings.Contains(got, "Exampleton's position on recognition.") ||
		!strings.Contains(got, "Exampleton's award for technicians") {
		t.Fatalf("beside the recognition fields the submission reads %q", got)
	}
	screenshot(b, "review-form")

	// Scores by the arrow keys in each theme's group of radios; recognition's is
	// left out.
	themes := []string{"Visibility", "Recognition", "Career development", "Sustainability"}
	for i, theme := range themes {
		if i != 1 {
			tabTo(t, b, "radio", "1")
			b.Type(kb.ArrowDown + kb.ArrowDown) // 3
		}
		tabTo(t, b, "textbox", theme+": strengths")
		b.Type("Strong on " + strings.ToLower(theme) + ".")
		tabTo(t, b, "textbox", theme+": recommendations")
		b.Type("More on " + strings.ToLower(theme) + ".")
	}
	tabTo(t, b, "textbox", "Summary of your review")
	b.Type("A credible plan, shaped by its technicians.")
	tabTo(t, b, "button", "Submit your review")
	b.Enter()

	// Refused: the summary says what is wrong and has the focus, its link leads to
	// the group of the score left out, the group is described by its message, and
	// nothing typed is lost.
	heading(t, b, "Review a submission")
	if got := b.Text(browsertest.CSS(".error-summary")); !strings.Contains(got, "Select a score for recognition") {
		t.Fatalf("the error summary reads %q", got)
	}
	errorSummaryHasFocus(t, b, "field-themes-1-score", "1")
	b.CheckFocusVisible(t)
	b.WaitFor(browsertest.CSS(`#field-themes-1-score-4[aria-invalid="true"]`))
	if got := b.Text(browsertest.CSS("#field-themes-1-score-error")); !strings.HasPrefix(got, "Error:") {
		t.Errorf("the message beside the score reads %q", got)
	}
	b.WaitFor(browsertest.CSS(`fieldset[aria-describedby="field-themes-1-score-error"]`))
	if got := b.Value(browsertest.Label("Sustainability: recommendations")); got != "More on sustainability." {
		t.Errorf("the recommendations typed were not kept: %q", got)
	}
	if got := b.Value(browsertest.Label("Summary of your review")); got != "A credible plan, shaped by its technicians." {
		t.Errorf("the summary typed was not kept: %q", got)
	}
	b.Space()            // 1
	b.Type(kb.ArrowDown) // 2
	tabTo(t, b, "button", "Submit your review")
	b.Enter()

	// In: the reviewer's own review, and the other reviewer's, unnamed.
	heading(t, b, "Your review")
	if got := pagePath(t, b); got != page {
		t.Fatalf("after submitting the browser is on %s", got)
	}
	if got := b.Text(browsertest.CSS(".review-other h3")); got != "Reviewer 1" {
		t.Errorf("the other review is headed %q", got)
	}
	other := b.Text(browsertest.CSS(".review-other"))
	if !strings.Contains(other, "Bob's summary of the plan.") || strings.Contains(other, "Bob Byname") {
		t.Errorf("the other review reads %q", other)
	}
	if mine := b.Text(browsertest.CSS(".review-own")); !strings.Contains(mine, "Score: 2 out of 4") || !strings.Contains(mine, "Score: 3 out of 4") ||
		!strings.Contains(mine, "A credible plan, shaped by its technicians.") {
		t.Errorf("the page does not show the review submitted: %q", mine)
	}
	screenshot(b, "review-done")
	tabTo(t, b, "link", "Your review assignments")
	b.Enter()
	heading(t, b, "Your review assignments")
	if got := b.Text(browsertest.CSS("tbody")); !strings.Contains(got, "Review submitted") {
		t.Errorf("the assignments read %q", got)
	}
}
