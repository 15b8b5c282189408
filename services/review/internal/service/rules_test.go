package service_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/config"
)

// assigned is a round with org "a"'s submission in it and reviewers x and y (of org
// "b" and "c") assigned by hand.
func assigned(t *testing.T, h *harness, deadline time.Time) (round, sub string) {
	t.Helper()
	h.announced("a")
	sub = h.submitted("a")
	h.reviewer("x", "b", true, 3)
	h.reviewer("y", "c", true, 3)
	round = h.openRound("Spring 2027", deadline, sub)
	for _, r := range []string{"x", "y"} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": r, "reason": "specialist"}))
	}
	return round, sub
}

// detail says that a problem's detail mentions what it should.
func detail(t *testing.T, r testenv.Response, want string) {
	t.Helper()
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, want) {
		t.Errorf("problem %s does not say %q", r.Body, want)
	}
}

func TestAReviewNeedsAnAcceptedAssignmentInAnOpenRound(t *testing.T) {
	t.Parallel()
	h := start(t)
	deadline := start0.Add(30 * 24 * time.Hour)
	round, sub := assigned(t, h, deadline)
	base := "/v1/review-rounds/" + round + "/submissions/" + sub

	// Never accepted: the review is refused and says what to do first.
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("x"), review(3))), "accept")

	// Answering says where the assignment stands.
	got := h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true})).JSON(t)
	if got["state"] != "accepted" || got["submission_id"] != sub || got["round_id"] != round || got["round_name"] != "Spring 2027" {
		t.Errorf("response answers %v, want the accepted assignment", got)
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("x"), review(2))), "already")
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": false, "reason": "Busy"})), "already")

	// y does not answer before the deadline: accepting afterwards is refused.
	h.clock.Set(deadline.Add(time.Minute))
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/response", h.as("y"), map[string]any{"accept": true})), "deadline")

	// Once closed, nothing changes: no assignment, no answer, no review.
	closed := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, map[string]any{"reason": "Deadline passed"})).JSON(t)
	if closed["status"] != "closed" {
		t.Errorf("status %v after closing, want closed", closed["status"])
	}
	detail(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, nil)), "closed")
	detail(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops,
		map[string]any{"action": "remove", "submission_id": sub, "reviewer_id": "y", "reason": "Silent"})), "closed")
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/response", h.as("y"), map[string]any{"accept": false})), "closed")
	h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))

	// The feedback is released, and the round says so; no review comes after it.
	h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Commended."}))
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["status"]; st != "feedback_released" {
		t.Errorf("status %v once every submission's feedback is out, want feedback_released", st)
	}
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/reviews", h.as("y"), review(3))), "released")
}

func TestFeedbackIsReleasedOnlyOnceTheRoundIsClosed(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	if st := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["status"]; st != "open" {
		t.Errorf("a new round's status is %v, want open", st)
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	detail(t, h.Must(http.StatusConflict, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Early."})), "close")
}

func TestOpsReturnAndWithholdReviews(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	for i, r := range []string{"x", "y"} {
		h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as(r), map[string]any{"accept": true}))
		h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as(r), review(1+2*i))) // x scores 1, y 3
	}

	// Ops return x's review with the reason; x sees it and may revise.
	h.Must(http.StatusBadRequest, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": ""}))
	h.Must(http.StatusNotFound, h.Do("POST", base+"/reviews/nobody/revision-request", h.ops, map[string]any{"reason": "Too short"}))
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Please say why recognition scores 1."}))
	h.Must(http.StatusConflict, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Again"}))
	mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
	if len(mine) != 1 || mine[0].(map[string]any)["returned_reason"] != "Please say why recognition scores 1." || mine[0].(map[string]any)["reviewed"] != false {
		t.Errorf("x's assignments %v do not show the returned review's reason", mine)
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(2)))
	mine = h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
	if mine[0].(map[string]any)["reviewed"] != true || mine[0].(map[string]any)["returned_reason"] != nil {
		t.Errorf("after resubmitting, x's assignment is %v", mine[0])
	}

	// Ops hold y's review back: it does not reach the consolidated scores.
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews/y/withholding", h.ops, map[string]any{"reason": "Names a member of staff."}))
	all := h.Must(http.StatusOK, h.Do("GET", base+"/reviews", h.ops, nil)).JSON(t)["items"].([]any)
	withheld := 0
	for _, x := range all {
		if x.(map[string]any)["withheld_reason"] == "Names a member of staff." {
			withheld++
		}
	}
	if withheld != 1 {
		t.Errorf("ops see %v, want y's review marked withheld", all)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))
	fb := h.Must(http.StatusOK, h.Do("POST", base+"/feedback", h.ops, map[string]any{"feedback": "Commended."})).JSON(t)
	for _, s := range fb["scores"].([]any) {
		if s.(map[string]any)["score"] != 2.0 {
			t.Errorf("score %v, want 2 (x's revised review alone)", s)
		}
	}
	h.Must(http.StatusConflict, h.Do("POST", base+"/reviews/x/revision-request", h.ops, map[string]any{"reason": "Too late"}))
	testenv.Eventually(t, 10*time.Second, func() error {
		p := h.published()
		if p[events.SubjectReviewReturned] != 1 || p[events.SubjectReviewWithheld] != 1 {
			return fmt.Errorf("published %v, want one return and one withholding", p)
		}
		return nil
	})
	ret := payloads[events.ReviewReturnedV1](h, events.SubjectReviewReturned)[0]
	if ret.ReviewerEmail != "x@reviewers.example" || ret.RoundName != "Spring 2027" || ret.OrganisationName != "University of a" || ret.Reason == "" {
		t.Errorf("return event %+v does not say whom to tell about what", ret)
	}
}

func TestAPassedDeadlineIsNoticedWithinAMinute(t *testing.T) {
	t.Parallel()
	// The fake clock jumps past the deadline without the deadline timer knowing, as
	// when another replica opened the round: the recheck (a minute in production,
	// shortened here) is what bounds how late the deadline is noticed.
	h := startWith(t, func(c *config.Config) { c.Review.DeadlineRecheck = 100 * time.Millisecond })
	deadline := start0.Add(2 * time.Hour)
	round, _ := assigned(t, h, deadline)
	h.clock.Set(deadline.Add(time.Second))

	// At once when read...
	for _, a := range h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["assignments"].([]any) {
		if a.(map[string]any)["overdue"] != true {
			t.Errorf("assignment %v not overdue a second after the deadline", a)
		}
	}
	if mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any); len(mine) != 1 || mine[0].(map[string]any)["overdue"] != true {
		t.Errorf("x's assignments %v, want one overdue", mine)
	}
	// ...and recorded (for the reminder) without waiting for an hourly sweep.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewOverdue]; n != 2 {
			return fmt.Errorf("%d overdue events, want 2", n)
		}
		return nil
	})
	p := payloads[events.ReviewOverdueV1](h, events.SubjectReviewOverdue)[0]
	if p.RoundName != "Spring 2027" || p.OrganisationName != "University of a" || !p.ReviewDeadline.Equal(deadline) {
		t.Errorf("overdue event %+v does not say which round and organisation", p)
	}
}

// A deadline that assignments made in this process bring is timed at once, not at
// the next recheck (a minute): the assignment wakes the deadline timer.
func TestADeadlineAssignedHereIsTimedAtOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	if recheck := config.Default().Review.DeadlineRecheck; recheck < time.Minute {
		t.Fatalf("the recheck is %s: the test needs it long, so that only the timer can notice the deadline", recheck)
	}
	deadline := h.clock.Now().Add(time.Second)
	assigned(t, h, deadline)
	h.clock.Set(deadline.Add(time.Second))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewOverdue]; n != 2 {
			return fmt.Errorf("%d overdue events, want 2", n)
		}
		return nil
	})
}

func TestASubmissionWaitsForItsWindow(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	h.submitted("a")
	// The next cycle's obligation is scheduled with its window opening in 2029.
	h.publish("a", events.ObligationScheduledV1{OrganisationID: "a", OrganisationName: "University of a", ObligationID: "a-c2",
		Kind: events.ObligationSelfAssessmentAndActionPlan, Cycle: 2, WindowOpens: civil.New(2029, 9, 1), Due: civil.New(2030, 3, 1)})
	var next string
	testenv.Eventually(t, 10*time.Second, func() error {
		r := h.Do("POST", "/v1/submissions", h.Token(auth.RoleLead, "a"), complete("Next"))
		if r.Status != http.StatusCreated {
			return fmt.Errorf("draft: %d %s", r.Status, r.Body)
		}
		next = r.JSON(t)["id"].(string)
		return nil
	})
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/submissions/"+next+"/submission", h.Token(auth.RoleLead, "a"), nil))
	detail(t, r, "1 September 2029")
	h.clock.Set(time.Date(2029, 9, 1, 9, 0, 0, 0, time.UTC))
	h.Must(http.StatusOK, h.Do("POST", "/v1/submissions/"+next+"/submission", h.Token(auth.RoleLead, "a"), nil))
}

func TestTheReviewerPoolSaysWhoAReviewerIs(t *testing.T) {
	t.Parallel()
	h := start(t)
	round, sub := assigned(t, h, start0.Add(30*24*time.Hour))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	// x works at b: a token naming x at another organisation is refused everywhere.
	elsewhere := h.TokenFor(auth.Principal{Subject: "x", Role: auth.RoleReviewer, Org: "a", Name: "X", Email: "x@a.example"})
	h.Must(http.StatusForbidden, h.Do("GET", "/v1/assignments", elsewhere, nil))
	h.Must(http.StatusForbidden, h.Do("GET", base, elsewhere, nil))
	h.Must(http.StatusForbidden, h.Do("POST", base+"/response", elsewhere, map[string]any{"accept": true}))
	// Someone not in the pool has nothing to see.
	stranger := h.TokenFor(auth.Principal{Subject: "stranger", Role: auth.RoleReviewer, Org: "b", Name: "S", Email: "s@b.example"})
	if items := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", stranger, nil)).JSON(t)["items"].([]any); len(items) != 0 {
		t.Errorf("a stranger sees %v", items)
	}
	h.Must(http.StatusNotFound, h.Do("GET", base, stranger, nil))
	// x at b, as the pool says, gets through.
	h.Must(http.StatusOK, h.Do("GET", base, h.as("x"), nil))
	// A member not assigned to the submission is told so, not that the submission is
	// not in the round, which it is.
	h.reviewer("z", "c", true, 3)
	r := h.Must(http.StatusNotFound, h.Do("GET", base+"/reviews", h.as("z"), nil))
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, "no assignment of yours") || strings.Contains(d, "is not in review round") {
		t.Errorf("a reviewer not assigned is told %q", d)
	}
}

func TestListsArePaged(t *testing.T) {
	t.Parallel()
	h := start(t)
	assigned(t, h, start0.Add(30*24*time.Hour))
	h.Must(http.StatusCreated, h.Do("POST", "/v1/review-rounds", h.ops, map[string]any{"name": "Autumn 2027", "review_deadline": start0.Add(60 * 24 * time.Hour).Format(time.RFC3339)}))
	for _, path := range []string{"/v1/reviewers", "/v1/review-rounds"} {
		seen := map[string]bool{}
		next := ""
		for page := 0; page < 5; page++ {
			q := path + "?limit=1"
			if next != "" {
				q += "&cursor=" + next
			}
			got := h.Must(http.StatusOK, h.Do("GET", q, h.ops, nil)).JSON(t)
			items := got["items"].([]any)
			if len(items) > 1 {
				t.Fatalf("%s: %d items on a page of 1", path, len(items))
			}
			for _, it := range items {
				m := it.(map[string]any)
				id, _ := m["id"].(string)
				if id == "" {
					id, _ = m["reviewer_id"].(string)
				}
				if _, embedded := m["assignments"]; embedded {
					t.Errorf("%s embeds the assignments: %v", path, m)
				}
				seen[id] = true
			}
			next, _ = got["next_cursor"].(string)
			if next == "" {
				break
			}
		}
		if len(seen) != 2 || next != "" {
			t.Errorf("%s: paged through %v, want 2 distinct items and an end", path, seen)
		}
		h.Must(http.StatusBadRequest, h.Do("GET", path+"?limit=201", h.ops, nil))
		h.Must(http.StatusBadRequest, h.Do("GET", path+"?cursor=bm90LW91cnM", h.ops, nil))
	}
	if _, ok := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments?limit=1", h.as("x"), nil)).JSON(t)["items"]; !ok {
		t.Error("no items in the reviewer's page")
	}
	h.Must(http.StatusBadRequest, h.Do("GET", "/v1/assignments?limit=201", h.as("x"), nil))

	// The submissions list pages with a cursor of its own making, as every list does.
	h.announced("d")
	h.submitted("d")
	seen := map[string]bool{}
	for q, page := "/v1/submissions?limit=1", 0; page < 5; page++ {
		got := h.Must(http.StatusOK, h.Do("GET", q, h.ops, nil)).JSON(t)
		for _, it := range got["items"].([]any) {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		next, _ := got["next_cursor"].(string)
		if next == "" {
			break
		}
		q = "/v1/submissions?limit=1&cursor=" + next
	}
	if len(seen) != 2 {
		t.Errorf("/v1/submissions: paged through %v, want the 2 submissions", seen)
	}
	// A cursor no list issued is refused naming it, never read as a place to start
	// (a made-up one answered an empty page): junk, a bare id, a position named twice,
	// missing or empty.
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct{ path, cursor string }{
		{"/v1/submissions", "bm90anNvbg"},
		{"/v1/submissions", "6fc4c1d1-1b7e-4c8e-9a8f-2d3c4b5a6e7f"},
		{"/v1/submissions", raw(`{"a":"x","a":"y"}`)},
		{"/v1/submissions", raw(`{}`)},
		{"/v1/reviewers", raw(`{}`)},
		{"/v1/review-rounds", raw(`{"d":"2027-01-01T00:00:00Z","id":""}`)},
	} {
		r := h.Do("GET", tt.path+"?cursor="+tt.cursor, h.ops, nil)
		if r.Status != http.StatusBadRequest || r.JSON(t)["field"] != "cursor" {
			t.Errorf("%s?cursor=%s: %d %s, want 400 naming cursor", tt.path, tt.cursor, r.Status, r.Body)
		}
	}
}

// TestClosingRacesReviews closes a round while its reviewers submit: each review is
// either in (and answered 200) or refused as the round is closed (409), never
// recorded after the round closed nor lost after a 200.
func TestClosingRacesReviews(t *testing.T) {
	t.Parallel()
	h := start(t)
	const n = 6
	var subs []string
	for i := range n {
		org := fmt.Sprintf("o%d", i)
		h.announced(org)
		subs = append(subs, h.submitted(org))
	}
	h.reviewer("rv", "elsewhere", true, n)
	round := h.openRound("Race", start0.Add(30*24*time.Hour), subs...)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1}))
	for _, s := range subs {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+s+"/response", h.as("rv"), map[string]any{"accept": true}))
	}

	var wg sync.WaitGroup
	status := make([]int, n)
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = h.Do("POST", "/v1/review-rounds/"+round+"/submissions/"+s+"/reviews", h.as("rv"), review(3)).Status
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, nil))
	}()
	wg.Wait()

	got := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)
	if got["status"] != "closed" {
		t.Fatalf("status %v, want closed", got["status"])
	}
	reviewed := map[string]bool{}
	for _, a := range got["assignments"].([]any) {
		m := a.(map[string]any)
		reviewed[m["submission_id"].(string)] = m["reviewed"].(bool)
	}
	for i, s := range subs {
		switch {
		case status[i] == http.StatusOK && !reviewed[s]:
			t.Errorf("review of %s answered 200 but is not in the round", s)
		case status[i] == http.StatusConflict && reviewed[s]:
			t.Errorf("review of %s refused but recorded", s)
		case status[i] != http.StatusOK && status[i] != http.StatusConflict:
			t.Errorf("review of %s: %d", s, status[i])
		}
	}
}

// The pool holds technicians of the Commitment's signatories, recorded by the id their
// organisation's submissions carry: an id the review service has never seen announced
// (a typo, another case) would let "nobody reviews their own organisation"
// pass unchecked, so it is refused, as are a supporter and an organisation that
// withdrew. A member whose organisation later withdraws is given no more submissions,
// and can still be changed (capacity 0, say) without moving to another organisation.
func TestReviewersAreTechniciansOfSignatories(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("sig")
	h.publish("sup", events.OrganisationAnnouncedV1{OrganisationID: "sup", Name: "Society of Supporters", Kind: "supporter", AnnouncedOn: civil.New(2026, 3, 20)})
	// Announced for a day ahead (the signatory service takes one up to six months
	// ahead): a signatory from that day, as the public directory lists it.
	ahead := civil.Of(start0).AddDays(10)
	h.publish("ahead", events.OrganisationAnnouncedV1{OrganisationID: "ahead", Name: "University Ahead", Kind: "signatory", AnnouncedOn: ahead})
	h.publish("gone", events.OrganisationAnnouncedV1{OrganisationID: "gone", Name: "University of Gone", Kind: "signatory", AnnouncedOn: civil.New(2026, 3, 20)})
	h.publish("gone", events.OrganisationWithdrawnV1{OrganisationID: "gone", Reason: "left", InitiatedBy: "organisation"})
	member := func(id, org string, capacity int) map[string]any {
		return map[string]any{"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@reviewers.example", "organisation_id": org,
			"trained": true, "capacity": capacity, "conflicts": []string{}}
	}
	// Once the review service has the signatory events, a member of the signatory joins.
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.Do("POST", "/v1/reviewers", h.ops, member("ok", "sig", 2)); r.Status != http.StatusCreated {
			return fmt.Errorf("a signatory's technician: %d %s", r.Status, r.Body)
		}
		return nil
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.Do("POST", "/v1/reviewers", h.ops, member("probe", "gone", 2)); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "withdrawn") {
			return fmt.Errorf("the withdrawal has not arrived: %d %s", r.Status, r.Body)
		}
		return nil
	})
	for _, tt := range []struct{ org, says string }{
		{"Sig", "is not the id of an organisation announced"},
		{"sig2", "is not the id of an organisation announced"},
		{"sup", "is a supporter, not a signatory"},
		{"gone", "has withdrawn"},
		{"ahead", "announcement is dated " + ahead.Time().Format("Monday 2 January 2006")},
	} {
		r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/reviewers", h.ops, member("x-"+strings.ReplaceAll(tt.org, " ", "-"), tt.org, 2)))
		if r.JSON(t)["field"] != "organisation_id" {
			t.Errorf("organisation %q: refusal %s does not name organisation_id", tt.org, r.Body)
		}
		detail(t, r, tt.says)
		// Nothing was stored: the same id is still free.
		h.Must(http.StatusNotFound, h.Do("GET", "/v1/reviewers/x-"+strings.ReplaceAll(tt.org, " ", "-"), h.ops, nil))
	}
	// A declared conflict is kept only to be compared with a submission's organisation:
	// one never announced is refused too, naming the entry.
	unknown := member("x-conflict", "sig", 2)
	unknown["conflicts"] = []string{"sup", "nowhere"}
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/reviewers", h.ops, unknown))
	if r.JSON(t)["field"] != "conflicts.1" {
		t.Errorf("a conflict never announced: refusal %s does not name conflicts.1", r.Body)
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/reviewers/x-conflict", h.ops, nil))
	withConflicts := member("ok", "sig", 2)
	withConflicts["conflicts"] = []string{"nowhere"}
	r = h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/reviewers/ok", h.ops, withConflicts))
	detail(t, r, `"nowhere" is not the id of an organisation announced`)
	withConflicts["conflicts"] = []string{"sup", "gone"}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/ok", h.ops, withConflicts))

	// Moving a member to an organisation that is not a signatory is refused too.
	r = h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/reviewers/ok", h.ops, member("ok", "sup", 2)))
	detail(t, r, "is a supporter")

	// The member's organisation withdraws: they are no longer a signatory's technician,
	// so neither automatic nor hand assignment gives them a submission, and the
	// report says why; their record may still be changed where it is.
	h.announced("a")
	sub := h.submitted("a")
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), sub)
	h.publish("sig", events.OrganisationWithdrawnV1{OrganisationID: "sig", Reason: "left", InitiatedBy: "organisation"})
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.Do("POST", "/v1/reviewers", h.ops, member("late", "sig", 2)); r.Status != http.StatusBadRequest {
			return fmt.Errorf("the withdrawal has not arrived: %d %s", r.Status, r.Body)
		}
		return nil
	})
	report := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 1})).JSON(t)
	if uncovered, _ := report["uncovered"].([]any); report["added"] != float64(0) || len(uncovered) != 1 ||
		!strings.Contains(uncovered[0].(map[string]any)["reason"].(string), "organisation withdrawn") {
		t.Errorf("automatic assignment with the only reviewer's organisation withdrawn: %v", report)
	}
	r = h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": "ok", "reason": "specialist"}))
	detail(t, r, "organisation withdrawn")
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/ok", h.ops, member("ok", "sig", 0)))

	// On the announcement's day its technicians join.
	h.clock.Set(ahead.Time().Add(9 * time.Hour))
	h.Must(http.StatusCreated, h.Do("POST", "/v1/reviewers", h.ops, member("x-ahead", "ahead", 2)))
}

// An organisation that withdraws takes its obligations with it: a plan it submitted
// before is not given to volunteers to review (400 naming the entry), and the round
// takes the others.
func TestAWithdrawnOrganisationsSubmissionIsNotReviewed(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("stays")
	h.announced("leaves")
	kept, gone := h.submitted("stays"), h.submitted("leaves")
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour)) // empty: it takes them below
	h.publish("leaves", events.OrganisationWithdrawnV1{OrganisationID: "leaves", Reason: "left", InitiatedBy: "organisation"})
	// The withdrawal reaches the review service when the pool refuses the
	// organisation's technicians (a probe that changes nothing this test reads).
	probe := 0
	testenv.Eventually(t, 10*time.Second, func() error {
		probe++
		r := h.Do("POST", "/v1/reviewers", h.ops, map[string]any{"reviewer_id": fmt.Sprintf("probe-%d", probe), "name": "Probe", "email": "probe@leaves.example",
			"organisation_id": "leaves", "trained": false, "capacity": 0, "conflicts": []string{}})
		if r.Status != http.StatusBadRequest {
			return fmt.Errorf("the withdrawal has not reached the review service: %d", r.Status)
		}
		return nil
	})
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{kept, gone}}))
	if r.JSON(t)["field"] != "submission_ids.1" {
		t.Errorf("the refusal does not name submission_ids.1: %s", r.Body)
	}
	detail(t, r, "has withdrawn")
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{kept}}))
	if subs := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["submissions"].([]any); len(subs) != 1 {
		t.Errorf("the round holds %d submissions, want the one that stays", len(subs))
	}
}

// Overdue means outstanding past the deadline as of the answer: a review that comes
// in late, or a round closed (it takes no more reviews), ends it, though the chase
// that recorded it stays in the log.
func TestAReviewInLateOrARoundClosedIsNoLongerOverdue(t *testing.T) {
	t.Parallel()
	h := startWith(t, func(c *config.Config) { c.Review.DeadlineRecheck = 100 * time.Millisecond })
	deadline := start0.Add(2 * time.Hour)
	round, sub := assigned(t, h, deadline)
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("x"), map[string]any{"accept": true}))
	h.clock.Set(deadline.Add(time.Second))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.published()[events.SubjectReviewOverdue]; n != 2 {
			return fmt.Errorf("%d overdue events, want 2", n)
		}
		return nil
	})
	overdue := func() map[string]bool {
		out := map[string]bool{}
		for _, a := range h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round, h.ops, nil)).JSON(t)["assignments"].([]any) {
			m := a.(map[string]any)
			out[m["reviewer_id"].(string)] = m["overdue"] == true
		}
		return out
	}
	if got := overdue(); !got["x"] || !got["y"] {
		t.Fatalf("overdue after the deadline %v, want both", got)
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as("x"), review(3)))
	if got := overdue(); got["x"] || !got["y"] {
		t.Errorf("overdue once x's late review is in %v, want y alone", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		mine := h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["overdue"] != false {
			return fmt.Errorf("x's assignments %v, want one not overdue", mine)
		}
		if p := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/summary", h.ops, nil)).JSON(t)["progress"].(map[string]any); p["overdue"] != 1.0 || p["reviewed"] != 1.0 {
			return fmt.Errorf("the summary's progress %v, want 1 reviewed and 1 overdue", p)
		}
		return nil
	})
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, map[string]any{}))
	if got := overdue(); got["x"] || got["y"] {
		t.Errorf("overdue in a closed round %v, want none", got)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if p := h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/summary", h.ops, nil)).JSON(t)["progress"].(map[string]any); p["overdue"] != 0.0 {
			return fmt.Errorf("the closed round's progress %v, want none overdue", p)
		}
		return nil
	})
}

// A request naming one submission twice adds it once, or rather is refused naming
// the repeat: before, the round took it twice (two places to fill, two assignment
// emails to one reviewer, and a round that could never show its feedback released).
func TestARequestNamingASubmissionTwiceIsRefused(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("a")
	sub := h.submitted("a")
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour))
	r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{sub, sub}}))
	if f := r.JSON(t)["field"]; f != "submission_ids.1" {
		t.Errorf("the refusal names %v, want submission_ids.1: %s", f, r.Body)
	}
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/submissions", h.ops, map[string]any{"submission_ids": []string{sub}})).JSON(t)
	if subs := got["submissions"].([]any); len(subs) != 1 {
		t.Errorf("the round holds %v, want the submission once", subs)
	}
}

// Past the review deadline nobody can accept an assignment, so none is made: by
// hand or automatically, it is 409 saying what to do instead.
func TestNoAssignmentIsMadeAfterTheDeadline(t *testing.T) {
	t.Parallel()
	h := start(t)
	deadline := start0.Add(2 * time.Hour)
	round, sub := assigned(t, h, deadline)
	h.reviewer("z", "d", true, 3)
	// What the reviewer reads says whether they can still answer.
	answerable := func() (bool, bool) {
		t.Helper()
		var mine []any
		testenv.Eventually(t, 10*time.Second, func() error {
			if mine = h.Must(http.StatusOK, h.Do("GET", "/v1/assignments", h.as("x"), nil)).JSON(t)["items"].([]any); len(mine) != 1 {
				return fmt.Errorf("x's assignments %v, want one", mine)
			}
			return nil
		})
		a := mine[0].(map[string]any)
		return a["answerable"] == true, a["round_open"] == true
	}
	if can, open := answerable(); !can || !open {
		t.Errorf("before the deadline: answerable %v, round open %v; want both", can, open)
	}
	h.clock.Set(deadline.Add(time.Minute))
	if can, open := answerable(); can || !open {
		t.Errorf("after the deadline: answerable %v, round open %v; want an open round not answerable", can, open)
	}
	detail(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": "z", "reason": "late help"})), "deadline passed")
	detail(t, h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 3})), "deadline passed")
	for _, a := range h.assignments(round) {
		if a.Reviewer == "z" {
			t.Errorf("z was assigned after the deadline: %+v", a)
		}
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/closure", h.ops, map[string]any{}))
	testenv.Eventually(t, 10*time.Second, func() error {
		if can, open := answerable(); can || open {
			return fmt.Errorf("closed: answerable %v, round open %v; want neither", can, open)
		}
		return nil
	})
}

// One person is one member of the pool: the portal signs a reviewer in by their
// address, so a second member with an address another holds (in any case) could be
// assigned and emailed but never reached. It is refused naming `email`, on
// registration and on a change of address; two registrations with one address at
// once make one member; an address a member gave up is free again.
func TestOneAddressIsOneMemberOfThePool(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.reviewer("alice", "b", true, 2)
	member := func(id, email string) map[string]any {
		return map[string]any{"reviewer_id": id, "name": "Reviewer " + id, "email": email, "organisation_id": "b",
			"trained": true, "capacity": 2, "conflicts": []string{}}
	}
	for _, email := range []string{"alice@reviewers.example", "ALICE@Reviewers.Example"} {
		r := h.Must(http.StatusBadRequest, h.Do("POST", "/v1/reviewers", h.ops, member("alice2", email)))
		if r.JSON(t)["field"] != "email" {
			t.Errorf("%s: the refusal %s does not name email", email, r.Body)
		}
		detail(t, r, "alice")
	}
	h.Must(http.StatusNotFound, h.Do("GET", "/v1/reviewers/alice2", h.ops, nil))
	h.Must(http.StatusCreated, h.Do("POST", "/v1/reviewers", h.ops, member("bob", "bob@reviewers.example")))
	// Bob may not take Alice's address; Alice may move to a new one, and hers is then free.
	r := h.Must(http.StatusBadRequest, h.Do("PUT", "/v1/reviewers/bob", h.ops, member("bob", "Alice@reviewers.example")))
	if r.JSON(t)["field"] != "email" {
		t.Errorf("the refusal %s does not name email", r.Body)
	}
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/alice", h.ops, member("alice", "alice.new@reviewers.example")))
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/bob", h.ops, member("bob", "alice@reviewers.example")))

	// Registrations racing with one address: one member each time.
	for i := range 10 {
		email := fmt.Sprintf("race%d@reviewers.example", i)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for j := range 2 {
			wg.Go(func() {
				codes[j] = h.Do("POST", "/v1/reviewers", h.ops, member(fmt.Sprintf("race%d-%d", i, j), email)).Status
			})
		}
		wg.Wait()
		slices.Sort(codes)
		if codes[0] != http.StatusCreated || codes[1] != http.StatusBadRequest {
			t.Errorf("two registrations with %s at once answered %v, want one 201 and one 400", email, codes)
		}
	}

	// Members changing to one address at once: one of them takes it. A claim made
	// by a registered member whose record did not yet have the address (its change
	// claims first, then records it) was taken for a lapsed one, and up to all six
	// ended with the address.
	const racers = 6
	for i := range racers {
		h.Must(http.StatusCreated, h.Do("POST", "/v1/reviewers", h.ops, member(fmt.Sprintf("mover%d", i), fmt.Sprintf("mover%d@reviewers.example", i))))
	}
	for round := range 3 {
		email := fmt.Sprintf("shared%d@reviewers.example", round)
		codes := make([]int, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				id := fmt.Sprintf("mover%d", i)
				codes[i] = h.Do("PUT", "/v1/reviewers/"+id, h.ops, member(id, email)).Status
			})
		}
		wg.Wait()
		var holders []string
		for i := range racers {
			got := h.Must(http.StatusOK, h.Do("GET", fmt.Sprintf("/v1/reviewers/mover%d", i), h.ops, nil)).JSON(t)
			if got["email"] == email {
				holders = append(holders, got["reviewer_id"].(string))
			}
		}
		slices.Sort(codes)
		if len(holders) != 1 || codes[0] != http.StatusOK || codes[1] != http.StatusBadRequest || codes[racers-1] != http.StatusBadRequest {
			t.Errorf("%d members changing to %s at once answered %v, and %v hold it; want one 200, the rest 400, and one holder", racers, email, codes, holders)
		}
	}
}

// The conflict rules hold until the review is in, not only when a reviewer is
// assigned. Ops may not change an assigned member so that they could no longer
// review the submission (moved to its organisation, a conflict declared with it):
// 409 naming it, and nothing changes. A member whose own organisation withdraws
// after the assignment may not accept it, review it, or read the submission or the
// other reviews (403 saying why), and may still decline it, until the withdrawal's
// handler takes them off it (TestAReviewerWhoseOrganisationWithdrewIsTakenOffWhatTheyHadNotReviewed):
// the withdrawal is first recorded here as the handler's first step records it.
func TestAReviewerWhoBecomesIneligibleNoLongerReviews(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("subm")
	sub := h.submitted("subm")
	h.reviewer("first", "other", true, 3)
	h.reviewer("mover", "third", true, 3)
	h.reviewer("leaver", "leaving", true, 3)
	h.reviewer("reviewed", "fourth", true, 3)
	h.reviewer("unanswered", "leaving", true, 3)
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), sub)
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	for _, rv := range []string{"first", "mover", "leaver", "reviewed", "unanswered"} {
		h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": rv, "reason": "specialist"}))
	}
	for _, rv := range []string{"first", "reviewed"} {
		h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as(rv), map[string]any{"accept": true}))
		h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as(rv), review(3)))
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("leaver"), map[string]any{"accept": true}))

	member := func(id, org string, conflicts ...string) map[string]any {
		return map[string]any{"reviewer_id": id, "name": "Reviewer " + id, "email": id + "@reviewers.example", "organisation_id": org,
			"trained": true, "capacity": 3, "conflicts": append([]string{}, conflicts...)}
	}
	for _, change := range []map[string]any{member("mover", "subm"), member("mover", "third", "subm"), member("reviewed", "subm")} {
		r := h.Must(http.StatusConflict, h.Do("PUT", "/v1/reviewers/"+change["reviewer_id"].(string), h.ops, change))
		detail(t, r, "take them off it, or withhold their review, first")
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers/mover", h.ops, nil)).JSON(t); got["organisation_id"] != "third" || fmt.Sprint(got["conflicts"]) != "[]" {
		t.Errorf("a refused change was kept: %v", got)
	}
	// A change that leaves them eligible is taken.
	h.Must(http.StatusOK, h.Do("PUT", "/v1/reviewers/mover", h.ops, member("mover", "third", "other")))

	// The withdrawal as its handler's first step records it, before the second takes
	// the organisation's technicians off what they have not reviewed.
	if err := h.svc.App.UpdateOrganisation(context.Background(), "leaving", func(o *app.Organisation) { o.Withdrawn = true }); err != nil {
		t.Fatal(err)
	}
	if r := h.Do("GET", base, h.as("leaver"), nil); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "your organisation has withdrawn") {
		t.Errorf("the submission read by a member whose organisation withdrew: %d %s", r.Status, r.Body)
	}
	for _, req := range []struct {
		method, path string
		body         any
		as           string
	}{{"GET", base + "/reviews", nil, "leaver"}, {"POST", base + "/reviews", review(4), "leaver"}, {"POST", base + "/response", map[string]any{"accept": true}, "unanswered"}} {
		r := h.Must(http.StatusForbidden, h.Do(req.method, req.path, h.as(req.as), req.body))
		detail(t, r, "ITSS will ask another reviewer")
	}
	h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as("leaver"), map[string]any{"accept": false, "reason": "Our organisation left"}))
	for _, a := range h.assignments(round) {
		if a.Reviewer == "leaver" && a.State != "declined" {
			t.Errorf("the leaver's assignment is %s, want declined", a.State)
		}
	}

	// The withdrawal's handler then takes the one still on it off.
	h.publish("leaving", events.OrganisationWithdrawnV1{OrganisationID: "leaving", Reason: "left", InitiatedBy: "organisation"})
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := active(h.assignments(round), sub); !slices.Contains(got, "first") || slices.Contains(got, "unanswered") {
			return fmt.Errorf("reviewers on the submission after the withdrawal %v, want unanswered taken off", got)
		}
		return nil
	})
}

// A reviewer answering for a submission they were never assigned is told there is no
// such assignment (404), whoever submitted it: one at the submitting organisation was
// told instead (403) that they "may no longer review" it "since you were assigned".
func TestAnAnswerForASubmissionNeverAssignedIsNotFoundWhateverTheOrganisation(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announced("subm")
	sub := h.submitted("subm")
	h.reviewer("assigned", "other", true, 3)
	h.reviewer("insider", "subm", true, 3)
	h.reviewer("outsider", "third", true, 3)
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), sub)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/assignments", h.ops, map[string]any{"action": "assign", "submission_id": sub, "reviewer_id": "assigned", "reason": "specialist"}))
	base := "/v1/review-rounds/" + round + "/submissions/" + sub
	for _, rv := range []string{"insider", "outsider"} {
		for _, req := range []struct {
			path string
			body any
		}{{base + "/response", map[string]any{"accept": true}}, {base + "/reviews", review(3)}} {
			r := h.Do("POST", req.path, h.as(rv), req.body)
			if r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "no longer") {
				t.Errorf("%s, never assigned, POST %s: %d %s, want 404", rv, req.path, r.Status, r.Body)
			}
		}
	}
}
