package adapters

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// counting is a relay that counts what it is handed.
type counting struct{ n atomic.Int32 }

func (c *counting) Send(context.Context, mail.Message) error { c.n.Add(1); return nil }

func newDeliveries(t *testing.T) *Deliveries {
	t.Helper()
	_, db := testenv.Mongo(t)
	d, err := NewDeliveries(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOfManyClaimsOnOneAttemptExactlyOneWins(t *testing.T) {
	t.Parallel()
	d := newDeliveries(t)
	for _, attempt := range []int{1, 2} {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := d.Claim(context.Background(), app.Delivery{Key: "k1", OrganisationID: "o", Kind: "reminder", Status: app.StatusSending,
					Attempts: attempt, CreatedAt: time.Now(), UpdatedAt: time.Now()}, attempt)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("attempt %d: %d claims won, want 1", attempt, wins.Load())
		}
	}
}

// A replica that claims an email and dies before sending it leaves the delivery
// "sending". Once its lease runs out, the next sweep of any replica takes it over as
// attempt 2; two replicas sweeping at once still send it once.
func TestAnEmailClaimedByAReplicaThatDiedIsSentOnceAfterItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	orgs, err := NewOrganisations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 9, 13, 9, 0, 0, 0, time.UTC))
	reminders, err := NewReminders(ctx, db, clk)
	if err != nil {
		t.Fatal(err)
	}
	assignments, err := NewAssignments(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	relay := &counting{}
	var replicas []*app.App
	for range 2 {
		a, err := app.New(app.Deps{Organisations: orgs, Reminders: reminders, Assignments: assignments, Deliveries: deliveries, Calendars: NewCalendarTokens(db), Sender: relay, Clock: clk}, app.Config{Ladder: ladder.DefaultPolicy, PortalURL: "https://portal.example.org", Contact: "itss@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, a)
	}
	died := app.Delivery{Key: "dead-replica", OrganisationID: "o", Kind: "reminder", Status: app.StatusSending, Attempts: 1,
		CreatedAt: clk.Now(), UpdatedAt: clk.Now(), Message: mail.Message{MessageID: "dead-replica@tc", To: []mail.Person{{Name: "Lead", Email: "lead@example.ac.uk"}}, Subject: "s"}}
	if ok, err := deliveries.Claim(ctx, died, 1); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	sweepBoth := func() {
		var wg sync.WaitGroup
		for _, a := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := a.Sweep(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	clk.Advance(50 * time.Second) // the lease is a minute
	sweepBoth()
	if relay.n.Load() != 0 {
		t.Fatal("an email was taken over while its claim was still fresh")
	}
	clk.Advance(15 * time.Second)
	sweepBoth()
	sweepBoth()
	if relay.n.Load() != 1 {
		t.Fatalf("sent %d times after the lease ran out, want once", relay.n.Load())
	}
	got, _, err := deliveries.Get(ctx, "dead-replica")
	if err != nil || got.Status != app.StatusSent || got.Attempts != 2 {
		t.Errorf("delivery after take-over: %+v %v", got, err)
	}
}

// The erasure leaves an entry being sent to its sender, which forgets the person once
// it has recorded the outcome. A sender that died mid-send records nothing: once the
// lease runs out, the sweep takes the email over, gives it up as to an erased person
// (a reminder) or as a sign-in link (never retried), and forgets the person then.
func TestAnEmailBeingSentWhenItsRecipientIsErasedIsForgottenByWhoeverTakesItOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2026, 9, 13, 9, 0, 0, 0, time.UTC))
	deliveries := must(NewDeliveries(ctx, db))
	relay := &counting{}
	a, err := app.New(app.Deps{Organisations: must(NewOrganisations(ctx, db)), Reminders: must(NewReminders(ctx, db, clk)), Assignments: must(NewAssignments(ctx, db)),
		Deliveries: deliveries, Calendars: NewCalendarTokens(db), Sender: relay, Clock: clk}, app.Config{Ladder: ladder.DefaultPolicy, PortalURL: "https://portal.example.org", Contact: "itss@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	erasure := NewErasure(db)
	if err := a.UseErasures(erasure); err != nil {
		t.Fatal(err)
	}
	lead := mail.Person{Name: "Lee Leaving", Email: "lee.leaving@example.ac.uk"}
	for _, kind := range []string{"reminder", app.KindSigninLink} {
		died := app.Delivery{Key: "dead-" + kind, OrganisationID: "o", Kind: kind, Status: app.StatusSending, Attempts: 1,
			CreatedAt: clk.Now(), UpdatedAt: clk.Now(), Message: mail.Message{MessageID: "dead-" + kind + "@tc", To: []mail.Person{lead}, Subject: "s", Text: "Dear Lee Leaving"}}
		if ok, err := deliveries.Claim(ctx, died, 1); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
	}
	if err := erasure.ForgetAt(ctx, personal.Subject(lead.Email), clk.Now()); err != nil {
		t.Fatal(err)
	}
	if got := holding(t, db, lead.Email, "deliveries"); len(got) != 2 {
		t.Fatalf("the erasure changed the entries being sent: %v", got)
	}
	clk.Advance(65 * time.Second) // the lease is a minute
	if _, err := a.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := relay.n.Load(); n != 0 {
		t.Errorf("sent %d emails to the erased person", n)
	}
	for _, text := range []string{lead.Email, lead.Name} {
		if got := holding(t, db, text, "deliveries", "delivery_bodies"); len(got) != 0 {
			t.Errorf("after the take-over, %v", got)
		}
	}
	for _, kind := range []string{"reminder", app.KindSigninLink} {
		if got, _, err := deliveries.Get(ctx, "dead-"+kind); err != nil || got.Status != app.StatusGivenUp {
			t.Errorf("the %s after the take-over: %+v %v, want given up", kind, got, err)
		}
	}
}

// Two emails may be claimed under one key: a correction of a deadline takes the key of
// the day's reminder to its recipient, which the sweep then claims in vain
// (app.tellWhereItStands). The claim that loses leaves the winner's body as it was:
// before, it wrote its own over it, and the log's entry of the correction kept the
// reminder's text and paragraphs, which a resend or a retry would then have sent as
// the correction.
func TestAClaimThatLosesLeavesTheWinnersBody(t *testing.T) {
	t.Parallel()
	d := newDeliveries(t)
	ctx := context.Background()
	claim := func(kind, says string) bool {
		t.Helper()
		ok, err := d.Claim(ctx, app.Delivery{Key: "day-key", OrganisationID: "o", Kind: kind, Status: app.StatusSending, Attempts: 1,
			CreatedAt: time.Now(), UpdatedAt: time.Now(), Message: mail.Message{Subject: kind, Text: says},
			Content: mail.Content{Paragraphs: []string{says}}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim("announcement-corrected", "ITSS has corrected the date.") {
		t.Fatal("the first claim lost")
	}
	if claim("reminder", "As of today, it is 7 days overdue.") {
		t.Fatal("the second claim won")
	}
	got, ok, err := d.Get(ctx, "day-key")
	if err != nil || !ok {
		t.Fatalf("the delivery: %v %v", ok, err)
	}
	if got.Kind != "announcement-corrected" || got.Message.Text != "ITSS has corrected the date." || len(got.Content.Paragraphs) != 1 || got.Content.Paragraphs[0] != "ITSS has corrected the date." {
		t.Errorf("the winner's entry is %s saying %q, paragraphs %q: want the correction's own", got.Kind, got.Message.Text, got.Content.Paragraphs)
	}
}
