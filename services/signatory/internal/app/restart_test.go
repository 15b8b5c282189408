package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/signatory/internal/adapters"
	"github.com/itss/techcommit/services/signatory/internal/app"
	"github.com/itss/techcommit/services/signatory/internal/domain/organisation"
	"github.com/itss/techcommit/services/signatory/internal/service"
)

// replica is the signatory app on db as a process starting on it builds it: its
// people sealed, its views read, Warm run before it would say it is ready.
func replica(t *testing.T, db *mongo.Database, clk clock.Clock) *app.App {
	t.Helper()
	ctx := context.Background()
	es, err := store.NewEventStore(ctx, db, "events", "/tc/signatory", clk)
	if err != nil {
		t.Fatal(err)
	}
	_, sealed := testenv.SealedStore(t, db, es, service.PersonalFields, clk)
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(sealed, views, organisation.DefaultPolicy, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTheFirstReadsAfterARestartCostWhatTheyDoWarm: a replica just started on a
// history of announced organisations answers the ops list, the directory, one
// organisation, its obligations and its history with the finds and documents it
// needs when asked again. Before Warm, the first read of an organisation read every
// commit of it and the key of every person it names (4 commits and 4 people here).
func TestTheFirstReadsAfterARestartCostWhatTheyDoWarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer := replica(t, db, clk)
	ops := auth.Principal{Subject: "ops", Role: auth.RoleOps}
	person := func(who string, i int) organisation.Person {
		return organisation.Person{Name: who, Email: fmt.Sprintf("%s@u%d.example.ac.uk", who, i)}
	}
	var ids []string
	for i := range 30 {
		o, err := writer.CreateOrganisation(ctx, ops, organisation.Enquiry{Name: fmt.Sprintf("University %02d", i), Kind: organisation.Signatory,
			Sector: "higher_education", Country: "GB", Website: fmt.Sprintf("https://u%d.example.ac.uk", i), Contact: person("enquirer", i)})
		if err != nil {
			t.Fatal(err)
		}
		id := o.ID()
		if _, err := writer.RecordMeeting(ctx, ops, id, civil.New(2027, 1, 10), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := writer.ReceiveForm(ctx, ops, id, civil.New(2027, 2, 1), organisation.Contacts{Leader: person("leader", i),
			NominatedLead: person("lead", i), PointOfContact: person("contact", i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := writer.Announce(ctx, ops, id, civil.New(2027, 2, 20)); err != nil {
			t.Fatal(err)
		}
		if err := writer.Project(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	a := replica(t, db, clk) // the restart
	org := ids[len(ids)/2]
	reads := []struct {
		name string
		do   func() error
	}{
		{"ops' page of 20 organisations", func() error {
			page, err := a.List(ctx, ops, app.ListQuery{Limit: 20})
			if err == nil && len(page.Items) != 20 {
				err = fmt.Errorf("%d organisations, want 20", len(page.Items))
			}
			return err
		}},
		{"the directory's page of 20", func() error {
			page, err := a.Directory(ctx, app.DirectoryQuery{Limit: 20})
			if err == nil && len(page.Items) != 20 {
				err = fmt.Errorf("%d organisations, want 20", len(page.Items))
			}
			return err
		}},
		{"one organisation", func() error {
			o, err := a.Get(ctx, ops, org)
			if err == nil && o.Contacts().NominatedLead.Name != "lead" {
				err = fmt.Errorf("the nominated lead reads %+v", o.Contacts().NominatedLead)
			}
			return err
		}},
		{"another organisation's obligations", func() error {
			page, _, err := a.Obligations(ctx, ops, ids[3], app.PageQuery{Limit: 20})
			if err == nil && len(page.Items) != 1 {
				err = fmt.Errorf("%d obligations, want 1", len(page.Items))
			}
			return err
		}},
		{"a third organisation's history", func() error {
			page, err := a.History(ctx, ops, ids[7], app.PageQuery{Limit: 20})
			if err == nil && len(page.Items) != 5 {
				err = fmt.Errorf("%d events, want 5", len(page.Items))
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
