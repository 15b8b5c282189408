package adapters

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// The log's retention passes an entry (blanking whom it went to, dropping whom it
// went to before a resend, the digests of the people it names and the addresses in
// its subject) as its recipient is erased (the erasure reads the entry and replaces
// it with the person blanked). Each round checks that the entry names nobody
// afterwards: not its recipient, not its recipient before the resend, not by digest
// nor by address in its subject.
//
// On the embedded store a write is a read then a replace: the erasure's replace,
// read before the retention's pass and written after it, wrote back what the
// retention had taken out (26 to 32 rounds of 40 failed on the old code), and the
// retention, having passed the entry, never looked again. An entry the retention may
// be passing is now blanked by the erasure as the retention blanks it.
func TestTheLogsRetentionBesideAnErasureOfTheSameEntryLeavesNobodyNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	deliveries := must(NewDeliveries(ctx, db))
	sentAt := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(sentAt.Add(app.DefaultLogRetention + time.Minute))
	erasure := NewErasure(db).WithLogRetention(clk, app.DefaultLogRetention)
	entry := func(key string, to, before mail.Person, mentions ...string) {
		t.Helper()
		d := app.Delivery{Key: key, OrganisationID: "org-1", Kind: "lead_changed", Status: app.StatusSending, Attempts: 1, CreatedAt: sentAt, UpdatedAt: sentAt,
			Mentions: mentions, Message: mail.Message{MessageID: key + "@tc", To: []mail.Person{to},
				Subject: "Your address for Uni A is now " + before.Email, Text: "Dear " + to.Name}}
		if ok, err := deliveries.Claim(ctx, d, 1); !ok || err != nil {
			t.Fatalf("claim %s: %v %v", key, ok, err)
		}
		d.Status, d.SentAt, d.LastError = app.StatusSent, sentAt, "421 4.7.0 <"+to.Email+"> try again later"
		d.Earlier = []app.Sent{{To: []mail.Person{before}, At: sentAt.Add(-time.Hour)}}
		if err := deliveries.Record(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// Other people's entries make the erasure's reading of the log take a while.
	for i := range 60 {
		entry(fmt.Sprintf("other-%d", i), mail.Person{Name: "Olu Other", Email: fmt.Sprintf("olu.%d@exampleton.ac.uk", i)},
			mail.Person{Name: "Ola Older", Email: fmt.Sprintf("ola.%d@exampleton.ac.uk", i)})
	}
	const rounds = 40
	named := 0
	for n := range rounds {
		key := fmt.Sprintf("entry-%d", n)
		erased := mail.Person{Name: fmt.Sprintf("Eve Erased%02d", n), Email: fmt.Sprintf("eve.%02d@exampleton.ac.uk", n)}
		before := mail.Person{Name: fmt.Sprintf("Bea Before%02d", n), Email: fmt.Sprintf("bea.%02d@exampleton.ac.uk", n)}
		mentioned := personal.Subject(fmt.Sprintf("mo.%02d@exampleton.ac.uk", n))
		entry(key, erased, before, mentioned)
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if err := erasure.ForgetAt(ctx, personal.Subject(erased.Email), clk.Now()); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
			if _, err := deliveries.ForgetRecipients(ctx, clk.Now().Add(-app.DefaultLogRetention)); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		for _, text := range []string{erased.Email, erased.Name, before.Email, before.Name, mentioned} {
			if got := holding(t, db, text, "deliveries", "delivery_bodies"); len(got) > 0 {
				named++
				t.Logf("round %d: %q is still in %.600s", n, text, got[0])
				break
			}
		}
	}
	if named > 0 {
		t.Errorf("of %d rounds, %d left an entry past its retention naming someone after its recipient's erasure", rounds, named)
	}
}
