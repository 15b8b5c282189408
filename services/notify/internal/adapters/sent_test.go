package adapters

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// An email is sent whether or not the register of what was sent takes its entry:
// the entry is handed to NATS without waiting for it, what NATS does not take is
// held and handed over again (not before sentRetry), and Flush waits for NATS to
// take what it was handed. A key that is not an email's is not entered.
func TestTheRegisterOfWhatWasSentHoldsWhatNATSDoesNotTake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, js := testenv.JetStream(t, testenv.NATS(t))
	clk := clock.NewFake(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	s, err := NewSent(js, clk, telemetry.Discard())
	if err != nil {
		t.Fatal(err)
	}
	first := app.Delivery{Key: "0123456789abcdef0123456789abcdef", OrganisationID: "org-held", Kind: "reminder", Step: "7d", About: "ob@2026-09-20", Role: "lead", Attempts: 1, SentAt: clk.Now()}
	second := first
	second.Key, second.Kind = "fedcba9876543210fedcba9876543210", "review-due-soon"
	// No stream yet: NATS takes nothing.
	s.Email(ctx, first)
	s.Email(ctx, app.Delivery{Key: "not-a-key"})
	s.Email(ctx, second)
	s.Reminder(ctx, ladder.Reminder{OrganisationID: "org-held", ObligationID: "ob", Due: civil.New(2026, 9, 20), Step: ladder.Step{Name: "7d", On: civil.New(2026, 9, 13)}})
	if n, err := s.Flush(ctx); err == nil || n != 0 {
		t.Fatalf("with no stream to take them, Flush entered %d (%v), want none and an error", n, err)
	}
	s.mu.Lock()
	held := len(s.held) + len(s.inflight)
	s.mu.Unlock()
	if held != 3 {
		t.Fatalf("held %d entries with no stream to take them, want 3 (the email without a key is not one)", held)
	}
	if _, err := bus.EnsureStream(ctx, js, bus.NotifySentStream(1)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(sentRetry)
	if n, err := s.Flush(ctx); err != nil || n != 3 {
		t.Fatalf("Flush entered %d (%v), want 3", n, err)
	}
	got, err := s.entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.emails) != 2 || got.emails[first.Key].Kind != "reminder" || got.emails[second.Key].Kind != "review-due-soon" || len(got.reminders) != 1 {
		t.Errorf("the register holds %+v", got)
	}
	if r := got.reminders; len(r) == 1 && (r[0].Obligation != "ob" || r[0].Due != "2026-09-20" || r[0].On != "2026-09-13" || r[0].Step != "7d") {
		t.Errorf("the reminder's entry: %+v", r[0])
	}
	// Once NATS takes entries again, a new one is handed over at once.
	third := first
	third.Key = "00000000000000000000000000000003"
	s.Email(ctx, third)
	if n, err := s.Flush(ctx); err != nil || n != 1 {
		t.Errorf("the new entry: Flush says %d taken (%v), want 1", n, err)
	}
	if got, err := s.entries(ctx); err != nil || len(got.emails) != 3 {
		t.Errorf("after the register took the held entries, a new one is entered: %d emails (%v)", len(got.emails), err)
	}
}

// TestEntriesNATSHasNotTakenOutliveAStop: a notify that stops while NATS is away
// leaves the entries NATS has not taken in its database (each Flush keeps them, the
// timer's and the last one at a stop); the next notify takes them back and enters
// them once NATS takes entries again, and lets go of the kept copies then. Before,
// they were held in memory only and went with the process.
func TestEntriesNATSHasNotTakenOutliveAStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, js := testenv.JetStream(t, testenv.NATS(t))
	_, db := testenv.Mongo(t)
	kept := db.Collection("sent_held")
	clk := clock.NewFake(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	stopped, err := NewSent(js, clk, telemetry.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := stopped.KeepHeldIn(ctx, kept); err != nil || n != 0 {
		t.Fatalf("a first start took back %d entries (%v), want none", n, err)
	}
	email := app.Delivery{Key: "0123456789abcdef0123456789abcdef", OrganisationID: "org-kept", Kind: "reminder", Step: "7d", About: "ob@2026-09-20", Role: "lead", Attempts: 1, SentAt: clk.Now()}
	// No stream: NATS takes nothing, and the stop's Flush keeps what is held.
	stopped.Email(ctx, email)
	stopped.Reminder(ctx, ladder.Reminder{OrganisationID: "org-kept", ObligationID: "ob", Due: civil.New(2026, 9, 20), Step: ladder.Step{Name: "7d", On: civil.New(2026, 9, 13)}})
	if _, err := stopped.Flush(ctx); err == nil {
		t.Fatal("Flush with no stream to take the entries: no error")
	}
	if n, err := kept.CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Fatalf("%d entries kept in the database at the stop (%v), want 2", n, err)
	}
	// A Flush that finds them kept already writes nothing twice.
	clk.Advance(sentRetry)
	if _, err := stopped.Flush(ctx); err == nil {
		t.Fatal("Flush with no stream to take the entries: no error")
	}
	if n, err := kept.CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Fatalf("%d entries kept after a second Flush (%v), want still 2", n, err)
	}

	// The next notify starts; NATS takes entries again.
	if _, err := bus.EnsureStream(ctx, js, bus.NotifySentStream(1)); err != nil {
		t.Fatal(err)
	}
	next, err := NewSent(js, clk, telemetry.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := next.KeepHeldIn(ctx, kept); err != nil || n != 2 {
		t.Fatalf("the next notify took back %d entries (%v), want 2", n, err)
	}
	if n, err := next.Flush(ctx); err != nil || n != 2 {
		t.Fatalf("the next notify's Flush entered %d (%v), want 2", n, err)
	}
	got, err := next.entries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := got.emails[email.Key]; !ok || e.Kind != "reminder" || e.Organisation != "org-kept" || len(got.reminders) != 1 || got.reminders[0].Obligation != "ob" {
		t.Errorf("the register after the next start holds %+v", got)
	}
	if n, err := kept.CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("%d entries still kept in the database once NATS took them (%v), want none", n, err)
	}
}

// After a restore from a backup weeks old, the register names many emails the log
// lacks: MendSent logs them as sent many at a time, leaves alone one another replica
// logged meanwhile and one the log holds as sent when the register says, logs as
// sent one the log holds as failed, logs again one resent since the backup (the log
// restored held its first send: it showed attempts 1 after the restore), and a second
// run finds nothing to do.
func TestMendSentLogsWhatTheLogLacksManyAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	_, js := testenv.JetStream(t, testenv.NATS(t))
	if _, err := bus.EnsureStream(ctx, js, bus.NotifySentStream(1)); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	s, err := NewSent(js, clk, telemetry.Discard())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReminders(ctx, db, clk)
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return fmt.Sprintf("%032x", i) }
	const emails = 1200
	for i := range emails {
		s.Email(ctx, app.Delivery{Key: key(i), OrganisationID: "org-many", Kind: "reminder", Step: "7d", Attempts: 1, SentAt: clk.Now()})
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The log holds the first as sent an hour before (ops resent it since the backup,
	// as its second attempt), the second as failed (its retry sent it since the
	// backup), and the fourth as sent when the register says.
	resent := clk.Now().Add(time.Minute)
	s.Email(ctx, app.Delivery{Key: key(0), OrganisationID: "org-many", Kind: "reminder", Step: "7d", Attempts: 2, SentAt: resent})
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, status := range map[int]string{0: app.StatusSent, 1: app.StatusFailed, 3: app.StatusSent} {
		del := app.Delivery{Key: key(i), OrganisationID: "org-many", Kind: "reminder", Status: status, Attempts: 1, CreatedAt: clk.Now().Add(-time.Hour), UpdatedAt: clk.Now()}
		switch i {
		case 0:
			del.SentAt, del.UpdatedAt = clk.Now().Add(-time.Hour), clk.Now().Add(-time.Hour)
		case 3:
			del.SentAt = clk.Now()
		}
		if err := d.Record(ctx, del); err != nil {
			t.Fatal(err)
		}
	}
	// Another replica logged the third meanwhile (this one's lists do not show it).
	if _, err := db.Collection("deliveries").InsertOne(ctx, bson.D{{Key: "_id", Value: key(2)}, {Key: "status", Value: app.StatusSent}}); err != nil {
		t.Fatal(err)
	}

	m, err := MendSent(ctx, s, d, r, NewCalendarTokens(db))
	if err != nil {
		t.Fatal(err)
	}
	if m.Emails != emails-2 {
		t.Errorf("mended %d emails, want %d (all but the one logged as sent when the register says and the one another replica logged)", m.Emails, emails-2)
	}
	if got, ok, err := d.Get(ctx, key(0)); err != nil || !ok || got.Attempts != 2 || !got.SentAt.Equal(resent) {
		t.Errorf("the email resent since the backup: %+v (%v, %v), want its second attempt, sent at the register's time", got, ok, err)
	}
	n, err := db.Collection("deliveries").CountDocuments(ctx, bson.D{{Key: "status", Value: app.StatusSent}})
	if err != nil || n != emails {
		t.Errorf("%d emails logged as sent (%v), want %d", n, err, emails)
	}
	if got, ok, err := d.Get(ctx, key(1)); err != nil || !ok || got.Status != app.StatusSent || !got.SentAt.Equal(clk.Now()) {
		t.Errorf("the email logged as failed: %+v (%v, %v), want sent at the register's time", got, ok, err)
	}
	if again, err := MendSent(ctx, s, d, r, NewCalendarTokens(db)); err != nil || again != (MendedSent{}) {
		t.Errorf("a second run mended %+v (%v), want nothing", again, err)
	}
}
