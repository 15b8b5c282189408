package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/service"
)

// Told by the signatory service that a lead was erased (the contacts change, then
// tc.signatory.person.erased naming only the digest of their address), notify forgets
// them in its database: the organisation's contacts, the delivery log's entry of the
// sign-in email sent to them and that email's body hold neither their name nor their
// address; the entry keeps what was sent and when; the head is untouched; and subject
// access finds nothing of them.
func TestAnErasedPersonIsForgottenInTheDeliveryLog(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	ctx := context.Background()
	h.onboard("org-erase", civil.New(2028, time.March, 1), civil.New(2028, time.September, 1))
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	p := events.SigninLinkRequestedV1{Email: lead.Email, Name: lead.Name, Link: "https://portal.example.org/signin/x", ExpiresAt: now.Add(15 * time.Minute)}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: "link-erase", Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: "p-4", Version: 1, Time: now, Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(h.box.all()); n != 1 {
			return fmt.Errorf("%d emails, want 1", n)
		}
		return nil
	})
	db := h.svcs[0].DB
	if !strings.Contains(testenv.Readable(t, db, h.env.JS), strings.ToLower(lead.Email)) {
		t.Fatal("notify holds no record of the lead before the erasure: the test proves nothing")
	}

	// A consumer gave up on an event naming the lead (here published as the dead
	// letter it leaves): the letter is an event as published, the lead opened.
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.DeadLetterStream(1)); err != nil {
		t.Fatal(err)
	}
	letter := bus.Message(e)
	letter.Subject = bus.DeadLetterSubject("notify-portal-signin")
	letter.Header.Set(bus.HeaderDeadConsumer, "notify-portal-signin")
	if _, err := h.env.JS.PublishMsg(ctx, letter); err != nil {
		t.Fatal(err)
	}

	h.publish("org-erase", events.OrganisationContactsChangedV1{OrganisationID: "org-erase", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.publish("person-x", events.PersonErasedV1{Subject: personal.Subject(strings.ToUpper(lead.Email))})
	testenv.Eventually(t, 10*time.Second, func() error {
		if text := testenv.Readable(t, db, h.env.JS); strings.Contains(text, strings.ToLower(lead.Email)) || strings.Contains(text, "sam patel") {
			return fmt.Errorf("the lead is still readable in notify's database")
		}
		return nil
	})
	testenv.Unreadable(t, testenv.Readable(t, db, h.env.JS, events.StreamDeadLetter), lead.Email, lead.Name, "Dear Sam", "Sam,")
	if n, err := db.Collection("deliveries").CountDocuments(ctx, bson.D{{Key: "kind", Value: "signin-link"}}); err != nil || n != 1 {
		t.Errorf("%d sign-in entries in the log (%v), want the entry kept", n, err)
	}
	ops := h.http.Token(auth.RoleOps, "")
	// The log shows the entry's recipient as erased, without the blank name and
	// address the document's Person would refuse (an email's address is no blank):
	// the portal's console read such a log as malformed and showed an error page.
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries", ops, nil)).JSON(t)
	items, _ := log["items"].([]any)
	var shown []string
	for _, it := range items {
		d := it.(map[string]any)
		if d["kind"] == "signin-link" {
			b, _ := json.Marshal(d["to"])
			shown = append(shown, string(b))
		}
	}
	if fmt.Sprint(shown) != `[[{"erased":true}]]` {
		t.Errorf("the erased recipient is shown in the log as %v, want [{\"erased\":true}]", shown)
	}
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": lead.Email})).JSON(t)
	if fmt.Sprint(got["organisations"]) != "[]" || fmt.Sprint(got["deliveries"]) != "[]" {
		t.Errorf("after erasure subject access finds %v", got)
	}
	head := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": leader.Email})).JSON(t)
	if fmt.Sprint(head["organisations"]) == "[]" {
		t.Errorf("the head was forgotten too: %v", head)
	}
}

// An email caused before a person's erasure and taken in after it (events of two
// services are not ordered with each other: here the fund's receipt arrives once the
// applicant is erased) is not sent to them, and nothing of them is kept; the lead,
// not erased, gets theirs.
func TestAnEmailToAPersonAlreadyErasedIsNeitherSentNorKept(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("fe", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	applicant := events.Person{Name: "Ann Applicant", Email: "ann.gone@exampleton.ac.uk"}
	submitted := time.Now() // the application is made, then its applicant erased
	h.publish("person-ann", events.PersonErasedV1{Subject: personal.Subject(applicant.Email)})
	h.waitErased(applicant.Email)
	db := h.svcs[0].DB
	p := events.ApplicationSubmittedV1{ApplicationID: "fe1", RoundID: "fr", OrganisationID: "fe", Title: "Skills exchange", RequestedAmountPence: 50000, Applicant: applicant,
		Endorsement: events.Person{Name: lead.Name, Email: lead.Email}}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: "fund-after-erasure", Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "fe1", Version: 1, Time: submitted, Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	testenv.Eventually(t, 10*time.Second, func() error {
		var to []string
		for _, m := range h.box.all() {
			if strings.Contains(m.Subject, "Fund") {
				to = append(to, strings.Join(m.To, ","))
			}
		}
		if len(to) != 1 || to[0] != lead.Email {
			return fmt.Errorf("fund emails went to %v, want the lead alone", to)
		}
		return nil
	})
	testenv.Unreadable(t, testenv.Readable(t, db, h.env.JS), applicant.Email, applicant.Name, "Dear Ann")
}

// Restored from a backup taken before a lead's erasure, notify's database holds the
// lead again, and its first sweep wrote to them: the signatory service's new
// announcement of the erasure comes only once it has started again. Notify now
// reads the register of erasures before its first sweep and forgets again whoever it
// names that its record of erasures lacks: the restored notify's reminders go to the
// head alone, and it holds nothing of the lead. A notify whose database was not
// restored forgets no one.
func TestAPersonErasedSinceTheBackupGetsNoReminderAfterARestore(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	h.onboard("org-back", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	live := h.svcs[0].DB
	backup := testenv.BackUp(t, live)

	// The signatory service erases the lead: the contacts change, the announcement,
	// the register's entry.
	sub := personal.Subject(lead.Email)
	h.publish("org-back", events.OrganisationContactsChangedV1{OrganisationID: "org-back", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.publish("person-back", events.PersonErasedV1{Subject: sub})
	reg, err := bus.OpenErasureRegister(ctx, h.env.JS, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Record(ctx, bus.RegisteredErasure{Subject: sub, Version: 1, At: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	h.waitErased(lead.Email)

	// notify started on the restored database, the announcement already taken in by
	// the consumers (as before the signatory service announces it again).
	cfg := h.cfg
	cfg.Platform.Mongo.Database = backup
	restored, cleanup, err := service.New(ctx, cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	testenv.Unreadable(t, testenv.Readable(t, restored.DB, h.env.JS), lead.Email, lead.Name)
	for day := civil.Of(h.clock.Now()); day.Before(civil.New(2026, 9, 28)); day = civil.Of(h.clock.Now()) {
		if _, err := restored.App.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(24 * time.Hour)
	}
	if toLead, toHead := h.box.sentTo(lead.Email), h.box.sentTo(leader.Email); toLead != 0 || toHead == 0 {
		t.Errorf("the restored notify sent %d emails to the lead erased since the backup and %d to the head, want none and the overdue one", toLead, toHead)
	}

	// A start on a database that was not restored forgets no one.
	again, cleanupAgain, err := service.New(ctx, h.cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanupAgain)
	if n, err := again.DB.Collection("erased_people").CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Errorf("the live database's record of erasures after another start: %d (%v), want the one", n, err)
	}
}

// A lead erased at their request and later named again by their organisation (a
// person who came back, a shared mailbox the next lead uses) was never emailed again:
// notify's record of the erasure stopped every email to the address for good, so the
// lead named again got neither the hand-over email nor a single deadline reminder,
// and nobody was told. Now a signatory event that names the person and was recorded
// after the erasure lifts it; one recorded before it (taken in late, as events of
// two consumers can be) does not.
func TestALeadNamedAgainAfterTheirErasureIsEmailedAgain(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("again", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	erasedAt := time.Now()
	h.publishAt("again", events.OrganisationContactsChangedV1{OrganisationID: "again", Leader: leader, NominatedLead: events.Person{Erased: true}}, erasedAt)
	h.publishAt("person-again", events.PersonErasedV1{Subject: personal.Subject(lead.Email)}, erasedAt)
	h.waitErased(lead.Email)
	// A contacts change recorded before the erasure, taken in after it: what it names
	// is forgotten, and no email goes to the lead.
	h.publishAt("again", events.OrganisationContactsChangedV1{OrganisationID: "again", Leader: leader, NominatedLead: lead}, erasedAt.Add(-time.Second))
	h.waitFor("again")
	h.runUntil(civil.New(2026, 9, 10))
	if n := h.box.sentTo(lead.Email); n != 0 {
		t.Fatalf("%d emails to the erased lead from an event recorded before the erasure", n)
	}

	// Named again by the organisation after the erasure: the hand-over email and the
	// reminders reach them.
	h.publish("again", events.OrganisationContactsChangedV1{OrganisationID: "again", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.publish("again", events.OrganisationContactsChangedV1{OrganisationID: "again", Leader: leader, NominatedLead: lead})
	h.waitFor("again")
	h.runUntil(civil.New(2026, 9, 28))
	var subjects []string
	for _, m := range h.box.all() {
		if slices.Contains(m.To, lead.Email) {
			subjects = append(subjects, m.Subject)
		}
	}
	if !slices.ContainsFunc(subjects, func(s string) bool { return strings.Contains(s, "you are now Uni again's nominated lead") }) ||
		!slices.ContainsFunc(subjects, func(s string) bool { return strings.Contains(s, "overdue") }) {
		t.Errorf("the lead named again was sent %q, want the hand-over and the overdue reminder", subjects)
	}
}

// A reviewer registered in the pool again, and an applicant applying again, after
// their erasure are emailed again: the registration and the application name them
// anew (a reviewer's assignment, an application's receipt). A pool member's record
// updated is no new naming.
func TestAReviewerAndAnApplicantNamedAgainAfterTheirErasureAreEmailedAgain(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 4, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("na", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	ctx := context.Background()
	for _, spec := range []bus.StreamSpec{{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}, {Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}} {
		if _, err := bus.EnsureStream(ctx, h.env.JS, spec); err != nil {
			t.Fatal(err)
		}
	}
	rita := events.Person{Name: "Rita Reviewer", Email: "rita.back@othertown.ac.uk"}
	ann := events.Person{Name: "Ann Applicant", Email: "ann.back@exampleton.ac.uk"}
	for _, p := range []events.Person{rita, ann} {
		h.publish("person-"+p.Name, events.PersonErasedV1{Subject: personal.Subject(p.Email)})
	}
	h.waitErased(rita.Email, ann.Email)
	publish := func(id, aggregate string, p events.Payload) {
		t.Helper()
		data, _ := json.Marshal(p)
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(events.Envelope{ID: id, Type: p.EventType(), AggregateType: aggregate, AggregateID: id,
			Version: 1, Time: time.Now(), Data: data})); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Date(2027, 5, 31, 16, 0, 0, 0, time.UTC)
	assigned := events.ReviewerAssignedV1{RoundID: "r1", SubmissionID: "s1", OrganisationID: "na", ReviewerID: "rita-2", ReviewerName: rita.Name, ReviewerEmail: rita.Email, ReviewDeadline: deadline}
	// Updated, then assigned: still erased, nothing goes.
	publish("rev-updated", "reviewer", events.ReviewerUpdatedV1{ReviewerID: "rita-2", Name: rita.Name, Email: rita.Email, OrganisationID: "pool", Trained: true, Capacity: 1})
	publish("rev-assigned-1", "review_round", assigned)
	h.waitForConsumer(events.StreamReview, "notify-review")
	if n := len(h.box.all()); n != 0 {
		t.Fatalf("%d emails after an update of an erased reviewer's record, want none", n)
	}
	// Registered again, then assigned; and an application made.
	publish("rev-registered", "reviewer", events.ReviewerRegisteredV1{ReviewerID: "rita-2", Name: rita.Name, Email: rita.Email, OrganisationID: "pool", Trained: true, Capacity: 1})
	assigned.RoundID = "r2"
	publish("rev-assigned-2", "review_round", assigned)
	publish("app-again", "application", events.ApplicationSubmittedV1{ApplicationID: "app-again", RoundID: "fr", OrganisationID: "na", Title: "Skills exchange",
		RequestedAmountPence: 50000, Applicant: ann, Endorsement: events.Person{Name: lead.Name, Email: lead.Email}})
	testenv.Eventually(t, 10*time.Second, func() error {
		var toRita, toAnn int
		for _, m := range h.box.all() {
			toRita += strings.Count(strings.Join(m.To, ","), rita.Email)
			toAnn += strings.Count(strings.Join(m.To, ","), ann.Email)
		}
		if toRita != 1 || toAnn != 1 {
			return fmt.Errorf("%d emails to the reviewer registered again and %d to the applicant applying again, want one each", toRita, toAnn)
		}
		return nil
	})
}

// A record of an erasure made before notify kept their time carries none: notify dates
// it at its first start that keeps times, so that an older event naming the person
// (one a rebuild replays from the stream's start) does not lift it, and only an
// event recorded after then does.
func TestAnErasureRecordedWithoutATimeIsLiftedOnlyByALaterNaming(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	h.onboard("undated", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	// As an older release recorded the lead's erasure: the digest alone.
	if _, err := h.svcs[0].DB.Collection("erased_people").InsertOne(ctx, bson.D{{Key: "_id", Value: personal.Subject(lead.Email)}}); err != nil {
		t.Fatal(err)
	}
	upgraded, cleanup, err := service.New(ctx, h.cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	var d struct {
		At time.Time `bson:"at"`
	}
	if err := upgraded.DB.Collection("erased_people").FindOne(ctx, bson.D{{Key: "_id", Value: personal.Subject(lead.Email)}}).Decode(&d); err != nil || !d.At.Equal(h.clock.Now()) {
		t.Fatalf("the undated erasure after the start: %v (%v), want dated %v", d.At, err, h.clock.Now())
	}
	h.publishAt("undated", events.OrganisationContactsChangedV1{OrganisationID: "undated", Leader: leader, NominatedLead: lead}, h.clock.Now().Add(-24*time.Hour))
	h.waitFor("undated")
	h.runUntil(civil.New(2026, 9, 5))
	if n := h.box.sentTo(lead.Email); n != 0 {
		t.Fatalf("%d emails to the lead after an event older than the dating named them", n)
	}
	h.publishAt("undated", events.OrganisationContactsChangedV1{OrganisationID: "undated", Leader: leader, NominatedLead: lead}, h.clock.Now())
	h.waitFor("undated")
	h.runUntil(civil.New(2026, 9, 21))
	if n := h.box.sentTo(lead.Email); n == 0 {
		t.Error("no email to the lead named again after the dating")
	}
}

// Ops resending an email whose recipient was erased at their request were told that
// it was "past its retention period", which it was not (the email was minutes old):
// the refusal now says why, so that ops tell the person's case record, and nobody
// goes looking for a retention setting.
func TestAResendOfAnEmailToAnErasedPersonSaysTheyWereErased(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("org-resend-erased", civil.New(2027, 2, 1), civil.New(2027, 8, 1))
	h.sweep()
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.box.sentTo(lead.Email); n != 1 {
			return fmt.Errorf("%d emails to the lead, want the window's", n)
		}
		return nil
	})
	ops := h.http.Token(auth.RoleOps, "")
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?organisation_id=org-resend-erased", ops, nil)).JSON(t)
	items, _ := log["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("the log holds %d entries, want the reminder", len(items))
	}
	id, _ := items[0].(map[string]any)["id"].(string)

	h.publish("org-resend-erased", events.OrganisationContactsChangedV1{OrganisationID: "org-resend-erased", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.publish("person-resend", events.PersonErasedV1{Subject: personal.Subject(lead.Email)})
	h.waitErased(lead.Email)
	testenv.Eventually(t, 10*time.Second, func() error {
		if strings.Contains(testenv.Readable(t, h.svcs[0].DB, h.env.JS), strings.ToLower(lead.Email)) {
			return fmt.Errorf("the lead is still in notify's database")
		}
		return nil
	})
	r := h.http.Must(http.StatusConflict, h.http.Do("POST", "/v1/deliveries/"+id+"/resends", ops, nil))
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, "erased at their request") || strings.Contains(d, "retention") {
		t.Errorf("the resend of an erased person's email is refused saying %q, want that they were erased at their request", d)
	}
	if n := h.box.sentTo(lead.Email); n != 1 {
		t.Errorf("%d emails to the erased lead, want only the one sent before", n)
	}
}

// A lead hands over (the signatory service names the new lead) and the outgoing lead
// is then erased at their request. Notify took the erasure in through a consumer of
// its own, which read the organisations that named the outgoing lead and wrote each
// back whole with them blanked, beside the consumer of the signatory's events writing
// the same organisation with the new lead: on the embedded store, where a write is a
// read then a replace, the new lead was lost in 16 to 23 rounds of 40 (and got no
// reminder since). The consumer that keeps the organisations now forgets the person
// there itself, in the stream's order; the new lead stays, the erased one is gone,
// every round.
func TestAnErasureBesideAHandOverKeepsTheNewLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	// Other organisations make the erasure's reading of the read model take a while,
	// as on a live service.
	for i := range 40 {
		org := fmt.Sprintf("org-other-%d", i)
		h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Uni " + org, Kind: "signatory", NominatedLead: lead, Leader: leader})
	}
	orgs := h.svcs[0].DB.Collection("organisations")
	const rounds = 60
	lost, back := 0, 0
	for round := range rounds {
		org := fmt.Sprintf("org-hand-%d", round)
		outgoing := events.Person{Name: "Lee Lead", Email: fmt.Sprintf("lee.%d@exampleton.ac.uk", round)}
		incoming := events.Person{Name: "Nia New", Email: fmt.Sprintf("nia.%d@exampleton.ac.uk", round)}
		h.publish(org, events.OrganisationAnnouncedV1{OrganisationID: org, Name: "Uni " + org, Kind: "signatory", NominatedLead: outgoing, Leader: leader})
		h.waitFor(org)
		h.publish(org, events.OrganisationContactsChangedV1{OrganisationID: org, Leader: leader, NominatedLead: incoming})
		h.publish("person-"+org, events.PersonErasedV1{Subject: personal.Subject(outgoing.Email)})
		h.waitFor(org)
		h.waitForConsumer(events.StreamSignatory, "notify-person-erasures")
		raw, err := orgs.FindOne(ctx, bson.D{{Key: "_id", Value: org}}).Raw()
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Lead struct {
				Name  string `bson:"name"`
				Email string `bson:"email"`
			} `bson:"lead"`
		}
		if err := bson.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Lead.Email != incoming.Email || doc.Lead.Name != incoming.Name {
			lost++
			t.Logf("round %d: the organisation's lead is %+v, want %s", round, doc.Lead, incoming.Email)
		}
		if strings.Contains(raw.String(), outgoing.Email) {
			back++
			t.Logf("round %d: the organisation still names the erased lead: %v", round, doc)
		}
	}
	if lost > 0 || back > 0 {
		t.Errorf("of %d rounds, the new lead was lost in %d and the erased one kept in %d", rounds, lost, back)
	}
	// The last erasure taken in again (a redelivery) finds no one: the new lead stays.
	h.redeliver()
	h.waitForConsumer(events.StreamSignatory, "notify-organisations")
	org := fmt.Sprintf("org-hand-%d", rounds-1)
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", h.http.Token(auth.RoleOps, ""),
		map[string]any{"email": fmt.Sprintf("nia.%d@exampleton.ac.uk", rounds-1)})).JSON(t)
	if !strings.Contains(fmt.Sprint(got["organisations"]), org) {
		t.Errorf("after the erasure was taken in again, the new lead's subject access finds %v, want %s", got["organisations"], org)
	}
}

// A reviewer is erased at their request; the review service takes them off their
// open assignments at once (AssignmentRemovedV1, cause reviewer_erased, naming
// nobody), so notify closes those assignments as its consumer of erasures forgets
// the reviewer in them. Each round checks that nothing in notify's database names
// the erased reviewer afterwards and that each assignment taken off is closed.
//
// An assignment's record named its reviewer, and the consumer of the review stream
// closed it (on the embedded store, a read and a replace of the whole document)
// beside the erasure reading and replacing it: of 40 rounds, 31 to 34 failed on the
// old code (about 85 of 120 assignments open again after the erasure undid their
// closing, and in 4 rounds the erased reviewer written back). The record no longer
// names the reviewer (they are kept apart, written only by the review consumer's
// naming of them and deleted by their erasure), and the review consumer, after each
// write naming a reviewer, forgets them if they are erased: nothing is left and
// nothing reopens, every round.
func TestAnErasureBesideTheReviewersRemovalForgetsThemAndKeepsTheirAssignmentsClosed(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	db := h.svcs[0].DB
	deadline := time.Date(2027, 4, 30, 16, 0, 0, 0, time.UTC)
	// Other reviewers' assignments make the erasure's reading of the read model take
	// a while, as on a live service.
	other := h.round("r-others")
	for i := range 30 {
		v := reviewer{round: "r-others", roundName: "Spring 2027", org: "org-o", orgName: "Uni O", deadline: deadline}.
			as(fmt.Sprintf("other-%d", i), fmt.Sprintf("Olu%d Other", i)).on(fmt.Sprintf("sub-o-%d", i))
		other.publish(v.assigned())
	}
	const rounds, subs = 40, 3
	back, reopened := 0, 0
	for n := range rounds {
		id := fmt.Sprintf("r-erase-%d", n)
		r := h.round(id)
		name := fmt.Sprintf("Eirlys Erasedreviewer%d", n)
		email := fmt.Sprintf("eirlys.%d@othertown.ac.uk", n)
		v := reviewer{round: id, roundName: "Spring 2027", org: "org-e", orgName: "Uni E", deadline: deadline, id: "eirlys-" + id, name: name, email: email}
		for s := range subs {
			r.publish(v.on(fmt.Sprintf("sub-%d", s)).assigned())
		}
		waitForMail := func() error {
			if got := h.box.sentTo(email); got < subs {
				return fmt.Errorf("%d emails to the reviewer, want %d", got, subs)
			}
			return nil
		}
		testenv.Eventually(t, 10*time.Second, waitForMail)
		// The erasure, and the review service's removals answering it, as close
		// together as the two services make them; before the removals, events the
		// review service made just before the erasure, naming the reviewer: their
		// acceptance of one assignment, and in every other round ops' change to their
		// pool record (a correction of their capacity, naming them as they are).
		h.publish("person-"+id, events.PersonErasedV1{Subject: personal.Subject(email)})
		removals := []events.Payload{v.on("sub-0").accepted()}
		if n%2 == 1 {
			removals = append(removals, events.ReviewerUpdatedV1{ReviewerID: v.id, Name: name, Email: email, OrganisationID: "org-pool", Trained: true, Capacity: 2})
		}
		for s := range subs {
			removals = append(removals, events.AssignmentRemovedV1{RoundID: id, SubmissionID: fmt.Sprintf("sub-%d", s), ReviewerID: v.id,
				Reason: "the reviewer's details were erased at their request", Cause: events.RemovalReviewerErased})
		}
		r.publish(removals...)
		h.waitForConsumer(events.StreamSignatory, "notify-person-erasures")
		// (a) nothing names them.
		names, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range names {
			cur, err := db.Collection(c).Find(ctx, bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			for cur.Next(ctx) {
				if s := cur.Current.String(); strings.Contains(s, email) || strings.Contains(s, "Erasedreviewer"+fmt.Sprint(n)+"\"") {
					back++
					t.Logf("round %d: %s still names the erased reviewer: %s", n, c, s)
				}
			}
			cur.Close(ctx)
		}
		// (b) each assignment taken off is closed.
		for s := range subs {
			var doc struct {
				Closed bool `bson:"closed"`
			}
			key := fmt.Sprintf("%s|sub-%d|%s", id, s, v.id)
			if err := db.Collection("assignments").FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&doc); err != nil {
				t.Fatalf("round %d: read assignment %s: %v", n, key, err)
			}
			if !doc.Closed {
				reopened++
				t.Logf("round %d: assignment %s is open again after the reviewer was taken off it", n, key)
			}
		}
	}
	if back > 0 || reopened > 0 {
		t.Errorf("of %d rounds of %d assignments, %d documents named the erased reviewer afterwards and %d assignments taken off were open", rounds, subs, back, reopened)
	}
}

// A person asks for sign-in links as they are erased: notify's consumer of the
// portal's stream sends them (logging each, its body kept apart) while its consumer
// of erasures reads the delivery log and replaces each entry naming them. Each round
// checks that nothing in notify's database names them afterwards, and that no entry
// of an email the consumer finished with still says it is being sent.
//
// On the embedded store a write is a read then a replace: the erasure's replace,
// read before the sender recorded the outcome, undid it (63 to 96 of the 160 entries
// said sending for good, 31 to 36 rounds of 40 failing), and the sender's, or an entry
// claimed after the erasure's scan, left the person named (in 6 to 16 rounds; the
// sign-in link's sender, unlike deliver, did not look again). The erasure now leaves
// an entry being sent to its sender, which forgets the person once it has recorded
// the outcome.
func TestSigninLinksSentAsThePersonIsErasedAreForgottenAndKeepTheirOutcome(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	db := h.svcs[0].DB
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	link := func(id, name, email string) {
		t.Helper()
		now := h.clock.Now()
		p := events.SigninLinkRequestedV1{Email: email, Name: name, Link: "https://portal.example.org/signin/" + id, ExpiresAt: now.Add(15 * time.Minute)}
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: id, Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: id, Version: 1, Time: now, Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	// Other people's links make the erasure's reading of the log take a while.
	for i := range 40 {
		link(fmt.Sprintf("other-link-%d", i), "Olu Other", fmt.Sprintf("olu.%d@exampleton.ac.uk", i))
	}
	h.waitForConsumer(events.StreamPortal, "notify-portal")
	const rounds, links = 40, 4
	named, sending := 0, 0
	for n := range rounds {
		name, email := fmt.Sprintf("Sian Signinperson%d", n), fmt.Sprintf("sian.%d@exampleton.ac.uk", n)
		for i := range links {
			link(fmt.Sprintf("link-%d-%d", n, i), name, email)
		}
		h.publish(fmt.Sprintf("person-sian-%d", n), events.PersonErasedV1{Subject: personal.Subject(email)})
		h.waitForConsumer(events.StreamPortal, "notify-portal")
		h.waitForConsumer(events.StreamSignatory, "notify-person-erasures")
		colls, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range colls {
			cur, err := db.Collection(c).Find(ctx, bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			for cur.Next(ctx) {
				if s := cur.Current.String(); strings.Contains(s, email) || strings.Contains(s, name) {
					named++
					t.Logf("round %d: %s still names the erased person: %.300s", n, c, s)
				}
			}
			cur.Close(ctx)
		}
		for i := range links {
			var d struct {
				Status string `bson:"status"`
			}
			err := db.Collection("deliveries").FindOne(ctx, bson.D{{Key: "about", Value: fmt.Sprintf("link-%d-%d", n, i)}}).Decode(&d)
			if err == nil && d.Status == "sending" {
				sending++
				t.Logf("round %d: link %d's entry says it is being sent, though the consumer is done with it", n, i)
			}
		}
	}
	if named > 0 || sending > 0 {
		t.Errorf("of %d rounds of %d links, %d documents named the erased person afterwards and %d entries said sending", rounds, links, named, sending)
	}
}
