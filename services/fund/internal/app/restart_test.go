package app_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/auth"
	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/fund/internal/adapters"
	"github.com/itss/techcommit/services/fund/internal/app"
	"github.com/itss/techcommit/services/fund/internal/domain/application"
	"github.com/itss/techcommit/services/fund/internal/domain/round"
	"github.com/itss/techcommit/services/fund/internal/service"
)

// replica is the fund app on db as a process starting on it builds it: its people
// sealed, its lists' mirror read, Warm run before it would say it is ready.
func replica(t *testing.T, db *mongo.Database, clk clock.Clock) (*app.App, *store.EventStore) {
	t.Helper()
	ctx := context.Background()
	es, err := store.NewEventStore(ctx, db, "events", "/tc/fund", clk)
	if err != nil {
		t.Fatal(err)
	}
	es.Catalogue(app.ListedTypes...)
	_, sealed := testenv.SealedStore(t, db, es, service.PersonalFields, clk)
	views, err := adapters.NewViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(sealed, adapters.NewSignatories(db), views, clk, "itss@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	return a, es
}

// projectAll gives the projection every event of the log, as its consumer would.
func projectAll(t *testing.T, writer *app.App, es *store.EventStore) {
	t.Helper()
	all, err := es.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Project(context.Background(), all); err != nil {
		t.Fatal(err)
	}
}

var ops = auth.Principal{Subject: "ops", Role: auth.RoleOps}

// applicant is the applicant of organisation i.
func applicant(i int) auth.Principal {
	return auth.Principal{Subject: fmt.Sprint("applicant-", i), Role: auth.RoleApplicant, Org: fmt.Sprintf("org-%02d", i),
		Name: "Ann Applicant", Email: fmt.Sprintf("ann@u%d.example.ac.uk", i)}
}

// submitted opens three rounds and submits n organisations' applications to the
// last, through writer; it returns the rounds' and the applications' ids.
func submitted(t *testing.T, writer *app.App, clk clock.Clock, n int) (rounds, apps []string) {
	t.Helper()
	ctx := context.Background()
	for i := range 3 {
		r, err := writer.OpenRound(ctx, ops, round.Round{Name: fmt.Sprint("Round ", i), Opens: clk.Now().Add(-time.Hour), Closes: clk.Now().Add(30 * 24 * time.Hour),
			BudgetPence: 1_000_000, MinAwardPence: 100, MaxAwardPence: 100_000, ProjectStart: civil.New(2027, 6, 1), ProjectEnd: civil.New(2028, 5, 31),
			Themes: []string{"visibility"}})
		if err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, r.ID)
	}
	for i := range n {
		by := applicant(i)
		lead := fmt.Sprintf("lead@u%d.example.ac.uk", i)
		if err := writer.RecordSignatory(ctx, app.Signatory{ID: by.Org, Name: fmt.Sprint("University ", i), Kind: "signatory", NominatedLeadEmail: lead}); err != nil {
			t.Fatal(err)
		}
		a, _, err := writer.CreateApplication(ctx, by, rounds[len(rounds)-1], application.Content{Title: "Skills", Summary: "A project.", Themes: []string{"visibility"},
			RequestedAmountPence: 500, Partners: []application.Partner{{Name: "Partner"}}, Endorsement: application.Person{Name: "Len Lead", Email: lead},
			BudgetLines: []application.BudgetLine{{Description: "Travel", AmountPence: 500}},
			Milestones:  []application.Milestone{{Description: "Start", Due: civil.New(2027, 7, 1)}}}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.Submit(ctx, by, a.ID()); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a.ID())
	}
	return rounds, apps
}

// TestTheFirstReadsAfterARestartCostWhatTheyDoWarm: a replica just started on a
// round and its submitted applications answers the rounds, one round, ops' page of
// applications, an applicant's, and one application with the finds and documents it
// needs when asked again. Before Warm, the first read of each aggregate read every
// commit of it and the key of every person it names.
func TestTheFirstReadsAfterARestartCostWhatTheyDoWarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer, es := replica(t, db, clk)
	rounds, apps := submitted(t, writer, clk, 30)
	projectAll(t, writer, es)

	a, _ := replica(t, db, clk) // the restart
	reads := []struct {
		name string
		do   func() error
	}{
		{"the rounds", func() error {
			page, _, err := a.RoundsPage(ctx, "", 50, "")
			if err == nil && len(page) != len(rounds) {
				err = fmt.Errorf("%d rounds, want %d", len(page), len(rounds))
			}
			return err
		}},
		{"one round", func() error {
			_, err := a.Round(ctx, rounds[0])
			return err
		}},
		{"ops' page of 20 applications", func() error {
			page, _, err := a.List(ctx, ops, app.ListQuery{Limit: 20})
			if err == nil && len(page) != 20 {
				err = fmt.Errorf("%d applications, want 20", len(page))
			}
			return err
		}},
		{"an applicant's applications", func() error {
			page, _, err := a.List(ctx, applicant(25), app.ListQuery{Limit: 20})
			if err == nil && len(page) != 1 {
				err = fmt.Errorf("%d applications, want 1", len(page))
			}
			return err
		}},
		{"one application", func() error {
			got, err := a.Application(ctx, ops, apps[27])
			if err == nil && got.Content().Endorsement.Name != "Len Lead" {
				err = fmt.Errorf("the endorsement reads %+v", got.Content().Endorsement)
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

// TestAPageOfApplicationsHeldInMemoryReadsNoCommit: ops' page of applications loads
// each application through the version its list entry names, so that a replica
// holding them reads none of their commits: a page of 20 costs the finds a page of 5
// does. Before, each was loaded afresh, one find of the log per application. An
// application another replica changed since is listed as the list has it.
func TestAPageOfApplicationsHeldInMemoryReadsNoCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "events")
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	writer, es := replica(t, db, clk)
	_, apps := submitted(t, writer, clk, 30)
	projectAll(t, writer, es)
	a, _ := replica(t, db, clk) // a restart: Warm holds the newest applications
	finds := map[int]int{}
	for _, limit := range []int{5, 20, 5, 20} {
		before := counted.Now()
		page, _, err := a.List(ctx, ops, app.ListQuery{Limit: limit})
		if err != nil || len(page) != limit {
			t.Fatalf("a page of %d: %d applications (%v)", limit, len(page), err)
		}
		finds[limit] = counted.Now().Sub(before).Finds
	}
	if finds[20] != finds[5] {
		t.Errorf("a page of 20 applications held in memory cost %d finds and a page of 5 %d: want the same (no commit read)", finds[20], finds[5])
	}

	withdrawn, err := writer.Withdraw(ctx, applicant(3), apps[3], "Plans changed")
	if err != nil {
		t.Fatal(err)
	}
	projectAll(t, writer, es)
	page, _, err := a.List(ctx, ops, app.ListQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(page, func(got *application.Application) bool { return got.ID() == apps[3] })
	if i < 0 {
		t.Fatalf("the withdrawn application is not listed")
	}
	if got := page[i]; got.Status() != withdrawn.Status() || got.Version() != withdrawn.Version() {
		t.Errorf("after another replica withdrew it (version %d), this one lists the application %s at version %d", withdrawn.Version(), got.Status(), got.Version())
	}
}
