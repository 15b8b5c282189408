package signin_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/portal/internal/signin"
)

// The staff record keeps the name of each ITSS person's latest sign-in, answers
// for the subjects it knows, and leaves out those it does not.
func TestStaffKeepsTheLatestNameOfEachSubject(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	staff, err := signin.NewStaff(db, clock.NewFake(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []struct{ subject, name string }{
		{"k.okafor", "Kim Okafor"}, {"a.reid", "Ann Reid"}, {"k.okafor", "Kim Okafor-Lane"}, {"nameless", ""},
	} {
		if err := staff.Seen(ctx, s.subject, s.name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := staff.Names(ctx, []string{"k.okafor", "a.reid", "never-seen", "nameless"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"k.okafor": "Kim Okafor-Lane", "a.reid": "Ann Reid"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

// The record forgets a person not seen for the period kept, counted from their
// latest sign-in: a sign-in starts the period again. No period forgets nobody.
func TestStaffForgetsThoseNotSeenForThePeriod(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	staff, err := signin.NewStaff(db, clk)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const keep = 400 * 24 * time.Hour
	for _, s := range []string{"left", "stays"} {
		if err := staff.Seen(ctx, s, "Person "+s); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(keep / 2)
	if err := staff.Seen(ctx, "stays", "Person stays"); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.Sweep(ctx, 0); err == nil {
		t.Error("a sweep without a period ran")
	}
	clk.Advance(keep/2 - time.Second)
	if n, err := staff.Sweep(ctx, keep); err != nil || n != 0 {
		t.Fatalf("a second before the period ends: forgot %d (%v), want none", n, err)
	}
	clk.Advance(time.Second)
	if n, err := staff.Sweep(ctx, keep); err != nil || n != 1 {
		t.Fatalf("at the period's end: forgot %d (%v), want the one not seen since", n, err)
	}
	got, err := staff.Names(ctx, []string{"left", "stays"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"stays": "Person stays"}, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}
