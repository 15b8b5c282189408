package service

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/oidcdev"
	"github.com/itss/techcommit/libs/testenv"
)

// opsSubmitted makes, as the review service's users would, a submitted
// self-assessment of org, an organisation with an open obligation.
func opsSubmitted(t *testing.T, s *stack, org string) string {
	t.Helper()
	s.p.announce(org)
	s.p.publish("/tc/signatory", org, events.ObligationScheduledV1{OrganisationID: org, OrganisationName: "University of " + org, ObligationID: org + "-c1",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 1, WindowOpens: civil.New(2026, 3, 20), Due: civil.New(2027, 9, 20)})
	lead := opsReviewToken(t, s, auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org})
	var sa []map[string]any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		sa = append(sa, map[string]any{"theme": th, "narrative": "Our position on " + th, "rating": 2})
	}
	var sub string
	// The review service learns of the obligation by an event: on a loaded machine
	// (the whole suite's tests at once on two cores) that took more than 10 s once.
	testenv.Eventually(t, crossService, func() error {
		r := s.review.Do("POST", "/v1/submissions", lead, map[string]any{
			"self_assessment":  sa,
			"action_plan":      []map[string]any{{"theme": "recognition", "action": "Start an award", "owner": "HR", "success_measure": "Awarded yearly", "target_date": "2027-06-30"}},
			"technician_voice": map[string]any{"how_consulted": "Survey and focus groups", "participants": 120},
			"webpage":          "https://example.ac.uk/tc",
		})
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		sub = r.JSON(t)["id"].(string)
		return nil
	})
	s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/submissions/"+sub+"/submission", lead, nil))
	return sub
}

// registerReviewers adds members to the review service's pool as ops would, first
// announcing each one's organisation as a signatory (as the signatory service would:
// the pool takes technicians of announced signatories only) and waiting until the
// review service has learned of it.
func registerReviewers(t *testing.T, p *portal, review *testenv.Client, opsToken string, members ...map[string]any) {
	t.Helper()
	announced := map[string]bool{}
	for _, m := range members {
		org := m["organisation_id"].(string)
		if !announced[org] {
			announced[org] = true
			p.announce(org)
		}
		testenv.Eventually(t, crossService, func() error {
			if r := review.Do("POST", "/v1/reviewers", opsToken, m); r.Status != http.StatusCreated {
				return fmt.Errorf("registering %v: %d %s", m["reviewer_id"], r.Status, r.Body)
			}
			return nil
		})
	}
}

// crossService is how long a test waits for an event to reach another service: a
// deadline, not a pause, so it costs nothing when the event is quick.
const crossService = 30 * time.Second

func opsReviewToken(t *testing.T, s *stack, p auth.Principal) string {
	t.Helper()
	tok, err := s.env.Issuer.MintFor(p, time.Hour, config.DevAudience("review"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// opsReview is a reviewer's tool accepting an assignment and sending a review.
func opsReview(t *testing.T, s *stack, round, sub, reviewer string, accept bool, summary string) {
	t.Helper()
	tok := opsReviewToken(t, s, auth.Principal{Subject: reviewer, Role: auth.RoleReviewer, Org: "org-other"})
	if accept {
		s.review.Must(http.StatusOK, s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+sub+"/response", tok, map[string]any{"accept": true}))
	}
	var themes []map[string]any
	for _, th := range []string{"visibility", "recognition", "career_development", "sustainability"} {
		themes = append(themes, map[string]any{"theme": th, "score": 3, "strengths": "Clear on " + th, "recommendations": "Say more on " + th})
	}
	r := s.review.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+sub+"/reviews", tok, map[string]any{"summary": summary, "themes": themes})
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("review by %s = %d: %s", reviewer, r.Status, r.Body)
	}
}

// An ops person runs a review round from the console: adds two reviewers to the
// pool (meeting field errors) and changes one, opens a round, adds the submission,
// assigns automatically (the report on the page), assigns and removes a reviewer by
// hand with reasons, returns one review with a reason (the reason's field error
// first), closes the round, holds one review back and releases the feedback (its
// field error first); the progress export lists every assignment as it stands.
func TestOpsRunsAReviewRound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-r")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)

	reviewer := func(id, name, email, capacity string) url.Values {
		return url.Values{"reviewer_id": {id}, "name": {name}, "email": {email}, "organisation_id": {"org-other"},
			"themes": {"recognition"}, "trained": {"true"}, "capacity": {capacity}}
	}
	r := opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-a", "Alice Jones", "alice at example", "lots")), http.StatusBadRequest, "a reviewer with a capacity in words")
	if got := opsFieldMessage(t, r.body, "capacity"); got != "Error: Most submissions a round must be a whole number from 0 to 20" {
		t.Errorf("beside the capacity: %q", got)
	}
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-a", "Alice Jones", "alice at example", "2")), http.StatusBadRequest, "a reviewer with a bad address")
	if got := opsFieldMessage(t, r.body, "email"); !strings.HasPrefix(got, "Error: ") {
		t.Errorf("beside the email: %q in %s", got, r.body)
	}
	// The pool takes technicians of announced signatories: an organisation the review
	// service has not seen announced is refused beside its field, and the form kept.
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-a", "Alice Jones", "alice@other.ac.uk", "1")), http.StatusBadRequest, "a reviewer of an organisation not announced")
	if got := opsFieldMessage(t, r.body, "organisation_id"); !strings.Contains(got, `"org-other" is not the id of an organisation announced`) {
		t.Errorf("beside the organisation: %q", got)
	}
	if !strings.Contains(r.body, `value="Alice Jones"`) {
		t.Errorf("the form lost what was typed: %s", r.body)
	}
	s.p.announce("org-other")
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-a", "Alice Jones", "alice@other.ac.uk", "1")); r.status != http.StatusSeeOther {
			return fmt.Errorf("reviewer a = %d", r.status)
		}
		return nil
	})
	opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-b", "Bo Brown", "bo@other.ac.uk", "2")), http.StatusSeeOther, "reviewer b")
	opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers", ops, reviewer("rev-c", "Cy Clark", "cy@other.ac.uk", "1")), http.StatusSeeOther, "reviewer c")
	edit := opsMustStatus(t, s.p.do("GET", "/ops/review/reviewers/rev-a", ops, nil), http.StatusOK, "reviewer a's record")
	if !strings.Contains(edit.body, `value="Alice Jones"`) || !strings.Contains(edit.body, `value="1"`) {
		t.Fatalf("the record is not filled in: %s", edit.body)
	}
	changed := reviewer("", "Alice Jones", "alice@other.ac.uk", "3")
	changed.Del("reviewer_id")
	changed.Set("conflicts", "org-neighbour\norg-rival")
	changed.Set("version", hidden(parse(t, edit.body), "version"))
	// A conflict is an organisation announced with the Commitment: one the review
	// service has not seen announced is refused beside the field.
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/reviewers/rev-a", ops, changed), http.StatusBadRequest, "a conflict never announced")
	if got := opsFieldMessage(t, r.body, "conflicts"); !strings.Contains(got, "“org-neighbour” is not the identifier of one") {
		t.Errorf("beside the conflicts: %q", got)
	}
	for _, org := range []string{"org-neighbour", "org-rival"} {
		s.p.announce(org)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := s.p.do("POST", "/ops/review/reviewers/rev-a", ops, changed); r.status != http.StatusSeeOther {
			return fmt.Errorf("changing reviewer a = %d", r.status)
		}
		return nil
	})
	pool := opsMustStatus(t, s.p.do("GET", "/ops/review/reviewers", ops, nil), http.StatusOK, "the pool")
	if !strings.Contains(pool.body, "org-neighbour, org-rival") {
		t.Errorf("the pool does not show reviewer a's conflicts: %s", pool.body)
	}

	// The review service's refusals name their field in the error summary, which
	// lists them apart from the fields, as the form's own do.
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, url.Values{"name": {"Review round 2027"},
		"review_deadline": {time.Now().AddDate(0, 0, -1).In(opsLondon()).Format("2006-01-02 15:04")}}), http.StatusBadRequest, "a round due yesterday")
	if got := text(find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); !strings.Contains(got, "Reviews due by must be in the future") {
		t.Errorf("the error summary of a round due yesterday reads %q", got)
	}
	if got := opsFieldMessage(t, r.body, "review_deadline"); got != "Error: Reviews due by must be in the future" {
		t.Errorf("beside the deadline of a round due yesterday: %q", got)
	}

	deadline := time.Now().AddDate(0, 1, 0)
	// The form sent twice with the key its page gave it (a double click) opens one
	// round: both answers lead to it.
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/new", ops, nil), http.StatusOK, "the round form").body)
	if key == nil {
		t.Fatal("the round form carries no key")
	}
	sent := url.Values{"name": {"Review round 2027"}, "review_deadline": {deadline.Format("2006-01-02 15:04")}, "reviewers_per_submission": {"2"}, "key": {key[1]}}
	r = opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, sent), http.StatusSeeOther, "the round")
	roundPath := r.header.Get("Location")
	if again := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, sent), http.StatusSeeOther, "the round sent again"); again.header.Get("Location") != roundPath {
		t.Errorf("the round form sent twice led to %s and %s, want one round", roundPath, again.header.Get("Location"))
	}
	round := strings.TrimPrefix(roundPath, "/ops/review/rounds/")
	testenv.Eventually(t, 10*time.Second, func() error {
		// The submission is offered once the review service lists it as submitted.
		if page := s.p.do("GET", roundPath, ops, nil); !strings.Contains(page.body, `value="`+sub+`"`) {
			return fmt.Errorf("the submission is not offered yet")
		}
		return nil
	})
	opsMustStatus(t, s.p.do("POST", roundPath+"/submissions", ops, url.Values{"submission_ids": {sub}}), http.StatusSeeOther, "adding the submission")
	// The assignment redirects to the round's page, which shows its report: reloading
	// that page (twice here) runs nothing again, and says the same; the report is the
	// browser's that ran it, and the round's page without it shows none.
	r = opsMustStatus(t, s.p.do("POST", roundPath+"/auto-assign", ops, nil), http.StatusSeeOther, "automatic assignment")
	reported := r.header.Get("Location")
	if !strings.HasPrefix(reported, roundPath+"?assigned=") {
		t.Fatalf("the automatic assignment redirects to %q, want the round's page", reported)
	}
	for range 2 {
		page := opsMustStatus(t, s.p.do("GET", reported, withOutcome(t, ops, r), nil), http.StatusOK, "the round after the assignment")
		if !strings.Contains(page.body, "2 assignments made") || !strings.Contains(page.body, "Every submission has its reviewers") {
			t.Fatalf("the assignment report: %s", page.body)
		}
	}
	if page := opsMustStatus(t, s.p.do("GET", reported, ops, nil), http.StatusOK, "the round in another browser"); strings.Contains(page.body, "assignments made") {
		t.Errorf("another browser's round page shows the assignment's report")
	}
	// The pool shows each reviewer's workload by round: the two assigned have
	// this round's review, the third none.
	testenv.Eventually(t, 10*time.Second, func() error {
		pool := opsMustStatus(t, s.p.do("GET", "/ops/review/reviewers", ops, nil), http.StatusOK, "the pool")
		load := map[string]string{}
		for _, tr := range find(parse(t, pool.body), element("tr")) {
			// The reviewer's name is the link in the row's first cell (its
			// organisation and training under it), the workload its last.
			if cells := find(tr, element("td")); len(cells) == 5 {
				if names := find(cells[0], element("a")); len(names) == 1 {
					load[text(names[0])] = text(cells[4])
				}
			}
		}
		due := "due " + opsLongDate(deadline)
		if !strings.Contains(load["Alice Jones"], "Review round 2027: 1 review, "+due) || !strings.Contains(load["Bo Brown"], "Review round 2027: 1 review, "+due) ||
			load["Cy Clark"] != "None" {
			return fmt.Errorf("the pool's workloads read %q", load)
		}
		return nil
	})

	// One reviewer assigned and removed by hand: the reason is required.
	change := url.Values{"action": {"assign"}, "reviewer_id": {"rev-c"}, "submission_id": {sub}, "change_reason": {""}}
	r = opsMustStatus(t, s.p.do("POST", roundPath+"/assignments", ops, change), http.StatusBadRequest, "a change without a reason")
	if got := opsFieldMessage(t, r.body, "change_reason"); got != "Error: Enter reason for the change" {
		t.Errorf("beside the change's reason: %q", got)
	}
	change.Set("change_reason", "A specialist in recognition")
	opsMustStatus(t, s.p.do("POST", roundPath+"/assignments", ops, change), http.StatusSeeOther, "assigning reviewer c")
	change.Set("action", "remove")
	change.Set("change_reason", "Two reviews are enough")
	opsMustStatus(t, s.p.do("POST", roundPath+"/assignments", ops, change), http.StatusSeeOther, "removing reviewer c")
	if page := opsMustStatus(t, s.p.do("GET", roundPath, ops, nil), http.StatusOK, "the round"); !strings.Contains(page.body, "Cy Clark: Removed") {
		t.Errorf("the round does not show reviewer c removed")
	}

	opsReview(t, s, round, sub, "rev-a", true, "A good start.")
	opsReview(t, s, round, sub, "rev-b", true, "Promising.")
	subPath := roundPath + "/submissions/" + sub
	r = opsMustStatus(t, s.p.do("POST", subPath+"/reviews/rev-a/return", ops, url.Values{"return-rev-a": {""}}), http.StatusBadRequest, "a return without a reason")
	// The reason's label, and so its problem, names the reviewer as the review's
	// heading does, by their name.
	if got := opsFieldMessage(t, r.body, "return-rev-a"); got != "Error: Enter reason for returning the review by Alice Jones" {
		t.Errorf("beside the return's reason: %q", got)
	}
	if got := h1(t, r.body); got != "Reviews of org-r's submission" {
		t.Errorf("the reviews page is headed %q", got)
	}
	opsMustStatus(t, s.p.do("POST", subPath+"/reviews/rev-a/return", ops, url.Values{"return-rev-a": {"Please give evidence for the scores."}}), http.StatusSeeOther, "the return")
	page := opsMustStatus(t, s.p.do("GET", subPath, ops, nil), http.StatusOK, "the reviews")
	if !strings.Contains(page.body, "Please give evidence for the scores.") {
		t.Errorf("the reviews page does not show the return's reason")
	}
	// Each theme is named as people read it, not by the API's identifier.
	if !strings.Contains(page.body, "<td>Career development</td>") || strings.Contains(page.body, "<td>career_development</td>") {
		t.Errorf("the reviews page names the themes by their identifiers")
	}
	opsReview(t, s, round, sub, "rev-a", false, "A good start, with evidence.")
	// Today shows the round's progress, per reviewer (name, assigned, accepted, reviewed, overdue).
	today := opsMustStatus(t, s.p.do("GET", "/ops", ops, nil), http.StatusOK, "Today")
	var progress []string
	for _, tr := range find(parse(t, today.body), element("tr")) {
		progress = append(progress, text(tr))
	}
	if !strings.Contains(today.body, "Review round 2027") || !slices.Contains(progress, "Alice Jones0010") || !slices.Contains(progress, "Bo Brown0010") {
		t.Errorf("Today's review progress: %q", progress)
	}
	opsMustStatus(t, s.p.do("POST", roundPath+"/close", ops, url.Values{"reason": {"All reviews in"}}), http.StatusSeeOther, "closing the round")

	// One review held back from the feedback, with its reason.
	opsMustStatus(t, s.p.do("POST", subPath+"/reviews/rev-b/withhold", ops, url.Values{"withhold-rev-b": {"Names the institution's staff"}}), http.StatusSeeOther, "holding back b's review")
	if page := opsMustStatus(t, s.p.do("GET", subPath, ops, nil), http.StatusOK, "the reviews"); !strings.Contains(page.body, "Names the institution&#39;s staff") {
		t.Errorf("the reviews page does not show the reason b's review is held back")
	}
	r = opsMustStatus(t, s.p.do("POST", subPath+"/feedback", ops, url.Values{"feedback": {""}}), http.StatusBadRequest, "feedback left empty")
	if got := opsFieldMessage(t, r.body, "feedback"); got != "Error: Enter consolidated feedback" {
		t.Errorf("beside the feedback: %q", got)
	}
	opsMustStatus(t, s.p.do("POST", subPath+"/feedback", ops, url.Values{"feedback": {"Reviewers found a strong plan; publish its progress."}}), http.StatusSeeOther, "releasing the feedback")
	roundPage := opsMustStatus(t, s.p.do("GET", roundPath, ops, nil), http.StatusOK, "the round")
	if !strings.Contains(roundPage.body, "Released") {
		t.Errorf("the round does not show the feedback released")
	}
	// Released twice (a form open in another tab): the service's refusal names the
	// submission by its organisation, not its id, as a sentence.
	r = opsMustStatus(t, s.p.do("POST", subPath+"/feedback", ops, url.Values{"feedback": {"Again."}}), http.StatusConflict, "releasing the feedback twice")
	if got := text(find(parse(t, r.body), func(n *html.Node) bool { return attr(n, "class") == "error-summary" })[0]); !strings.Contains(got, "Feedback on University of org-r's submission is already released") ||
		strings.Contains(got, sub) {
		t.Errorf("the refusal of a second release reads %q", got)
	}

	// The review service recorded the round's every ops action as the person who
	// took it.
	actors := opsActors(t, s, events.StreamReview, round)
	for _, typ := range []string{"opened", "submission_added", "reviewer_assigned", "review_returned", "closed", "feedback_released"} {
		got := actors["tc.review.round."+typ+".v1"]
		if len(got) == 0 || slices.ContainsFunc(got, func(a string) bool { return a != "ops:local-ops" }) {
			t.Errorf("the review service recorded %s as %v, want the ops person", typ, got)
		}
	}

	exp := opsMustStatus(t, s.p.do("GET", roundPath+"/progress.csv", ops, nil), http.StatusOK, "the progress export")
	recs, err := csv.NewReader(strings.NewReader(exp.body)).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("the progress export: %v %q", err, recs)
	}
	got := map[string]string{}
	for _, rec := range recs[1:] {
		got[rec[4]] = strings.Join([]string{rec[2], rec[6], rec[7], rec[10]}, "|")
	}
	want := map[string]string{"rev-a": sub + "|accepted|true|", "rev-b": sub + "|accepted|true|Names the institution's staff", "rev-c": sub + "|removed|false|"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("progress of %s = %q, want %q", k, got[k], v)
		}
	}
	// Today shows nothing of a round whose feedback is all out.
	today = opsMustStatus(t, s.p.do("GET", "/ops", ops, nil), http.StatusOK, "Today")
	if strings.Contains(today.body, "Not available at the moment: Review rounds") || strings.Contains(today.body, "Review round 2027") {
		t.Errorf("Today after the release: %s", today.body)
	}
}

// opsLongDate is a day as the console writes it, in London: "Friday 1 January 2027".
func opsLongDate(t time.Time) string {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return t.In(london).Format("Monday 2 January 2006")
}

// A submission a round closed without reviewing (nobody took it on) is put in a
// later round from the closed round's page, which offers the rounds still open; a
// submission the service will not move is refused beside the field, with what was
// typed kept.
func TestOpsPutsASubmissionAClosedRoundCouldNotReviewInALaterRound(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the review service")
	}
	t.Parallel()
	s := startStack(t, true)
	sub := opsSubmitted(t, s, "org-m")
	ops := opsSignIn(t, s.p, oidcdev.LocalOpsEmail)
	open := func(name string) string {
		r := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds", ops, url.Values{"name": {name},
			"review_deadline": {time.Now().AddDate(0, 1, 0).Format("2006-01-02 15:04")}, "reviewers_per_submission": {"2"}}), http.StatusSeeOther, "round "+name)
		return strings.TrimPrefix(r.header.Get("Location"), "/ops/review/rounds/")
	}
	first := open("Spring round")
	testenv.Eventually(t, 10*time.Second, func() error {
		if page := s.p.do("GET", "/ops/review/rounds/"+first, ops, nil); !strings.Contains(page.body, `value="`+sub+`"`) {
			return fmt.Errorf("the submission is not offered yet")
		}
		return nil
	})
	opsMustStatus(t, s.p.do("POST", "/ops/review/rounds/"+first+"/submissions", ops, url.Values{"submission_ids": {sub}}), http.StatusSeeOther, "adding the submission")
	opsMustStatus(t, s.p.do("POST", "/ops/review/rounds/"+first+"/close", ops, url.Values{"reason": {"Nobody could review in time"}}), http.StatusSeeOther, "closing the round")
	if page := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+first, ops, nil), http.StatusOK, "the closed round"); strings.Contains(page.body, "Put a submission in a later round") {
		t.Errorf("with no round open, the closed round offers to move a submission")
	}
	later := open("Autumn round")
	page := opsMustStatus(t, s.p.do("GET", "/ops/review/rounds/"+first, ops, nil), http.StatusOK, "the closed round")
	if !strings.Contains(page.body, "Put a submission in a later round") || !strings.Contains(page.body, `value="`+later+`"`) {
		t.Fatalf("the closed round does not offer the open round: %s", page.body)
	}
	r := opsMustStatus(t, s.p.do("POST", "/ops/review/rounds/"+first+"/moves", ops, url.Values{"move_submission_id": {"no-such-submission"}, "to_round": {later}}),
		http.StatusBadRequest, "moving a submission that does not exist")
	if got := opsFieldMessage(t, r.body, "move_submission_id"); !strings.HasPrefix(got, "Error: Submission") {
		t.Errorf("beside the submission: %q", got)
	}
	if !strings.Contains(r.body, `value="no-such-submission"`) {
		t.Errorf("the form lost what was typed")
	}
	opsMustStatus(t, s.p.do("POST", "/ops/review/rounds/"+first+"/moves", ops, url.Values{"move_submission_id": {sub}, "to_round": {later}}), http.StatusSeeOther, "moving the submission")
	got := s.review.Must(http.StatusOK, s.review.Do("GET", "/v1/review-rounds/"+later, opsReviewToken(t, s, auth.Principal{Subject: "ops-1", Role: auth.RoleOps}), nil)).JSON(t)
	if subs := got["submissions"].([]any); len(subs) != 1 || subs[0].(map[string]any)["submission_id"] != sub {
		t.Errorf("the later round holds %v, want the submission", subs)
	}
}
