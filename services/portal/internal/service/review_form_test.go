package service

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// reviewRound is a round of the real review service with two submissions: "mine",
// from the University of S, assigned to Rita (who signs in to the portal) and to
// Bob; and "theirs", from Othertown, assigned to Carol only.
type reviewRound struct {
	round, mine, theirs string
	ops                 string // an ops token for the review service
	review              *testenv.Client
	mint                func(auth.Principal) string
}

const (
	ritaEmail = "rita@reviewers.example"
	bobEmail  = "bob@reviewers.example"
)

// bob is Rita's fellow reviewer of "mine", calling the review service himself.
var bob = auth.Principal{Subject: "rev-bob", Role: auth.RoleReviewer, Org: "org-other"}

func startReviewRound(t *testing.T, env *testenv.Env, review *testenv.Client, p *portal) *reviewRound {
	t.Helper()
	rr := &reviewRound{review: review}
	rr.mint = func(pr auth.Principal) string {
		tok, err := env.Issuer.MintFor(pr, time.Hour, config.DevAudience("review"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rr.ops = rr.mint(auth.Principal{Subject: "ops-1", Role: auth.RoleOps})
	rr.mine = submitted(t, p, review, rr.mint, "org-s", "University of S", "Exampleton's")
	rr.theirs = submitted(t, p, review, rr.mint, "org-t", "Othertown College", "Othertown's")
	for _, r := range []struct{ id, name, email string }{
		{"rev-rita", "Rita Reviewer", ritaEmail}, {"rev-bob", "Bob Byname", bobEmail}, {"rev-carol", "Carol Reviewer", "carol@reviewers.example"},
	} {
		registerReviewers(t, p, review, rr.ops, map[string]any{
			"reviewer_id": r.id, "name": r.name, "email": r.email, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{},
		})
	}
	rr.round = review.Must(http.StatusCreated, review.Do("POST", "/v1/review-rounds", rr.ops, map[string]any{"name": "Round 2027",
		"review_deadline": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339), "reviewers_per_submission": 2})).JSON(t)["id"].(string)
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/submissions", rr.ops, map[string]any{"submission_ids": []string{rr.mine, rr.theirs}}))
	for _, a := range []struct{ sub, reviewer string }{{rr.mine, "rev-rita"}, {rr.mine, "rev-bob"}, {rr.theirs, "rev-carol"}} {
		review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/assignments", rr.ops, map[string]any{
			"action": "assign", "submission_id": a.sub, "reviewer_id": a.reviewer, "reason": "Knows the sector"}))
	}
	p.waitFor(ritaEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	return rr
}

// submitted makes org (announced, with its first obligation open) submit a
// self-assessment and action plan whose words start with voice, and returns it.
func submitted(t *testing.T, p *portal, review *testenv.Client, mint func(auth.Principal) string, org, name, voice string) string {
	t.Helper()
	p.publish("/tc/signatory", org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: name, Kind: "signatory",
		AnnouncedOn: civil.New(2026, 3, 20), NominatedLead: events.Person{Name: "Lead of " + org, Email: "lead@" + org + ".ac.uk"}})
	p.publish("/tc/signatory", org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: name, ObligationID: org + "-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2027, 9, 20)})
	return draftAndSubmit(t, review, mint, org, voice)
}

// draftAndSubmit has org's lead draft and submit a self-assessment and action plan
// whose words start with voice, once the review service knows the organisation's
// open obligation, and returns it.
func draftAndSubmit(t *testing.T, review *testenv.Client, mint func(auth.Principal) string, org, voice string) string {
	t.Helper()
	lead := mint(auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org})
	var sa []map[string]any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		sa = append(sa, map[string]any{"theme": th, "narrative": voice + " position on " + th + ".\n\nSecond paragraph on " + th + ".", "rating": 2})
	}
	var sub string
	testenv.Eventually(t, 10*time.Second, func() error {
		r := review.Do("POST", "/v1/submissions", lead, map[string]any{
			"self_assessment": sa,
			"action_plan": []map[string]any{
				{"theme": "recognition", "action": voice + " award for technicians", "owner": "HR", "success_measure": "Awarded yearly", "target_date": "2027-06-30"},
			},
			"technician_voice": map[string]any{"how_consulted": voice + " survey and focus groups", "participants": 120},
			"webpage":          "https://example.ac.uk/tc",
		})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		sub = r.JSON(t)["id"].(string)
		return nil
	})
	review.Must(http.StatusOK, review.Do("POST", "/v1/submissions/"+sub+"/submission", lead, nil))
	return sub
}

// reviewForm is the form filled in completely, as a reviewer would.
func reviewForm(summary string) url.Values {
	v := url.Values{"summary": {summary}}
	for i, th := range []string{"visibility", "recognition", "career development", "sustainability"} {
		v.Set(fmt.Sprintf("themes.%d.score", i), "3")
		v.Set(fmt.Sprintf("themes.%d.strengths", i), "Strong on "+th+".")
		v.Set(fmt.Sprintf("themes.%d.recommendations", i), "More on "+th+".")
	}
	return v
}

// reviewBy submits a complete review as pr through the review service.
func (rr *reviewRound) reviewBy(t *testing.T, pr auth.Principal, sub, summary string) {
	t.Helper()
	tok := rr.mint(pr)
	base := "/v1/review-rounds/" + rr.round + "/submissions/" + sub
	rr.review.Must(http.StatusOK, rr.review.Do("POST", base+"/response", tok, map[string]any{"accept": true}))
	var themes []map[string]any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": th, "score": 2, "strengths": "Bob's strengths on " + th, "recommendations": "Bob's advice on " + th})
	}
	rr.review.Must(http.StatusOK, rr.review.Do("POST", base+"/reviews", tok, map[string]any{"themes": themes, "summary": summary}))
}

// errorBeside checks a refused form: 400, the error summary linking to the field's
// input, and the message beside the field, which is described by it.
func errorBeside(t *testing.T, r response, field, words string) {
	t.Helper()
	id := "field-" + strings.ReplaceAll(field, ".", "-")
	doc := parse(t, r.body)
	links := find(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#"+id })
	msgs := find(doc, func(n *html.Node) bool { return attr(n, "id") == id+"-error" })
	inputs := find(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	switch {
	case r.status != http.StatusBadRequest:
		t.Fatalf("status = %d, want 400: %s", r.status, r.body)
	case len(links) != 1 || !strings.Contains(text(links[0]), words):
		t.Fatalf("the error summary has no link to %s saying %q: %s", id, words, r.body)
	case len(msgs) != 1 || !strings.Contains(text(msgs[0]), words):
		t.Fatalf("no message beside %s saying %q: %s", id, words, r.body)
	case len(inputs) != 1:
		t.Fatalf("no field %s: %s", id, r.body)
	}
	// The error summary has the focus when the page opens, and the field says it is
	// in error.
	if summary := find(doc, func(n *html.Node) bool { return n.Data == "div" && attr(n, "class") == "error-summary" }); len(summary) != 1 {
		t.Errorf("no error summary: %s", r.body)
	} else if _, ok := attrOK(summary[0], "autofocus"); !ok {
		t.Errorf("the error summary does not have the focus")
	}
	if v, _ := attrOK(inputs[0], "aria-invalid"); v != "true" {
		t.Errorf("%s is not aria-invalid", id)
	}
	// A fieldset of radios is described by its message; a text area itself is (and
	// by its hint, which says its limit).
	described := find(doc, func(n *html.Node) bool {
		return slices.Contains(strings.Fields(attr(n, "aria-describedby")), id+"-error")
	})
	if len(described) != 1 {
		t.Errorf("nothing is described by the message of %s", id)
	}
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// textareaValue is what a text area on the page holds.
func textareaValue(t *testing.T, body, name string) string {
	t.Helper()
	for _, n := range find(parse(t, body), element("textarea")) {
		if attr(n, "name") == name {
			return text(n)
		}
	}
	t.Fatalf("no text area %s", name)
	return ""
}

// checkedScore is the score chosen for a theme on the page, "" when none is.
func checkedScore(t *testing.T, body string, theme int) string {
	t.Helper()
	name := fmt.Sprintf("themes.%d.score", theme)
	for _, n := range find(parse(t, body), element("input")) {
		if _, checked := attrOK(n, "checked"); attr(n, "name") == name && checked {
			return attr(n, "value")
		}
	}
	return ""
}

// A reviewer opens the page an assignment email links to, accepts from it, reads
// the submission beside the form, is refused with each problem beside its field
// (the portal's checks and the review service's alike) with what they typed kept,
// submits, and then reads the other review, unnamed. A review ITSS returns shows
// the reason and comes back to the form as it was, to revise and resubmit.
func TestReviewerWritesAReview(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	page := "/reviews/" + rr.round + "/" + rr.mine
	cookie := p.signIn(ritaEmail)

	// Not yet accepted: the submission, and the way to accept; no form.
	r := p.do("GET", page, cookie, nil)
	if r.status != http.StatusOK || h1(t, r.body) != "Review a submission" || !strings.Contains(r.body, "Accept this assignment") ||
		!strings.Contains(r.body, "Exampleton&#39;s position on recognition.") || strings.Contains(r.body, `name="summary"`) {
		t.Fatalf("the page before accepting = %d: %s", r.status, r.body)
	}
	r = p.do("POST", page+"/respond", cookie, url.Values{"accept": {"true"}, "next": {"review"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
		t.Fatalf("accepting from the review page = %d to %q", r.status, r.header.Get("Location"))
	}

	// The form, beside the submission: each theme's narrative (in its paragraphs),
	// self-rating and actions, the technician voice and the published plan.
	r = p.do("GET", page, cookie, nil)
	for _, want := range []string{`<p class="written">Exampleton&#39;s position on career_development.</p>`, `<p class="written">Second paragraph on career_development.</p>`,
		"2 out of 4", "Exampleton&#39;s award for technicians", "Exampleton&#39;s survey and focus groups", "https://example.ac.uk/tc",
		`name="themes.3.recommendations"`, `name="summary"`, "Submit your review"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("the form lacks %q: %s", want, r.body)
		}
	}
	if strings.Contains(r.body, "Othertown") {
		t.Fatalf("the page shows another submission: %s", r.body)
	}
	// The form is a plain HTML form: it works with scripts off.
	if len(find(parse(t, r.body), element("script"))) != 0 {
		t.Errorf("the review page has a script")
	}

	// A score left out is refused beside its field; everything typed is kept.
	f := reviewForm("Rita's summary.\r\n\r\nWith a second paragraph.")
	f.Del("themes.1.score")
	r = p.do("POST", page, cookie, f)
	errorBeside(t, r, "themes.1.score", "Select a score for recognition")
	if got := textareaValue(t, r.body, "summary"); got != "Rita's summary. With a second paragraph." {
		t.Errorf("the summary typed is not kept: %q", got)
	}
	if got, other := checkedScore(t, r.body, 1), checkedScore(t, r.body, 2); got != "" || other != "3" {
		t.Errorf("scores shown again = %q and %q, want none and 3", got, other)
	}
	// A score the form does not offer (an edited page) is refused the same way.
	f = reviewForm("Rita's summary.")
	f.Set("themes.0.score", "9")
	errorBeside(t, p.do("POST", page, cookie, f), "themes.0.score", "from 1 to 4")

	// Text the review service refuses (a control character) is shown beside the
	// field the service names, in its words, with what was typed kept.
	f = reviewForm("Rita's summary.")
	f.Set("themes.2.strengths", "Bell \a here")
	r = p.do("POST", page, cookie, f)
	errorBeside(t, r, "themes.2.strengths", "Strengths on career development must not contain control characters")
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != "Strong on visibility." {
		t.Errorf("the strengths typed are not kept: %q", got)
	}

	// Submitted: the caller's own review; Bob's is not shown until he submits his.
	r = p.do("POST", page, cookie, reviewForm("Rita's summary."))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
		t.Fatalf("submitting = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	r = p.do("GET", page, cookie, nil)
	if h1(t, r.body) != "Your review" || !strings.Contains(r.body, "Rita&#39;s summary.") || !strings.Contains(r.body, "No other reviewer has submitted a review yet") ||
		strings.Contains(r.body, `name="summary"`) {
		t.Fatalf("after submitting: %s", r.body)
	}
	rr.reviewBy(t, bob, rr.mine, "Bob's summary.")
	r = p.do("GET", page, cookie, nil)
	if !strings.Contains(r.body, "<h3>Reviewer 1</h3>") || !strings.Contains(r.body, "Bob&#39;s summary.") || !strings.Contains(r.body, "Bob&#39;s advice on sustainability") {
		t.Fatalf("the other review is not shown: %s", r.body)
	}
	for _, name := range []string{"Bob Byname", "rev-bob", bobEmail} {
		if strings.Contains(r.body, name) {
			t.Errorf("the other review names its author (%s)", name)
		}
	}

	// ITSS returns Rita's review: the page says why and gives her the form back as
	// she sent it; revised, it is in again.
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/submissions/"+rr.mine+"/reviews/rev-rita/revision-request", rr.ops,
		map[string]any{"reason": "Please say what the recognition score rests on."}))
	r = p.do("GET", page, cookie, nil)
	if !strings.Contains(r.body, "ITSS returned your review for revision") || !strings.Contains(r.body, "Please say what the recognition score rests on.") ||
		textareaValue(t, r.body, "themes.1.strengths") != "Strong on recognition." || checkedScore(t, r.body, 1) != "3" {
		t.Fatalf("the returned review: %s", r.body)
	}
	if list := p.do("GET", "/reviews", cookie, nil); !strings.Contains(list.body, "Returned for revision") {
		t.Errorf("the assignments do not say the review was returned: %s", list.body)
	}
	f = reviewForm("Rita's revised summary.")
	f.Set("themes.1.score", "2")
	if r = p.do("POST", page, cookie, f); r.status != http.StatusSeeOther {
		t.Fatalf("resubmitting = %d: %s", r.status, r.body)
	}
	r = p.do("GET", page, cookie, nil)
	if h1(t, r.body) != "Your review" || !strings.Contains(r.body, "Rita&#39;s revised summary.") || strings.Contains(r.body, "returned your review") {
		t.Fatalf("after resubmitting: %s", r.body)
	}
	// Submitting again is the service's refusal, shown on the page, not a failure.
	if r = p.do("POST", page, cookie, reviewForm("Once more.")); r.status != http.StatusConflict || !strings.Contains(r.body, "already submitted") {
		t.Fatalf("submitting twice = %d: %s", r.status, r.body)
	}
}

// A reviewer cannot open or post to the review page of a submission they are not
// assigned to (it is "no assignment of yours" and shows nothing of it, and no review is
// recorded), nor of one that does not exist; a lead cannot use the reviewer's pages
// at all.
func TestReviewPagesAreTheAssignedReviewersOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	rita := p.signIn(ritaEmail)
	// Rita has accepted her own assignment: the form would show, were it hers.
	p.do("POST", "/reviews/"+rr.round+"/"+rr.mine+"/respond", rita, url.Values{"accept": {"true"}})

	theirs := "/reviews/" + rr.round + "/" + rr.theirs
	for _, path := range []string{theirs, "/reviews/" + rr.round + "/no-such-submission", "/reviews/no-such-round/" + rr.mine, "/reviews/" + rr.round + "/bad%20id"} {
		r := p.do("GET", path, rita, nil)
		if r.status != http.StatusNotFound || h1(t, r.body) != "No assignment of yours for this submission" || strings.Contains(r.body, "Othertown") {
			t.Errorf("GET %s = %d: %s", path, r.status, r.body)
		}
	}
	if r := p.do("POST", theirs, rita, reviewForm("Not mine to review.")); r.status != http.StatusNotFound || strings.Contains(r.body, "Othertown") {
		t.Errorf("posting a review of a submission not assigned = %d: %s", r.status, r.body)
	}
	// Another site cannot post a review in her name: her cookie goes with a
	// cross-site post, but the portal refuses it before reading it.
	if r := p.do("POST", "/reviews/"+rr.round+"/"+rr.mine, rita, reviewForm("Posted from elsewhere."), "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("a cross-site post of a review = %d, want 403", r.status)
	}
	// Nor does a bad form there tell her anything about it.
	if r := p.do("POST", theirs, rita, url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("posting an empty review of a submission not assigned = %d", r.status)
	}
	for _, sub := range []string{rr.theirs, rr.mine} {
		reviews := review.Must(http.StatusOK, review.Do("GET", "/v1/review-rounds/"+rr.round+"/submissions/"+sub+"/reviews", rr.ops, nil)).JSON(t)
		if items := reviews["items"].([]any); len(items) != 0 {
			t.Errorf("a review was recorded on %s: %v", sub, items)
		}
	}

	// A lead, signed in, is not a reviewer: every reviewer page is "not found".
	p.addLead("org-s", "lead@org-s.ac.uk")
	lead := p.signIn("lead@org-s.ac.uk")
	mine := "/reviews/" + rr.round + "/" + rr.mine
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{{"GET", "/reviews", nil}, {"GET", mine, nil}, {"POST", mine, reviewForm("A lead's review.")}, {"POST", mine + "/respond", url.Values{"accept": {"true"}}}} {
		if r := p.do(req.method, req.path, lead, req.form); r.status != http.StatusNotFound || strings.Contains(r.body, "position on") {
			t.Errorf("a lead's %s %s = %d: %s", req.method, req.path, r.status, r.body)
		}
	}
	// And nobody signed in is sent to sign in, not shown the page.
	if r := p.do("GET", mine, "", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Errorf("GET %s signed out = %d to %q", mine, r.status, r.header.Get("Location"))
	}
}

// ritaAccepts starts a round in which Rita reviews a submission (startReviewRound),
// signs her in and accepts it: the set-up of the tests of the review page itself.
// page is her review's page and rita her session.
func ritaAccepts(t *testing.T) (review *testenv.Client, p *portal, rr *reviewRound, page, rita string) {
	t.Helper()
	env, review, p := withReview(t)
	rr = startReviewRound(t, env, review, p)
	page = "/reviews/" + rr.round + "/" + rr.mine
	rita = p.signIn(ritaEmail)
	p.do("POST", page+"/respond", rita, url.Values{"accept": {"true"}})
	return review, p, rr, page, rita
}

// A review sent twice at once (a double click, two tabs) is taken once: one answer
// takes the reviewer to their review, the others say it is already in, and none
// fails.
func TestAReviewSentTwiceAtOnceIsTakenOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)

	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = p.do("POST", page, rita, reviewForm(fmt.Sprintf("Summary %d.", i))).status })
	}
	wg.Wait()
	taken := 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			taken++
		case http.StatusConflict:
		default:
			t.Errorf("a concurrent review was answered %d", s)
		}
	}
	if taken != 1 {
		t.Errorf("%d of %d concurrent reviews were taken (statuses %v), want 1", taken, n, statuses)
	}
	reviews := review.Must(http.StatusOK, review.Do("GET", "/v1/review-rounds/"+rr.round+"/submissions/"+rr.mine+"/reviews", rr.ops, nil)).JSON(t)
	if items := reviews["items"].([]any); len(items) != 1 {
		t.Errorf("reviews recorded = %d, want 1", len(items))
	}
}
