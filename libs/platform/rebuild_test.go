package platform_test

import (
	"context"
	"encoding/json"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

type tallied struct {
	N int `json:"n"`
}

func (tallied) EventType() string { return "tc.own.tally.tallied.v1" }

// TestRebuildProjectionsReplaysTheLogIntoEmptiedViews: a service's own events come
// from its event store (its stream never saw them here: no relay ran), another
// service's from its stream through the consumer's subject filter; a stale document
// goes; a consumer that is not a projection is never replayed; and the own events
// are published again for other services' rebuilds, once.
func TestRebuildProjectionsReplaysTheLogIntoEmptiedViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.NewEnv(t)
	cfg := testConfig(t, env, "signatory")
	p, cleanup, err := platform.New(ctx, platform.Options{Name: "own", Config: cfg, Logger: telemetry.Discard(),
		Stream: bus.StreamSpec{Name: "OWN", Subjects: []string{"tc.own.>"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)

	view := func(name string) func(context.Context, events.Envelope) error {
		return func(ctx context.Context, e events.Envelope) error {
			_, err := p.DB.Collection(name).InsertOne(ctx, bson.D{{Key: "_id", Value: e.ID}})
			return err
		}
	}
	if err := p.Consume(bus.ConsumerSpec{Stream: "OWN", Durable: "own-view"}, view("own_view")); err != nil {
		t.Fatal(err)
	}
	if err := p.ConsumeBatches(bus.ConsumerSpec{Stream: "OTHER", Durable: "other-view", Batch: 2, FilterSubjects: []string{"tc.other.thing.kept"}},
		func(ctx context.Context, batch []events.Envelope) error {
			for _, e := range batch {
				if err := view("other_view")(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	var effects atomic.Int32
	if err := p.Consume(bus.ConsumerSpec{Stream: "OTHER", Durable: "other-effects"}, func(context.Context, events.Envelope) error {
		effects.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.Rebuilds(platform.Projection{Durable: "own-view", Collections: []string{"own_view"}},
		platform.Projection{Durable: "other-view", Collections: []string{"other_view"}})

	var own []string
	for i := range 3 {
		evs, err := p.Events.Execute(ctx, store.Command{AggregateType: "tally", AggregateID: "t-1", Actor: "test",
			Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{tallied{N: i}}, nil }})
		if err != nil {
			t.Fatal(err)
		}
		own = append(own, evs[0].ID)
	}
	if _, err := bus.EnsureStream(ctx, p.JS, bus.StreamSpec{Name: "OTHER", Subjects: []string{"tc.other.>"}}); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i, typ := range []string{"tc.other.thing.kept.v1", "tc.other.thing.ignored.v1", "tc.other.thing.kept.v1", "tc.other.thing.kept.v1"} {
		data, _ := json.Marshal(map[string]int{"i": i})
		e := events.Envelope{ID: "other-" + string(rune('a'+i)), Source: "/tc/other", Type: typ, AggregateType: "thing", AggregateID: "x",
			Version: i + 1, Time: time.Now(), Data: data}
		if _, err := p.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
		if typ == "tc.other.thing.kept.v1" {
			kept = append(kept, e.ID)
		}
	}
	if _, err := p.DB.Collection("own_view").InsertOne(ctx, bson.D{{Key: "_id", Value: "stale"}}); err != nil {
		t.Fatal(err)
	}

	rep, err := p.RebuildProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(name string) []string {
		cur, err := p.DB.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, d := range docs {
			out = append(out, d.ID)
		}
		sort.Strings(out)
		return out
	}
	sort.Strings(own)
	if d := cmp.Diff(own, ids("own_view")); d != "" {
		t.Errorf("own view after the rebuild (-want +got):\n%s", d)
	}
	if d := cmp.Diff(kept, ids("other_view")); d != "" {
		t.Errorf("view of the other stream after the rebuild (-want +got):\n%s", d)
	}
	if n := effects.Load(); n != 0 {
		t.Errorf("a consumer that is no projection was replayed %d times", n)
	}
	if rep.Republished != 3 {
		t.Errorf("republished %d own events, want 3 (the stream held none)", rep.Republished)
	}
	again, err := p.RebuildProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Republished != 0 {
		t.Errorf("the second rebuild republished %d events the stream already held", again.Republished)
	}
	if d := cmp.Diff(own, ids("own_view")); d != "" {
		t.Errorf("own view after a second rebuild (-want +got):\n%s", d)
	}

	// The database restored from a backup while NATS kept what came after it: the
	// stream holds an event the store does not. The rebuild empties the stream and
	// fills it from the store, so that no other service's rebuild brings it back.
	data, _ := json.Marshal(tallied{N: 9})
	after := events.Envelope{ID: "after-the-backup", Source: "/tc/own", Type: tallied{}.EventType(), AggregateType: "tally", AggregateID: "t-2", Version: 1, Time: time.Now(), Data: data}
	if _, err := p.JS.PublishMsg(ctx, bus.Message(after)); err != nil {
		t.Fatal(err)
	}
	restored, err := p.RebuildProjections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if restored.Republished != 3 {
		t.Errorf("after a restore the rebuild republished %d events, want the store's 3", restored.Republished)
	}
	c, err := p.JS.OrderedConsumer(ctx, "OWN", jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var inStream []string
	msgs, err := c.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		e, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		inStream = append(inStream, e.ID)
	}
	sort.Strings(inStream)
	if d := cmp.Diff(own, inStream); d != "" {
		t.Errorf("the stream after a restore's rebuild (-want +got):\n%s", d)
	}
}
