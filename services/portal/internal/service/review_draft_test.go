package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/browsertest"
	"github.com/itss/techcommit/services/portal/internal/reviewdrafts"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// savedCopies counts the portal's saved copies of reviews (every version) that
// the person with this address saved.
func savedCopies(t *testing.T, p *portal, email string) int {
	t.Helper()
	n, err := p.svc.DB.Collection(reviewdrafts.Collection).CountDocuments(context.Background(), map[string]any{"person": pseudonymOf(t, email)})
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// savedByBoth has Rita and Bob accept their assignment to "mine" and each save a
// review of it part-way ("Words of <their address>").
func savedByBoth(t *testing.T, p *portal, rr *reviewRound) {
	t.Helper()
	page := "/reviews/" + rr.round + "/" + rr.mine
	p.waitFor(bobEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	for _, email := range []string{ritaEmail, bobEmail} {
		c := p.signIn(email)
		p.do("POST", page+"/respond", c, url.Values{"accept": {"true"}})
		if r := p.do("POST", page+"/draft", c, partWay("Words of "+email, "0")); r.status != http.StatusSeeOther {
			t.Fatalf("saving = %d: %s", r.status, r.body)
		}
	}
}

// partWay is a review form half written: one theme scored and begun, the rest
// empty, as the page would post it from a page opened with the saved version.
func partWay(strengths, version string) url.Values {
	return url.Values{"themes.0.score": {"2"}, "themes.0.strengths": {strengths}, "themes.2.recommendations": {"To come."},
		"summary": {""}, "draft_version": {version}}
}

// A reviewer saves a review part-way and comes back to it: the page is filled from
// what they saved and says it is not sent yet; nothing reaches the review service.
// What the submit would refuse for its size is refused on saving too, and nothing
// is saved; what is missing is not. Another reviewer of the same submission sees
// none of it, and one not assigned cannot save at all. Once the review is submitted
// the saved copy is gone.
func TestAReviewSavedPartWayComesBackUntilSubmitted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)

	r := p.do("GET", page, rita, nil)
	if !strings.Contains(r.body, "Save and come back later") || strings.Contains(r.body, "not sent to ITSS yet") || hidden(parse(t, r.body), "draft_version") != "0" {
		t.Fatalf("the form before saving: %s", r.body)
	}
	r = p.do("POST", page+"/draft", rita, partWay("Half a thought.\r\nOn two lines.", "0"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
		t.Fatalf("saving part-way = %d to %q: %s", r.status, r.header.Get("Location"), r.body)
	}

	// Reopened (a new sign-in: the browser closed), the form is as saved.
	rita = p.signIn(ritaEmail)
	r = p.do("GET", page, rita, nil)
	saved := find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "id") == "review-saved" })
	if len(saved) != 1 || !strings.HasPrefix(text(saved[0]), "Saved ") || !strings.HasSuffix(text(saved[0]), "; not sent to ITSS yet.") {
		t.Errorf("the page does not say the review is saved and not sent: %s", r.body)
	}
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != "Half a thought. On two lines." {
		t.Errorf("strengths on visibility = %q, want as saved", got)
	}
	if got := textareaValue(t, r.body, "themes.2.recommendations"); got != "To come." {
		t.Errorf("recommendations on career development = %q, want as saved", got)
	}
	if got, none := checkedScore(t, r.body, 0), checkedScore(t, r.body, 1); got != "2" || none != "" {
		t.Errorf("scores = %q and %q, want 2 and none", got, none)
	}
	if v := hidden(parse(t, r.body), "draft_version"); v != "1" {
		t.Errorf("the page carries version %q of the saved copy, want 1", v)
	}
	reviews := review.Must(http.StatusOK, review.Do("GET", "/v1/review-rounds/"+rr.round+"/submissions/"+rr.mine+"/reviews", rr.ops, nil)).JSON(t)
	if items := reviews["items"].([]any); len(items) != 0 {
		t.Errorf("saving sent a review to the review service: %v", items)
	}

	// Too long, or a score the form does not offer: refused beside the field, with
	// everything typed kept, and the saved copy unchanged.
	f := partWay("Changed, and not to be saved.", "1")
	f.Set("themes.1.recommendations", strings.Repeat("é", 8001))
	r = p.do("POST", page+"/draft", rita, f)
	errorBeside(t, r, "themes.1.recommendations", "8000 characters or fewer")
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != "Changed, and not to be saved." {
		t.Errorf("the text typed is not kept: %q", got)
	}
	f = partWay("Changed, and not to be saved.", "1")
	f.Set("themes.3.score", "9")
	errorBeside(t, p.do("POST", page+"/draft", rita, f), "themes.3.score", "from 1 to 4")
	if r = p.do("GET", page, rita, nil); textareaValue(t, r.body, "themes.0.strengths") != "Half a thought. On two lines." {
		t.Errorf("a refused save changed the saved copy: %s", r.body)
	}

	// Bob reviews the same submission: he sees his own empty form, and his saving
	// leaves Rita's copy alone. Carol, not assigned, cannot save a copy of it.
	p.waitFor(bobEmail, func(person signin.Person) bool { return person.Reviewer != nil })
	bobCookie := p.signIn(bobEmail)
	p.do("POST", page+"/respond", bobCookie, url.Values{"accept": {"true"}})
	r = p.do("GET", page, bobCookie, nil)
	if r.status != http.StatusOK || strings.Contains(r.body, "Half a thought") || strings.Contains(r.body, "not sent to ITSS yet") || textareaValue(t, r.body, "themes.2.recommendations") != "" {
		t.Errorf("another reviewer's page shows Rita's saved review: %s", r.body)
	}
	if r = p.do("POST", page+"/draft", bobCookie, partWay("Bob's own start.", "0")); r.status != http.StatusSeeOther {
		t.Fatalf("Bob's save = %d: %s", r.status, r.body)
	}
	p.waitFor("carol@reviewers.example", func(person signin.Person) bool { return person.Reviewer != nil })
	carol := p.signIn("carol@reviewers.example")
	if r = p.do("POST", page+"/draft", carol, partWay("Not mine.", "0")); r.status != http.StatusNotFound || strings.Contains(r.body, "Exampleton") {
		t.Errorf("saving a review of a submission not assigned = %d: %s", r.status, r.body)
	}
	if n := savedCopies(t, p, "carol@reviewers.example"); n != 0 {
		t.Errorf("a reviewer not assigned saved %d copies", n)
	}
	if r = p.do("GET", page, rita, nil); textareaValue(t, r.body, "themes.0.strengths") != "Half a thought. On two lines." {
		t.Errorf("Rita's copy after Bob saved his: %s", r.body)
	}

	// Submitted: the copy goes; Bob's stays.
	if r = p.do("POST", page, rita, reviewForm("Rita's finished summary.")); r.status != http.StatusSeeOther {
		t.Fatalf("submitting = %d: %s", r.status, r.body)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("after submitting, %d saved copies of Rita's review remain", n)
	}
	if n := savedCopies(t, p, bobEmail); n != 1 {
		t.Errorf("Bob's saved copies = %d, want 1", n)
	}
	r = p.do("GET", page, rita, nil)
	if h1(t, r.body) != "Your review" || strings.Contains(r.body, "not sent to ITSS yet") || strings.Contains(r.body, "Half a thought") {
		t.Errorf("after submitting: %s", r.body)
	}
	// Saving now, from a tab left open, is refused: the review is in.
	if r = p.do("POST", page+"/draft", rita, partWay("From an old tab.", "1")); r.status != http.StatusConflict || !strings.Contains(r.body, "it is in with ITSS already") {
		t.Errorf("saving after submitting = %d: %s", r.status, r.body)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("a save after submitting was kept (%d copies)", n)
	}
}

// Two tabs opened on the same saved review save at once: the unique _id of the
// next version lets exactly one in; the others are told it was saved elsewhere,
// shown what they typed, and not saved. Saving again from that page (which now
// carries the latest version) replaces the copy, knowingly; a page opened before
// both (its version deleted since) is refused too, rather than putting older text
// back.
func TestTwoSavesOfOneReviewAtOnceKeepOneAndTellTheOther(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	_, p, _, page, rita := ritaAccepts(t)

	const n = 4
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = p.do("POST", page+"/draft", rita, partWay(fmt.Sprintf("Tab %d's text.", i), "0")) })
	}
	wg.Wait()
	winner, loser := -1, -1
	for i, r := range results {
		switch r.status {
		case http.StatusSeeOther:
			if winner >= 0 {
				t.Fatalf("two saves from pages opened on one version were both taken (%d and %d)", winner, i)
			}
			winner = i
		case http.StatusConflict:
			loser = i
			doc := parse(t, r.body)
			alert := find(doc, func(n *html.Node) bool { return attr(n, "role") == "alert" })
			if len(alert) != 1 || !strings.Contains(text(alert[0]), "You saved this review in another tab or window") || !strings.Contains(text(alert[0]), "not saved") {
				t.Errorf("the refused save does not say why at the top: %s", r.body)
			}
			if got := textareaValue(t, r.body, "themes.0.strengths"); got != fmt.Sprintf("Tab %d's text.", i) {
				t.Errorf("the refused tab's text is not shown back: %q", got)
			}
			if v := hidden(doc, "draft_version"); v != "1" {
				t.Errorf("the refused page carries version %q, want the latest, 1", v)
			}
		default:
			t.Fatalf("a concurrent save was answered %d: %s", r.status, r.body)
		}
	}
	if winner < 0 || loser < 0 {
		t.Fatalf("statuses: want one save taken and the others refused; winner %d, loser %d", winner, loser)
	}
	r := p.do("GET", page, rita, nil)
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != fmt.Sprintf("Tab %d's text.", winner) {
		t.Errorf("the saved copy = %q, want the taken save's", got)
	}

	// The refused tab saves again from its page: now it is taken.
	if r = p.do("POST", page+"/draft", rita, partWay(fmt.Sprintf("Tab %d's text.", loser), "1")); r.status != http.StatusSeeOther {
		t.Fatalf("saving again from the refused page = %d: %s", r.status, r.body)
	}
	// A page opened before both saves (version 0, whose successor, 1, is deleted
	// now) does not put its text back over the latest.
	if r = p.do("POST", page+"/draft", rita, partWay("From a page opened first.", "0")); r.status != http.StatusConflict {
		t.Errorf("a save from a page older than two saves = %d, want 409", r.status)
	}
	r = p.do("GET", page, rita, nil)
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != fmt.Sprintf("Tab %d's text.", loser) {
		t.Errorf("the saved copy = %q, want the second save's", got)
	}
	if c := savedCopies(t, p, ritaEmail); c != 1 {
		t.Errorf("versions kept = %d, want the latest alone", c)
	}
}

// A saved review is the reviewer's personal data: the portal's subject access
// answer lists it, an erasure of the reviewer deletes it (and not another's), and
// a copy nobody saved again for reviewdrafts.KeepAfterSave is swept.
func TestASavedReviewIsInSubjectAccessAndGoesOnErasureAndInTime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	ctx := context.Background()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	savedByBoth(t, p, rr)

	records, err := holdings(p.svc.DB, testPseudonyms(t))(ctx, strings.ToUpper(ritaEmail), "")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, rec := range records {
		if rec.Collection == reviewdrafts.Collection {
			b, _ := json.Marshal(rec.Document)
			listed = append(listed, string(b))
		}
	}
	if len(listed) != 1 || !strings.Contains(listed[0], "Words of "+ritaEmail) || strings.Contains(listed[0], bobEmail) {
		t.Errorf("the subject access answer's saved reviews = %v, want Rita's alone", listed)
	}

	_, handle := forgetErased(p.svc.DB, env.JS, p.svc.Tokens, p.svc.Links)(p.svc.People)
	ev := events.PersonErasedV1{Subject: personal.Subject(ritaEmail)}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(ctx, events.Envelope{ID: "erasure-rita", Type: ev.EventType(), Time: time.Now(), Data: data}); err != nil {
		t.Fatal(err)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("after the erasure, %d of Rita's saved reviews remain", n)
	}
	if n := savedCopies(t, p, bobEmail); n != 1 {
		t.Errorf("the erasure of Rita took Bob's saved review (%d left)", n)
	}

	// Saved again within the period, it stays; past it, it goes.
	p.clock.Advance(reviewdrafts.KeepAfterSave - time.Hour)
	if _, err := p.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := savedCopies(t, p, bobEmail); n != 1 {
		t.Errorf("a saved review went before its period (%d left)", n)
	}
	p.clock.Advance(2 * time.Hour)
	if _, err := p.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := savedCopies(t, p, bobEmail); n != 0 {
		t.Errorf("a saved review outlived its period (%d left)", n)
	}
}

// In a real browser, by keyboard alone: a reviewer writes part of a review, saves it
// with "Save and come back later" (the form's second button), and finds it again
// when they next open the page, which says it is saved and not sent. axe-core
// checks every page on the way.
func TestJourneyReviewerSavesPartWayAndComesBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	rr := startReviewRound(t, s.env, s.review, s.p)
	page := "/reviews/" + rr.round + "/" + rr.mine
	b := newBrowser(t)

	b.Open(s.p.url + page)
	heading(t, b, "Sign in")
	tabTo(t, b, "textbox", "Email address")
	b.Type(ritaEmail)
	b.Enter()
	heading(t, b, "Check your email")
	b.Open(s.mailedLink(t, ritaEmail, 0))
	tabTo(t, b, "button", "Sign in")
	b.Enter()
	tabTo(t, b, "button", "Accept this assignment")
	b.Enter()
	heading(t, b, "Review a submission")

	tabTo(t, b, "textbox", "Visibility: strengths")
	b.Type("Visible in every department.")
	tabTo(t, b, "textbox", "Summary of your review")
	b.Type("Begun; to finish after the meeting.")
	tabTo(t, b, "button", "Save and come back later")
	b.Enter()

	heading(t, b, "Review a submission")
	if got := pagePath(t, b); got != page {
		t.Fatalf("after saving the browser is on %s, want the review page", got)
	}
	if got := b.Text(browsertest.CSS("#review-saved")); !strings.HasPrefix(got, "Saved ") || !strings.HasSuffix(got, "not sent to ITSS yet.") {
		t.Errorf("the page says %q of the saved review", got)
	}
	// The confirmation is a status message, as the lead's "Your draft was saved" is,
	// so that a screen reader tells it without the focus moving there (WCAG 4.1.3).
	b.WaitFor(browsertest.CSS(`#review-saved[role="status"]`))
	// Opened again later: the form is filled from what was saved.
	b.Open(s.p.url + page)
	if got := b.Value(browsertest.Label("Visibility: strengths")); got != "Visible in every department." {
		t.Errorf("the strengths saved come back as %q", got)
	}
	if got := b.Value(browsertest.Label("Summary of your review")); got != "Begun; to finish after the meeting." {
		t.Errorf("the summary saved comes back as %q", got)
	}
}

// A review saved part-way stayed 30 days after its round closed, though a closed
// round takes no review: the reviewer's words were kept for nothing. When the review
// service closes the round, the portal deletes every copy saved for it; a copy saved
// for another round stays.
func TestASavedReviewGoesWhenItsRoundCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	ctx := context.Background()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	savedByBoth(t, p, rr)
	// A copy of a review in another round, which stays open.
	other := reviewdrafts.Key{Email: ritaEmail, Round: "another-round", Submission: rr.mine}
	if _, err := p.svc.Drafts.Save(ctx, other, reviewdrafts.Draft{Summary: "Elsewhere."}); err != nil {
		t.Fatal(err)
	}

	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/closure", rr.ops, map[string]any{"reason": "The deadline has passed"}))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := savedCopies(t, p, bobEmail); n != 0 {
			return fmt.Errorf("%d of Bob's saved copies remain", n)
		}
		return nil
	})
	if n := savedCopies(t, p, ritaEmail); n != 1 {
		t.Errorf("after the round closed, Rita has %d saved copies, want the other round's alone", n)
	}
	if _, found, err := p.svc.Drafts.Latest(ctx, other); err != nil || !found {
		t.Errorf("the copy saved for another round: found %v (%v), want kept", found, err)
	}
}

// A reviewer whose address ITSS corrected while a review was saved part-way found
// the form empty when they signed in with the new address: the copy was kept under
// the address they saved it with, and nothing said it existed. The copy is the
// reviewer's, whatever address they sign in with: it comes back at the new address,
// and the old address, no longer theirs, neither finds it nor signs in as them.
func TestASavedReviewFollowsTheReviewersCorrectedAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)
	if r := p.do("POST", page+"/draft", rita, partWay("Kept across the change.", "0")); r.status != http.StatusSeeOther {
		t.Fatalf("saving = %d: %s", r.status, r.body)
	}

	const newEmail = "rita.reviewer@newtown.example"
	review.Must(http.StatusOK, review.Do("PUT", "/v1/reviewers/rev-rita", rr.ops, map[string]any{
		"reviewer_id": "rev-rita", "name": "Rita Reviewer", "email": newEmail, "organisation_id": "org-other", "trained": true, "capacity": 2, "conflicts": []string{},
	}))
	p.waitFor(newEmail, func(person signin.Person) bool { return person.Reviewer != nil })

	r := p.do("GET", page, p.signIn(newEmail), nil)
	if got := textareaValue(t, r.body, "themes.0.strengths"); got != "Kept across the change." {
		t.Errorf("at the corrected address the saved strengths are %q, want as saved: %s", got, r.body)
	}
	if !strings.Contains(r.body, "not sent to ITSS yet") {
		t.Errorf("at the corrected address the page does not say a review is saved: %s", r.body)
	}
	if n := savedCopies(t, p, newEmail); n != 1 {
		t.Errorf("the subject access of the corrected address finds %d saved copies, want 1", n)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("the old address, no longer Rita's, still holds %d saved copies", n)
	}
}

// A copy saved before copies were found by the reviewer's id (under the address
// alone) is found after the upgrade, and its next save replaces it rather than
// leaving a second copy; a submit deletes either kind.
func TestACopySavedUnderTheAddressAloneIsFoundAfterTheUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPortal(t, services{})
	old := reviewdrafts.Key{Email: ritaEmail, Round: "round-1", Submission: "sub-1"}
	if _, err := p.svc.Drafts.Save(ctx, old, reviewdrafts.Draft{Summary: "Saved before the upgrade."}); err != nil {
		t.Fatal(err)
	}
	now := old
	now.Reviewer = "rev-rita"
	d, found, err := p.svc.Drafts.Latest(ctx, now)
	if err != nil || !found || d.Summary != "Saved before the upgrade." {
		t.Fatalf("the copy saved before the upgrade = %+v, found %v (%v)", d, found, err)
	}
	if _, err := p.svc.Drafts.Save(ctx, now, reviewdrafts.Draft{Summary: "Saved after.", Version: d.Version}); err != nil {
		t.Fatal(err)
	}
	if n := savedCopies(t, p, ritaEmail); n != 1 {
		t.Errorf("after a save, %d copies, want 1", n)
	}
	if d, _, _ := p.svc.Drafts.Latest(ctx, now); d.Summary != "Saved after." {
		t.Errorf("the copy after a save = %+v", d)
	}
	if err := p.svc.Drafts.Delete(ctx, now); err != nil {
		t.Fatal(err)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("after a delete, %d copies remain", n)
	}
}

// ITSS returned Rita's review for revision and she saved her revision part-way;
// then ITSS closed the round. A closed round still takes a returned review's
// revision until the feedback is released (notify's email of the return says so),
// but the portal deleted every copy saved for the round, and Rita came back to the
// review she first sent, her revision gone without a word. The closure deletes the
// copies of reviews the round no longer takes (Bob's, not in), not the revision of
// one it does.
func TestARevisionSavedPartWayOutlivesTheRoundsClosure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	env, review, p := withReview(t)
	rr := startReviewRound(t, env, review, p)
	savedByBoth(t, p, rr)
	page := "/reviews/" + rr.round + "/" + rr.mine
	rita := p.signIn(ritaEmail)
	if r := p.do("POST", page, rita, reviewForm("Rita's first summary.")); r.status != http.StatusSeeOther {
		t.Fatalf("reviewing = %d: %s", r.status, r.body)
	}
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/submissions/"+rr.mine+"/reviews/rev-rita/revision-request", rr.ops,
		map[string]any{"reason": "Please say what the recognition score rests on."}))
	r := p.do("GET", page, rita, nil)
	f := reviewForm("Rita's revision, half done.")
	f.Set("draft_version", hidden(parse(t, r.body), "draft_version"))
	if r = p.do("POST", page+"/draft", rita, f); r.status != http.StatusSeeOther {
		t.Fatalf("saving the revision part-way = %d: %s", r.status, r.body)
	}

	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/closure", rr.ops, map[string]any{"reason": "The deadline has passed"}))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := savedCopies(t, p, bobEmail); n != 0 {
			return fmt.Errorf("%d of Bob's saved copies remain", n)
		}
		return nil
	})
	r = p.do("GET", page, rita, nil)
	if got := textareaValue(t, r.body, "summary"); got != "Rita's revision, half done." {
		t.Errorf("after the round closed, the returned review's form holds %q, want the revision saved: %s", got, r.body)
	}
	if r = p.do("POST", page, rita, reviewForm("Rita's revision, done.")); r.status != http.StatusSeeOther {
		t.Errorf("resubmitting after the round closed = %d: %s", r.status, r.body)
	}

	// Once a submission's feedback is released, no revision of a review of it is
	// taken: a revision saved for it goes.
	ctx := context.Background()
	carols := reviewdrafts.Key{Reviewer: "rev-carol", Email: "carol@reviewers.example", Round: rr.round, Submission: rr.theirs}
	if _, err := p.svc.Drafts.Save(ctx, carols, reviewdrafts.Draft{Summary: "Carol's revision.", Revision: true}); err != nil {
		t.Fatal(err)
	}
	p.publish("/tc/review", rr.round, events.FeedbackReleasedV1{RoundID: rr.round, SubmissionID: rr.theirs, OrganisationID: "org-t"})
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, found, err := p.svc.Drafts.Latest(ctx, carols); err != nil || found {
			return fmt.Errorf("the revision saved for a submission whose feedback is released: found %v (%v)", found, err)
		}
		return nil
	})
}

// Rita saved a review part-way; ITSS then took her off the submission. Opening the
// review page again (from her email, say) said only "No assignment of yours for this
// submission": the words she saved were out of her reach, kept unseen until the
// sweep. The page says the submission is no longer hers and shows what she saved,
// read-only, to copy; her other reviewer colleague's page is unchanged.
func TestASavedReviewIsShownWhenTheReviewerIsTakenOff(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)
	f := partWay("Saved before ITSS took me off.", "0")
	f.Set("summary", "A summary begun.")
	if r := p.do("POST", page+"/draft", rita, f); r.status != http.StatusSeeOther {
		t.Fatalf("saving = %d: %s", r.status, r.body)
	}
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/assignments", rr.ops, map[string]any{
		"action": "remove", "submission_id": rr.mine, "reviewer_id": "rev-rita", "reason": "Another reviewer knows the sector better"}))

	r := p.do("GET", page, rita, nil)
	if r.status != http.StatusNotFound {
		t.Errorf("the page of a submission taken off = %d, want 404", r.status)
	}
	if !strings.Contains(r.body, "no longer assigned to you") {
		t.Errorf("the page does not say the submission is no longer assigned: %s", text(parse(t, r.body)))
	}
	unsent := func(id string) string {
		for _, n := range find(parse(t, r.body), element("textarea")) {
			if attr(n, "id") == id {
				return text(n)
			}
		}
		return "(no text area " + id + ")"
	}
	if got := unsent("unsent-0-strengths"); got != "Saved before ITSS took me off." {
		t.Errorf("the strengths saved are shown as %q: %s", got, text(parse(t, r.body)))
	}
	if got := unsent("unsent-summary"); got != "A summary begun." {
		t.Errorf("the summary saved is shown as %q", got)
	}
	if find(parse(t, r.body), func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == page }) != nil {
		t.Errorf("the page offers to send the review: %s", r.body)
	}
}

// A reviewer who saved a review part-way and then declined the assignment (they can
// no longer review it) left the copy behind, their words kept for nothing for 30
// days, and opening the page again showed it as taken off them by ITSS. The decline
// section says the saved review goes with the assignment, and the decline deletes it.
func TestDecliningDeletesTheReviewSavedPartWay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	_, p, _, page, rita := ritaAccepts(t)
	if r := p.do("POST", page+"/draft", rita, partWay("To be given back.", "0")); r.status != http.StatusSeeOther {
		t.Fatalf("saving = %d: %s", r.status, r.body)
	}
	r := p.do("GET", page, rita, nil)
	if !strings.Contains(text(parse(t, r.body)), "Declining deletes the review you saved") {
		t.Errorf("the decline does not say what becomes of the saved review: %s", text(parse(t, r.body)))
	}
	if r = p.do("POST", page+"/respond", rita, url.Values{"accept": {"false"}, "reason": {"A conflict I had not seen"}, "next": {"review"}}); r.status != http.StatusSeeOther {
		t.Fatalf("declining = %d: %s", r.status, r.body)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("after declining, %d saved copies remain", n)
	}
	if r = p.do("GET", page, rita, nil); r.status != http.StatusNotFound || strings.Contains(r.body, "To be given back.") {
		t.Errorf("the page after declining = %d: %s", r.status, text(parse(t, r.body)))
	}
}

// A review saved part-way is deleted 30 days after its last save, though a round's
// deadline may be further off than that: a reviewer who saved early and came back
// later found the form empty, never having been told the copy would go. The page
// says until when the copy is kept, and that saving again keeps it longer.
func TestTheSavedReviewSaysUntilWhenItIsKept(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	_, p, rr, page, rita := ritaAccepts(t)
	if r := p.do("POST", page+"/draft", rita, partWay("Begun early.", "0")); r.status != http.StatusSeeOther {
		t.Fatalf("saving = %d: %s", r.status, r.body)
	}
	d, found, err := p.svc.Drafts.Latest(context.Background(), reviewdrafts.Key{Reviewer: "rev-rita", Email: ritaEmail, Round: rr.round, Submission: rr.mine})
	if err != nil || !found {
		t.Fatalf("the saved copy: found %v (%v)", found, err)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	want := "keeps what you saved until " + d.Saved.Add(reviewdrafts.KeepAfterSave).In(london).Format("Monday 2 January 2006, 15:04 MST")
	r := p.do("GET", page, rita, nil)
	kept := find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "id") == "review-kept" })
	if len(kept) != 1 || !strings.Contains(text(kept[0]), want) || !strings.Contains(text(kept[0]), "save it again") {
		t.Errorf("the page does not say the portal %s: %s", want, r.body)
	}
}

// Rita, taken off the submission while she wrote, pressed "Save and come back
// later": the page answered that her review "was not sent", of a review she had
// asked to save, not send. It says it was not saved, and shows it back to copy.
func TestASaveAfterBeingTakenOffSaysItWasNotSaved(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	review, p, rr, page, rita := ritaAccepts(t)
	review.Must(http.StatusOK, review.Do("POST", "/v1/review-rounds/"+rr.round+"/assignments", rr.ops, map[string]any{
		"action": "remove", "submission_id": rr.mine, "reviewer_id": "rev-rita", "reason": "Another reviewer knows the sector better"}))
	r := p.do("POST", page+"/draft", rita, partWay("Typed after ITSS took me off.", "0"))
	body := text(parse(t, r.body))
	if r.status != http.StatusNotFound || !strings.Contains(body, "so your review was not saved") || strings.Contains(body, "not sent") ||
		!strings.Contains(body, "Typed after ITSS took me off.") {
		t.Errorf("saving after being taken off = %d: %s", r.status, body)
	}
	if n := savedCopies(t, p, ritaEmail); n != 0 {
		t.Errorf("%d copies saved of a review no longer Rita's", n)
	}
}
