package service

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// shownText is the text a page shows (its elements' text, not their attributes,
// where links and forms carry ids).
func shownText(tb testing.TB, body string) string {
	tb.Helper()
	return text(parse(tb, body))
}

// notShowing checks a page's text names none of ids: a submission's id tells a
// person nothing.
func notShowing(t *testing.T, what, body string, ids ...string) {
	t.Helper()
	shown := shownText(t, body)
	for _, id := range ids {
		if strings.Contains(shown, id) {
			t.Errorf("%s shows the id %s: %s", what, id, shown)
		}
	}
}

// A reviewer with several assignments tells them apart by whose submission each
// is, as their emails say ("University of S's submission"), on the list (its
// column and the buttons' labels) and on the review page; the review service's
// refusal of a second review names the submission so too, as a sentence.
func TestAReviewerSeesWhoseSubmissionEachAssignmentIs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/assignments", rr.ops, map[string]any{
		"action": "assign", "submission_id": rr.theirs, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	cookie := p.signIn(ritaEmail)

	list := p.do("GET", "/reviews", cookie, nil)
	doc := parse(t, list.body)
	var whose []string
	for _, row := range find(doc, element("tr")) {
		if cells := find(row, element("td")); len(cells) == 5 {
			whose = append(whose, text(cells[1]))
		}
	}
	if list.status != http.StatusOK || len(whose) != 2 || !strings.Contains(strings.Join(whose, "|"), "University of S's submission") ||
		!strings.Contains(strings.Join(whose, "|"), "Othertown College's submission") {
		t.Fatalf("the assignments' submission column reads %q (%d): %s", whose, list.status, list.body)
	}
	for _, label := range []string{"Open University of S's submission (Round 2027)", "Accept University of S's submission (Round 2027)",
		"Decline Othertown College's submission (Round 2027)", "Reason for declining Othertown College's submission (Round 2027)"} {
		if !strings.Contains(shownText(t, list.body), label) {
			t.Errorf("the assignments page has no control labelled %q", label)
		}
	}
	notShowing(t, "the assignments page", list.body, rr.mine, rr.theirs)
	notIsolated(t, "the assignments page", list.body, "University of S", "Othertown College")

	page := "/reviews/" + rr.round + "/" + rr.mine
	r := p.do("GET", page, cookie, nil)
	captions := find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "caption" })
	if r.status != http.StatusOK || len(captions) != 1 || text(captions[0]) != "Round 2027: University of S's submission" {
		t.Fatalf("the review page = %d, caption %v: %s", r.status, captions, r.body)
	}
	notShowing(t, "the review page", r.body, rr.mine)
	// Its title says whose too, so that tabs of several assignments are told apart.
	if titles := titleTexts(find(parse(t, r.body), element("title"))); len(titles) != 1 || !strings.Contains(titles[0], "University of S's submission (Round 2027)") {
		t.Errorf("the review page's title is %v, want it to name University of S's submission (Round 2027)", titles)
	}

	p.do("POST", page+"/respond", cookie, url.Values{"accept": {"true"}, "next": {"review"}})
	if r := p.do("POST", page, cookie, reviewForm("Rita's summary.")); r.status != http.StatusSeeOther {
		t.Fatalf("submitting = %d: %s", r.status, r.body)
	}
	r = p.do("POST", page, cookie, reviewForm("Once more."))
	if r.status != http.StatusConflict || !strings.Contains(shownText(t, r.body), "You have already submitted your review of University of S's submission") {
		t.Fatalf("submitting twice = %d: %s", r.status, r.body)
	}
	notShowing(t, "the refusal of a second review", r.body, rr.mine)
}

// A lead knows their organisation's submissions by cycle and the day each was
// received, not by the review service's ids: the editor's previous submission and
// earlier submissions, the link to the feedback on one, and the feedback page say
// which submission by those.
func TestALeadSeesSubmissionsByCycleAndDay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	const lead = "lead@cycleton.ac.uk"
	org := onboardOn(t, s.p, s.sig, "University of Cycleton", lead, time.Now().AddDate(0, -13, 0))
	mint := func(pr auth.Principal) string {
		tok, err := s.env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rr := &reviewRound{review: s.review, mint: mint, ops: mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})}
	rr.mine = draftAndSubmit(t, s.review, mint, org, "Cycleton's")
	registerReviewers(t, s.p, s.review, rr.ops, map[string]any{
		"reviewer_id": "rev-rita", "name": "Rita Reviewer", "email": ritaEmail, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{}})
	rr.round = s.review.Must(http.StatusCreated, s.review.Do("POST", "/v1/review-rounds", rr.ops, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 1})).JSON(t)["id"].(string)
	base := "/v1/review-rounds/" + rr.round
	s.review.Must(http.StatusOK, s.review.Do("POST", base+"/submissions", rr.ops, map[string]any{"submission_ids": []string{rr.mine}}))
	s.review.Must(http.StatusOK, s.review.Do("POST", base+"/assignments", rr.ops, map[string]any{
		"action": "assign", "submission_id": rr.mine, "reviewer_id": "rev-rita", "reason": "Knows the sector"}))
	rr.reviewBy(t, auth.Principal{Subject: "rev-rita", Role: auth.RoleReviewer, Org: "org-other"}, rr.mine, "A credible plan.")
	s.review.Must(http.StatusOK, s.review.Do("POST", base+"/closure", rr.ops, map[string]any{}))
	s.review.Must(http.StatusOK, s.review.Do("POST", base+"/submissions/"+rr.mine+"/feedback", rr.ops, map[string]any{"feedback": "The reviewers commend the plan."}))
	received, err := time.Parse(time.RFC3339, storedSubmission(t, s, org, rr.mine)["submitted_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	when := "Cycle 1, received " + opsLongDate(received)
	cookie := s.p.signIn(lead)

	// The next cycle's editor, once the signatory opened it and the review service
	// lists the first cycle's submission with its feedback.
	editor := "/obligations/" + org + "/submission"
	var page response
	testenv.Eventually(t, 20*time.Second, func() error {
		page = s.p.do("GET", editor, cookie, nil)
		if !strings.Contains(page.body, "Your previous submission") || !strings.Contains(page.body, "Earlier submissions") || !strings.Contains(page.body, "Read the feedback on it") {
			return fmt.Errorf("the next cycle's editor reads: %s", page.body)
		}
		return nil
	})
	shown := shownText(t, page.body)
	if !strings.Contains(shown, "Your previous submission "+when+". Read the feedback on it.") {
		t.Errorf("the previous submission is not named by cycle and day (%q): %s", when, shown)
	}
	if !strings.Contains(shown, "Feedback released: "+when) {
		t.Errorf("the link to the earlier submission's feedback is not labelled by cycle and day (%q): %s", when, shown)
	}
	notShowing(t, "the editor", page.body, rr.mine)

	fb := s.p.do("GET", "/obligations/"+org+"/feedback/"+rr.mine, cookie, nil)
	captions := find(parse(t, fb.body), func(n *html.Node) bool { return attr(n, "class") == "caption" })
	if fb.status != http.StatusOK || len(captions) != 1 || text(captions[0]) != when {
		t.Fatalf("the feedback page = %d, caption %v, want %q: %s", fb.status, captions, when, fb.body)
	}
	notShowing(t, "the feedback page", fb.body, rr.mine)

	// Every page of the lead's about the organisation names it in its title, so
	// that tabs, history and a screen reader's reading of the title tell them apart.
	for _, path := range []string{"/obligations/" + org, editor, "/obligations/" + org + "/contacts",
		"/obligations/" + org + "/feedback/" + rr.mine, "/organisations/" + org + "/tokens"} {
		r := s.p.do("GET", path, cookie, nil)
		titles := find(parse(t, r.body), element("title"))
		if r.status != http.StatusOK || len(titles) != 1 || !strings.Contains(text(titles[0]), "University of Cycleton") {
			t.Errorf("GET %s = %d, title %v: want the page's title to name University of Cycleton", path, r.status, titleTexts(titles))
		}
	}
}

func titleTexts(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, text(n))
	}
	return out
}

// An organisation's history names a change its lead made as the lead's, not by
// the pseudonym the service recorded for them ("lead:p-…"), which says nothing to
// ITSS staff.
func TestOrganisationHistoryNamesTheLeadsChanges(t *testing.T) {
	t.Parallel()
	s := startStack(t, false)
	const lead = "lead@historyton.ac.uk"
	org := onboardOn(t, s.p, s.sig, "University of Historyton", lead, time.Now().AddDate(0, -1, 0))
	cookie := s.p.signIn(lead)
	path := "/obligations/" + org + "/contacts"
	form := parse(t, s.p.do("GET", path, cookie, nil).body)
	v := url.Values{"plan_page": {"https://www.example.ac.uk/tc-plan"}}
	for _, role := range []string{"leader", "nominated_lead", "point_of_contact"} {
		for _, part := range []string{"name", "title", "email"} {
			v.Set(role+"."+part, value(form, "field-"+role+"-"+part))
		}
	}
	if version, ok := hiddenField(form, "version"); ok {
		v.Set("version", version)
	}
	if r := s.p.do("POST", path, cookie, v); r.status != http.StatusSeeOther {
		t.Fatalf("the lead's save of the contacts = %d: %s", r.status, r.body)
	}

	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	page := opsMustStatus(t, s.p.do("GET", "/ops/organisations/"+org, ops, nil), http.StatusOK, "the organisation's page")
	var who []string
	for _, tb := range find(parse(t, page.body), func(n *html.Node) bool { return attr(n, "class") == "table history" }) {
		for _, tr := range find(tb, element("tr")) {
			if cells := find(tr, element("td")); len(cells) == 3 {
				who = append(who, text(cells[2]))
			}
		}
	}
	if len(who) == 0 || who[len(who)-1] != "The organisation's lead" {
		t.Errorf("the history names %q, want the last change the organisation's lead's", who)
	}
	pseudonym := pseudonymOf(t, lead)
	notShowing(t, "the organisation's page", page.body, pseudonym, "lead:")
}
