package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

const (
	testStream  = "TC_TEST"
	testDurable = "test-consumer"
)

// fixture is one test's NATS server with the test stream and the dead-letter stream,
// and a processed-message log in a database of the test's own.
type fixture struct {
	js        jetstream.JetStream
	processed *store.ProcessedLog
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	_, js := testenv.JetStream(tb, testenv.NATS(tb))
	for _, spec := range []bus.StreamSpec{{Name: testStream, Subjects: []string{"tc.test.>"}}, bus.DeadLetterStream(1)} {
		if _, err := bus.EnsureStream(ctx, js, spec); err != nil {
			tb.Fatal(err)
		}
	}
	_, db := testenv.Mongo(tb)
	processed, err := store.NewProcessedLog(db, "processed")
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{js: js, processed: processed}
}

// run starts a consumer that stops, and is waited for, when the test ends.
func (f fixture) run(tb testing.TB, spec bus.ConsumerSpec, h bus.Handler) *bus.Consumer {
	tb.Helper()
	return f.runLogged(tb, spec, h, telemetry.Discard())
}

func (f fixture) runLogged(tb testing.TB, spec bus.ConsumerSpec, h bus.Handler, logger *slog.Logger) *bus.Consumer {
	tb.Helper()
	if spec.Stream == "" {
		spec.Stream = testStream
	}
	if spec.Durable == "" {
		spec.Durable = testDurable
	}
	c, err := bus.NewConsumer(f.js, spec, h, f.processed, logger, sdktrace.NewTracerProvider())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("consumer stopped with: %v", err)
		}
	})
	return c
}

func (f fixture) publish(tb testing.TB, m *nats.Msg) {
	tb.Helper()
	if _, err := f.js.PublishMsg(context.Background(), m); err != nil {
		tb.Fatalf("publish %s: %v", m.Header.Get(bus.HeaderID), err)
	}
}

// drained waits until the consumer has settled (acknowledged or terminated) every
// message in its stream. Its pending counts alone are not enough: the server updates
// them after it acknowledges a publish, so they can read zero for a message just stored.
func (f fixture) drained(tb testing.TB, durable string) {
	tb.Helper()
	ctx := context.Background()
	testenv.Eventually(tb, 10*time.Second, func() error {
		s, err := f.js.Stream(ctx, testStream)
		if err != nil {
			return err
		}
		si, err := s.Info(ctx)
		if err != nil {
			return err
		}
		c, err := s.Consumer(ctx, durable)
		if err != nil {
			return err
		}
		ci, err := c.Info(ctx)
		if err != nil {
			return err
		}
		if ci.AckFloor.Stream < si.State.LastSeq || ci.NumPending != 0 || ci.NumAckPending != 0 {
			return fmt.Errorf("consumer %s settled up to %d of %d; %d pending, %d awaiting ack",
				durable, ci.AckFloor.Stream, si.State.LastSeq, ci.NumPending, ci.NumAckPending)
		}
		return nil
	})
}

// deadLetters waits for want dead letters of durable and returns them.
func (f fixture) deadLetters(tb testing.TB, durable string, want int) []*jetstream.RawStreamMsg {
	tb.Helper()
	ctx := context.Background()
	var got []*jetstream.RawStreamMsg
	testenv.Eventually(tb, 10*time.Second, func() error {
		s, err := f.js.Stream(ctx, events.StreamDeadLetter)
		if err != nil {
			return err
		}
		got = got[:0]
		for seq := uint64(1); ; seq++ {
			m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(bus.DeadLetterSubject(durable)))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				break
			}
			if err != nil {
				return err
			}
			got = append(got, m)
			seq = m.Sequence
		}
		if len(got) != want {
			return fmt.Errorf("%d dead letters, want %d", len(got), want)
		}
		return nil
	})
	return got
}

// effects counts a handler's side effects per event id.
type effects struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *effects) add(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[id]++
}

func (e *effects) snapshot() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.n))
	for k, v := range e.n {
		out[k] = v
	}
	return out
}

func testEvent(id string) events.Envelope {
	return events.Envelope{
		ID: id, Source: "/tc/test", Type: "tc.test.thing.happened.v1", AggregateType: "thing", AggregateID: "a-" + id,
		Version: 1, Time: time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC), Actor: "ops:alice",
		Data: []byte(`{"id":"` + id + `"}`),
	}
}

func TestMessageRoundTripsTheEnvelope(t *testing.T) {
	t.Parallel()
	want := testEvent("e1")
	want.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	m := bus.Message(want)
	if m.Subject != "tc.test.thing.happened" {
		t.Errorf("subject %q, want the type without its version", m.Subject)
	}
	if diff := cmp.Diff(map[string]string{
		jetstream.MsgIDHeader:   "e1",
		bus.HeaderSpecVersion:   "1.0",
		bus.HeaderID:            "e1",
		bus.HeaderSource:        "/tc/test",
		bus.HeaderType:          "tc.test.thing.happened.v1",
		bus.HeaderSubject:       "a-e1",
		bus.HeaderTime:          "2026-03-04T05:06:07.000008Z",
		bus.HeaderContentType:   "application/json",
		bus.HeaderActor:         "ops:alice",
		bus.HeaderAggregateType: "thing",
		bus.HeaderVersion:       "1",
		bus.HeaderTraceParent:   want.TraceParent,
	}, flatten(m.Header)); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	got, err := bus.Envelope(m.Subject, m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(events.Envelope{})); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
}

func flatten(h nats.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

func TestConsumerHandsOverTheEnvelope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := make(chan events.Envelope, 1)
	f.run(t, bus.ConsumerSpec{}, func(_ context.Context, e events.Envelope) error {
		got <- e
		return nil
	})
	want := testEvent("e1")
	f.publish(t, bus.Message(want))
	select {
	case e := <-got:
		if diff := cmp.Diff(want, e, cmpopts.IgnoreUnexported(events.Envelope{})); diff != "" {
			t.Errorf("envelope (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing consumed")
	}
}

// TestSameEventUnderAnotherMessageIDHasOneEffect publishes one event twice under two
// Nats-Msg-Ids, which JetStream cannot recognise as the same: the processed log can.
func TestSameEventUnderAnotherMessageIDHasOneEffect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var seen effects
	f.run(t, bus.ConsumerSpec{}, func(_ context.Context, e events.Envelope) error {
		seen.add(e.ID)
		return nil
	})
	for _, msgID := range []string{"first-copy", "second-copy"} {
		m := bus.Message(testEvent("e1"))
		m.Header.Set(jetstream.MsgIDHeader, msgID)
		f.publish(t, m)
	}
	f.publish(t, bus.Message(testEvent("e2")))
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"e1": 1, "e2": 1}, seen.snapshot()); diff != "" {
		t.Errorf("effects per event (-want +got):\n%s", diff)
	}
}

// TestPoisonMessageIsDeadLetteredAndTheRestFlow has a handler that can never handle
// one message: it is retried up to MaxDeliver, kept in the dead-letter stream with the
// reason, and the messages queued behind it (MaxAckPending 1) are then handled.
func TestPoisonMessageIsDeadLetteredAndTheRestFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tries, handled effects
	const maxDeliver = 3
	f.run(t, bus.ConsumerSpec{MaxDeliver: maxDeliver, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, e events.Envelope) error {
			tries.add(e.ID)
			if e.ID == "poison" {
				return errors.New("the template cannot render this")
			}
			handled.add(e.ID)
			return nil
		})
	poison := testEvent("poison")
	for _, e := range []events.Envelope{poison, testEvent("e2"), testEvent("e3")} {
		f.publish(t, bus.Message(e))
	}

	letters := f.deadLetters(t, testDurable, 1)
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"e2": 1, "e3": 1}, handled.snapshot()); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"poison": maxDeliver, "e2": 1, "e3": 1}, tries.snapshot()); diff != "" {
		t.Errorf("deliveries to the handler (-want +got):\n%s", diff)
	}
	l := letters[0]
	if diff := cmp.Diff(string(poison.Data), string(l.Data)); diff != "" {
		t.Errorf("dead letter body (-want +got):\n%s", diff)
	}
	if reason := l.Header.Get(bus.HeaderDeadReason); !strings.Contains(reason, "the template cannot render this") ||
		!strings.Contains(reason, "3 deliveries") {
		t.Errorf("%s %q does not say why", bus.HeaderDeadReason, reason)
	}
	if diff := cmp.Diff(map[string]string{
		bus.HeaderID:           "poison",
		bus.HeaderType:         poison.Type,
		bus.HeaderDeadConsumer: testDurable,
		bus.HeaderDeadSubject:  "tc.test.thing.happened",
		bus.HeaderDeadStream:   testStream,
		bus.HeaderDeliveries:   "3",
	}, pick(l.Header, bus.HeaderID, bus.HeaderType, bus.HeaderDeadConsumer, bus.HeaderDeadSubject, bus.HeaderDeadStream, bus.HeaderDeliveries)); diff != "" {
		t.Errorf("dead letter headers (-want +got):\n%s", diff)
	}
	if l.Subject != bus.DeadLetterSubject(testDurable) {
		t.Errorf("dead letter on %s, want %s", l.Subject, bus.DeadLetterSubject(testDurable))
	}
}

func pick(h nats.Header, keys ...string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = h.Get(k)
	}
	return out
}

func TestPermanentErrorDeadLettersOnFirstDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tries effects
	f.run(t, bus.ConsumerSpec{MaxDeliver: 5, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, e events.Envelope) error {
			tries.add(e.ID)
			if e.ID == "bad" {
				return bus.Permanent(errors.New("organisation o1 does not exist"))
			}
			return nil
		})
	f.publish(t, bus.Message(testEvent("bad")))
	f.publish(t, bus.Message(testEvent("good")))
	letters := f.deadLetters(t, testDurable, 1)
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"bad": 1, "good": 1}, tries.snapshot()); diff != "" {
		t.Errorf("deliveries to the handler (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{
		bus.HeaderID:         "bad",
		bus.HeaderDeadReason: "permanent: organisation o1 does not exist",
		bus.HeaderDeliveries: "1",
	}, pick(letters[0].Header, bus.HeaderID, bus.HeaderDeadReason, bus.HeaderDeliveries)); diff != "" {
		t.Errorf("dead letter headers (-want +got):\n%s", diff)
	}
}

func TestUndecodableMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tries effects
	f.run(t, bus.ConsumerSpec{}, func(_ context.Context, e events.Envelope) error {
		tries.add(e.ID)
		return nil
	})
	f.publish(t, &nats.Msg{Subject: "tc.test.thing.happened", Data: []byte(`not an event`)})
	f.publish(t, bus.Message(testEvent("after")))
	letters := f.deadLetters(t, testDurable, 1)
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"after": 1}, tries.snapshot()); diff != "" {
		t.Errorf("deliveries to the handler (-want +got):\n%s", diff)
	}
	if got := string(letters[0].Data); got != "not an event" {
		t.Errorf("dead letter body %q, want the original", got)
	}
	if reason := letters[0].Header.Get(bus.HeaderDeadReason); !strings.HasPrefix(reason, "undecodable") {
		t.Errorf("%s %q, want undecodable", bus.HeaderDeadReason, reason)
	}
}

// TestHandlerGetsTimeUnderAShortAckWait: a consumer configured with an ack wait of a
// second or less must still give its handler a live context.
func TestHandlerGetsTimeUnderAShortAckWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var handled, done effects
	f.run(t, bus.ConsumerSpec{AckWait: time.Second, MaxDeliver: 2, Backoff: []time.Duration{10 * time.Millisecond}},
		func(ctx context.Context, e events.Envelope) error {
			if err := ctx.Err(); err != nil {
				done.add(e.ID)
				return fmt.Errorf("handler context already done: %w", err)
			}
			handled.add(e.ID)
			return nil
		})
	f.publish(t, bus.Message(testEvent("e1")))
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"e1": 1}, handled.snapshot()); diff != "" {
		t.Errorf("handled (-want +got):\n%s\nhandler context done on arrival: %v", diff, done.snapshot())
	}
}

func TestHandlerContextContinuesTheProducersTrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := make(chan trace.SpanContext, 1)
	f.run(t, bus.ConsumerSpec{}, func(ctx context.Context, _ events.Envelope) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	})
	e := testEvent("e1")
	e.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	f.publish(t, bus.Message(e))
	select {
	case sc := <-got:
		if diff := cmp.Diff("4bf92f3577b34da6a3ce929d0e0e4736", sc.TraceID().String()); diff != "" {
			t.Errorf("trace id (-want +got):\n%s", diff)
		}
		if sc.SpanID().String() == "00f067aa0ba902b7" {
			t.Error("the handler runs in the producer's span, want a consumer span of its own")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing consumed")
	}
}

// TestDeadLetterIsKeptWhenItsStreamWasDown gives up on a message while the dead-letter
// stream is missing: the message must not be lost, but dead-lettered once it is back.
func TestDeadLetterIsKeptWhenItsStreamWasDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.js.DeleteStream(ctx, events.StreamDeadLetter); err != nil {
		t.Fatal(err)
	}
	var tries effects
	var logs logRecorder
	f.runLogged(t, bus.ConsumerSpec{MaxDeliver: 2, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, e events.Envelope) error {
			tries.add(e.ID)
			return errors.New("always fails")
		}, slog.New(&logs))
	f.publish(t, bus.Message(testEvent("poison")))
	testenv.Eventually(t, 10*time.Second, func() error {
		if !logs.has("dead-letter publish failed; will redeliver") {
			return errors.New("the dead-letter publish has not failed yet")
		}
		return nil
	})
	if _, err := bus.EnsureStream(ctx, f.js, bus.DeadLetterStream(1)); err != nil {
		t.Fatal(err)
	}
	letters := f.deadLetters(t, testDurable, 1)
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"poison": 2}, tries.snapshot()); diff != "" {
		t.Errorf("deliveries to the handler (-want +got):\n%s", diff)
	}
	if got := letters[0].Header.Get(bus.HeaderID); got != "poison" {
		t.Errorf("dead letter of %q, want poison", got)
	}
}

// logRecorder is a slog.Handler that keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) has(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.msgs, msg)
}

// TestUnavailableDependencyHoldsTheMessage has a handler fail with Unavailable (the
// database is down) more times than its deliveries allow: the message is held and
// retried in place, so it is handled once the dependency returns rather than
// dead-lettered, and the messages behind it follow.
func TestUnavailableDependencyHoldsTheMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var tries, handled effects
	f.run(t, bus.ConsumerSpec{MaxDeliver: 2, Backoff: []time.Duration{10 * time.Millisecond}},
		func(_ context.Context, e events.Envelope) error {
			tries.add(e.ID)
			if e.ID == "e1" && tries.snapshot()["e1"] <= 5 {
				return apperr.Wrap(apperr.Unavailable, errors.New("server selection timeout"), "the database is unavailable")
			}
			handled.add(e.ID)
			return nil
		})
	f.publish(t, bus.Message(testEvent("e1")))
	f.publish(t, bus.Message(testEvent("e2")))
	f.drained(t, testDurable)
	if diff := cmp.Diff(map[string]int{"e1": 1, "e2": 1}, handled.snapshot()); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"e1": 6, "e2": 1}, tries.snapshot()); diff != "" {
		t.Errorf("tries (-want +got):\n%s", diff)
	}
	s, err := f.js.Stream(context.Background(), events.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d dead letters, want none", info.State.Msgs)
	}
}

// TestAConsumerDeletedOnTheServerIsCreatedAgain: a durable consumer removed from the
// server while its service runs (NATS's store lost and rebuilt, an operator's `nats
// consumer rm`) left the service consuming nothing, for good: it stayed ready, logged
// nothing above debug, and no alert could see a consumer that no longer exists (seen
// on the local stack: notify-organisations removed, a new organisation's events never
// reached notify). The consumer creates its durable again and resumes.
func TestAConsumerDeletedOnTheServerIsCreatedAgain(t *testing.T) {
	t.Parallel()
	t.Run("one message at a time", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		var got effects
		f.run(t, bus.ConsumerSpec{}, func(_ context.Context, e events.Envelope) error {
			got.add(e.ID)
			return nil
		})
		consumedAfterDeletion(t, f, &got)
	})
	t.Run("in batches", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		var got effects
		f.runBatches(t, bus.ConsumerSpec{}, func(_ context.Context, es []events.Envelope) error {
			for _, e := range es {
				got.add(e.ID)
			}
			return nil
		})
		consumedAfterDeletion(t, f, &got)
	})
}

// consumedAfterDeletion deletes the running consumer on the server between two
// events, and waits for the second to be handled once.
func consumedAfterDeletion(t *testing.T, f fixture, got *effects) {
	t.Helper()
	f.publish(t, bus.Message(testEvent("before")))
	f.drained(t, testDurable)
	if err := f.js.DeleteConsumer(context.Background(), testStream, testDurable); err != nil {
		t.Fatal(err)
	}
	f.publish(t, bus.Message(testEvent("after")))
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := got.snapshot()["after"]; n != 1 {
			return fmt.Errorf("the event published after the consumer was deleted was handled %d times", n)
		}
		return nil
	})
}

// TestAWidenedDurableIsUpdatedInPlaceAndKeepsItsPlace: a release that gives a durable
// consumer one more subject (the read models of signatories taking
// tc.signatory.person.erased) starts on a server where the durable exists with the
// release before's subjects. The consumer is updated in place, not refused: it goes
// on from where it was (what it handled is not handed over again), and takes the new
// subject's events from then on, in order with the rest.
func TestAWidenedDurableIsUpdatedInPlaceAndKeepsItsPlace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	erased := func(id string) events.Envelope {
		e := testEvent(id)
		e.Type = "tc.test.person.erased.v1"
		return e
	}
	var got effects
	var order []string
	var mu sync.Mutex
	handle := func(_ context.Context, e events.Envelope) error {
		got.add(e.ID)
		mu.Lock()
		order = append(order, e.ID)
		mu.Unlock()
		return nil
	}
	run := func(filters ...string) (stop func()) {
		c, err := bus.NewConsumer(f.js, bus.ConsumerSpec{Stream: testStream, Durable: testDurable, FilterSubjects: filters}, handle, nil,
			telemetry.Discard(), sdktrace.NewTracerProvider())
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(runCtx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consumer stopped with: %v", err)
			}
		}
	}
	handled := func(ids ...string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			seen := got.snapshot()
			for _, id := range ids {
				if seen[id] == 0 {
					return fmt.Errorf("%s not handled yet (handled: %v)", id, seen)
				}
			}
			return nil
		})
	}

	// The release before: the durable takes things alone.
	stop := run("tc.test.thing.happened")
	f.publish(t, bus.Message(testEvent("before")))
	f.publish(t, bus.Message(erased("erased-before"))) // its old consumer of erasures took it
	handled("before")
	stop()

	// This release: the same durable, widened.
	f.publish(t, bus.Message(testEvent("during")))
	stop = run("tc.test.thing.happened", "tc.test.person.erased")
	defer stop()
	f.publish(t, bus.Message(erased("erased-after")))
	f.publish(t, bus.Message(testEvent("after")))
	handled("during", "erased-after", "after")

	info, err := f.js.Consumer(ctx, testStream, testDurable)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := info.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tc.test.thing.happened", "tc.test.person.erased"}, ci.Config.FilterSubjects); diff != "" {
		t.Errorf("the durable's subjects on the server (-want +got):\n%s", diff)
	}
	seen := got.snapshot()
	if seen["before"] != 1 {
		t.Errorf("the event handled before the widening was handled %d times, want once: the durable lost its place", seen["before"])
	}
	mu.Lock()
	defer mu.Unlock()
	// The erasure made before the widening went to the release before's consumer of
	// erasures; handed over again, it would be harmless (forgetting is idempotent),
	// but the widened durable is past it.
	if seen["erased-before"] != 0 {
		t.Logf("the erasure made before the widening was handed over too: %v", order)
	}
	if i, j := slices.Index(order, "erased-after"), slices.Index(order, "after"); i > j {
		t.Errorf("handled in the order %v, want the stream's", order)
	}
}
