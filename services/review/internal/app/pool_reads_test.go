package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/app"
)

// TestAPageOfThePoolCostsItsPageWhateverThePoolSize: ops' page of 5 reviewers, with
// each one's workload, costs the same finds with 10 or with 60 members in the pool,
// and only the catalogue's one small entry per member more documents. Before, every
// page loaded every member (one find each), so the ops console's pool of 400, read in
// two pages of 200, cost 800 loads.
func TestAPageOfThePoolCostsItsPageWhateverThePoolSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sizes := []int{10, 60}
	cost := make([]testenv.ReadCount, len(sizes))
	for i, n := range sizes {
		db, counted := testenv.MonitoredDB(t, "events")
		clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
		writer, _ := replica(t, db, clk)
		for j := range n {
			must[any](t)(writer.RegisterReviewer(ctx, ops, events.ReviewerRegisteredV1{ReviewerID: fmt.Sprintf("rv-%03d", j), Name: "Reviewer",
				Email: "r@pool.example", OrganisationID: "pool", Trained: true, Capacity: 2}))
		}
		a, _ := replica(t, db, clk)
		before := counted.Now()
		page, next, err := a.Reviewers(ctx, ops, app.Page{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		cost[i] = counted.Now().Sub(before)
		if len(page) != 5 || next == "" || page[0].ID != "rv-000" || page[4].ID != "rv-004" {
			t.Fatalf("pool of %d: first page %+v (next %q), want rv-000 to rv-004 and a next page", n, page, next)
		}
		// The next page follows on from the cursor.
		more, _, err := a.Reviewers(ctx, ops, app.Page{Limit: 5, Cursor: next})
		if err != nil {
			t.Fatal(err)
		}
		if len(more) != 5 || more[0].ID != "rv-005" {
			t.Fatalf("pool of %d: second page %+v, want it to start at rv-005", n, more)
		}
	}
	t.Logf("a page of 5 (finds, documents) by pool size %v: %+v", sizes, cost)
	if cost[0].Finds != cost[1].Finds {
		t.Errorf("a page of 5 cost %d finds with %d members and %d with %d, want the same", cost[0].Finds, sizes[0], cost[1].Finds, sizes[1])
	}
	if extra := cost[1].Docs - cost[0].Docs; extra > sizes[1]-sizes[0] {
		t.Errorf("a page of 5 read %d more documents with %d members than with %d, want at most the catalogue's %d entries more",
			extra, sizes[1], sizes[0], sizes[1]-sizes[0])
	}
}
