package personal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// An event this process sealed is read back (by Load, and by the relay's
// OpenEnvelope) carrying the payload it decided, without being parsed and decrypted
// again, and reads as another process reading the log would read it; once one of its
// people is erased it is opened the long way and reads as erased; an envelope whose
// bytes are not the ones sealed is never answered from memory.
func TestSealedStoreOpensFromMemoryWhatItSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	typ := events.OrganisationContactsChangedV1{}.EventType()
	fields := personal.Fields{typ: {"leader", "nominated_lead"}}
	open := func() (*personal.Keys, *personal.SealedStore) {
		es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clk)
		if err != nil {
			t.Fatal(err)
		}
		return testenv.SealedStore(t, db, es, fields, clk)
	}
	keys, s := open()
	p := events.OrganisationContactsChangedV1{OrganisationID: "org-1",
		Leader:        events.Person{Name: "Grace Hopper", Title: "Director", Email: "grace@example.ac.uk"},
		NominatedLead: events.Person{Name: "Ada Lovelace", Email: "ada@example.ac.uk"}}
	if _, err := s.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: "org-1", Actor: "ops:x", New: true,
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }}); err != nil {
		t.Fatal(err)
	}
	read := func(evs []events.Envelope) events.OrganisationContactsChangedV1 {
		t.Helper()
		if len(evs) != 1 {
			t.Fatalf("loaded %d events, want 1", len(evs))
		}
		var got events.OrganisationContactsChangedV1
		if err := json.Unmarshal(evs[0].Data, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}

	loaded, err := s.Load(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := loaded[0].Carried().(events.OrganisationContactsChangedV1); !ok || got != p {
		t.Errorf("loaded from memory carrying %#v, want the payload decided", loaded[0].Carried())
	}
	if diff := cmp.Diff(p, read(loaded)); diff != "" {
		t.Errorf("loaded from memory (-want +got):\n%s", diff)
	}
	raw, err := s.Raw(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := personal.NewSealer(keys, fields)
	if err != nil {
		t.Fatal(err)
	}
	published, err := sealer.OpenEnvelope(ctx, raw[0])
	if err != nil {
		t.Fatal(err)
	}
	if published.Carried() == nil || cmp.Diff(p, read([]events.Envelope{published})) != "" {
		t.Errorf("published %s carrying %#v, want the payload decided", published.Data, published.Carried())
	}
	// Another process reads the log: the same event.
	_, fresh := open()
	fromLog, err := fresh.Load(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(read(fromLog), read(loaded)); diff != "" {
		t.Errorf("from memory and from the log differ (-log +memory):\n%s", diff)
	}

	// Bytes other than those sealed are opened as they are.
	other := raw[0]
	other.Data = json.RawMessage(`{"organisation_id":"org-2"}`)
	if got, err := sealer.OpenEnvelope(ctx, other); err != nil || string(got.Data) != string(other.Data) {
		t.Errorf("an envelope with other bytes opened to %s, %v; want them as they are", got.Data, err)
	}

	id, err := keys.Lookup(ctx, "ada@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	want := events.OrganisationContactsChangedV1{OrganisationID: "org-1", Leader: p.Leader, NominatedLead: events.Person{Erased: true}}
	loaded, err = s.Load(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read(loaded)); diff != "" {
		t.Errorf("after erasure, loaded (-want +got):\n%s", diff)
	}
	if published, err = sealer.OpenEnvelope(ctx, raw[0]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read([]events.Envelope{published})); diff != "" || strings.Contains(string(published.Data), "Ada") {
		t.Errorf("after erasure, published %s (-want +got):\n%s", published.Data, diff)
	}
}
