package adapters

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// sweepDue is how many reminders fall due on each swept day, whatever the population.
const sweepDue = 100

// BenchmarkSweep times what the sweep does to find and settle one day's due
// reminders (sweepDue of them) among the pending reminders of 1,000 and of 100,000
// organisations. `make bench` runs it and reports the ratio of the two: the cost
// should follow what is due, not the population.
func BenchmarkSweep(b *testing.B) {
	for _, orgs := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("orgs=%d", orgs), func(b *testing.B) { benchmarkSweep(b, orgs) })
	}
}

func benchmarkSweep(b *testing.B, orgs int) {
	ctx := context.Background()
	_, db := testenv.Mongo(b)
	start := time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	reminders, err := NewReminders(ctx, db, clk)
	if err != nil {
		b.Fatal(err)
	}
	day := civil.Of(start.In(london))
	// The population: one pending reminder per organisation, due a year on, written
	// as Schedule writes them (the reminder, then its slot in its day's list) but in
	// bulk, for a quick set-up.
	later := day.AddDays(365)
	const batch = 1000
	for i := 0; i < orgs; i += batch {
		docs, slots := make([]any, 0, batch), make([]any, 0, batch)
		for j := i; j < min(i+batch, orgs); j++ {
			r := ladder.Reminder{OrganisationID: fmt.Sprintf("org-%06d", j), ObligationID: "ob", Due: later,
				Step: ladder.Step{Name: "due-soon", On: later, DaysLeft: 0}}
			docs = append(docs, reminderDoc{ID: reminderID(r), OrganisationID: r.OrganisationID, ObligationID: r.ObligationID, Due: later.String(),
				Step: r.Step.Name, On: later.String(), State: pending, Listed: true})
			slots = append(slots, slotDoc{ID: slotID(later, j+1), Reminder: reminderID(r)})
		}
		if _, err := reminders.coll.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
		if _, err := reminders.slots.InsertMany(ctx, slots); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// A new day: sweepDue reminders of existing organisations fall due on it.
		on := day.AddDays(i + 1)
		var due []ladder.Reminder
		for j := range sweepDue {
			due = append(due, ladder.Reminder{OrganisationID: fmt.Sprintf("org-%06d", (j*7919+i)%orgs), ObligationID: fmt.Sprintf("ob-%d", i),
				Due: on.AddDays(30), Step: ladder.Step{Name: "30-days", On: on, DaysLeft: 30}})
		}
		if err := reminders.Schedule(ctx, due); err != nil {
			b.Fatal(err)
		}
		clk.Advance(24 * time.Hour)
		b.StartTimer()
		found := 0
		for {
			rs, err := reminders.DueBy(ctx, on, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(rs) == 0 {
				break
			}
			for _, r := range rs {
				if err := reminders.Settle(ctx, r, ladder.Send); err != nil {
					b.Fatal(err)
				}
			}
			found += len(rs)
		}
		if found != sweepDue {
			b.Fatalf("day %d: the sweep found %d reminders, want %d", i+1, found, sweepDue)
		}
	}
}
