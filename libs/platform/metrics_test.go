package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/platform"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/telemetry"
	"github.com/itss/techcommit/libs/testenv"
)

// The test service's own stream, and another service's stream it reads.
const (
	ownStream   = "TC_GAUGE"
	otherStream = "TC_ELSEWHERE"
	projection  = "gauge-projection"
	reader      = "gauge-reader"
)

// happened is the test service's one event.
type happened struct {
	Note string `json:"note"`
}

func (happened) EventType() string { return "tc.gauge.thing.happened.v1" }

// running is a service on the platform with no API of its own: a projection of its
// own events whose handler the test can hold, and a consumer of another stream that
// fails the messages the test tells it to.
type running struct {
	*testenv.Client
	p    *platform.Platform
	env  *testenv.Env
	nats *testenv.Proxy

	mu      sync.Mutex
	held    map[string]chan struct{} // aggregates the projection waits on
	flaky   map[string]int           // aggregates the reader fails this many times more
	applied map[string]bool          // aggregates the projection has applied
}

func startService(t *testing.T) *running {
	t.Helper()
	env := testenv.NewEnv(t)
	cfg := testConfig(t, env, "gauge")
	proxy := testenv.NewProxy(t, strings.TrimPrefix(env.NATS.URL, "nats://"))
	cfg.NATS.URL = "nats://" + proxy.Addr
	if _, err := bus.EnsureStream(context.Background(), env.JS, bus.StreamSpec{Name: otherStream, Subjects: []string{"tc.elsewhere.>"}}); err != nil {
		t.Fatal(err)
	}
	p, cleanup, err := platform.New(context.Background(), platform.Options{
		Name: "gauge", Config: cfg, Logger: telemetry.Discard(),
		Stream: bus.StreamSpec{Name: ownStream, Subjects: []string{"tc.gauge.>"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &running{p: p, env: env, nats: proxy, held: map[string]chan struct{}{}, flaky: map[string]int{}, applied: map[string]bool{}}
	quick := []time.Duration{20 * time.Millisecond}
	if err := p.Consume(bus.ConsumerSpec{Stream: ownStream, Durable: projection, Idempotent: true, Backoff: quick}, func(ctx context.Context, e events.Envelope) error {
		s.mu.Lock()
		gate := s.held[e.AggregateID]
		s.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		s.mu.Lock()
		s.applied[e.AggregateID] = true
		s.mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Consume(bus.ConsumerSpec{Stream: otherStream, Durable: reader, MaxAckPending: 8, Backoff: quick}, func(_ context.Context, e events.Envelope) error {
		if e.AggregateID == "poison" {
			return bus.Permanent(errors.New("a message no retry can fix"))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.flaky[e.AggregateID] > 0 {
			s.flaky[e.AggregateID]--
			return errors.New("not this time")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Client = env.Serve(t, p.Serve, cleanup)
	return s
}

// store appends one event about aggregate to the service's event store, as a
// command does; the relay publishes it.
func (s *running) store(t *testing.T, aggregate string) {
	t.Helper()
	_, err := s.p.Events.Execute(context.Background(), store.Command{AggregateType: "thing", AggregateID: aggregate, Actor: "test",
		Decide: func([]events.Envelope) ([]events.Payload, error) {
			return []events.Payload{happened{Note: aggregate}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
}

// publishElsewhere publishes an event about aggregate on the other stream.
func (s *running) publishElsewhere(t *testing.T, aggregate string) {
	t.Helper()
	data, _ := json.Marshal(map[string]string{"note": aggregate})
	e := events.Envelope{ID: uuid.NewString(), Source: "/tc/elsewhere", Type: "tc.elsewhere.thing.happened.v1",
		AggregateType: "thing", AggregateID: aggregate, Version: 1, Time: time.Now(), Data: data}
	if _, err := s.env.JS.PublishMsg(context.Background(), bus.Message(e)); err != nil {
		t.Fatal(err)
	}
}

// metricIs polls /metrics on the admin listener until the series has the value.
func (s *running) metricIs(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() error {
		got, err := s.Metric(name, labels...)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
		return nil
	})
}

// TestConsumerRedeliveriesAreCounted: a message whose handler fails twice is
// received three times, and /metrics counts the two redeliveries for its consumer.
func TestConsumerRedeliveriesAreCounted(t *testing.T) {
	t.Parallel()
	s := startService(t)
	s.metricIs(t, 0, "tc_consumer_redeliveries_total", "consumer", reader)
	s.metricIs(t, 0, "tc_consumer_redeliveries_total", "consumer", projection)
	s.mu.Lock()
	s.flaky["wobbly"] = 2
	s.mu.Unlock()
	s.publishElsewhere(t, "wobbly")
	s.metricIs(t, 2, "tc_consumer_redeliveries_total", "consumer", reader)
	s.metricIs(t, 0, "tc_deadletters_total", "consumer", reader)
}

// TestDeadLettersAreCounted: a message its handler can never take goes to the
// dead-letter stream, and /metrics counts it for its consumer.
func TestDeadLettersAreCounted(t *testing.T) {
	t.Parallel()
	s := startService(t)
	s.metricIs(t, 0, "tc_deadletters_total", "consumer", reader)
	s.publishElsewhere(t, "poison")
	s.metricIs(t, 1, "tc_deadletters_total", "consumer", reader)
	s.publishElsewhere(t, "fine")
	s.publishElsewhere(t, "poison")
	s.metricIs(t, 2, "tc_deadletters_total", "consumer", reader)
	s.metricIs(t, 0, "tc_deadletters_total", "consumer", projection)
}

// TestOutboxBacklogIsReported: events stored while NATS is out of reach wait in the
// outbox, and /metrics says how many; once NATS is back they are published and the
// gauge returns to zero.
func TestOutboxBacklogIsReported(t *testing.T) {
	t.Parallel()
	s := startService(t)
	s.store(t, "first")
	s.metricIs(t, 0, "tc_outbox_pending_events")

	s.nats.Cut()
	s.store(t, "second")
	s.store(t, "third")
	s.metricIs(t, 2, "tc_outbox_pending_events")

	s.nats.Restore()
	s.metricIs(t, 0, "tc_outbox_pending_events")
	testenv.Eventually(t, 20*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.applied["second"] || !s.applied["third"] {
			return fmt.Errorf("applied %v, want second and third too", s.applied)
		}
		return nil
	})
}

// TestProjectionLagIsReported: while the projection is held on one event, the
// events stored after it are behind, and /metrics says by how long (the time between
// the last event applied and the newest); the reader of another stream is no
// projection and is not reported. Released, the projection catches up to zero.
func TestProjectionLagIsReported(t *testing.T) {
	t.Parallel()
	s := startService(t)
	gate := make(chan struct{})
	s.mu.Lock()
	s.held["stuck"] = gate
	s.mu.Unlock()
	s.store(t, "before")
	testenv.Eventually(t, 20*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.applied["before"] {
			return errors.New("the first event is not applied yet")
		}
		return nil
	})
	s.metricIs(t, 0, "tc_projection_lag_seconds", "projection", projection)
	appliedAt := time.Now()

	s.store(t, "stuck")
	// The newest event is stored at least this long after the last one applied was
	// (the stream took that one before the projection applied it, and takes this
	// one after it is stored), so the lag is at least this.
	behind := 500 * time.Millisecond
	time.Sleep(behind - time.Since(appliedAt)) // the gap under test, not a wait for an effect
	s.store(t, "after")
	testenv.Eventually(t, 20*time.Second, func() error {
		lag, err := s.Metric("tc_projection_lag_seconds", "projection", projection)
		if err != nil {
			return err
		}
		if lag < behind.Seconds() || lag > 30 {
			return fmt.Errorf("lag %vs, want about %v or more", lag, behind)
		}
		return nil
	})
	if _, err := s.Metric("tc_projection_lag_seconds", "projection", reader); err == nil {
		t.Errorf("the reader of another service's stream is reported as a projection")
	}

	close(gate)
	s.metricIs(t, 0, "tc_projection_lag_seconds", "projection", projection)
}
