package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what happens to consumers' messages, by durable name: those
// received again (a nak, an ack wait run out) and those given up to the dead-letter
// stream. Durable names are constants, so the label takes a bounded set of values.
type Metrics struct {
	redeliveries *prometheus.CounterVec
	deadLetters  *prometheus.CounterVec
}

// NewMetrics registers the consumers' counters with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("bus: a metrics registry is required")
	}
	m := &Metrics{
		redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tc_consumer_redeliveries_total",
			Help: "Messages a consumer received again, after a nak or its ack wait ran out.",
		}, []string{"consumer"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tc_deadletters_total",
			Help: "Messages a consumer gave up on and kept in the dead-letter stream.",
		}, []string{"consumer"}),
	}
	for _, c := range []prometheus.Collector{m.redeliveries, m.deadLetters} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register consumer metrics: %w", err)
		}
	}
	return m, nil
}

// Observe has the consumer count its redeliveries and dead letters in m. Its series
// start at zero, so that a rate over them means something from the first scrape.
// Call it before Run.
func (c *Consumer) Observe(m *Metrics) {
	c.metrics = m
	if m != nil {
		m.redeliveries.WithLabelValues(c.spec.Durable)
		m.deadLetters.WithLabelValues(c.spec.Durable)
	}
}

func (m *Metrics) redelivered(durable string) {
	if m != nil {
		m.redeliveries.WithLabelValues(durable).Inc()
	}
}

func (m *Metrics) deadLettered(durable string) {
	if m != nil {
		m.deadLetters.WithLabelValues(durable).Inc()
	}
}

// Stream is the stream the consumer reads.
func (c *Consumer) Stream() string { return c.spec.Stream }

// Lag is how far the consumer is behind its stream: the time between the newest
// message it has acknowledged everything up to (its ack floor) and the newest message
// in the stream; zero when nothing is waiting for it. It asks the server, so it is
// the same whichever replica asks and whichever replica consumes. It reports false
// when the consumer does not exist yet (its Run has not created it).
func (c *Consumer) Lag(ctx context.Context) (time.Duration, bool, error) {
	stream, err := c.js.Stream(ctx, c.spec.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lag of %s: stream: %w", c.spec.Durable, err)
	}
	// The consumer is read after the stream: a message it took meanwhile makes the lag
	// look smaller, never larger, than it was.
	cons, err := stream.Consumer(ctx, c.spec.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("lag of %s: consumer: %w", c.spec.Durable, err)
	}
	info, state := cons.CachedInfo(), stream.CachedInfo().State
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return 0, true, nil
	}
	// Nothing applied yet (or the ack floor's message is gone, by the stream's
	// limits): the whole stream that is left is behind.
	applied := state.FirstTime
	if floor := info.AckFloor.Stream; floor >= state.FirstSeq && floor > 0 {
		m, err := stream.GetMsg(ctx, floor)
		switch {
		case err == nil:
			applied = m.Time
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return 0, false, fmt.Errorf("lag of %s: message %d: %w", c.spec.Durable, floor, err)
		}
	}
	return max(state.LastTime.Sub(applied), 0), true, nil
}
