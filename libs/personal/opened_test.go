package personal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// A long aggregate's history is opened once: a later load (or a command's decision)
// opens only the events that followed, however long the history, and an erasure
// on this replica shows at once.
func TestALoadOpensOnlyWhatFollowsWhatWasOpenedBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, es := newKeys(t)
	typ := events.OrganisationContactsChangedV1{}.EventType()
	sealer, err := personal.NewSealer(keys, personal.Fields{typ: {"leader", "nominated_lead"}})
	if err != nil {
		t.Fatal(err)
	}
	change := func(s *personal.SealedStore, i int) {
		t.Helper()
		p := events.OrganisationContactsChangedV1{OrganisationID: "org-1",
			Leader:        events.Person{Name: fmt.Sprintf("Leader %d", i), Email: fmt.Sprintf("l%d@example.ac.uk", i)},
			NominatedLead: events.Person{Name: "Ada Lovelace", Email: "ada@example.ac.uk"}}
		if _, err := s.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: "org-1", Actor: "ops:x",
			Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }}); err != nil {
			t.Fatal(err)
		}
	}
	writer, err := personal.NewSealedStore(es, sealer)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	for i := range n {
		change(writer, i)
	}
	s, err := personal.NewSealedStore(es, sealer)
	if err != nil {
		t.Fatal(err)
	}
	opened := func(what string, want int64, f func()) {
		t.Helper()
		before := personal.Openings(s)
		f()
		if got := personal.Openings(s) - before; got != want {
			t.Errorf("%s opened %d events, want %d", what, got, want)
		}
	}
	load := func() []events.Envelope {
		t.Helper()
		h, err := s.Load(ctx, "org-1")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	opened("the first load", n, func() { load() })
	opened("the second load", 0, func() { load() })
	opened("a command's decision", 0, func() { change(s, n) })
	opened("the load after it", 1, func() {
		if h := load(); len(h) != n+1 {
			t.Fatalf("%d events, want %d", len(h), n+1)
		}
	})
	id, err := keys.Lookup(ctx, "ada@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	var h []events.Envelope
	opened("the load after an erasure", n+1, func() { h = load() })
	for _, e := range h {
		var got events.OrganisationContactsChangedV1
		if err := json.Unmarshal(e.Data, &got); err != nil {
			t.Fatal(err)
		}
		if !got.NominatedLead.Erased || got.NominatedLead.Name != "" {
			t.Fatalf("event %d reads %+v after the erasure", e.Version, got.NominatedLead)
		}
	}
}

// After a restart, a preload opens the long histories it loaded, so the first
// request's load opens nothing (a review round's first read after a restart opened
// the round's whole history: 2-5 ms more than a later read of it). Short histories
// are opened at each load, as before (see opened).
func TestAPreloadOpensTheLongHistoriesItLoads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	typ := events.OrganisationContactsChangedV1{}.EventType()
	start := func() *personal.SealedStore {
		es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clk)
		if err != nil {
			t.Fatal(err)
		}
		_, s := testenv.SealedStore(t, db, es, personal.Fields{typ: {"leader"}}, clk)
		return s
	}
	writer := start()
	for id, n := range map[string]int{"long": 30, "short": 3} {
		for i := range n {
			p := events.OrganisationContactsChangedV1{OrganisationID: id, Leader: events.Person{Name: fmt.Sprintf("Leader %d", i), Email: fmt.Sprintf("l%d@example.ac.uk", i)}}
			if _, err := writer.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: id, Actor: "ops:x",
				Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := start() // a restart
	if err := s.PreloadIDs(ctx, []string{"long", "short"}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"long": 0, "short": 3} {
		before := personal.Openings(s)
		h, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := personal.Openings(s) - before; got != want {
			t.Errorf("the first load of %s (%d events) after the preload opened %d events, want %d", id, len(h), got, want)
		}
		if h[len(h)-1].Data == nil || !strings.Contains(string(h[len(h)-1].Data), "Leader") {
			t.Errorf("%s: the last event is not opened: %s", id, h[len(h)-1].Data)
		}
	}
}
