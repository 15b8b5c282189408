package adapters

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/domain/ladder"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// TestThePreviewReadsWhatItShowsWhateverTheRemindersMadeBefore: the preview pages
// through every organisation's next reminder; with ten times the settled reminders
// of earlier obligations it reads the same (the organisations on its page, by _id),
// and never the reminders collection through.
func TestThePreviewReadsWhatItShowsWhateverTheRemindersMadeBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ops := auth.Principal{Subject: "ops", Role: auth.RoleOps}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	const orgs = 8
	cost := map[int][2]int{}
	pages := map[int][]string{}
	var mu sync.Mutex
	t.Run("histories", func(t *testing.T) {
		for _, earlier := range []int{1, 10} {
			t.Run(fmt.Sprint(earlier), func(t *testing.T) {
				t.Parallel()
				a, counted := previewApp(t, clk, orgs, earlier)
				before := counted.Now()
				var seen []string
				cursor := ""
				for {
					page, next, err := a.Preview(ctx, ops, 3, cursor)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page {
						seen = append(seen, r.OrganisationID+"@"+r.On.String())
					}
					if next == "" {
						break
					}
					cursor = next
				}
				read := counted.Now().Sub(before)
				if read.Scans != 0 {
					t.Errorf("the preview read the reminders through %d times, want none", read.Scans)
				}
				mu.Lock()
				cost[earlier], pages[earlier] = [2]int{read.Finds, read.Docs}, seen
				mu.Unlock()
			})
		}
	})
	var want []string
	for i := orgs - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("org-%02d@2026-03-%02d", i, 8-i)) // the window's opening, not yet sent
	}
	for earlier, seen := range pages {
		if !slices.Equal(seen, want) {
			t.Errorf("with %d earlier obligations the preview showed %v, want %v", earlier, seen, want)
		}
	}
	t.Logf("reads of the preview's pages (finds, documents): %v", cost)
	if cost[1] != cost[10] {
		t.Errorf("the preview cost %v reads after 1 earlier obligation each and %v after 10, want the same", cost[1], cost[10])
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// previewApp is notify's app over a database of its own holding orgs organisations,
// each with earlier obligations whose reminders were all sent and an open one whose
// window opened on a day of its own (later for the lower ids); the read counter
// counts what the preview reads.
func previewApp(t *testing.T, clk clock.Clock, orgs, earlier int) (*app.App, *testenv.Reads) {
	t.Helper()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "reminders")
	organisations, err := NewOrganisations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := NewReminders(ctx, db, clk)
	if err != nil {
		t.Fatal(err)
	}
	for i := range orgs {
		org := fmt.Sprintf("org-%02d", i)
		// Earlier obligations, whose reminders were all sent.
		for n := range earlier {
			due := civil.New(2020+n%5, time.Month(1+n/5), 1+i)
			ob := ladder.Obligation{ID: fmt.Sprintf("%s-ob%d", org, n), Kind: "action_plan", WindowOpens: due.AddDays(-180), Due: due}
			var rs []ladder.Reminder
			for _, step := range ladder.DefaultPolicy.Steps(ob) {
				rs = append(rs, ladder.Reminder{OrganisationID: org, ObligationID: ob.ID, Due: due, Step: step})
			}
			if err := writer.Schedule(ctx, rs); err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if err := writer.Settle(ctx, r, ladder.Send); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The open obligation, whose window opened on a day of its own (later
		// for the lower ids, so that the preview's order is the days').
		due := civil.New(2026, 9, 1+i)
		ob := ladder.Obligation{ID: org + "-open", Kind: "action_plan", WindowOpens: civil.New(2026, 3, 8-i), Due: due}
		var rs []ladder.Reminder
		for _, step := range ladder.DefaultPolicy.Steps(ob) {
			rs = append(rs, ladder.Reminder{OrganisationID: org, ObligationID: ob.ID, Due: due, Step: step})
		}
		if err := writer.Schedule(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if err := organisations.Put(ctx, app.Organisation{ID: org, Name: "Uni " + org, Announced: true,
			Lead:       mail.Person{Name: "Lead", Email: "lead@" + org + ".example.ac.uk"},
			Obligation: &app.Obligation{ID: ob.ID, Kind: ob.Kind, WindowOpens: ob.WindowOpens, Due: due}}); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := NewReminders(ctx, db, clk) // another replica, or a restart
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Deps{Organisations: organisations, Reminders: reader, Assignments: must(NewAssignments(ctx, db)), Deliveries: deliveries,
		Calendars: NewCalendarTokens(db), Sender: &counting{}, Clock: clk}, app.Config{Ladder: ladder.DefaultPolicy, PortalURL: "https://portal.example.org", Contact: "itss@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	return a, counted
}

// The preview reads the organisations it meets a batch at a time: with more
// organisations than a batch, and pages that end inside one, across one and on its
// edge, every organisation is shown once, in order.
func TestThePreviewPagesThroughMoreOrganisationsThanABatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ops := auth.Principal{Subject: "ops", Role: auth.RoleOps}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	const orgs = 40
	a, _ := previewApp(t, clk, orgs, 1)
	var want []string
	for i := orgs - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("org-%02d@%s", i, civil.New(2026, 3, 8).AddDays(-i)))
	}
	for _, limit := range []int{3, 15, 16, 17, 50} {
		var seen []string
		cursor := ""
		for {
			page, next, err := a.Preview(ctx, ops, limit, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("a page of %d held %d", limit, len(page))
			}
			for _, r := range page {
				seen = append(seen, r.OrganisationID+"@"+r.On.String())
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(seen, want) {
			t.Errorf("pages of %d showed %v, want %v", limit, seen, want)
		}
	}
}

// TestAPreviewPageReadsNoMoreWhereThereAreMoreOrganisations: the first page of the
// preview reads the organisations it shows and the one after, however many more
// there are to walk past: with ten times the organisations it reads at most one more
// document. Read sixteen at a time, a page of five read sixteen organisations where
// there were fifty, five where there were five.
func TestAPreviewPageReadsNoMoreWhereThereAreMoreOrganisations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ops := auth.Principal{Subject: "ops", Role: auth.RoleOps}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	const limit = 5
	docs := map[int]int{}
	for _, orgs := range []int{limit, 10 * limit} {
		a, counted := previewApp(t, clk, orgs, 1)
		before := counted.Now()
		page, _, err := a.Preview(ctx, ops, limit, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != limit {
			t.Fatalf("with %d organisations the first page shows %d, want %d", orgs, len(page), limit)
		}
		docs[orgs] = counted.Now().Sub(before).Docs
	}
	t.Logf("documents read by the first page, by organisations held: %v", docs)
	if docs[10*limit] > docs[limit]+1 {
		t.Errorf("the first page read %d documents with %d organisations and %d with %d: want at most one more", docs[10*limit], 10*limit, docs[limit], limit)
	}
}
