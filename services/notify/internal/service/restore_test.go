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
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/service"
)

// Restored from a backup, notify's database said due again every reminder sent since
// the backup was taken, and its log lacked every email sent since: the first sweep
// of the restored notify sent the lead the deadline reminder they had had the day
// before, and the reviewer their reminder of the review's deadline, a second time.
// And a calendar feed address the lead had replaced since (passed on, leaked)
// answered again.
// Notify now enters every email it sends, and every reminder its sweep settles as
// sent, in its register of what it sent (the stream TC_NOTIFY_SENT, which a
// database restore does not reach), and enters them again in its database as it
// starts, before its first sweep: nothing goes twice, the ladder goes on, the
// restored log says what was sent since the backup (without whom to, which only the
// lost log held), and a feed address replaced since is replaced again.
func TestARestoreSendsNoReminderTwice(t *testing.T) {
	t.Parallel()
	h := start(t, 1, time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	ctx := context.Background()
	h.onboard("org-twice", civil.New(2026, 3, 20), civil.New(2026, 9, 20))
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamReview, Subjects: []string{events.SubjectsReview}}); err != nil {
		t.Fatal(err)
	}
	reviewer := "rhea@othertown.ac.uk"
	deadline := time.Date(2026, 9, 20, 16, 0, 0, 0, time.UTC)
	for i, p := range []events.Payload{
		events.ReviewerAssignedV1{RoundID: "r-twice", SubmissionID: "s-twice", OrganisationID: "org-twice", ReviewerID: "rhea", ReviewerName: "Rhea Reviewer", ReviewerEmail: reviewer, ReviewDeadline: deadline},
		events.AssignmentAcceptedV1{RoundID: "r-twice", SubmissionID: "s-twice", OrganisationID: "org-twice", ReviewerID: "rhea", ReviewerName: "Rhea Reviewer", ReviewerEmail: reviewer, ReviewDeadline: deadline},
	} {
		data, _ := json.Marshal(p)
		h.publishTwice(events.Envelope{ID: fmt.Sprintf("twice-rev-%d", i), Type: p.EventType(), AggregateType: "review_round", AggregateID: "r-twice", Version: i + 1, Time: time.Now(), Data: data})
	}
	h.waitForConsumer(events.StreamReview, "notify-review")
	leadTok := h.http.Token(auth.RoleLead, "org-twice")
	feedURL := func(c *testenv.Client) string {
		return c.Must(http.StatusOK, c.Do("GET", "/v1/organisations/org-twice/calendar", leadTok, nil)).JSON(t)["url"].(string)
	}
	serves := func(c *testenv.Client, u string) int {
		return c.Do("GET", strings.TrimPrefix(u, "https://notify.example.org"), "", nil).Status
	}
	first := feedURL(h.http)
	live := h.svcs[0].DB
	backup := testenv.BackUp(t, live)
	// Since the backup, the lead has the feed's address replaced (it was passed on).
	rotated := h.http.Must(http.StatusOK, h.http.Do("POST", "/v1/organisations/org-twice/calendar/rotation", leadTok, nil)).JSON(t)["url"].(string)
	if serves(h.http, first) != http.StatusNotFound {
		t.Fatalf("the replaced feed address answers")
	}
	leadBefore, reviewerBefore := h.box.sentTo(lead.Email), h.box.sentTo(reviewer)

	// Since the backup: the lead's reminder of 1 September, refused once by the mail
	// server and sent on its retry; then, on 13 September, the lead's 7-day reminder
	// and the reviewer's reminder of the review's deadline.
	h.box.tryLater(lead.Email)
	h.runUntil(civil.New(2026, 9, 1))
	h.box.tryLater()
	h.clock.Advance(3 * time.Minute)
	h.runUntil(civil.New(2026, 9, 13))
	// And the reviewer asks for a sign-in link (an email sent by a path of its own).
	if _, err := bus.EnsureStream(ctx, h.env.JS, bus.StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}}); err != nil {
		t.Fatal(err)
	}
	link := events.SigninLinkRequestedV1{Email: reviewer, Name: "Rhea Reviewer", Link: "https://portal.example.org/signin/x", ExpiresAt: h.clock.Now().Add(15 * time.Minute)}
	data, _ := json.Marshal(link)
	if _, err := h.env.JS.PublishMsg(ctx, bus.Message(events.Envelope{ID: "twice-link", Source: "/tc/portal", Type: link.EventType(), AggregateType: "signin",
		AggregateID: "p-twice", Version: 1, Time: h.clock.Now(), Data: data})); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := h.box.sentTo(reviewer) - reviewerBefore; n != 2 {
			return fmt.Errorf("%d emails to the reviewer since the backup, want 2", n)
		}
		return nil
	})
	toLead, toReviewer := h.box.sentTo(lead.Email)-leadBefore, h.box.sentTo(reviewer)-reviewerBefore
	if toLead != 2 || toReviewer != 2 {
		t.Fatalf("since the backup: %d emails to the lead and %d to the reviewer, want 2 (30 and 7 days before) and 2 (the reminder, the sign-in link)", toLead, toReviewer)
	}
	// Entered in the register without waiting: by now NATS has taken them.
	if _, err := h.svcs[0].Sent.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The mail server has an email a moment before notify logs it as sent.
	var (
		logged   []delivery
		liveSent []string
	)
	testenv.Eventually(t, 10*time.Second, func() error {
		logged, liveSent = deliveries(t, live), nil
		for _, d := range logged {
			if d.Status == "sent" {
				liveSent = append(liveSent, d.ID)
			}
		}
		if len(liveSent) != 5 {
			return fmt.Errorf("the live log holds %d emails sent, want 5 (an assignment before the backup; two reminders to the lead, one to the reviewer and a sign-in link since)", len(liveSent))
		}
		return nil
	})
	// A start on a database that was not restored changes nothing in its log, nor its
	// feed address.
	_, cleanupAgain, err := service.New(ctx, h.cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	cleanupAgain()
	if after := deliveries(t, live); !slices.Equal(logged, after) {
		t.Errorf("a start on the live database changed its log:\nbefore %+v\nafter  %+v", logged, after)
	}
	if serves(h.http, rotated) != http.StatusOK {
		t.Errorf("a start on the live database replaced its feed address")
	}

	// notify started on the restored database the next morning, then swept (the
	// 7-day step, still due in the restored database, would say "due in 6 days").
	h.clock.Advance(24 * time.Hour)
	cfg := h.cfg
	cfg.Platform.Mongo.Database = backup
	restored, cleanup, err := service.New(ctx, cfg, service.Options{Clock: h.clock, Logger: telemetry.Discard(), NoSweeper: true})
	if err != nil {
		t.Fatal(err)
	}
	restoredHTTP := h.env.Serve(t, restored.Serve, cleanup)
	// The feed address replaced since the backup does not answer again; the one given
	// out since is lost with the record of it; the lead fetches a new one, which does.
	now := feedURL(restoredHTTP)
	if a, b, c := serves(restoredHTTP, first), serves(restoredHTTP, rotated), serves(restoredHTTP, now); a != http.StatusNotFound || b != http.StatusNotFound || c != http.StatusOK {
		t.Errorf("after the restore: the address replaced since the backup answers %d, the one given since %d, the current one %d; want 404, 404, 200", a, b, c)
	}
	for range 2 {
		if _, err := restored.App.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(5 * time.Minute) // a retry would be due
	}
	if n, m := h.box.sentTo(lead.Email)-leadBefore, h.box.sentTo(reviewer)-reviewerBefore; n != toLead || m != toReviewer {
		t.Errorf("the restored notify sent the lead %d and the reviewer %d emails again", n-toLead, m-toReviewer)
	}
	// Its log says what was sent since the backup, as sent, naming no recipient.
	got := map[string]delivery{}
	for _, d := range deliveries(t, restored.DB) {
		got[d.ID] = d
	}
	for _, id := range liveSent {
		d, ok := got[id]
		if !ok || d.Status != "sent" || d.SentAt.IsZero() {
			t.Errorf("the restored log's entry of email %s sent since the backup: %+v (held: %v)", id, d, ok)
		}
	}
	// The ladder goes on: the day before the deadline, the lead is reminded once.
	h.clock.Advance(5 * 24 * time.Hour)
	if _, err := restored.App.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.box.sentTo(lead.Email) - leadBefore; n != toLead+1 {
		t.Errorf("on 19 September the restored notify sent the lead %d emails, want 1 (due tomorrow)", n-toLead)
	}

	// The register keeps an entry a day longer than a backup is kept (35 days).
	s, err := h.env.JS.Stream(ctx, events.StreamNotifySent)
	if err != nil {
		t.Fatal(err)
	}
	if age := s.CachedInfo().Config.MaxAge; age < 35*24*time.Hour {
		t.Errorf("the register of what was sent keeps an entry %s, less than a backup is kept", age)
	}
}

// delivery is what the test reads of a delivery log entry.
type delivery struct {
	ID     string    `bson:"_id"`
	Status string    `bson:"status"`
	SentAt time.Time `bson:"sent_at"`
}

// deliveries reads a database's delivery log, by key.
func deliveries(t *testing.T, db *mongo.Database) []delivery {
	t.Helper()
	cur, err := db.Collection("deliveries").Find(context.Background(), bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var out []delivery
	if err := cur.All(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
