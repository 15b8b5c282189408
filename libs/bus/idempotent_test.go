package bus_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
)

// An idempotent consumer (a projection) keeps no processed-message record: the same
// event handled twice runs its handler twice and writes nothing else; an ordinary
// consumer runs it once.
func TestAnIdempotentConsumerKeepsNoRecordOfProcessedMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	env := events.Envelope{ID: "e-1", Type: "tc.test.thing.happened.v1", AggregateID: "a"}
	for _, c := range []struct {
		durable    string
		idempotent bool
		runs       int
	}{{"projection", true, 2}, {"effects", false, 1}} {
		runs := 0
		consumer, err := bus.NewConsumer(f.js, bus.ConsumerSpec{Stream: testStream, Durable: c.durable, Idempotent: c.idempotent},
			func(context.Context, events.Envelope) error { runs++; return nil }, f.processed, telemetry.Discard(), sdktrace.NewTracerProvider())
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := consumer.Process(ctx, env); err != nil {
				t.Fatal(err)
			}
		}
		if runs != c.runs {
			t.Errorf("%s: handler ran %d times, want %d", c.durable, runs, c.runs)
		}
		seen, err := f.processed.Seen(ctx, c.durable+":"+env.ID)
		if err != nil {
			t.Fatal(err)
		}
		if seen != !c.idempotent {
			t.Errorf("%s: recorded as processed: %v, want %v", c.durable, seen, !c.idempotent)
		}
	}
}
