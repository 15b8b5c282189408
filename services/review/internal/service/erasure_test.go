package service_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/adapters"
)

// After a round in which reviewers are assigned, accept and write their reviews, the
// signatory service announces that one reviewer is erased (naming only the digest of
// their address): the review service's database and stream then hold neither their
// name nor their address in readable form (its event store holds them sealed under a
// key it destroyed); the other reviewers stay readable; the round keeps the fact of
// each assignment and review; the views rebuilt from the log equal the live ones;
// and subject access finds nothing of them.
func TestAnErasedReviewerIsForgotten(t *testing.T) {
	t.Parallel()
	h := start(t)
	orgs := []string{"a", "b", "c"}
	var subs []string
	for _, org := range orgs {
		h.announced(org)
	}
	for _, org := range orgs {
		subs = append(subs, h.submitted(org))
	}
	for _, org := range orgs {
		h.reviewer("r"+org, org, true, 2)
	}
	round := h.openRound("Spring 2027", start0.Add(30*24*time.Hour), subs...)
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+round+"/automatic-assignments", h.ops, nil))
	as := h.assignments(round)
	for _, a := range as {
		base := "/v1/review-rounds/" + round + "/submissions/" + a.Sub
		h.Must(http.StatusOK, h.Do("POST", base+"/response", h.as(a.Reviewer), map[string]any{"accept": true}))
		h.Must(http.StatusOK, h.Do("POST", base+"/reviews", h.as(a.Reviewer), review(3)))
	}
	db, ctx := h.svc.DB, context.Background()
	gone, kept := []string{"Reviewer ra", "ra@reviewers.example"}, "rb@reviewers.example"
	testenv.Eventually(t, 10*time.Second, func() error {
		text := testenv.Readable(t, db, h.js, events.StreamReview)
		if !strings.Contains(text, "reviewer ra") || !strings.Contains(text, kept) {
			return fmt.Errorf("the reviewers are not yet in the views and the stream")
		}
		return nil
	})
	for _, sub := range subs { // the round is read, and so held in memory
		h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/submissions/"+sub+"/reviews", h.ops, nil))
	}
	assigned, reviews := len(as), 0
	for _, a := range as {
		if a.Reviewer == "ra" {
			reviews++
		}
	}

	h.publish("person-ra", events.PersonErasedV1{Subject: personal.Subject("RA@reviewers.example")})
	testenv.Eventually(t, 20*time.Second, func() error {
		text := testenv.Readable(t, db, h.js, events.StreamReview)
		for _, s := range gone {
			if strings.Contains(text, strings.ToLower(s)) {
				return fmt.Errorf("%q is still readable", s)
			}
		}
		return nil
	})
	text := testenv.Readable(t, db, h.js, events.StreamReview)
	testenv.Unreadable(t, text, gone...)
	if !strings.Contains(text, kept) {
		t.Errorf("another reviewer was forgotten too")
	}
	if after := h.assignments(round); len(after) != assigned {
		t.Errorf("%d assignments after the erasure, want the %d there were (%d of them the erased reviewer's)", len(after), assigned, reviews)
	}

	// What the API serves (from rounds the service held in memory before) names them no more.
	for _, sub := range subs {
		served := string(h.Must(http.StatusOK, h.Do("GET", "/v1/review-rounds/"+round+"/submissions/"+sub+"/reviews", h.ops, nil)).Body)
		testenv.Unreadable(t, served, gone...)
	}
	// The pool still lists the erased reviewer's place, shown as erased (the contract
	// requires an address: a reserved one that can never be written to).
	pool := string(h.Must(http.StatusOK, h.Do("GET", "/v1/reviewers?limit=200", h.ops, nil)).Body)
	if !strings.Contains(pool, `"reviewer_id":"ra"`) || !strings.Contains(pool, "erased@erased.invalid") {
		t.Errorf("the pool after the erasure: %s", pool)
	}

	// The erasure is done once its consumer has acknowledged it: it rebuilds the views
	// last, and the names are unreadable (above) from the moment it empties them.
	testenv.Consumed(t, h.js, events.StreamSignatory, "review"+platform.DurablePersonErasures)
	views := []string{adapters.RoundsCollection, adapters.AssignmentsCollection, adapters.SubmissionsCollection}
	live := map[string]any{}
	for _, v := range views {
		live[v] = testenv.Documents(t, db.Collection(v))
	}
	if _, err := h.svc.RebuildProjections(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if diff := cmp.Diff(live[v], any(testenv.Documents(t, db.Collection(v)))); diff != "" {
			t.Errorf("%s rebuilt from the log differs from the live one (-live +rebuilt):\n%s", v, diff)
		}
	}
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "ra@reviewers.example"})).JSON(t)
	if fmt.Sprint(got["records"]) != "[]" || fmt.Sprint(got["events"]) != "[]" {
		t.Errorf("after erasure subject access finds %v and %v", got["events"], got["records"])
	}

	// Erased, they can be given no more reviews: nobody can write to them, so a place
	// given them would never be reviewed while the round reported it covered.
	h.announced("d")
	later := h.openRound("Later round", start0.Add(40*24*time.Hour), h.submitted("d"))
	subD := h.assignments(later) // none yet
	_ = subD
	var dSub string
	for _, it := range h.Must(http.StatusOK, h.Do("GET", "/v1/submissions?organisation_id=d", h.ops, nil)).JSON(t)["items"].([]any) {
		dSub = it.(map[string]any)["id"].(string)
	}
	r := h.Must(http.StatusConflict, h.Do("POST", "/v1/review-rounds/"+later+"/assignments", h.ops, map[string]any{
		"action": "assign", "submission_id": dSub, "reviewer_id": "ra", "reason": "Asked for by name"}))
	if !strings.Contains(string(r.Body), "erased at their request") {
		t.Errorf("assigning the erased reviewer: %s, want 409 saying they were erased", r.Body)
	}
	h.Must(http.StatusOK, h.Do("POST", "/v1/review-rounds/"+later+"/automatic-assignments", h.ops, map[string]any{"reviewers_per_submission": 3}))
	for _, a := range h.assignments(later) {
		if a.Reviewer == "ra" {
			t.Errorf("the automatic assignment gave the erased reviewer %s", a.Sub)
		}
	}
}

// An organisation withdraws and its lead is then erased at their request. The review
// service took the erasure in through a consumer of its own, which read the
// organisations that named the lead and wrote each back whole with them blanked,
// beside the consumer of the signatory's events writing the same organisation's
// withdrawal: on the embedded store, where a write is a read then a replace, the
// withdrawal could be lost (the organisation taken for one that may submit still) or
// the erased lead written back. The consumer that keeps the organisations now forgets
// the person there itself, in the stream's order: the withdrawal stays and the lead
// is gone, every round; and the erasure taken in again changes nothing.
func TestAnErasureBesideAWithdrawalKeepsTheWithdrawal(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	// Other organisations make the erasure's reading of the read model take a while,
	// as on a live service.
	for i := range 40 {
		h.signatory(fmt.Sprintf("other-%d", i))
	}
	orgs := h.svc.DB.Collection("organisations")
	consumed := func() {
		testenv.Consumed(t, h.js, events.StreamSignatory, "review-organisations")
		testenv.Consumed(t, h.js, events.StreamSignatory, "review"+platform.DurablePersonErasures)
	}
	const rounds = 60
	lost, back := 0, 0
	for round := range rounds {
		org := fmt.Sprintf("leaving-%d", round)
		lead := "lead@" + org + ".ac.uk"
		h.signatory(org)
		consumed()
		h.publish(org, events.OrganisationWithdrawnV1{OrganisationID: org, WithdrawnOn: civil.New(2027, 2, 28)})
		h.publish("person-"+org, events.PersonErasedV1{Subject: personal.Subject(lead)})
		consumed()
		raw, err := orgs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := raw.Lookup("withdrawn").BooleanOK(); !ok || !w {
			lost++
			t.Logf("round %d: the organisation is not withdrawn: %s", round, raw)
		}
		if strings.Contains(raw.String(), lead) {
			back++
			t.Logf("round %d: the organisation still names the erased lead: %s", round, raw)
		}
	}
	if lost > 0 || back > 0 {
		t.Errorf("of %d rounds, the withdrawal was lost in %d and the erased lead kept in %d", rounds, lost, back)
	}
	// The last erasure taken in again (a redelivery) changes nothing.
	org := fmt.Sprintf("leaving-%d", rounds-1)
	before, err := orgs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	h.publish("person-"+org, events.PersonErasedV1{Subject: personal.Subject("lead@" + org + ".ac.uk")})
	consumed()
	after, err := orgs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("the erasure taken in again changed the organisation from %s to %s", before, after)
	}
}
