package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

type named struct {
	Who string `json:"who"`
}

func (named) EventType() string { return "tc.test.person.named.v1" }

// Rewrite replaces the payloads of an aggregate's stored commits, its cached head
// included, so that neither this process nor a fresh one loads the old form; ids and
// versions stay; a second pass with nothing to change writes nothing; and the
// aggregate still takes new events at its next version.
func TestRewriteReplacesStoredPayloadsEverywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	es := openLog(t, db)
	const id = "agg-rw"
	for i := range 20 { // past the head's threshold, so a load caches a head
		if _, err := es.Execute(ctx, store.Command{AggregateType: "person", AggregateID: id, Actor: "t", New: i == 0,
			Decide: func([]events.Envelope) ([]events.Payload, error) {
				return []events.Payload{named{Who: "Ada Lovelace"}}, nil
			}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := openLog(t, db).Load(ctx, id); err != nil { // a fresh process writes the head
		t.Fatal(err)
	}
	if n, _ := db.Collection("events_heads").CountDocuments(ctx, bson.D{}); n != 1 {
		t.Fatalf("%d heads, want the aggregate's", n)
	}
	redact := func(_ string, data []byte) ([]byte, error) {
		return bytes.ReplaceAll(data, []byte("Ada Lovelace"), []byte("sealed")), nil
	}
	n, err := es.Rewrite(ctx, id, redact)
	if err != nil || n != 20 {
		t.Fatalf("rewrote %d commits (%v), want 20", n, err)
	}
	if again, err := es.Rewrite(ctx, id, redact); err != nil || again != 0 {
		t.Errorf("a second pass rewrote %d (%v), want none", again, err)
	}
	for what, s := range map[string]*store.EventStore{"this process": es, "a fresh one": openLog(t, db)} {
		evs, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Version != i+1 || !strings.Contains(string(e.Data), "sealed") {
				t.Errorf("%s loads event %d as version %d, %s", what, i, e.Version, e.Data)
			}
		}
	}
	var heads []bson.M
	cur, err := db.Collection("events_heads").Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cur.All(ctx, &heads); err != nil {
		t.Fatal(err)
	}
	if ej, _ := bson.MarshalExtJSON(heads[0], false, false); bytes.Contains(ej, []byte("Ada")) {
		t.Errorf("the cached head keeps the old form: %s", ej)
	}
	evs, err := es.Execute(ctx, store.Command{AggregateType: "person", AggregateID: id, Actor: "t",
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{named{Who: "next"}}, nil }})
	if err != nil || len(evs) != 1 || evs[0].Version != 21 {
		t.Fatalf("after the rewrite the next event is %v (%v), want version 21", evs, err)
	}
}
