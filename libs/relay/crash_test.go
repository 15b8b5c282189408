package relay_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/relay"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "tc.test.note.noted.v1" }

// TestCrashBetweenPublishAndMarkHasNoSecondEffect kills the relay after JetStream
// acknowledged a batch and before it was marked published, waits out the duplicate
// window so that JetStream cannot drop the republished copies, and restarts it: the
// stream then holds every event twice, and an idempotent consumer still applies each
// exactly once.
func TestCrashBetweenPublishAndMarkHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := testenv.NATS(t)
	_, js := testenv.JetStream(t, n)
	_, db := testenv.Mongo(t)
	const window = 100 * time.Millisecond
	if _, err := bus.EnsureStream(ctx, js, bus.StreamSpec{Name: "TC_TEST", Subjects: []string{"tc.test.>"}, Duplicates: window}); err != nil {
		t.Fatal(err)
	}
	es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	const notes = 20
	for i := range notes {
		if _, err := es.Execute(ctx, store.Command{AggregateType: "note", AggregateID: "n" + string(rune('a'+i)), Actor: "test",
			Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{noted{Text: "x"}}, nil }}); err != nil {
			t.Fatal(err)
		}
	}

	crashing, err := relay.New(es, js, telemetry.Discard(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("killed between publish and mark")
	crashing.AfterPublish = func([]string) error { return crash }
	if _, err := crashing.Once(ctx); !errors.Is(err, crash) {
		t.Fatalf("first pass: %v, want the simulated crash", err)
	}
	time.Sleep(2 * window) // past JetStream's duplicate window: the next copies are kept

	restarted, err := relay.New(es, js, telemetry.Discard(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := restarted.Once(ctx); err != nil || got != notes {
		t.Fatalf("restarted relay published %d commits (%v), want %d", got, err, notes)
	}
	if left, err := es.Unpublished(ctx, 100); err != nil || len(left) != 0 {
		t.Fatalf("%d commits still unpublished (%v)", len(left), err)
	}
	stream, err := js.Stream(ctx, "TC_TEST")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2*notes {
		t.Fatalf("stream holds %d messages, want %d (every event twice)", info.State.Msgs, 2*notes)
	}

	processed, err := store.NewProcessedLog(db, "processed")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	effects := map[string]int{}
	consumer, err := bus.NewConsumer(js, bus.ConsumerSpec{Stream: "TC_TEST", Durable: "test-effects", MaxAckPending: 8},
		func(_ context.Context, e events.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			effects[e.ID]++
			return nil
		}, processed, telemetry.Discard(), trace.NewTracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = consumer.Run(ctx) }()
	testenv.Eventually(t, 10*time.Second, func() error {
		c, err := js.Consumer(ctx, "TC_TEST", "test-effects")
		if err != nil {
			return err
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if ci.NumPending != 0 || ci.NumAckPending != 0 {
			return errors.New("consumer still has messages to handle")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(effects) != notes {
		t.Errorf("%d events had an effect, want %d", len(effects), notes)
	}
	for id, n := range effects {
		if n != 1 {
			t.Errorf("event %s had %d effects, want 1", id, n)
		}
	}
}

// TestRelayPublishesWithCloudEventsHeaders checks what a consumer receives.
func TestRelayPublishesWithCloudEventsHeaders(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := testenv.NATS(t)
	_, js := testenv.JetStream(t, n)
	_, db := testenv.Mongo(t)
	if _, err := bus.EnsureStream(ctx, js, bus.StreamSpec{Name: "TC_TEST", Subjects: []string{"tc.test.>"}}); err != nil {
		t.Fatal(err)
	}
	es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := es.Execute(ctx, store.Command{AggregateType: "note", AggregateID: "n1", Actor: "ops:alice",
		Decide: func([]events.Envelope) ([]events.Payload, error) { return []events.Payload{noted{Text: "hello"}}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(es, js, telemetry.Discard(), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.Run(ctx) }()
	c, err := js.OrderedConsumer(ctx, "TC_TEST", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got, err := bus.Envelope(m.Subject(), m.Headers(), m.Data())
	if err != nil {
		t.Fatal(err)
	}
	want := stored[0]
	if got.ID != want.ID || got.Type != want.Type || got.AggregateID != "n1" || got.Version != 1 || got.Actor != "ops:alice" ||
		got.Source != "/tc/test" || string(got.Data) != string(want.Data) || m.Subject() != "tc.test.note.noted" ||
		m.Headers().Get(jetstream.MsgIDHeader) != want.ID || m.Headers().Get(bus.HeaderSpecVersion) != "1.0" {
		t.Errorf("received %+v on %s, want %+v on tc.test.note.noted", got, m.Subject(), want)
	}
}
