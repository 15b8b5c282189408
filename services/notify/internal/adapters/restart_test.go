package adapters

import (
	"context"
	"fmt"
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

// TestTheFirstReadsAfterARestartCostWhatTheyDoWarm: a replica just started on a
// delivery log and reminders answers the delivery log, one organisation's
// deliveries and the reminder preview with the finds and documents it needs when
// asked again. Notify keeps no aggregates: its lists' mirrors are read whole while
// it starts (NewDeliveries, NewReminders) and the rest is read by _id on every
// request, so the first request has nothing more to read; this holds it so.
func TestTheFirstReadsAfterARestartCostWhatTheyDoWarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ops := auth.Principal{Subject: "ops", Role: auth.RoleOps}
	clk := clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	db, counted := testenv.MonitoredDB(t, "deliveries")
	organisations, err := NewOrganisations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	reminders, err := NewReminders(ctx, db, clk)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	const orgs = 30
	for i := range orgs {
		org := fmt.Sprintf("org-%02d", i)
		due := civil.New(2026, 9, 1+i%28)
		ob := ladder.Obligation{ID: org + "-open", Kind: "action_plan", WindowOpens: civil.New(2026, 3, 1+i%28), Due: due}
		var rs []ladder.Reminder
		for _, step := range ladder.DefaultPolicy.Steps(ob) {
			rs = append(rs, ladder.Reminder{OrganisationID: org, ObligationID: ob.ID, Due: due, Step: step})
		}
		if err := reminders.Schedule(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if err := organisations.Put(ctx, app.Organisation{ID: org, Name: "Uni " + org, Announced: true,
			Lead:       mail.Person{Name: "Lead", Email: "lead@" + org + ".example.ac.uk"},
			Obligation: &app.Obligation{ID: ob.ID, Kind: ob.Kind, WindowOpens: ob.WindowOpens, Due: due}}); err != nil {
			t.Fatal(err)
		}
		for n := range 3 {
			at := clk.Now().Add(time.Duration(i*3+n) * time.Minute)
			d := app.Delivery{Key: fmt.Sprintf("%s-d%d", org, n), OrganisationID: org, Kind: "reminder", Status: app.StatusSending, Attempts: 1, CreatedAt: at, UpdatedAt: at}
			if ok, err := deliveries.Claim(ctx, d, 1); !ok || err != nil {
				t.Fatalf("claim %s: %v %v", d.Key, ok, err)
			}
			d.Status = app.StatusSent
			if err := deliveries.Record(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The restart: a replica's adapters and app, as the service builds them.
	a, err := app.New(app.Deps{Organisations: must(NewOrganisations(ctx, db)), Reminders: must(NewReminders(ctx, db, clk)), Assignments: must(NewAssignments(ctx, db)),
		Deliveries: must(NewDeliveries(ctx, db)), Calendars: NewCalendarTokens(db), Sender: &counting{}, Clock: clk},
		app.Config{Ladder: ladder.DefaultPolicy, PortalURL: "https://portal.example.org", Contact: "itss@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	reads := []struct {
		name string
		do   func() error
	}{
		{"the delivery log's page of 20", func() error {
			page, _, err := a.Deliveries(ctx, ops, app.DeliveryQuery{Limit: 20})
			if err == nil && len(page) != 20 {
				err = fmt.Errorf("%d deliveries, want 20", len(page))
			}
			return err
		}},
		{"one organisation's deliveries", func() error {
			page, _, err := a.Deliveries(ctx, ops, app.DeliveryQuery{Limit: 20, OrganisationID: "org-17"})
			if err == nil && len(page) != 3 {
				err = fmt.Errorf("%d deliveries, want 3", len(page))
			}
			return err
		}},
		{"the reminder preview's page of 20", func() error {
			page, _, err := a.Preview(ctx, ops, 20, "")
			if err == nil && len(page) != 20 {
				err = fmt.Errorf("%d reminders, want 20", len(page))
			}
			return err
		}},
	}
	for _, r := range reads {
		var cost [2]testenv.ReadCount
		for i := range cost {
			before := counted.Now()
			if err := r.do(); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			cost[i] = counted.Now().Sub(before)
		}
		if cold, warm := cost[0], cost[1]; cold.Finds != warm.Finds || cold.Docs != warm.Docs || cold.Scans != 0 {
			t.Errorf("%s: the first request after a restart cost %d finds / %d documents / %d scans, the next %d / %d / %d: want the same",
				r.name, cold.Finds, cold.Docs, cold.Scans, warm.Finds, warm.Docs, warm.Scans)
		}
	}
}
