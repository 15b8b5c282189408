package personal_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

func newKeys(t testing.TB) (*personal.Keys, *store.EventStore) {
	t.Helper()
	_, db := testenv.Mongo(t)
	clk := clock.NewFake(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	keys, err := personal.NewKeys(context.Background(), db, "person_keys", clk)
	if err != nil {
		t.Fatal(err)
	}
	es, err := store.NewEventStore(context.Background(), db, "events", "/tc/test", clk)
	if err != nil {
		t.Fatal(err)
	}
	return keys, es
}

// Commands racing to name one new person make one key: every one of them seals
// under the same person id, whatever case the address is written in.
func TestOnePersonOneKeyHoweverManyAskAtOnce(t *testing.T) {
	t.Parallel()
	keys, _ := newKeys(t)
	ids := make([]string, 20)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := "Ada@Example.ac.uk"
			if i%2 == 0 {
				email = " ada@example.ac.uk"
			}
			id, _, err := keys.For(context.Background(), email)
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("ids %v, want one", ids)
		}
	}
}

// A sealed value opens while its person's key exists and reads as erased after;
// a value cannot be moved under another person's id; a plain value passes through.
func TestSealOpenErase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, _ := newKeys(t)
	id, key, err := keys.For(ctx, "ada@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := keys.For(ctx, "grace@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := personal.Seal(id, key, "Ada Lovelace")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "Ada") {
		t.Fatalf("sealed value shows the name: %s", sealed)
	}
	if got, erased, err := keys.Open(ctx, sealed); err != nil || erased || got != "Ada Lovelace" {
		t.Fatalf("open = %q %v %v", got, erased, err)
	}
	moved := strings.Replace(sealed, id, other, 1)
	if _, _, err := keys.Open(ctx, moved); err == nil {
		t.Error("a value moved under another person's id opened")
	}
	if got, _, _ := keys.Open(ctx, "plain"); got != "plain" {
		t.Errorf("a plain value opened as %q", got)
	}
	if err := keys.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, erased, err := keys.Open(ctx, sealed); err != nil || !erased || got != "" {
		t.Fatalf("after erasure open = %q %v %v, want erased", got, erased, err)
	}
	if _, err := keys.Lookup(ctx, "ada@example.ac.uk"); err != personal.ErrNoSuchPerson {
		t.Errorf("after erasure the address is still found: %v", err)
	}
}

// Through a SealedStore, a command's people are stored sealed and read opened; once
// one is erased, the events read with that person marked erased and nothing of them
// left, while the other person in the same event still reads.
func TestSealedStoreStoresSealedAndReadsOpened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys, es := newKeys(t)
	typ := events.OrganisationContactsChangedV1{}.EventType()
	sealer, err := personal.NewSealer(keys, personal.Fields{typ: {"leader", "nominated_lead"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := personal.NewSealedStore(es, sealer)
	if err != nil {
		t.Fatal(err)
	}
	p := events.OrganisationContactsChangedV1{OrganisationID: "org-1",
		Leader:        events.Person{Name: "Grace Hopper", Title: "Director", Email: "grace@example.ac.uk"},
		NominatedLead: events.Person{Name: "Ada Lovelace", Email: "ada@example.ac.uk"}}
	appended, err := s.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: "org-1", Actor: "ops:x", New: true,
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }})
	if err != nil || len(appended) != 1 || !strings.Contains(string(appended[0].Data), "Ada Lovelace") {
		t.Fatalf("appended %v %v, want the event opened", appended, err)
	}
	raw, err := s.Raw(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	// Whole values, and parts no base64 holds: a random ciphertext once read "oAdadq",
	// and a search for "Ada" failed the test 1 run in a few hundred.
	for _, leak := range []string{"Ada Lovelace", "ada@", "Grace Hopper", "grace@", "Director"} {
		if strings.Contains(string(raw[0].Data), leak) {
			t.Errorf("stored event shows %q: %s", leak, raw[0].Data)
		}
	}
	id, err := keys.Lookup(ctx, "ada@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load(ctx, "org-1")
	if err != nil {
		t.Fatal(err)
	}
	var got events.OrganisationContactsChangedV1
	if err := json.Unmarshal(loaded[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	want := events.OrganisationContactsChangedV1{OrganisationID: "org-1", Leader: p.Leader, NominatedLead: events.Person{Erased: true}}
	if got != want {
		t.Errorf("after erasure the event reads %+v, want %+v", got, want)
	}
}

// Gather finds every document in which some text holds the address, however deep
// (a nested person, a list, an event payload stored as JSON text), in any case, and
// no other; the key store's digests are never read as an answer.
func TestGatherFindsEveryDocumentHoldingAnAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	docs := map[string][]any{
		"organisations": {
			map[string]any{"_id": "org-1", "lead": map[string]any{"name": "Ada", "email": "Ada@Example.ac.uk"}},
			map[string]any{"_id": "org-2", "lead": map[string]any{"name": "Grace", "email": "grace@example.ac.uk"}},
		},
		"deliveries":  {map[string]any{"_id": "d-1", "to": []any{map[string]any{"email": "x@example.ac.uk"}, map[string]any{"email": "ada@example.ac.uk"}}}},
		"events":      {map[string]any{"_id": "org-1/1", "events": []any{map[string]any{"data": `{"nominated_lead":{"email":"ada@example.ac.uk"}}`}}}},
		"person_keys": {map[string]any{"_id": "psn-1", "subject": "ada@example.ac.uk"}},
	}
	for name, ds := range docs {
		if _, err := db.Collection(name).InsertMany(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	got, err := personal.Gather(ctx, db, " ADA@example.ac.uk")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, r := range got {
		found = append(found, r.Collection+"/"+r.ID)
	}
	slices.Sort(found)
	if want := []string{"deliveries/d-1", "events/org-1/1", "organisations/org-1"}; !slices.Equal(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	// An event's payload, stored as JSON text, is given as what it says, not as a
	// string of escaped JSON the person would have to decode to read.
	for _, r := range got {
		if r.Collection != "events" {
			continue
		}
		evs, _ := r.Document["events"].([]any)
		if len(evs) != 1 {
			t.Fatalf("the event's record holds %v", r.Document)
		}
		data, ok := evs[0].(map[string]any)["data"].(map[string]any)
		if lead, _ := data["nominated_lead"].(map[string]any); !ok || lead["email"] != "ada@example.ac.uk" {
			t.Errorf("the event's payload is given as %#v, want it as an object naming the lead", evs[0].(map[string]any)["data"])
		}
	}
	// Several texts at once (an address and a pseudonym): each document once.
	got, err = personal.GatherAny(ctx, db, "ada@example.ac.uk", "Grace", "")
	if err != nil {
		t.Fatal(err)
	}
	found = found[:0]
	for _, r := range got {
		found = append(found, r.Collection+"/"+r.ID)
	}
	slices.Sort(found)
	if want := []string{"deliveries/d-1", "events/org-1/1", "organisations/org-1", "organisations/org-2"}; !slices.Equal(found, want) {
		t.Errorf("found %v for either text, want %v", found, want)
	}
}

// TestAPreloadedAggregateOpensWithoutReadingItsPeoplesKeys: a process that starts
// and preloads an aggregate holds the keys of the people it names too, so that its
// first load after the start costs what the next does (one find, after the last
// commit). Before, the first load read each person's key (two finds more here).
func TestAPreloadedAggregateOpensWithoutReadingItsPeoplesKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "")
	typ := events.OrganisationContactsChangedV1{}.EventType()
	open := func() *personal.SealedStore {
		t.Helper()
		clk := clock.NewFake(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
		keys, err := personal.NewKeys(ctx, db, "person_keys", clk)
		if err != nil {
			t.Fatal(err)
		}
		es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clk)
		if err != nil {
			t.Fatal(err)
		}
		sealer, err := personal.NewSealer(keys, personal.Fields{typ: {"leader", "nominated_lead"}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := personal.NewSealedStore(es, sealer)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	writer := open()
	p := events.OrganisationContactsChangedV1{OrganisationID: "org-1",
		Leader:        events.Person{Name: "Grace Hopper", Email: "grace@example.ac.uk"},
		NominatedLead: events.Person{Name: "Ada Lovelace", Email: "ada@example.ac.uk"}}
	if _, err := writer.Execute(ctx, store.Command{AggregateType: "organisation", AggregateID: "org-1", Actor: "ops:x", New: true,
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{p}, nil }}); err != nil {
		t.Fatal(err)
	}

	restarted := open()
	if err := restarted.PreloadIDs(ctx, []string{"org-1"}); err != nil {
		t.Fatal(err)
	}
	var cost [2]testenv.ReadCount
	for i := range cost {
		before := counted.Now()
		evs, err := restarted.Load(ctx, "org-1")
		if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Data), "Ada Lovelace") {
			t.Fatalf("load %d: %v (%v), want the event opened", i, evs, err)
		}
		cost[i] = counted.Now().Sub(before)
	}
	if cost[0].Finds != 1 || cost[0] != cost[1] {
		t.Errorf("the first load after the start cost %d finds / %d documents, the next %d / %d: want one find each",
			cost[0].Finds, cost[0].Docs, cost[1].Finds, cost[1].Docs)
	}
}

// The commits a person made name them only as their actor ("ops:<subject>",
// "lead:<pseudonym>"), holding no address: GatherActing finds them by the actor as a
// whole (in a commit, or one event of a combined commit), never another's actor that
// merely starts alike, and gives the people those commits name as another person.
func TestGatherActingFindsTheCommitsAPersonMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	commits := []any{
		map[string]any{"_id": "org-1/1", "actor": "ops:ann", "events": []any{map[string]any{"data": `{"leader":{"name":"Hal Head","email":"hal@example.ac.uk"}}`}}},
		map[string]any{"_id": "org-1/2", "actor": "ops:anna", "events": []any{map[string]any{"data": `{}`}}},
		map[string]any{"_id": "org-2/1", "actor": "system:review", "events": []any{map[string]any{"actor": "lead:pk-1", "data": `{}`}}},
		map[string]any{"_id": "org-3/1", "actor": "OPS:ANN", "events": []any{map[string]any{"data": `{}`}}},
	}
	if _, err := db.Collection("events").InsertMany(ctx, commits); err != nil {
		t.Fatal(err)
	}
	got, err := personal.GatherActing(ctx, db, "ann@itss.example", []string{"ops:ann", "lead:pk-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, r := range got {
		found = append(found, r.ID)
		if b, _ := json.Marshal(r.Document); strings.Contains(string(b), "hal@") || strings.Contains(string(b), "Hal Head") {
			t.Errorf("the record %s names another person: %s", r.ID, b)
		}
	}
	slices.Sort(found)
	if want := []string{"org-1/1", "org-2/1"}; !slices.Equal(found, want) {
		t.Errorf("found %v, want %v", found, want)
	}
	if got, err := personal.GatherActing(ctx, db, "", nil, nil); err != nil || len(got) != 0 {
		t.Errorf("nothing asked for found %v (%v)", got, err)
	}
}
