package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
)

// An email's body (text, HTML, attachment) is kept for the body retention period
// after it was sent and no longer: on the fake clock, a second before the period ends
// it is there, at its end it is gone, while the log entry (recipient, subject,
// outcome) stays and a resend, having nothing to send, is refused.
func TestEmailBodiesAreDroppedAfterTheirRetention(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	ctx := context.Background()
	ops := h.http.Token(auth.RoleOps, "")
	sendSigninLink(t, h, "link-retention", "kept@exampleton.ac.uk")
	db := h.svcs[0].DB
	count := func(collection string) int64 {
		t.Helper()
		n, err := db.Collection(collection).CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var entry struct {
		ID string `bson:"_id"`
	}
	if err := db.Collection("deliveries").FindOne(ctx, bson.D{}).Decode(&entry); err != nil {
		t.Fatal(err)
	}
	drop := func() {
		t.Helper()
		if _, err := h.svcs[0].App.DropExpiredBodies(ctx); err != nil {
			t.Fatal(err)
		}
	}

	h.clock.Advance(app.DefaultBodyRetention - time.Second)
	drop()
	if n := count("delivery_bodies"); n != 1 {
		t.Fatalf("a second before the period ends: %d bodies, want 1", n)
	}
	h.clock.Advance(time.Second)
	drop()
	if n := count("delivery_bodies"); n != 0 {
		t.Fatalf("at the period's end: %d bodies, want none", n)
	}
	if n := count("deliveries"); n != 1 {
		t.Fatalf("the log keeps %d entries, want the email's entry", n)
	}
	h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries", ops, nil))
	h.http.Must(http.StatusConflict, h.http.Do("POST", "/v1/deliveries/"+entry.ID+"/resends", ops, nil))
}

// sendSigninLink has notify email a sign-in link to email, the service's only email
// that no read model stands behind, and waits until the log says it was sent.
func sendSigninLink(t *testing.T, h *harness, id, email string) {
	t.Helper()
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	p := events.SigninLinkRequestedV1{Email: email, Name: "Robin Okafor",
		Link: "https://portal.example.org/signin/s3cret", ExpiresAt: now.Add(15 * time.Minute)}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: id, Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: id, Version: 1, Time: now, Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	// The email arrives before its outcome is recorded: wait for the log to say sent,
	// so that the clock moves from the time it was sent.
	ops := h.http.Token(auth.RoleOps, "")
	testenv.Eventually(t, 10*time.Second, func() error {
		if r := h.http.Do("GET", "/v1/deliveries?status=sent", ops, nil); !strings.Contains(string(r.Body), "signin-link") {
			return fmt.Errorf("the log does not say sent yet: %s", r.Body)
		}
		return nil
	})
}

// The log names an email's recipients for the log retention period after it was sent
// and no longer: a second before the period ends the person's subject access finds
// the entry; at its end the entry is still listed (kind, subject, outcome, times) but
// names nobody, and their subject access finds nothing of it.
func TestLogEntriesForgetTheirRecipientsAfterTheirRetention(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	ops := h.http.Token(auth.RoleOps, "")
	const email = "old@exampleton.ac.uk"
	sendSigninLink(t, h, "link-log-retention", email)
	forget := func() {
		t.Helper()
		if _, err := h.svcs[0].App.ForgetOldRecipients(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	deliveriesOf := func() []any {
		t.Helper()
		got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": email})).JSON(t)
		ds, _ := got["deliveries"].([]any)
		return ds
	}

	h.clock.Advance(app.DefaultLogRetention - time.Second)
	forget()
	if ds := deliveriesOf(); len(ds) != 1 {
		t.Fatalf("a second before the period ends, subject access finds %d entries, want the email's", len(ds))
	}
	h.clock.Advance(time.Second)
	forget()
	if ds := deliveriesOf(); len(ds) != 0 {
		t.Errorf("at the period's end, subject access still finds %v", ds)
	}
	log := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries", ops, nil))
	if body := string(log.Body); !strings.Contains(body, `"kind":"signin-link"`) || !strings.Contains(body, `"status":"sent"`) || strings.Contains(body, email) || strings.Contains(body, "Robin") {
		t.Errorf("the log at the period's end: %s, want the entry without its recipient", body)
	}
	// Nothing else notify holds names them either.
	var left []string
	for _, c := range []string{"deliveries", "delivery_bodies", "delivery_attempts"} {
		cur, err := h.svcs[0].DB.Collection(c).Find(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(context.Background(), &docs); err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(docs); strings.Contains(s, email) || strings.Contains(s, "Robin") {
			left = append(left, c+": "+s)
		}
	}
	if len(left) > 0 {
		t.Errorf("still named in %v", left)
	}
}

// Subject access gathers what notify holds about an address, in any case: the
// organisations whose lead or head it is, and the delivery log's entries addressed to
// it (without bodies); an address notify holds nothing about gets empty lists, and
// only ops may ask.
func TestSubjectAccessGathersWhatNotifyHolds(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	ctx := context.Background()
	h.onboard("org-sar", civil.New(2028, time.March, 1), civil.New(2028, time.September, 1))
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	p := events.SigninLinkRequestedV1{Email: lead.Email, Name: lead.Name, Link: "https://portal.example.org/signin/x", ExpiresAt: now.Add(15 * time.Minute)}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: "link-sar", Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: "p-3", Version: 1, Time: now, Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(h.box.all()); n != 1 {
			return fmt.Errorf("%d emails, want 1", n)
		}
		return nil
	})
	ops := h.http.Token(auth.RoleOps, "")
	got := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": strings.ToUpper(lead.Email)})).JSON(t)
	orgs, _ := got["organisations"].([]any)
	if len(orgs) != 1 || fmt.Sprint(orgs[0]) != fmt.Sprintf("map[organisation_id:org-sar person:map[email:%s name:%s] role:lead]", lead.Email, lead.Name) {
		t.Errorf("organisations = %v, want the lead of org-sar", got["organisations"])
	}
	dels, _ := got["deliveries"].([]any)
	if len(dels) != 1 || dels[0].(map[string]any)["kind"] != "signin-link" {
		t.Fatalf("deliveries = %v, want the sign-in email", got["deliveries"])
	}
	// The email's text is theirs too (it greets them and says what the suite told
	// them), as notify keeps it: the sign-in link redacted.
	sent := h.box.all()[0]
	text, _ := dels[0].(map[string]any)["text"].(string)
	if !strings.Contains(text, "Sam") || !strings.Contains(text, "Technician Commitment") || strings.Contains(text, "signin/x") {
		t.Errorf("the sign-in email's text in the answer is %q, want what was sent to %s without the link:\n%s", text, lead.Email, sent.Text)
	}
	head := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": leader.Email})).JSON(t)
	if fmt.Sprint(head["organisations"]) == "[]" || fmt.Sprint(head["deliveries"]) != "[]" {
		t.Errorf("the head: %v, want their role and no deliveries", head)
	}
	none := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": "nobody@example.ac.uk"})).JSON(t)
	if fmt.Sprint(none) != "map[assignments:[] deliveries:[] email:nobody@example.ac.uk mentioned_in:[] organisations:[]]" {
		t.Errorf("an unknown address: %v", none)
	}
	h.http.Must(http.StatusForbidden, h.http.Do("POST", "/v1/ops/subject-access", h.http.Token(auth.RoleLead, "org-sar"), map[string]any{"email": lead.Email}))
	// An address the decoder could not read is refused naming it, in words.
	bad := h.http.Must(http.StatusBadRequest, h.http.Do("POST", "/v1/ops/subject-access", ops, map[string]any{"email": "a..b@x.ac.uk"})).JSON(t)
	if bad["field"] != "email" || strings.Contains(fmt.Sprint(bad["detail"]), "regex") {
		t.Errorf("an address with two dots together: %v, want 400 naming email in words", bad)
	}
}

// An organisation whose nominated lead was erased at their request (the signatory
// service's contacts change names the lead erased) has no lead until it names
// another: its reminders go to no one but the head at the overdue steps, and no
// email is attempted to an empty address.
func TestNoEmailGoesToAnErasedLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("erased", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	h.publish("erased", events.OrganisationContactsChangedV1{OrganisationID: "erased", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.waitFor("erased")
	h.runUntil(civil.New(2026, 9, 28))

	if toLead, toHead := h.box.sentTo(lead.Email), h.box.sentTo(leader.Email); toLead != 0 || toHead == 0 {
		t.Errorf("%d emails to the erased lead and %d to the head, want none and the overdue one", toLead, toHead)
	}
	ops := h.http.Token(auth.RoleOps, "")
	if log := string(h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries?status=given_up", ops, nil)).Body); strings.Contains(log, `"id"`) {
		t.Errorf("emails were attempted and given up on: %s", log)
	}
}

// A fund email for an organisation whose lead was erased goes to the applicant
// alone, at once: its lead's copy does not wait (holding the fund's later emails
// behind it) for a lead who will never come back.
func TestFundEmailsDoNotWaitForAnErasedLead(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC))
	h.onboard("erased", civil.New(2028, 3, 20), civil.New(2028, 9, 20))
	h.publish("erased", events.OrganisationContactsChangedV1{OrganisationID: "erased", Leader: leader, NominatedLead: events.Person{Erased: true}})
	h.waitFor("erased")
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamFund, Subjects: []string{events.SubjectsFund}}); err != nil {
		t.Fatal(err)
	}
	p := events.ApplicationSubmittedV1{ApplicationID: "app-erased", OrganisationID: "erased", Title: "Skills exchange", RequestedAmountPence: 85000,
		Applicant: events.Person{Name: "Ann Applicant", Email: "ann@exampleton.ac.uk"}}
	data, _ := json.Marshal(p)
	e := events.Envelope{ID: "evt-erased", Source: "/tc/fund", Type: p.EventType(), AggregateType: "application", AggregateID: "app-erased", Version: 1, Time: time.Now(), Data: data}
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
		t.Fatal(err)
	}
	h.waitForConsumer(events.StreamFund, "notify-fund")
	msgs := h.box.all()
	if len(msgs) != 1 || fmt.Sprint(msgs[0].To) != "[ann@exampleton.ac.uk]" {
		var to []string
		for _, m := range msgs {
			to = append(to, fmt.Sprint(m.To))
		}
		t.Errorf("emails to %v, want the applicant's receipt only", to)
	}
}

// Once the log retention has passed, an entry names nobody: no subject names a person
// or an address, its recipient's or another's. A hand-over's subjects named the new
// lead ("… is now Chris Lee"), and an address correction's the new address ("your
// address as … is now s.patel@…"): the log kept them for good after it forgot whom
// each email went to.
func TestNoSubjectKeepsAPersonAfterTheLogRetention(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC))
	h.onboard("hr", civil.New(2027, 3, 20), civil.New(2027, 9, 20))
	corrected := events.Person{Name: lead.Name, Email: "s.patel@exampleton.ac.uk"}
	chris := events.Person{Name: "Chris Lee", Email: "c.lee@exampleton.ac.uk"}
	for _, next := range []events.Person{corrected, chris} {
		h.publish("hr", events.OrganisationContactsChangedV1{OrganisationID: "hr", Leader: leader, NominatedLead: next})
		h.waitFor("hr")
	}
	// And the head's address is corrected.
	head := events.Person{Name: leader.Name, Title: leader.Title, Email: "jane.smith@exampleton.ac.uk"}
	h.publish("hr", events.OrganisationContactsChangedV1{OrganisationID: "hr", Leader: head, NominatedLead: chris})
	h.waitFor("hr")
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(mailOf(h, "hr", 0)); n < 8 {
			return fmt.Errorf("%d emails of the three changes, want 8", n)
		}
		return nil
	})
	h.clock.Advance(app.DefaultLogRetention + time.Hour)
	ctx := context.Background()
	if _, err := h.svcs[0].App.DropExpiredBodies(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svcs[0].App.ForgetOldRecipients(ctx); err != nil {
		t.Fatal(err)
	}
	cur, err := h.svcs[0].DB.Collection("deliveries").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []struct {
		Message struct {
			Subject string `bson:"subject"`
		} `bson:"message"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		subject := d.Message.Subject
		for _, p := range []events.Person{lead, corrected, chris, leader, head} {
			if strings.Contains(subject, p.Name) || strings.Contains(subject, p.Email) {
				t.Errorf("after the log retention an entry's subject still names %s: %q", p.Name, subject)
			}
		}
	}
}
