package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// runBatches starts a batch consumer and returns a function that stops it and waits
// for it; the test's end stops it too.
func (f fixture) runBatches(tb testing.TB, spec bus.ConsumerSpec, h bus.BatchHandler) (stop func()) {
	tb.Helper()
	if spec.Stream == "" {
		spec.Stream = testStream
	}
	if spec.Durable == "" {
		spec.Durable = testDurable
	}
	c, err := bus.NewBatchConsumer(f.js, spec, h, telemetry.Discard(), sdktrace.NewTracerProvider())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("consumer stopped with: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// ledger records, in order, the events a batch handler finished.
type ledger struct {
	mu      sync.Mutex
	ids     []string
	batches []int
}

func (l *ledger) done(batch []events.Envelope) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, len(batch))
	for _, e := range batch {
		l.ids = append(l.ids, e.ID)
	}
}

// handledInOrder waits until the consumer has settled every message, and checks that
// the handler finished want, in that order; it returns the sizes of the batches.
func (f fixture) handledInOrder(tb testing.TB, l *ledger, what string, want []string) []int {
	tb.Helper()
	f.drained(tb, testDurable)
	got, sizes := l.snapshot()
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("%s (-want +got):\n%s", what, diff)
	}
	return sizes
}

func (l *ledger) snapshot() ([]string, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ids...), append([]int(nil), l.batches...)
}

// publishEvents publishes a test event with each id, in order.
func (f fixture) publishEvents(tb testing.TB, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		f.publish(tb, bus.Message(testEvent(id)))
	}
}

func eventIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return ids
}

func TestBatchConsumerHandsOverBatchesInStreamOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := eventIDs("e", 300)
	f.publishEvents(t, want...)
	var l ledger
	f.runBatches(t, bus.ConsumerSpec{Batch: 50}, func(_ context.Context, batch []events.Envelope) error {
		l.done(batch)
		return nil
	})
	sizes := f.handledInOrder(t, &l, "handled", want)
	biggest := 0
	for _, n := range sizes {
		biggest = max(biggest, n)
	}
	if biggest < 2 || biggest > 50 {
		t.Errorf("largest batch %d of batches %v, want 2..50: the waiting messages should go together", biggest, sizes)
	}
}

func TestBatchConsumerRetriesAFailureInPlaceWithoutBeingOvertaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	want := eventIDs("e", 10)
	f.publishEvents(t, want...)
	var l ledger
	var failures atomic.Int32
	f.runBatches(t, bus.ConsumerSpec{Batch: 20, MaxDeliver: 5, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, batch []events.Envelope) error {
			for _, e := range batch {
				if e.ID == "e004" && failures.Load() < 3 {
					failures.Add(1)
					return errors.New("the database said no, this time")
				}
			}
			l.done(batch)
			return nil
		})
	f.handledInOrder(t, &l, "handled, in order", want)
	if n := failures.Load(); n != 3 {
		t.Errorf("e004 failed %d times, want 3 (then succeeded)", n)
	}
}

func TestBatchConsumerDeadLettersWhatNeverSucceedsAndKeepsOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publishEvents(t, "e1", "poison", "e2", "refused", "e3")
	var l ledger
	var tries effects
	const maxDeliver = 3
	f.runBatches(t, bus.ConsumerSpec{MaxDeliver: maxDeliver, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, batch []events.Envelope) error {
			for _, e := range batch {
				tries.add(e.ID)
				switch {
				case e.ID == "poison":
					return errors.New("the template cannot render this")
				case e.ID == "refused":
					// Permanent for the whole batch: only it is dead-lettered.
					return bus.Permanent(errors.New("not about a thing"))
				}
			}
			l.done(batch)
			return nil
		})
	letters := f.deadLetters(t, testDurable, 2)
	f.handledInOrder(t, &l, "handled, in order", []string{"e1", "e2", "e3"})
	if n := tries.snapshot()["poison"]; n != 1+maxDeliver {
		t.Errorf("poison tried %d times, want once in its batch and %d times alone", n, maxDeliver)
	}
	reasons := map[string]string{}
	for _, m := range letters {
		reasons[m.Header.Get(bus.HeaderID)] = m.Header.Get(bus.HeaderDeadReason)
	}
	if r := reasons["poison"]; !strings.Contains(r, "the template cannot render this") || !strings.Contains(r, "3 attempts") {
		t.Errorf("poison's dead letter says %q", r)
	}
	if r := reasons["refused"]; !strings.Contains(r, "not about a thing") {
		t.Errorf("refused's dead letter says %q", r)
	}
}

// Two replicas of a batch consumer: one at a time receives the messages, so no two
// batches are ever handled at once and the stream's order holds across both; when the
// one receiving stops, the other takes over.
func TestBatchConsumerReplicasTakeTurnsInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var l ledger
	var inFlight, overlaps atomic.Int32
	var byReplica [2]atomic.Int32
	handler := func(replica int) bus.BatchHandler {
		return func(_ context.Context, batch []events.Envelope) error {
			if inFlight.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer inFlight.Add(-1)
			time.Sleep(time.Millisecond)
			byReplica[replica].Add(int32(len(batch)))
			l.done(batch)
			return nil
		}
	}
	stops := [2]func(){
		f.runBatches(t, bus.ConsumerSpec{Batch: 20}, handler(0)),
		f.runBatches(t, bus.ConsumerSpec{Batch: 20}, handler(1)),
	}
	want := eventIDs("a", 400)
	f.publishEvents(t, want...)
	f.handledInOrder(t, &l, "handled across both replicas", want)
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d batches were handled while another was", n)
	}
	pinned := 0
	if byReplica[1].Load() > byReplica[0].Load() {
		pinned = 1
	}
	if other := byReplica[1-pinned].Load(); other != 0 {
		t.Errorf("the replica not pinned handled %d events", other)
	}

	stops[pinned]()
	more := eventIDs("b", 50)
	f.publishEvents(t, more...)
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := byReplica[1-pinned].Load(); n != int32(len(more)) {
			return fmt.Errorf("the other replica handled %d of %d", n, len(more))
		}
		return nil
	})
	f.handledInOrder(t, &l, "handled after the hand-over", append(want, more...))
}

// A consumer that ran one message at a time before becomes a batch consumer on the
// same durable name (a rolling upgrade), carrying on where it stopped.
func TestBatchConsumerTakesOverAnExistingDurable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var before effects
	ctx, cancel := context.WithCancel(context.Background())
	c, err := bus.NewConsumer(f.js, bus.ConsumerSpec{Stream: testStream, Durable: testDurable}, func(_ context.Context, e events.Envelope) error {
		before.add(e.ID)
		return nil
	}, nil, telemetry.Discard(), sdktrace.NewTracerProvider())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	f.publishEvents(t, eventIDs("old", 5)...)
	f.drained(t, testDurable)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var l ledger
	f.runBatches(t, bus.ConsumerSpec{}, func(_ context.Context, batch []events.Envelope) error {
		l.done(batch)
		return nil
	})
	want := eventIDs("new", 5)
	f.publishEvents(t, want...)
	f.handledInOrder(t, &l, "handled by the batch consumer", want)
	if n := len(before.snapshot()); n != 5 {
		t.Errorf("the first consumer handled %d, want 5", n)
	}
}
