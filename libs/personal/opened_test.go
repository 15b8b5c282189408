package personal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
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
