package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/app"
)

// TestAPageOfARoundCostsItsPageWhateverTheRoundSize: with 10 or with 100
// submissions in a round (each with its reviewer, and "me" on two of them), ops'
// reads for the round's page after a restart, its summary with the progress counts
// and two pages of 5 of its assignments, and one submission's assignments, cost the
// same finds and documents, apart from one pool record per distinct reviewer on the
// page (their names). Before, the console's round page read the round itself: every
// assignment, in one answer that grew with the round.
func TestAPageOfARoundCostsItsPageWhateverTheRoundSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cost := map[int][2]int{}
	var mu sync.Mutex
	t.Run("sizes", func(t *testing.T) {
		for _, n := range []int{10, 100} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				t.Parallel()
				db, counted := testenv.MonitoredDB(t, "events")
				clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
				writer, es := replica(t, db, clk)
				_, second := history(t, writer, db, clk, n)
				all, err := es.All(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := writer.Project(ctx, all); err != nil {
					t.Fatal(err)
				}
				rounds, _, err := writer.Rounds(ctx, ops, app.Page{Limit: 200})
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(rounds, func(r app.RoundEntry) bool { return r.Status == "open" && r.Submissions == n })
				if i < 0 {
					t.Fatalf("no open round of %d submissions in %+v", n, rounds)
				}
				rid := rounds[i].ID

				var read testenv.ReadCount
				reviewers := 0
				measure := func(do func(a *app.App) []app.RoundAssignment) {
					a, _ := replica(t, db, clk)
					before := counted.Now()
					page := do(a)
					d := counted.Now().Sub(before)
					read.Finds, read.Docs, read.Scans = read.Finds+d.Finds, read.Docs+d.Docs, read.Scans+d.Scans
					var seen []string
					for _, as := range page {
						if !slices.Contains(seen, as.ReviewerID) {
							seen = append(seen, as.ReviewerID)
						}
					}
					reviewers += len(seen)
				}
				measure(func(a *app.App) []app.RoundAssignment {
					s, err := a.RoundSummary(ctx, ops, rid)
					if err != nil {
						t.Fatal(err)
					}
					// One reviewer a submission ("me" on two of them), none answered yet.
					if want := (app.RoundProgress{Assigned: n}); s.Progress != want || s.Submissions != n {
						t.Errorf("summary %+v, want %d submissions and progress %+v", s, n, want)
					}
					return nil
				})
				var firstPage []app.RoundAssignment
				measure(func(a *app.App) []app.RoundAssignment {
					page, next, err := a.RoundAssignments(ctx, ops, rid, "", app.Page{Limit: 5})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) != 5 || next == "" {
						t.Fatalf("first page of %d (next %q), want 5 and a next page", len(page), next)
					}
					more, _, err := a.RoundAssignments(ctx, ops, rid, "", app.Page{Limit: 5, Cursor: next})
					if err != nil {
						t.Fatal(err)
					}
					if len(more) != 5 || more[0].Key() <= page[4].Key() {
						t.Errorf("the second page does not follow the first: %+v after %+v", more, page[4])
					}
					firstPage = page
					return append(page, more...)
				})
				for i, as := range firstPage {
					if i > 0 && as.Key() <= firstPage[i-1].Key() {
						t.Errorf("the page is not in submission and reviewer order: %+v", firstPage)
					}
					if as.RoundID != rid || as.Org == "" || as.ReviewerName == "" || as.State != "assigned" {
						t.Errorf("assignment %+v, want the round's, with its organisation and reviewer's name", as)
					}
				}
				measure(func(a *app.App) []app.RoundAssignment {
					sub := second[orgName(0)]
					page, next, err := a.RoundAssignments(ctx, ops, rid, sub, app.Page{Limit: 50})
					if err != nil {
						t.Fatal(err)
					}
					var who []string
					for _, as := range page {
						if as.SubmissionID != sub || as.Org != orgName(0) {
							t.Errorf("org-000's assignments hold %+v", as)
						}
						who = append(who, as.ReviewerID)
					}
					if len(page) != 1 || next != "" || who[0] != me.Subject {
						t.Errorf("org-000's submission has reviewers %v (next %q), want me alone", who, next)
					}
					return page
				})
				if read.Scans != 0 {
					t.Errorf("the reads scanned the event log %d times, want none", read.Scans)
				}
				mu.Lock()
				// A pool record is a load of its aggregate: two finds and its one document.
				cost[n] = [2]int{read.Finds - 2*reviewers, read.Docs - reviewers}
				mu.Unlock()
			})
		}
	})
	t.Logf("the round's page, less a record per reviewer shown (finds, documents), by submissions in the round: %v", cost)
	if cost[10] != cost[100] {
		t.Errorf("the round's page cost %v with 10 submissions and %v with 100, want the same", cost[10], cost[100])
	}
}

// TestARoundsAssignmentsRefuseBadPagesAndOthers: a limit outside 1-200 and a cursor
// the service did not issue are field errors, a round that does not exist is not
// found, and only ops read a round's assignments.
func TestARoundsAssignmentsRefuseBadPagesAndOthers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testenv.MonitoredDB(t, "events")
	a, _ := replica(t, db, clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)))
	r, err := a.OpenRound(ctx, ops, "Round", time.Date(2027, 4, 1, 10, 0, 0, 0, time.UTC), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		round string
		p     app.Page
		code  apperr.Code
		field string
	}{
		{name: "limit 0", round: r.ID(), p: app.Page{Limit: 0}, code: apperr.Invalid, field: "limit"},
		{name: "limit 201", round: r.ID(), p: app.Page{Limit: 201}, code: apperr.Invalid, field: "limit"},
		{name: "a made-up cursor", round: r.ID(), p: app.Page{Limit: 5, Cursor: "bm90LWEtY3Vyc29y"}, code: apperr.Invalid, field: "cursor"},
		{name: "a cursor of another list", round: r.ID(), p: app.Page{Limit: 5, Cursor: "eyJhIjoicmV2LWEifQ"}, code: apperr.Invalid, field: "cursor"},
		{name: "no such round", round: "no-such-round", p: app.Page{Limit: 5}, code: apperr.NotFound},
	} {
		_, _, err := a.RoundAssignments(ctx, ops, c.round, "", c.p)
		e, ok := apperr.As(err)
		if !ok || e.Code != c.code || e.Field != c.field {
			t.Errorf("%s: %v, want %s naming %q", c.name, err, c.code, c.field)
		}
	}
	if _, _, err := a.RoundAssignments(ctx, me, r.ID(), "", app.Page{Limit: 5}); !apperr.Is(err, apperr.Forbidden) {
		t.Errorf("a reviewer reading a round's assignments: %v, want forbidden", err)
	}
	if _, err := a.RoundSummary(ctx, ops, "no-such-round"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the summary of no round: %v, want not found", err)
	}
}
