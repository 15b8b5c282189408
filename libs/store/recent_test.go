package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// twoProcesses opens one log twice, as two replicas of a service would.
func twoProcesses(t *testing.T) (*store.EventStore, *store.EventStore) {
	t.Helper()
	_, db := testenv.Mongo(t)
	var out [2]*store.EventStore
	for i := range out {
		es := openLog(t, db)
		es.Catalogue("counter")
		out[i] = es
	}
	return out[0], out[1]
}

func mustCount(t *testing.T, es *store.EventStore, id string) {
	t.Helper()
	if _, err := count(es, id, ""); err != nil {
		t.Fatal(err)
	}
}

// loaded counts what a load returned, failing the test on an error.
type loaded struct{ t *testing.T }

func (l loaded) n(evs []events.Envelope, err error) int {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
	return len(evs)
}

func TestLoadRecentAnswersFromMemoryOnlyWithinItsAge(t *testing.T) {
	t.Parallel()
	load := loaded{t}
	ctx := context.Background()
	a, b := twoProcesses(t)
	mustCount(t, a, "c")
	mustCount(t, b, "c") // b loads a's event and appends the second
	if n := load.n(a.LoadRecent(ctx, "c", time.Hour)); n != 1 {
		t.Fatalf("a within an hour: %d events, want the 1 it appended itself (from memory)", n)
	}
	if n := load.n(a.LoadRecent(ctx, "c", 0)); n != 2 {
		t.Fatalf("a with no age allowed: %d events, want 2", n)
	}
	mustCount(t, b, "c")
	time.Sleep(20 * time.Millisecond)
	if n := load.n(a.LoadRecent(ctx, "c", 10*time.Millisecond)); n != 3 {
		t.Fatalf("a after its memory aged: %d events, want 3", n)
	}
	mustCount(t, a, "c") // its own append it sees at once, whatever the age
	if n := load.n(a.LoadRecent(ctx, "c", time.Hour)); n != 4 {
		t.Fatalf("a after its own append: %d events, want 4", n)
	}
	if n := load.n(b.LoadRecent(ctx, "nothing-here", time.Hour)); n != 0 {
		t.Fatalf("an aggregate that does not exist: %d events", n)
	}
}

func TestLoadThroughReadsOnlyWhenMemoryIsShortOfTheVersion(t *testing.T) {
	t.Parallel()
	load := loaded{t}
	ctx := context.Background()
	a, b := twoProcesses(t)
	mustCount(t, a, "c")
	mustCount(t, b, "c")
	if n := load.n(a.LoadThrough(ctx, "c", 1)); n != 1 {
		t.Fatalf("through version 1: %d events, want the 1 held in memory", n)
	}
	if n := load.n(a.LoadThrough(ctx, "c", 2)); n != 2 {
		t.Fatalf("through version 2: %d events, want 2 (read)", n)
	}
}

func TestLoadManyThroughReadsOnlyTheAggregatesMemoryIsShortOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := twoProcesses(t)
	for _, id := range []string{"held", "behind", "unversioned"} {
		mustCount(t, a, id)
		mustCount(t, b, id) // b loads a's event and appends a second: a holds 1 of 2
	}
	mustCount(t, b, "unknown") // a never loaded it
	got, err := a.LoadManyThrough(ctx, map[string]int{"held": 1, "behind": 2, "unversioned": 0, "unknown": 1, "nothing-here": 1})
	if err != nil {
		t.Fatal(err)
	}
	// Asked through version 1 of "held", a answers the one event it holds: had it read
	// the log it would have found two.
	// An entry naming no version (0) is read afresh, as a is behind on it.
	want := map[string]int{"held": 1, "behind": 2, "unversioned": 2, "unknown": 1}
	for id, n := range want {
		if len(got[id]) != n {
			t.Errorf("%s: %d events, want %d", id, len(got[id]), n)
		}
	}
	if _, ok := got["nothing-here"]; ok || len(got) != len(want) {
		t.Errorf("loaded %d aggregates, want %d (none for one that does not exist)", len(got), len(want))
	}
}

func TestANewAggregateIsDecidedWithoutLoadingAndACollisionStillLoses(t *testing.T) {
	t.Parallel()
	a, b := twoProcesses(t)
	var seen []int
	newCount := func(es *store.EventStore, id string) ([]events.Envelope, error) {
		return es.Execute(context.Background(), store.Command{AggregateType: "counter", AggregateID: id, Actor: "test", New: true,
			Decide: func(history []events.Envelope) ([]events.Payload, error) {
				seen = append(seen, len(history))
				return []events.Payload{counted{N: len(history)}}, nil
			}})
	}
	if evs, err := newCount(a, "fresh"); err != nil || len(evs) != 1 || evs[0].Version != 1 {
		t.Fatalf("new aggregate: %v %v", evs, err)
	}
	// The id taken after all (by another process): the first attempt decides on no
	// history and loses on version 1; the retry loads it and appends version 2.
	mustCount(t, b, "taken")
	seen = nil
	evs, err := newCount(a, "taken")
	if err != nil || len(evs) != 1 || evs[0].Version != 2 {
		t.Fatalf("colliding new aggregate: %v %v", evs, err)
	}
	if len(seen) != 2 || seen[0] != 0 || seen[1] != 1 {
		t.Fatalf("decisions saw histories of %v, want [0 1]", seen)
	}
}

func TestOnlyCataloguedTypesAreListed(t *testing.T) {
	t.Parallel()
	load := loaded{t}
	ctx := context.Background()
	a, b := twoProcesses(t)
	if _, err := a.LoadByType(ctx, "other"); err == nil {
		t.Fatal("listing a type that is not catalogued should fail, not find nothing")
	}
	mustCount(t, a, "c1")
	if n := load.n(a.LoadByTypeRecent(ctx, "counter", time.Hour)); n != 1 {
		t.Fatalf("listed %d events, want 1", n)
	}
	mustCount(t, b, "c2") // another process's new aggregate
	mustCount(t, a, "c3") // this process's own
	if n := load.n(a.LoadByTypeRecent(ctx, "counter", time.Hour)); n != 2 {
		t.Fatalf("within the hour: %d events, want c1 and its own c3", n)
	}
	if n := load.n(a.LoadByType(ctx, "counter")); n != 3 {
		t.Fatalf("afresh: %d events, want 3", n)
	}
	// A type that is not catalogued costs no catalogue write.
	if err := a.Append(ctx, []events.Envelope{{ID: "e1", Type: "tc.test.other.v1", AggregateType: "other", AggregateID: "o1", Version: 1, Time: time.Now(), Data: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	names, err := a.Collection().Database().ListCollectionNames(ctx, map[string]any{"name": "events_type_other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Fatalf("an uncatalogued type got a catalogue: %v", names)
	}
}
