package relay_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/relay"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

const testStream = "TC_TEST"

type noted struct {
	Text string `json:"text"`
}

func (noted) EventType() string { return "tc.test.note.noted.v1" }

type fixture struct {
	js  jetstream.JetStream
	es  *store.EventStore
	log *store.ProcessedLog
}

// newFixture gives a test its own NATS server with the test stream (whose duplicate
// window is dup, or JetStream's default when zero) and an event store in a database
// of its own. The store's clock is fixed on a whole millisecond, which is as precise
// as the database keeps time, so stored and published envelopes compare equal.
func newFixture(tb testing.TB, dup time.Duration) fixture {
	tb.Helper()
	ctx := context.Background()
	_, js := testenv.JetStream(tb, testenv.NATS(tb))
	if _, err := bus.EnsureStream(ctx, js, bus.StreamSpec{Name: testStream, Subjects: []string{"tc.test.>"}, Duplicates: dup}); err != nil {
		tb.Fatal(err)
	}
	_, db := testenv.Mongo(tb)
	es, err := store.NewEventStore(ctx, db, "events", "/tc/test", clock.NewFake(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)))
	if err != nil {
		tb.Fatal(err)
	}
	es.Catalogue("note")
	processed, err := store.NewProcessedLog(db, "processed")
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{js: js, es: es, log: processed}
}

// note stores one command's events on note id, as actor.
func (f fixture) note(ctx context.Context, tb testing.TB, id, actor string, texts ...string) []events.Envelope {
	tb.Helper()
	stored, err := f.es.Execute(ctx, store.Command{AggregateType: "note", AggregateID: id, Actor: actor,
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			out := make([]events.Payload, len(texts))
			for i, t := range texts {
				out[i] = noted{Text: t}
			}
			return out, nil
		}})
	if err != nil {
		tb.Fatal(err)
	}
	return stored
}

func (f fixture) newRelay(tb testing.TB) *relay.Relay {
	tb.Helper()
	r, err := relay.New(f.es, f.js, telemetry.Discard(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// run runs fn until the test ends, then stops it and waits for it.
func run(tb testing.TB, fn func(context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("stopped with: %v", err)
		}
	})
}

// consume runs an idempotent consumer of the test stream whose handler is h.
func (f fixture) consume(tb testing.TB, durable string, h bus.Handler, tp trace.TracerProvider) {
	tb.Helper()
	c, err := bus.NewConsumer(f.js, bus.ConsumerSpec{Stream: testStream, Durable: durable, MaxAckPending: 8}, h, f.log, telemetry.Discard(), tp)
	if err != nil {
		tb.Fatal(err)
	}
	run(tb, c.Run)
}

// drained waits until the consumer has settled every message in the stream (its
// pending counts alone can read zero for a message just stored).
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
			return fmt.Errorf("settled up to %d of %d; %d pending, %d awaiting ack", ci.AckFloor.Stream, si.State.LastSeq, ci.NumPending, ci.NumAckPending)
		}
		return nil
	})
}

func (f fixture) streamMsgs(tb testing.TB) uint64 {
	tb.Helper()
	s, err := f.js.Stream(context.Background(), testStream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}

func (f fixture) unpublished(tb testing.TB) int {
	tb.Helper()
	left, err := f.es.Unpublished(context.Background(), 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return len(left)
}

// collector keeps what a handler was given, per event id.
type collector struct {
	mu  sync.Mutex
	got map[string][]events.Envelope
}

func (c *collector) handle(_ context.Context, e events.Envelope) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.got == nil {
		c.got = map[string][]events.Envelope{}
	}
	c.got[e.ID] = append(c.got[e.ID], e)
	return nil
}

func (c *collector) snapshot() map[string][]events.Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]events.Envelope, len(c.got))
	for k, v := range c.got {
		out[k] = append([]events.Envelope(nil), v...)
	}
	return out
}

func (c *collector) counts() map[string]int {
	out := map[string]int{}
	for id, evs := range c.snapshot() {
		out[id] = len(evs)
	}
	return out
}

// TestRelayPublishesWhatIsStored runs the relay idle (its polling interval is an hour)
// so that only the store's wake-up can make it publish, stores two commands, and checks
// what arrives: the raw messages' headers, and the envelopes a consumer is handed.
func TestRelayPublishesWhatIsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 0)
	run(t, f.newRelay(t).Run)
	var got collector
	f.consume(t, "test-envelopes", got.handle, sdktrace.NewTracerProvider())

	stored := f.note(ctx, t, "n1", "ops:alice", "hello", "again")
	stored = append(stored, f.note(ctx, t, "n2", "lead:bob", "other")...)

	want := map[string][]events.Envelope{}
	for _, e := range stored {
		want[e.ID] = []events.Envelope{e}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := len(got.snapshot()); n != len(stored) {
			return fmt.Errorf("consumed %d events, want %d", n, len(stored))
		}
		return nil
	})
	if diff := cmp.Diff(want, got.snapshot(), cmpopts.IgnoreUnexported(events.Envelope{})); diff != "" {
		t.Errorf("consumed envelopes (-want +got):\n%s", diff)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		if n := f.unpublished(t); n != 0 {
			return fmt.Errorf("%d commits not marked published", n)
		}
		return nil
	})

	raw, err := f.js.OrderedConsumer(ctx, testStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range stored {
		m, err := raw.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		h := m.Headers()
		got := map[string]string{"subject": m.Subject(), "data": string(m.Data())}
		for _, k := range []string{jetstream.MsgIDHeader, bus.HeaderSpecVersion, bus.HeaderID, bus.HeaderSource, bus.HeaderType,
			bus.HeaderSubject, bus.HeaderTime, bus.HeaderContentType, bus.HeaderActor, bus.HeaderAggregateType, bus.HeaderVersion} {
			got[k] = h.Get(k)
		}
		if diff := cmp.Diff(map[string]string{
			"subject":               "tc.test.note.noted",
			"data":                  string(e.Data),
			jetstream.MsgIDHeader:   e.ID,
			bus.HeaderSpecVersion:   "1.0",
			bus.HeaderID:            e.ID,
			bus.HeaderSource:        "/tc/test",
			bus.HeaderType:          "tc.test.note.noted.v1",
			bus.HeaderSubject:       e.AggregateID,
			bus.HeaderTime:          "2026-05-06T07:08:09Z",
			bus.HeaderContentType:   "application/json",
			bus.HeaderActor:         e.Actor,
			bus.HeaderAggregateType: "note",
			bus.HeaderVersion:       strconv.Itoa(e.Version),
		}, got); diff != "" {
			t.Errorf("message %d (-want +got):\n%s", i, diff)
		}
	}
}

// crashedRelay publishes every stored commit and dies before marking any published.
func (f fixture) crashedRelay(ctx context.Context, tb testing.TB) {
	tb.Helper()
	r := f.newRelay(tb)
	crash := errors.New("killed between publish and mark")
	r.AfterPublish = func([]string) error { return crash }
	if _, err := r.Once(ctx); !errors.Is(err, crash) {
		tb.Fatalf("crashing pass: %v, want the simulated crash", err)
	}
}

func (f fixture) noteMany(ctx context.Context, tb testing.TB, n int) {
	tb.Helper()
	for i := range n {
		f.note(ctx, tb, fmt.Sprintf("n%02d", i), "test", "x")
	}
}

// TestCrashBetweenPublishAndMarkHasNoSecondEffect kills the relay after JetStream
// acknowledged a batch and before it was marked published, waits out the duplicate
// window so that JetStream cannot drop the copies published again, and runs a fresh
// relay: the stream then holds every event twice, and an idempotent consumer still
// has exactly one effect per event.
func TestCrashBetweenPublishAndMarkHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// 100ms is the shortest duplicate window JetStream accepts.
	const window = 100 * time.Millisecond
	f := newFixture(t, window)
	const notes = 20
	f.noteMany(ctx, t, notes)

	f.crashedRelay(ctx, t)
	if got := f.streamMsgs(t); got != notes {
		t.Fatalf("after the crash the stream holds %d messages, want %d", got, notes)
	}
	if got := f.unpublished(t); got != notes {
		t.Fatalf("after the crash %d commits are unpublished, want all %d", got, notes)
	}
	// JetStream forgets message ids on a timer that fires no more often than every
	// 50ms, so wait the window and then some: the next copies are kept.
	time.Sleep(3 * window)

	if got, err := f.newRelay(t).Once(ctx); err != nil || got != notes {
		t.Fatalf("fresh relay published %d commits (%v), want %d", got, err, notes)
	}
	if got := f.unpublished(t); got != 0 {
		t.Errorf("%d commits still unpublished", got)
	}
	if got := f.streamMsgs(t); got != 2*notes {
		t.Fatalf("stream holds %d messages, want %d (every event twice)", got, 2*notes)
	}

	var got collector
	f.consume(t, "test-effects", got.handle, sdktrace.NewTracerProvider())
	f.drained(t, "test-effects")
	history, err := f.es.LoadByType(ctx, "note")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, e := range history {
		want[e.ID] = 1
	}
	if diff := cmp.Diff(want, got.counts()); diff != "" {
		t.Errorf("effects per event (-want +got):\n%s", diff)
	}
}

// TestRepublishWithinTheWindowIsDropped is the common case of the same crash: the
// relay restarts within JetStream's duplicate window, which drops every copy.
func TestRepublishWithinTheWindowIsDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 0)
	const notes = 5
	f.noteMany(ctx, t, notes)
	f.crashedRelay(ctx, t)
	if got, err := f.newRelay(t).Once(ctx); err != nil || got != notes {
		t.Fatalf("fresh relay published %d commits (%v), want %d", got, err, notes)
	}
	if got := f.streamMsgs(t); got != notes {
		t.Errorf("stream holds %d messages, want %d (the copies dropped)", got, notes)
	}
	if got := f.unpublished(t); got != 0 {
		t.Errorf("%d commits still unpublished", got)
	}
}

// TestTraceFollowsTheEventToTheConsumer stores an event inside a span and checks that
// the consumer's handler runs in the same trace.
func TestTraceFollowsTheEventToTheConsumer(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, 0)

	ctx, span := tp.Tracer("test").Start(context.Background(), "POST /notes")
	stored := f.note(ctx, t, "n1", "ops:alice", "traced")
	span.End()
	want := span.SpanContext().TraceID()
	history, err := f.es.Load(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(stored, history...) {
		if !strings.HasPrefix(e.TraceParent, "00-"+want.String()+"-") {
			t.Errorf("event %s has traceparent %q, want one in trace %s", e.ID, e.TraceParent, want)
		}
	}

	got := make(chan trace.TraceID, 1)
	f.consume(t, "test-trace", func(ctx context.Context, _ events.Envelope) error {
		got <- trace.SpanContextFromContext(ctx).TraceID()
		return nil
	}, tp)
	run(t, f.newRelay(t).Run)
	select {
	case id := <-got:
		if diff := cmp.Diff(want.String(), id.String()); diff != "" {
			t.Errorf("handler's trace id (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing consumed")
	}
}
