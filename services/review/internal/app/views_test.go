package app_test

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
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/adapters"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/submission"
)

// counting is the real event store, counting what the app reads from it.
type counting struct {
	*store.EventStore
	mu     sync.Mutex
	byType []string
	loaded []string
}

func (c *counting) LoadByType(ctx context.Context, t string) ([]events.Envelope, error) {
	c.mu.Lock()
	c.byType = append(c.byType, t)
	c.mu.Unlock()
	return c.EventStore.LoadByType(ctx, t)
}

func (c *counting) LoadMany(ctx context.Context, ids []string) (map[string][]events.Envelope, error) {
	c.mu.Lock()
	c.loaded = append(c.loaded, ids...)
	c.mu.Unlock()
	return c.EventStore.LoadMany(ctx, ids)
}

func (c *counting) Load(ctx context.Context, id string) ([]events.Envelope, error) {
	c.mu.Lock()
	c.loaded = append(c.loaded, id)
	c.mu.Unlock()
	return c.EventStore.Load(ctx, id)
}

func (c *counting) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byType, c.loaded = nil, nil
}

// TestListsReadOnlyWhatTheyReturn checks that the submissions list and the previous
// cycle are answered from the organisations' views and the submissions they show,
// not by replaying every submission ever made.
func TestListsReadOnlyWhatTheyReturn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
	es, err := store.NewEventStore(ctx, db, "events", "/tc/review", clk)
	if err != nil {
		t.Fatal(err)
	}
	es.Catalogue(app.ListedTypes...)
	views, err := adapters.NewSubmissionViews(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	orgs := adapters.NewOrganisations(db)
	c := &counting{EventStore: es}
	a, err := app.New(c, orgs, views, clk)
	if err != nil {
		t.Fatal(err)
	}
	content := events.SubmissionContent{
		ActionPlan:      []events.ActionItem{{Theme: "recognition", Action: "An award", Owner: "HR", SuccessMeasure: "Given", TargetDate: "2027-06-30"}},
		TechnicianVoice: events.TechnicianVoice{HowConsulted: "Survey", Participants: 10}, Webpage: "https://example.ac.uk/tc",
	}
	// Three organisations, each with three cycles submitted.
	var mine []string
	for _, org := range []string{"a", "b", "c"} {
		lead := auth.Principal{Subject: "lead-" + org, Role: auth.RoleLead, Org: org}
		for cycle := 1; cycle <= 3; cycle++ {
			if err := orgs.Put(ctx, app.Organisation{ID: org, Name: "Org " + org, Announced: true, ObligationID: fmt.Sprintf("%s-c%d", org, cycle),
				ObligationKind: events.ObligationActionPlan, ObligationCycle: cycle, WindowOpens: civil.New(2026, 1, 1)}); err != nil {
				t.Fatal(err)
			}
			s, err := a.DraftSubmission(ctx, lead, "", content)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Submit(ctx, lead, s.ID()); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Hour)
			if org == "a" {
				mine = append(mine, s.ID())
			}
		}
	}
	all, err := es.LoadByType(ctx, submission.AggregateType)
	if err != nil {
		t.Fatal(err)
	}
	// The views are seeded from the store at start, and the projection's events
	// delivered (again) on top change nothing.
	if err := a.SeedViews(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Project(ctx, all); err != nil {
		t.Fatal(err)
	}

	c.reset()
	lead := auth.Principal{Subject: "lead-a", Role: auth.RoleLead, Org: "a"}
	page, next, err := a.ListSubmissions(ctx, lead, app.SubmissionQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	third := mine[2] // the third cycle
	slices.Sort(mine)
	var got []string
	for _, l := range page {
		got = append(got, l.ID())
		if l.Status != "submitted" {
			t.Errorf("%s listed as %s, want submitted", l.ID(), l.Status)
		}
	}
	if !slices.Equal(got, mine[:2]) || next != mine[1] {
		t.Errorf("first page %v (next %q), want %v (next %q)", got, next, mine[:2], mine[1])
	}
	if len(c.byType) != 0 || !slices.Equal(c.loaded, mine[:2]) {
		t.Errorf("listing a page of 2 read every %v and loaded %v, want only the page %v", c.byType, c.loaded, mine[:2])
	}

	c.reset()
	latest, err := a.Submission(ctx, lead, third)
	if err != nil {
		t.Fatal(err)
	}
	c.reset()
	prev, err := a.PreviousCycle(ctx, latest)
	if err != nil {
		t.Fatal(err)
	}
	if prev == nil || prev.Submission.Cycle() != 2 {
		t.Fatalf("previous cycle %+v, want cycle 2", prev)
	}
	if len(c.byType) != 0 || len(c.loaded) != 1 {
		t.Errorf("the previous cycle read every %v and loaded %v, want the one submission", c.byType, c.loaded)
	}
}
