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

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// After an application is drafted (under an idempotency key), submitted, awarded and
// reported on, the signatory service announces that its applicant is erased (naming only the
// digest of their address): the fund's database and stream then hold neither their
// name nor their address in readable form, and the endorsing lead stays until they
// are erased in turn (with the answers stored for retries, which name them); the award and
// the round's ledger are as they were; the applications view rebuilt from the log
// equals the live one; and subject access finds nothing of them.
func TestAnErasedApplicantIsForgotten(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.announce("org-a", "signatory")
	round := h.openRound(750000, 10000, 100000)
	applicant := h.TokenFor(auth.Principal{Subject: "ann-1", Role: auth.RoleApplicant, Org: "org-a", Name: "Ann Applicant", Email: "Ann.Applicant@exampleton.ac.uk"})
	h.eligible(applicant, round, 80000)
	id := h.submitted(applicant, round, 80000, true)
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/award", h.ops, map[string]any{"amount_pence": 80000}))
	// The project's report names the applicant too (for notify's receipt).
	h.clock.Set(time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC))
	h.Must(http.StatusOK, h.Do("POST", "/v1/applications/"+id+"/report", applicant, map[string]any{"summary": "Four workshops.", "spent_pence": 75000}))
	db, ctx := h.svc.DB, context.Background()
	gone := []string{"Ann Applicant", "ann.applicant@exampleton.ac.uk"}
	testenv.Eventually(t, 10*time.Second, func() error {
		text := testenv.Readable(t, db, h.js, events.StreamFund)
		if !strings.Contains(text, "ann applicant") || !strings.Contains(text, "s.patel@example.ac.uk") || !strings.Contains(text, "idempotency_keys") {
			return fmt.Errorf("the applicant is not yet in the view, the stream and the stored answers")
		}
		return nil
	})
	before := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)
	// The ledger's counts follow the applications' views: compared once they show the
	// award (read at once, they sometimes still counted it in assessment).
	var ledger map[string]any
	testenv.Eventually(t, 10*time.Second, func() error {
		ledger = h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t)
		if counts, _ := ledger["applications"].(map[string]any); fmt.Sprint(counts["awarded"]) != "1" {
			return fmt.Errorf("the ledger counts %v, not yet the award", ledger["applications"])
		}
		return nil
	})

	h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject("ann.applicant@exampleton.ac.uk")}, "person-ann")
	testenv.Eventually(t, 20*time.Second, func() error {
		text := testenv.Readable(t, db, h.js, events.StreamFund)
		for _, s := range gone {
			if strings.Contains(text, strings.ToLower(s)) {
				return fmt.Errorf("%q is still readable", s)
			}
		}
		return nil
	})
	text := testenv.Readable(t, db, h.js, events.StreamFund)
	testenv.Unreadable(t, text, gone...)
	if !strings.Contains(text, "s.patel@example.ac.uk") {
		t.Error("the endorsing lead was forgotten too")
	}

	// Then the endorsing lead, whom the signatory service erases as its organisation's
	// lead too (the contacts change): the stored answers of drafts that named them go.
	h.publishSignatory(events.OrganisationContactsChangedV1{OrganisationID: "org-a", NominatedLead: events.Person{Erased: true}}, "org-a")
	h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject("s.patel@example.ac.uk")}, "person-sam")
	gone = append(gone, "Sam Patel", "s.patel@example.ac.uk")
	testenv.Eventually(t, 20*time.Second, func() error {
		text := testenv.Readable(t, db, h.js, events.StreamFund)
		for _, s := range gone {
			if strings.Contains(text, strings.ToLower(s)) {
				return fmt.Errorf("%q is still readable", s)
			}
		}
		return nil
	})
	testenv.Unreadable(t, testenv.Readable(t, db, h.js, events.StreamFund), gone...)

	after := h.Must(http.StatusOK, h.Do("GET", "/v1/applications/"+id, h.ops, nil)).JSON(t)
	for _, f := range []string{"status", "award_pence", "report_due", "organisation_id", "title"} {
		if fmt.Sprint(after[f]) != fmt.Sprint(before[f]) {
			t.Errorf("%s is %v after the erasure, was %v", f, after[f], before[f])
		}
	}
	if e, _ := after["endorsement"].(map[string]any); e["email"] != "erased@erased.invalid" {
		t.Errorf("the endorsement reads %v after the lead's erasure, want it shown erased", after["endorsement"])
	}
	if got := h.Must(http.StatusOK, h.Do("GET", "/v1/rounds/"+round+"/ledger", h.ops, nil)).JSON(t); fmt.Sprint(got) != fmt.Sprint(ledger) {
		t.Errorf("ledger %v after the erasure, was %v", got, ledger)
	}

	// The erasure is done once its consumer has acknowledged it: it rebuilds the views
	// last, and the names are unreadable (above) from the moment it empties them.
	testenv.Consumed(t, h.js, events.StreamSignatory, "fund"+platform.DurablePersonErasures)
	live := testenv.Documents(t, db.Collection("application_views"))
	if _, err := h.svc.RebuildProjections(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(live, testenv.Documents(t, db.Collection("application_views"))); diff != "" {
		t.Errorf("the applications view rebuilt from the log differs from the live one (-live +rebuilt):\n%s", diff)
	}
	got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "ann.applicant@exampleton.ac.uk"})).JSON(t)
	if fmt.Sprint(got["records"]) != "[]" || fmt.Sprint(got["events"]) != "[]" {
		t.Errorf("after erasure subject access finds %v and %v", got["events"], got["records"])
	}
}

// Events stored before the fund sealed its people hold them in plain text: the pass
// each start runs seals them (a second pass writes nothing), the application reads
// the same, and an erasure then reaches them like any other.
func TestOlderFundEventsAreSealedAndThenErasable(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	old := events.ApplicationDraftedV1{ApplicationID: "app-old", RoundID: "round-old", OrganisationID: "org-old",
		Applicant: events.Person{Name: "Olive Older", Email: "olive@older.ac.uk"},
		Content:   events.FundApplication{Title: "Old", Endorsement: events.Person{Name: "Len Lead", Email: "len@older.ac.uk"}}}
	if _, err := h.svc.Events.Execute(ctx, store.Command{AggregateType: "application", AggregateID: "app-old",
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{old}, nil }}); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		return testenv.Readable(t, h.svc.DB.Collection("events").Database(), h.js)
	}
	if !strings.Contains(stored(), "olive@older.ac.uk") {
		t.Fatal("the older event is not stored plain: the test proves nothing")
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := h.svc.SealLegacyEvents(ctx); err != nil {
			return err
		}
		if n, err := h.svc.SealLegacyEvents(ctx); err != nil || n != 0 {
			return fmt.Errorf("a second pass rewrote %d commits (%v)", n, err)
		}
		return nil
	})
	evs, err := h.svc.Events.Load(ctx, "app-old")
	if err != nil || len(evs) != 1 {
		t.Fatalf("load: %v %v", evs, err)
	}
	for _, s := range []string{"olive", "len@older", "Len Lead"} {
		if strings.Contains(strings.ToLower(string(evs[0].Data)), strings.ToLower(s)) {
			t.Errorf("the stored event still holds %q: %s", s, evs[0].Data)
		}
	}
	h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject("olive@older.ac.uk")}, "person-olive")
	testenv.Eventually(t, 10*time.Second, func() error {
		got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "olive@older.ac.uk"})).JSON(t)
		if fmt.Sprint(got["records"]) != "[]" || fmt.Sprint(got["events"]) != "[]" {
			return fmt.Errorf("subject access still finds %v and %v", got["events"], got["records"])
		}
		return nil
	})
	if got := h.Must(http.StatusOK, h.Do("POST", "/v1/ops/subject-access", h.ops, map[string]any{"email": "len@older.ac.uk"})).JSON(t); fmt.Sprint(got["events"]) == "[]" {
		t.Error("the endorser, not erased, is no longer found")
	}
}

// An organisation withdraws and its lead is then erased at their request. The fund
// took the erasure in through a consumer of its own, which read the signatories that
// named the lead and wrote each back whole with them blanked, beside the consumer of
// the signatory's events writing the same organisation's withdrawal: on the embedded
// store, where a write is a read then a replace, the withdrawal was lost in 14 to 21
// rounds of 40, and the fund took the organisation for a signatory still (its
// applications open, new ones accepted). The consumer that keeps the signatories now
// forgets the person there itself, in the stream's order: the withdrawal stays and
// the lead is gone, every round; and the erasure taken in again changes nothing.
func TestAnErasureBesideAWithdrawalKeepsTheWithdrawal(t *testing.T) {
	t.Parallel()
	h := start(t)
	ctx := context.Background()
	// Other organisations make the erasure's reading of the read model take a while,
	// as on a live service.
	for i := range 40 {
		h.announce(fmt.Sprintf("org-other-%d", i), "signatory")
	}
	sigs := h.svc.DB.Collection("signatories")
	const rounds = 60
	lost, back := 0, 0
	for round := range rounds {
		org := fmt.Sprintf("org-leaving-%d", round)
		lead := fmt.Sprintf("lee.%d@example.ac.uk", round)
		h.announceLed(org, "signatory", lead)
		h.signatoriesConsumed()
		h.publishSignatory(events.OrganisationWithdrawnV1{OrganisationID: org, WithdrawnOn: mustDate("2027-02-28")}, org)
		h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject(lead)}, "person-"+org)
		h.signatoriesConsumed()
		testenv.Consumed(t, h.js, events.StreamSignatory, "fund"+platform.DurablePersonErasures)
		raw, err := sigs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
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
	org, lead := fmt.Sprintf("org-leaving-%d", rounds-1), fmt.Sprintf("lee.%d@example.ac.uk", rounds-1)
	before, err := sigs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	h.publishSignatory(events.PersonErasedV1{Subject: personal.Subject(lead)}, "person-"+org)
	h.signatoriesConsumed()
	after, err := sigs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if before.String() != after.String() {
		t.Errorf("the erasure taken in again changed the organisation from %s to %s", before, after)
	}
}
