package deadletter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/deadletter"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

func TestReplayHandsTheLetterBackOnceFixed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := testenv.NATS(t)
	_, js := testenv.JetStream(t, n)
	_, db := testenv.Mongo(t)
	for _, spec := range []bus.StreamSpec{{Name: "TC_TEST", Subjects: []string{"tc.test.>"}}, bus.DeadLetterStream(1)} {
		if _, err := bus.EnsureStream(ctx, js, spec); err != nil {
			t.Fatal(err)
		}
	}
	processed, err := store.NewProcessedLog(db, "processed")
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	broken.Store(true)
	var handled atomic.Int32
	c, err := bus.NewConsumer(js, bus.ConsumerSpec{Stream: "TC_TEST", Durable: "test-consumer", MaxDeliver: 2, Backoff: []time.Duration{10 * time.Millisecond}},
		func(context.Context, events.Envelope) error {
			if broken.Load() {
				return errors.New("the mail server is down")
			}
			handled.Add(1)
			return nil
		}, processed, telemetry.Discard(), trace.NewTracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Run(ctx) }()
	if _, err := js.PublishMsg(ctx, bus.Message(events.Envelope{ID: "e1", Type: "tc.test.thing.happened.v1", AggregateID: "a1", Version: 1, Time: time.Now(), Data: []byte(`{}`)})); err != nil {
		t.Fatal(err)
	}
	box, err := deadletter.New(js, []*bus.Consumer{c})
	if err != nil {
		t.Fatal(err)
	}
	var page deadletter.Page
	testenv.Eventually(t, 10*time.Second, func() error {
		page, err = box.List(ctx, 0, 10)
		if err != nil {
			return err
		}
		if len(page.Items) != 1 {
			return errors.New("not dead-lettered yet")
		}
		return nil
	})
	l := page.Items[0]
	if l.Deliveries != 2 || l.EventID != "e1" || l.Consumer != "test-consumer" {
		t.Errorf("letter %+v: want e1 after 2 deliveries", l)
	}
	if _, err := box.Replay(ctx, l.Sequence); err == nil {
		t.Fatal("replay succeeded while the cause is still there")
	}
	broken.Store(false)
	if _, err := box.Replay(ctx, l.Sequence); err != nil {
		t.Fatalf("replay after the fix: %v", err)
	}
	if _, err := box.Replay(ctx, l.Sequence); err == nil {
		t.Error("a replayed letter could be replayed again")
	}
	page, err = box.List(ctx, 0, 10)
	if err != nil || len(page.Items) != 0 {
		t.Errorf("after replay the box holds %v (%v), want nothing", page.Items, err)
	}
	if got := handled.Load(); got != 1 {
		t.Errorf("handled %d times, want 1", got)
	}
}
