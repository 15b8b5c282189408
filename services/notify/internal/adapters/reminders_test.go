package adapters

import (
	"context"
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
