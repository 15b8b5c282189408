package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
)

// A sign-in link requested by the portal is emailed once, however often the event
// arrives; one that expired before notify saw it is not sent; and the delivery log
// (in the database and through the API) keeps the email without the link.
func TestSigninLinkIsSentOnceAndNotKeptInTheLog(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	const secret = "Zm9yIHRoZSB0ZXN0IG9ubHksIG5vdCBhIHJlYWwgc2VjcmV0"
	send := func(id string, p events.SigninLinkRequestedV1) {
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: id, Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: "p-1", Version: 1, Time: now, Data: data}
		m := bus.Message(e)
		m.Header.Set("Nats-Msg-Id", fmt.Sprintf("%s-%d", id, time.Now().UnixNano())) // a redelivery JetStream keeps
		if _, err := h.env.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	link := events.SigninLinkRequestedV1{Email: "lead@exampleton.ac.uk", Name: "Sam Patel",
		Link: "https://portal.example.org/signin/" + secret, ExpiresAt: now.Add(15 * time.Minute)}
	send("link-1", link)
	send("link-1", link)
	stale := link
	stale.Link, stale.ExpiresAt = "https://portal.example.org/signin/stale"+secret, now.Add(-time.Second)
	send("link-2", stale)
	h.waitForConsumer(events.StreamPortal, "notify-portal")

	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(h.box.all()); n != 1 {
			return fmt.Errorf("%d emails, want 1", n)
		}
		return nil
	})
	m := h.box.all()[0]
	if strings.Join(m.To, ",") != "lead@exampleton.ac.uk" || !strings.Contains(m.Text, link.Link) || !strings.Contains(m.Subject, "sign-in link") {
		t.Fatalf("email %+v: want the link, to the lead", m)
	}
	if !strings.Contains(m.Text, "Monday 1 March 2027, 08:15 GMT") {
		t.Errorf("the email does not say until when the link works: %s", m.Text)
	}

	ops := h.http.Token(auth.RoleOps, "")
	api := h.http.Must(http.StatusOK, h.http.Do("GET", "/v1/deliveries", ops, nil))
	// The log's entries and the emails' bodies are kept apart (a list reads only the
	// entries); neither may hold the link.
	read := func(collection string) []bson.M {
		var docs []bson.M
		cur, err := h.svcs[0].DB.Collection(collection).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	entries, bodies := read("deliveries"), read("delivery_bodies")
	stored, _ := json.Marshal(append(entries, bodies...))
	if len(entries) != 1 || !strings.Contains(string(stored), "signin-link") || !strings.Contains(string(stored), "removed from the log") {
		t.Fatalf("delivery log = %s, want one sign-in email with the link removed", stored)
	}
	for what, s := range map[string]string{"the database": string(stored), "the API": string(api.Body)} {
		if strings.Contains(s, secret) {
			t.Errorf("%s keeps the link's secret: %s", what, s)
		}
	}
	// What the log holds has no link: resending it would send an email that says
	// "use this link" with none, so a resend is refused, saying what to do instead.
	key, _ := entries[0]["_id"].(string)
	r := h.http.Must(http.StatusConflict, h.http.Do("POST", "/v1/deliveries/"+key+"/resends", ops, nil))
	if d, _ := r.JSON(t)["detail"].(string); !strings.Contains(d, "asks for another") {
		t.Errorf("the refusal %s does not say what to do instead", r.Body)
	}
	if n := len(h.box.all()); n != 1 {
		t.Errorf("%d emails after a refused resend, want 1", n)
	}
}

// A sign-in link the relay refuses is given up at once (links are not retried), and
// was counted nowhere: not among the emails given up, so TCEmailsGivenUp, which reads
// them as emails that failed for good, did not fire though the person got no link;
// nor were the links sent counted among the emails sent. Both are counted now.
func TestASigninLinkRefusedByTheRelayIsCountedAsGivenUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC)
	h := start(t, 1, now)
	ctx := context.Background()
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	const refused = "nobody@exampleton.ac.uk"
	h.box.mu.Lock()
	h.box.refuse = func(rcpt string) *smtp.SMTPError {
		if rcpt == refused {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
		}
		return nil
	}
	h.box.mu.Unlock()
	for i, email := range []string{"lead@exampleton.ac.uk", refused} {
		p := events.SigninLinkRequestedV1{Email: email, Name: "Sam Patel",
			Link: fmt.Sprintf("https://portal.example.org/signin/link%d", i), ExpiresAt: now.Add(15 * time.Minute)}
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("count-%d", i), Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: fmt.Sprintf("p-%d", i), Version: 1, Time: now, Data: data}
		if _, err := h.env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitForConsumer(events.StreamPortal, "notify-portal")
	h.metricIs(1, "tc_notify_emails_sent_total", "kind", "signin-link")
	h.metricIs(1, "tc_notify_emails_given_up_total", "kind", "signin-link")
}
