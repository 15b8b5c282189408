package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// combined runs a Combine command on the counter id as actor: it appends one event
// carrying how many events it saw, unless before refuses (or blocks) first.
func combined(ctx context.Context, es *store.EventStore, id, actor string, before func(history []events.Envelope) error) ([]events.Envelope, error) {
	return counting(ctx, es, id, actor, true, before)
}

// counting is combined, or the same command run alone.
func counting(ctx context.Context, es *store.EventStore, id, actor string, combine bool, before func(history []events.Envelope) error) ([]events.Envelope, error) {
	return es.Execute(ctx, store.Command{
		AggregateType: "counter", AggregateID: id, Actor: actor, Combine: combine, MaxAttempts: 200,
		Decide: func(history []events.Envelope) ([]events.Payload, error) {
			if before != nil {
				if err := before(history); err != nil {
					return nil, err
				}
			}
			return []events.Payload{counted{N: len(history)}}, nil
		},
	})
}

// waitQueued polls until n commands wait on the aggregate.
func waitQueued(t *testing.T, es *store.EventStore, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for store.QueuedOn(es, id) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commands queued on %s, want %d", store.QueuedOn(es, id), id, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func commitsOf(t *testing.T, es *store.EventStore, id string) int64 {
	t.Helper()
	n, err := es.Collection().CountDocuments(context.Background(), bson.D{{Key: "aggregate_id", Value: id}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Commands that arrive while one is being decided and stored on the same aggregate
// are decided in turn and stored as one commit: each gets its own events, with its
// own actor, at consecutive versions, and a refusal leaves out only its own command.
func TestCommandsQueuedOnOneAggregateShareOneCommit(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	es := openLog(t, db)
	started, release := make(chan struct{}, 1), make(chan struct{})
	type result struct {
		evs []events.Envelope
		err error
	}
	results := make([]result, 8)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		evs, err := combined(context.Background(), es, "c1", "actor-0", func([]events.Envelope) error { started <- struct{}{}; <-release; return nil })
		results[0] = result{evs, err}
	}()
	// The first is deciding (blocked): the next seven queue behind it.
	<-started
	for i := 1; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var refuse func([]events.Envelope) error
			if i == 4 {
				refuse = func([]events.Envelope) error { return apperr.New(apperr.Conflict, "not this one") }
			}
			evs, err := combined(context.Background(), es, "c1", fmt.Sprintf("actor-%d", i), refuse)
			results[i] = result{evs, err}
		}()
	}
	waitQueued(t, es, "c1", 7)
	close(release)
	wg.Wait()

	versions := map[int]string{}
	for i, r := range results {
		if i == 4 {
			if !apperr.Is(r.err, apperr.Conflict) || len(r.evs) != 0 {
				t.Fatalf("the refused command: %v, %d events; want its own refusal and no events", r.err, len(r.evs))
			}
			continue
		}
		if r.err != nil || len(r.evs) != 1 {
			t.Fatalf("command %d: %v, %d events", i, r.err, len(r.evs))
		}
		e := r.evs[0]
		if want := fmt.Sprintf("actor-%d", i); e.Actor != want {
			t.Errorf("command %d's event is by %q, want %q", i, e.Actor, want)
		}
		if prev, dup := versions[e.Version]; dup {
			t.Fatalf("version %d given to %s and actor-%d", e.Version, prev, i)
		}
		versions[e.Version] = e.Actor
	}
	if got := commitsOf(t, es, "c1"); got != 2 {
		t.Errorf("%d commits, want 2 (the first alone, the six others together)", got)
	}
	// As another process reads the log: seven events in order, each by its own actor,
	// each having seen every event before it.
	h, err := openLog(t, db).Load(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 7 {
		t.Fatalf("%d events stored, want 7", len(h))
	}
	for i, e := range h {
		var c counted
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if e.Version != i+1 || c.N != i || e.Actor != versions[e.Version] {
			t.Errorf("event %d: version %d, saw %d, by %s; want version %d, saw %d, by %s", i, e.Version, c.N, e.Actor, i+1, i, versions[i+1])
		}
	}
}

// An invariant a command checks on the history holds however the commands are
// combined and whichever process wins: two processes on one log, forty commands each
// at once, and at most 30 may be taken. Exactly 30 are, each seeing a distinct count.
func TestCombinedCommandsKeepTheAggregatesRulesAcrossProcesses(t *testing.T) {
	t.Parallel()
	_, db := testenv.Mongo(t)
	stores := []*store.EventStore{openLog(t, db), openLog(t, db)}
	full := errors.New("full")
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, refused := 0, 0
	for i := range 80 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := combined(context.Background(), stores[i%2], "c1", fmt.Sprintf("a%d", i), func(h []events.Envelope) error {
				if len(h) >= 30 {
					return full
				}
				return nil
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				taken++
			case errors.Is(err, full):
				refused++
			default:
				t.Errorf("command %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if taken != 30 || refused != 50 {
		t.Fatalf("%d taken, %d refused; want 30 and 50", taken, refused)
	}
	h, err := openLog(t, db).Load(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range h {
		var c counted
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatal(err)
		}
		if c.N != i {
			t.Fatalf("event %d saw %d events before it: a lost update", i, c.N)
		}
	}
	if len(h) != 30 {
		t.Fatalf("%d events stored, want 30", len(h))
	}
}

// A caller that has gone before its command's turn has nothing stored for it, and
// the commands queued with it are not held up by it.
func TestACombinedCommandWhoseCallerLeftIsNotStored(t *testing.T) {
	t.Parallel()
	es := newStore(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := combined(context.Background(), es, "c1", "first", func([]events.Envelope) error { started <- struct{}{}; <-release; return nil })
		done <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, err := combined(ctx, es, "c1", "gone", nil)
		left <- err
	}()
	waitQueued(t, es, "c1", 1)
	stayed := make(chan error, 1)
	go func() {
		_, err := combined(context.Background(), es, "c1", "stayed", nil)
		stayed <- err
	}()
	waitQueued(t, es, "c1", 2)
	cancel()
	if err := <-left; err == nil {
		t.Fatal("the caller that left was answered as if stored")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-stayed; err != nil {
		t.Fatal(err)
	}
	h, err := es.Load(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, e := range h {
		by = append(by, e.Actor)
	}
	if fmt.Sprint(by) != "[first stayed]" {
		t.Fatalf("stored by %v, want [first stayed]", by)
	}
}

// A batch's first try decides on the history its process holds, without reading the
// log, when it loaded or appended to the aggregate a moment ago. Another process may
// have appended since: events decided on the stale history lose their append and
// are decided again on the log, and a refusal (which no write checks) is never given
// on the held history alone.
// A command's first try decides on the history its process holds, combined with
// others or alone: the log is read again only when that history may have been behind.
func TestACommandOnAHeldHistoryIsCheckedAgainstTheLog(t *testing.T) {
	t.Parallel()
	for _, combine := range []bool{true, false} {
		t.Run(map[bool]string{true: "combined", false: "alone"}[combine], func(t *testing.T) {
			t.Parallel()
			heldHistoryIsCheckedAgainstTheLog(t, combine)
		})
	}
}

func heldHistoryIsCheckedAgainstTheLog(t *testing.T, combine bool) {
	db, reads := testenv.MonitoredDB(t, "")
	a, b := openLog(t, db), openLog(t, db)
	ctx := context.Background()
	count := func(es *store.EventStore, actor string, before func([]events.Envelope) error) ([]events.Envelope, error) {
		return counting(ctx, es, "c1", actor, combine, before)
	}
	if _, err := count(b, "b", nil); err != nil { // b holds c1 at one event
		t.Fatal(err)
	}
	// On an aggregate it appended to a moment ago, b's next command decides on what it
	// holds: no read.
	before := reads.Now()
	if _, err := count(b, "b", nil); err != nil {
		t.Fatal(err)
	}
	if n := reads.Now().Sub(before).Finds; n != 0 {
		t.Errorf("a command on an aggregate this process appended to a moment ago read the log %d times, want 0", n)
	}
	// a appends twice more: b's held history (two events) is now behind the log (four).
	for range 2 {
		if _, err := count(a, "a", nil); err != nil {
			t.Fatal(err)
		}
	}
	// Events decided on the stale history lose their append and are decided again.
	evs, err := count(b, "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	var c counted
	if err := json.Unmarshal(evs[0].Data, &c); err != nil || c.N != 4 || evs[0].Version != 5 {
		t.Errorf("b's event saw %d events and has version %d (%v), want 4 and 5", c.N, evs[0].Version, err)
	}
	// a appends again; b's command that needs that event is not refused on what b held.
	if _, err := count(a, "a", nil); err != nil {
		t.Fatal(err)
	}
	short := errors.New("fewer than six events")
	if _, err := count(b, "b", func(h []events.Envelope) error {
		if len(h) < 6 {
			return short
		}
		return nil
	}); err != nil {
		t.Errorf("refused on the history b held: %v", err)
	}
	// Nor is a command that decides nothing answered on it.
	if _, err := a.Execute(ctx, store.Command{AggregateType: "counter", AggregateID: "c1", Actor: "a", Combine: combine,
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{counted{N: 7}}, nil }}); err != nil {
		t.Fatal(err)
	}
	var saw int
	if _, err := b.Execute(ctx, store.Command{AggregateType: "counter", AggregateID: "c1", Actor: "b", Combine: combine,
		Decide: func(h []events.Envelope) ([]events.Payload, error) { saw = len(h); return nil, nil }}); err != nil {
		t.Fatal(err)
	}
	if saw != 8 {
		t.Errorf("a command deciding nothing was last decided on %d events, want the log's 8", saw)
	}
	// A refusal the log bears out is answered.
	if _, err := count(b, "b", func([]events.Envelope) error { return short }); !errors.Is(err, short) {
		t.Errorf("a command refused on the log answered %v, want its refusal", err)
	}
}
