package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// TestListingATypeCostsTheSameWhateverItsSize: once a replica holds a type's
// catalogue, listing it again after another replica made one more aggregate costs the
// same reads with 10 or with 60 of them (the change, and a lookup that finds nothing
// after it). Before, every list read the catalogue whole: one document an aggregate.
func TestListingATypeCostsTheSameWhateverItsSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var cost []testenv.ReadCount
	for _, n := range []int{10, 60} {
		db, counted := testenv.MonitoredDB(t, "events_type_counter")
		writer, reader := openLog(t, db), openLog(t, db)
		writer.Catalogue("counter")
		reader.Catalogue("counter")
		for i := range n {
			mustCount(t, writer, fmt.Sprintf("c%03d", i))
		}
		if ids, err := reader.IDsOfType(ctx, "counter"); err != nil || len(ids) != n {
			t.Fatalf("%d made: the first list has %d (%v)", n, len(ids), err)
		}
		mustCount(t, writer, "b-new") // sorts first
		before := counted.Now()
		ids, err := reader.IDsOfType(ctx, "counter")
		if err != nil {
			t.Fatal(err)
		}
		cost = append(cost, counted.Now().Sub(before))
		if len(ids) != n+1 || ids[0] != "b-new" || !slices.IsSorted(ids) {
			t.Fatalf("%d made and one more: listed %d, first %q, sorted %v", n, len(ids), ids[0], slices.IsSorted(ids))
		}
		// A list changed by its caller is the caller's copy.
		ids[0] = "changed"
		if again, _ := reader.IDsOfType(ctx, "counter"); again[0] != "b-new" {
			t.Fatalf("a caller's change to its list reached the store's: %q", again[0])
		}
	}
	t.Logf("listing after one more aggregate, at 10 and 60 (finds, documents, scans): %+v", cost)
	if cost[0] != cost[1] {
		t.Errorf("listing cost %+v with 10 aggregates and %+v with 60, want the same", cost[0], cost[1])
	}
	if cost[1].Scans != 0 {
		t.Errorf("listing read the catalogue whole %d times, want none", cost[1].Scans)
	}
}

// TestReplicasMakingAggregatesAtOnceEachListThemAll: two replicas making aggregates
// of one type at the same moment (their changes numbered by the same log) each list
// every one, the other's included.
func TestReplicasMakingAggregatesAtOnceEachListThemAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := twoProcesses(t)
	for _, es := range []*store.EventStore{a, b} {
		if _, err := es.IDsOfType(ctx, "counter"); err != nil { // each holds the catalogue, empty
			t.Fatal(err)
		}
	}
	const each = 20
	var want []string
	var wg sync.WaitGroup
	for r, es := range []*store.EventStore{a, b} {
		for i := range each {
			id := fmt.Sprintf("r%d-%02d", r, i)
			want = append(want, id)
			wg.Go(func() { mustCount(t, es, id) })
		}
	}
	wg.Wait()
	slices.Sort(want)
	for name, es := range map[string]*store.EventStore{"a": a, "b": b} {
		got, err := es.IDsOfType(ctx, "counter")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("replica %s lists %d: %v, want the %d made", name, len(got), got, len(want))
		}
	}
}

// TestAnEntryWrittenWithoutAChangeIsListedAfterTheReread: a writer of a version that
// did not record its entries as changes (a rolling upgrade's old pods) catalogues an
// aggregate; a replica holding the catalogue lists it once it reads the catalogue
// whole again. Not parallel: it shortens the reread for its run.
func TestAnEntryWrittenWithoutAChangeIsListedAfterTheReread(t *testing.T) {
	ctx := context.Background()
	a, _ := twoProcesses(t)
	mustCount(t, a, "c1")
	if ids, err := a.IDsOfType(ctx, "counter"); err != nil || !slices.Equal(ids, []string{"c1"}) {
		t.Fatalf("listed %v (%v), want c1", ids, err)
	}
	if _, err := a.Collection().Database().Collection("events_type_counter").InsertOne(ctx, bson.D{{Key: "_id", Value: "c0-old"}}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := a.IDsOfType(ctx, "counter"); !slices.Equal(ids, []string{"c1"}) {
		t.Fatalf("before the reread: %v, want c1 alone (no change recorded)", ids)
	}
	defer store.SetCatalogueReread(10 * time.Millisecond)()
	time.Sleep(20 * time.Millisecond)
	if ids, _ := a.IDsOfType(ctx, "counter"); !slices.Equal(ids, []string{"c0-old", "c1"}) {
		t.Fatalf("after the reread: %v, want c0-old and c1", ids)
	}
}
