package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/review/internal/app"
	"github.com/itss/techcommit/services/review/internal/domain/round"
)

// TestAPageOfThePoolCostsItsPageWhateverThePoolSize: ops' page of 5 reviewers, with
// each one's workload, costs the same reads with 10 or with 60 members in the pool.
// Before, every page loaded every member (one find each), so the ops console's pool
// of 400, read in two pages of 200, cost 800 loads; then every page read the pool's
// catalogue whole (one document a member), which a replica now holds in memory.
func TestAPageOfThePoolCostsItsPageWhateverThePoolSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sizes := []int{10, 60}
	cost := atPoolSizes(t, sizes, func(a *app.App, _ *mongo.Database, _ *clock.Fake, n int, counted *testenv.Reads) testenv.ReadCount {
		before := counted.Now()
		page, next, err := a.Reviewers(ctx, ops, app.Page{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		cost := counted.Now().Sub(before)
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
		return cost
	})
	t.Logf("a page of 5 (finds, documents) by pool size %v: %+v", sizes, cost)
	if cost[0] != cost[1] {
		t.Errorf("a page of 5 cost %+v with %d members and %+v with %d, want the same", cost[0], sizes[0], cost[1], sizes[1])
	}
}

// TestAHandAssignmentReadsTheReviewerNotThePool: ops assigning one reviewer by hand
// costs the same finds with 10 or 60 members in the pool. Before, it loaded every
// member to find the one named.
func TestAHandAssignmentReadsTheReviewerNotThePool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sizes := []int{10, 60}
	cost := atPoolSizes(t, sizes, func(a *app.App, db *mongo.Database, clk *clock.Fake, n int, counted *testenv.Reads) testenv.ReadCount {
		subs := submitted(t, a, db, 1)
		rid := must[*round.Round](t)(a.OpenRound(ctx, ops, "Round", clk.Now().Add(30*24*time.Hour), 1)).ID()
		must[any](t)(a.AddSubmissions(ctx, ops, rid, subs))
		before := counted.Now()
		r, err := a.Assign(ctx, ops, rid, subs[0], "rv-007", "By hand")
		if err != nil {
			t.Fatal(err)
		}
		cost := counted.Now().Sub(before)
		if as, ok := r.Assignment(subs[0], "rv-007"); !ok || as.State != round.Assigned {
			t.Fatalf("pool of %d: rv-007's assignment %+v (%v)", n, as, ok)
		}
		return cost
	})
	t.Logf("a hand assignment (finds, documents) by pool size %v: %+v", sizes, cost)
	if cost[0].Finds != cost[1].Finds {
		t.Errorf("a hand assignment cost %d finds with %d members and %d with %d, want the same", cost[0].Finds, sizes[0], cost[1].Finds, sizes[1])
	}
	// Naming someone outside the pool is the caller's mistake, said about its field.
	db, _ := testenv.MonitoredDB(t, "events")
	a, _ := replica(t, db, clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)))
	subs := submitted(t, a, db, 1)
	rid := must[*round.Round](t)(a.OpenRound(ctx, ops, "Round", time.Date(2027, 4, 1, 10, 0, 0, 0, time.UTC), 1)).ID()
	must[any](t)(a.AddSubmissions(ctx, ops, rid, subs))
	if _, err := a.Assign(ctx, ops, rid, subs[0], "nobody", "By hand"); !strings.Contains(fmt.Sprint(err), "reviewer_id") {
		t.Errorf("assigning someone outside the pool: %v, want an error about reviewer_id", err)
	}
}

// atPoolSizes gives read, for each of sizes, a replica over a database of its own
// whose reads are counted, holding a pool of that many reviewers (rv-000 onwards)
// registered by another replica; it returns what each read says its reads cost.
func atPoolSizes(t *testing.T, sizes []int, read func(a *app.App, db *mongo.Database, clk *clock.Fake, n int, counted *testenv.Reads) testenv.ReadCount) []testenv.ReadCount {
	t.Helper()
	var cost []testenv.ReadCount
	for _, n := range sizes {
		db, counted := testenv.MonitoredDB(t, "events")
		clk := clock.NewFake(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC))
		writer, _ := replica(t, db, clk)
		for j := range n {
			must[any](t)(writer.RegisterReviewer(context.Background(), ops, events.ReviewerRegisteredV1{ReviewerID: fmt.Sprintf("rv-%03d", j), Name: "Reviewer",
				Email: fmt.Sprintf("r%d@pool.example", j), OrganisationID: "pool", Trained: true, Capacity: 2}))
		}
		a, _ := replica(t, db, clk)
		cost = append(cost, read(a, db, clk, n, counted))
	}
	return cost
}

// submitted makes n organisations' first submissions and returns their ids in the
// organisations' order.
func submitted(t *testing.T, a *app.App, db *mongo.Database, n int) []string {
	t.Helper()
	subs := submitCycle(t, a, db, n, 1)
	var ids []string
	for i := range n {
		ids = append(ids, subs[orgName(i)])
	}
	return ids
}
