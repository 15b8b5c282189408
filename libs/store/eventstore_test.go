package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

type counted struct {
	N int `json:"n"`
}

func (counted) EventType() string { return "tc.test.counter.counted.v1" }

func newStore(t *testing.T) *store.EventStore {
	t.Helper()
	_, db := testenv.Mongo(t)
	return openLog(t, db)
}

// openLog opens the test's event log in db, as a service's process does at start.
func openLog(t *testing.T, db *mongo.Database) *store.EventStore {
	t.Helper()
	es, err := store.NewEventStore(context.Background(), db, "events", "/tc/test", clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// count appends one event carrying the number of events the command saw before it,
// so a lost update would show up as two events with the same n.
func count(es *store.EventStore, id, causation string) ([]events.Envelope, error) {
	return es.Execute(context.Background(), store.Command{
		AggregateType: "counter", AggregateID: id, Actor: "test", CausationID: causation,
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			return []events.Payload{counted{N: len(history)}}, nil
		},
	})
}

func TestExecuteRacingCommandsLoseNothing(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	const writers = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied, conflicts := 0, 0
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := count(es, "c1", "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				applied++
			case apperr.Is(err, apperr.Conflict):
				conflicts++
				if e, _ := apperr.As(err); e.RetryAfter <= 0 {
					t.Errorf("writer %d: a conflict from contention should say when to retry: %v", i, err)
				}
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if applied+conflicts != writers {
		t.Fatalf("applied %d + conflicts %d != %d", applied, conflicts, writers)
	}
	history, err := es.Load(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != applied {
		t.Fatalf("stored %d events, but %d commands were answered as applied", len(history), applied)
	}
	for i, e := range history {
		var c counted
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if e.Version != i+1 || c.N != i {
			t.Errorf("event %d: version %d saw %d earlier events; want version %d having seen %d", i, e.Version, c.N, i+1, i)
		}
	}
	t.Logf("%d applied, %d answered conflict", applied, conflicts)
}

func TestExecuteWithSameCausationAppliesOnce(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	for range 3 {
		if _, err := count(es, "c2", "message-1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := count(es, "c2", "message-2"); err != nil {
		t.Fatal(err)
	}
	history, err := es.Load(context.Background(), "c2")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(history); got != 2 {
		t.Fatalf("stored %d events, want 2 (one per distinct cause)", got)
	}
}

func TestMultiEventCommandIsAllOrNothing(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	ctx := context.Background()
	cmd := store.Command{AggregateType: "counter", AggregateID: "c3", Actor: "test"}
	evs, err := es.Envelopes(ctx, cmd, 0, []events.Payload{counted{N: 0}, counted{N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// A writer that loaded nothing tries to append at version 1 again: refused whole.
	late, err := es.Envelopes(ctx, cmd, 0, []events.Payload{counted{N: 0}, counted{N: 1}, counted{N: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Append(ctx, late); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("append at a taken version: %v, want ErrVersionConflict", err)
	}
	history, err := es.Load(ctx, "c3")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, e := range history {
		versions = append(versions, e.Version)
	}
	if diff := cmp.Diff([]int{1, 2}, versions); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
}

func TestDecideErrorStoresNothing(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	_, err := es.Execute(context.Background(), store.Command{
		AggregateType: "counter", AggregateID: "c4",
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return nil, apperr.New(apperr.Conflict, "no")
		},
	})
	if !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("err = %v, want the decision's Conflict", err)
	}
	history, err := es.Load(context.Background(), "c4")
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 0 {
		t.Fatalf("stored %d events after a refused command", len(history))
	}
}

// TestAppendedEventsCarryTheirPayloads: the events a command appends, and loads of
// them from this process's memory, carry the payloads they were made from, which
// decode to what another process parses from the log.
func TestAppendedEventsCarryTheirPayloads(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	es := openLog(t, db)
	ctx := context.Background()
	appended, err := count(es, "c5", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(appended) != 1 || appended[0].Carried() != (counted{N: 0}) {
		t.Fatalf("appended %+v, want one event carrying counted{0}", appended)
	}
	remembered, err := es.LoadThrough(ctx, "c5", 1)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := openLog(t, db).Load(ctx, "c5")
	if err != nil {
		t.Fatal(err)
	}
	if len(remembered) != 1 || remembered[0].Carried() != (counted{N: 0}) {
		t.Errorf("loaded from memory %+v, want one event carrying counted{0}", remembered)
	}
	if len(fresh) != 1 || fresh[0].Carried() != nil {
		t.Fatalf("another process loaded %+v, want one event parsed from the log", fresh)
	}
	for _, e := range []events.Envelope{appended[0], remembered[0], fresh[0]} {
		if got, err := events.Decode[counted](e); err != nil || got != (counted{N: 0}) {
			t.Errorf("event %s decodes to %+v, %v; want counted{0}", e.ID, got, err)
		}
	}
}
