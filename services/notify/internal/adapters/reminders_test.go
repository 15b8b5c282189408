package adapters

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
)

// An organisation's reminders are found through its own list: Retire settles only
// that organisation's pending ones outside the kept schedule, Due returns its pending
// ones by a day, soonest first, and a replayed schedule lists nothing twice.
func TestRetireAndDueReadOnlyTheOrganisationsOwnReminders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
	rem, err := NewReminders(ctx, db, clk)
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) civil.Date {
		d, err := civil.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ids := func(rs []ladder.Reminder) []string {
		var out []string
		for _, r := range rs {
			out = append(out, reminderID(r)+"@"+r.Step.On.String())
		}
		return out
	}
	r := func(org, ob, due, step, on string) ladder.Reminder {
		return ladder.Reminder{OrganisationID: org, ObligationID: ob, Due: day(due), Step: ladder.Step{Name: step, On: day(on)}}
	}
	old1, old2 := r("a", "ob1", "2026-12-01", "30-days", "2026-11-01"), r("a", "ob1", "2026-12-01", "7-days", "2026-11-24")
	kept := r("a", "ob1", "2027-01-15", "30-days", "2026-12-16") // the same obligation, moved
	other := r("b", "ob9", "2026-12-01", "30-days", "2026-11-01")
	for range 2 { // a replayed schedule
		if err := rem.Schedule(ctx, []ladder.Reminder{old2, old1, kept, other}); err != nil {
			t.Fatal(err)
		}
	}
	due, err := rem.Due(ctx, "a", day("2026-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids([]ladder.Reminder{old1, old2, kept}), ids(due)); diff != "" {
		t.Fatalf("Due before Retire (-want +got):\n%s", diff)
	}
	if err := rem.Retire(ctx, "a", "ob1", day("2027-01-15"), ladder.Rescheduled); err != nil {
		t.Fatal(err)
	}
	if due, err = rem.Due(ctx, "a", day("2027-12-31")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids([]ladder.Reminder{kept}), ids(due)); diff != "" {
		t.Errorf("Due after Retire (-want +got):\n%s", diff)
	}
	if due, err = rem.Due(ctx, "b", day("2027-12-31")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids([]ladder.Reminder{other}), ids(due)); diff != "" {
		t.Errorf("another organisation's reminders changed (-want +got):\n%s", diff)
	}
}

// The sweep runs every minute all day. Reminders listed in today's list and settled
// are behind the cursor from then on: a later sweep of the same day reads what is
// new, not the day's settled list again. (It did: every sweep re-read each of today's
// slots and reminders, two finds a reminder; with the 1,200 reminders that 200 newly
// announced organisations list on their first day, 2 s of reads every minute, which
// slowed every request of the stack while it ran.) Reminders listed later the same
// day are still found, and the cursor never passes one still pending.
func TestLaterSweepsOfADayReadOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reads, nextDay := map[int]testenv.ReadCount{}, map[int]testenv.ReadCount{}
	for _, n := range []int{10, 100} {
		db, counted := testenv.MonitoredDB(t, "reminder_slots")
		clk := clock.NewFake(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC))
		rem, err := NewReminders(ctx, db, clk)
		if err != nil {
			t.Fatal(err)
		}
		today := civil.Of(clk.Now().In(london))
		remind := func(org string) ladder.Reminder {
			return ladder.Reminder{OrganisationID: org, ObligationID: "ob", Due: today.AddDays(30), Step: ladder.Step{Name: "30-days", On: today.AddDays(-3), DaysLeft: 30}}
		}
		var rs []ladder.Reminder
		for i := range n {
			rs = append(rs, remind(fmt.Sprintf("org-%03d", i)))
		}
		if err := rem.Schedule(ctx, rs); err != nil {
			t.Fatal(err)
		}
		sweep := func() []ladder.Reminder {
			t.Helper()
			due, err := rem.DueBy(ctx, today, 500)
			if err != nil {
				t.Fatal(err)
			}
			return due
		}
		due := sweep()
		if len(due) != n {
			t.Fatalf("%d listed today (their days past): the first sweep found %d", n, len(due))
		}
		// All but the last settled: the cursor stops at the one still pending.
		for _, r := range due[:n-1] {
			if err := rem.Settle(ctx, r, ladder.Send); err != nil {
				t.Fatal(err)
			}
		}
		if again := sweep(); len(again) != 1 || reminderID(again[0]) != reminderID(rs[n-1]) {
			t.Fatalf("with one left pending, the next sweep found %d, want that one", len(again))
		}
		if err := rem.Settle(ctx, due[n-1], ladder.Send); err != nil {
			t.Fatal(err)
		}
		sweep() // moves the cursor past the last
		before := counted.Now()
		if again := sweep(); len(again) != 0 {
			t.Fatalf("everything settled: a later sweep found %d", len(again))
		}
		reads[n] = counted.Now().Sub(before)
		// Listed later the same day: found by the next sweep.
		late := remind("org-late")
		if err := rem.Schedule(ctx, []ladder.Reminder{late}); err != nil {
			t.Fatal(err)
		}
		if again := sweep(); len(again) != 1 || reminderID(again[0]) != reminderID(late) {
			t.Fatalf("a reminder listed later today: the next sweep found %d, want it", len(again))
		}
		if err := rem.Settle(ctx, late, ladder.Send); err != nil {
			t.Fatal(err)
		}
		sweep()
		// After midnight today's list is yesterday's: the first sweep of the new day
		// does not read it again either.
		clk.Advance(24 * time.Hour)
		today = today.AddDays(1)
		before = counted.Now()
		if again := sweep(); len(again) != 0 {
			t.Fatalf("the next day: the first sweep found %d, want none", len(again))
		}
		nextDay[n] = counted.Now().Sub(before)
	}
	if nextDay[100].Finds != nextDay[10].Finds || nextDay[100].Finds > 4 {
		t.Errorf("the first sweep after midnight read %+v with 10 reminders the day before and %+v with 100: want a few finds whatever the day held", nextDay[10], nextDay[100])
	}
	if reads[100].Finds != reads[10].Finds || reads[100].Finds > 3 {
		t.Errorf("a sweep after the day's reminders were settled read %+v with 10 of them and %+v with 100: want a few finds whatever the day held", reads[10], reads[100])
	}
}
