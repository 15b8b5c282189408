package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// BatchHandler handles a run of events at once, in stream order: a projection that
// writes many views in one round trip instead of one per event. When it fails, even
// with a Permanent error, the consumer takes the batch one message at a time, so a
// handler need not find which message was at fault. It must be idempotent,
// for a batch is handled again, whole or in part, after a failure or a crash, and it
// must not let an older event undo a newer one (a view keeps its version and is never
// put back to an older one), for after a replica dies its unacknowledged messages come
// back after later ones.
type BatchHandler func(ctx context.Context, batch []events.Envelope) error

const (
	// pinnedGroup is the priority group of batch consumers: the server hands every
	// message to the one pinned replica.
	pinnedGroup = "ordered"
	// pinnedTTL is how long a pinned replica may go without asking for messages before
	// another takes over. A replica asks at least every pullExpiry.
	pinnedTTL  = 6 * time.Second
	pullExpiry = 2 * time.Second
)

// NewBatchConsumer returns a consumer that hands h up to spec.Batch messages at a time,
// as many as are waiting, so a quiet stream still gets each event at once. It keeps the
// stream's order across replicas (the server delivers to one pinned replica at a time)
// and through failures: a batch that fails is taken one message at a time, and a
// message that fails is retried in place, not overtaken by those behind it, until it
// succeeds or has failed MaxDeliver times and is dead-lettered. No record of processed
// messages is kept: h must be idempotent.
func NewBatchConsumer(js jetstream.JetStream, spec ConsumerSpec, h BatchHandler, logger *slog.Logger, tp trace.TracerProvider) (*Consumer, error) {
	if h == nil {
		return nil, errors.New("bus: batch handler is required")
	}
	if spec.Batch <= 0 {
		spec.Batch = 100
	}
	spec.MaxAckPending, spec.Idempotent = spec.Batch, true
	one := func(ctx context.Context, e events.Envelope) error { return h(ctx, []events.Envelope{e}) }
	c, err := NewConsumer(js, spec, one, nil, logger, tp)
	if err != nil {
		return nil, err
	}
	c.batch = h
	return c, nil
}

// runBatches consumes as a batch consumer until ctx is cancelled (false) or the
// client's delivery ends because the consumer is gone (true). Messages are queued by
// the client's callback and handled by one goroutine, a batch at a time.
func (c *Consumer) runBatches(parent context.Context, cons jetstream.Consumer) (lost bool, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	queue := make(chan jetstream.Msg, c.spec.Batch)
	stop, ended, err := c.consume(ctx, cons, func(m jetstream.Msg) {
		select {
		case queue <- m:
		case <-ctx.Done():
			_ = m.Nak() // stopping: another replica may have it now
		}
	}, jetstream.PullPriorityGroup(pinnedGroup), jetstream.PullMaxMessages(c.spec.Batch), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		return false, err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		batch := make([]jetstream.Msg, 0, c.spec.Batch)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-queue:
				batch = append(batch[:0], m)
			}
		fill:
			for len(batch) < c.spec.Batch {
				select {
				case m := <-queue:
					batch = append(batch, m)
				default:
					break fill
				}
			}
			c.handleBatch(ctx, batch)
		}
	})
	select {
	case <-ctx.Done():
	case <-ended:
		lost = true
		cancel()
	}
	wg.Wait()
	stop()
	for {
		select {
		case m := <-queue:
			_ = m.Nak()
		default:
			return lost, nil
		}
	}
}

// handleBatch hands a batch to the handler and acknowledges it; when the batch fails,
// it goes through its messages one at a time, in order.
func (c *Consumer) handleBatch(parent context.Context, msgs []jetstream.Msg) {
	batch := make([]received, 0, len(msgs))
	links := make([]trace.Link, 0, len(msgs))
	for _, m := range msgs {
		r, ok := c.accept(parent, m)
		if !ok {
			continue
		}
		batch = append(batch, r)
		producer := propagation.TraceContext{}.Extract(context.Background(), headerCarrier(m.Headers()))
		if sc := trace.SpanContextFromContext(producer); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if len(batch) == 0 {
		return
	}
	ctx, span := c.tracer.Start(parent, "consume batch "+c.spec.Durable, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", c.spec.Stream),
			attribute.String("messaging.consumer.group.name", c.spec.Durable),
			attribute.Int("messaging.batch.message_count", len(batch)),
		))
	defer span.End()
	envs := make([]events.Envelope, len(batch))
	for i, r := range batch {
		envs[i] = r.env
	}
	err := c.attemptBatch(ctx, envs)
	if err == nil {
		for _, r := range batch {
			c.ack(ctx, r)
		}
		return
	}
	span.SetStatus(codes.Error, err.Error())
	if len(batch) > 1 {
		c.logger.WarnContext(ctx, "batch failed; taking its messages one at a time", "messages", len(batch), "error", err)
	}
	touched := time.Now()
	for i := range batch {
		if time.Since(touched) > c.spec.AckWait/3 {
			// Those behind have waited a while for the ones before them.
			for _, r := range batch[i:] {
				_ = r.m.InProgress()
			}
			touched = time.Now()
		}
		if !c.handleInPlace(ctx, batch[i], batch[i+1:]) {
			for _, r := range batch[i:] {
				_ = r.m.Nak() // stopping: another replica may have them now
			}
			return
		}
	}
}

// ack acknowledges a handled message of a batch consumer; one whose ack fails comes
// back, and the handler, idempotent, takes it again.
func (c *Consumer) ack(ctx context.Context, r received) {
	if err := r.m.Ack(); err != nil {
		c.logger.WarnContext(ctx, "ack failed; the message will be redelivered", "id", r.env.ID, "error", err)
	}
}

// attemptBatch runs the handler over envs within the handler's budget.
func (c *Consumer) attemptBatch(ctx context.Context, envs []events.Envelope) error {
	ctx, cancel := context.WithTimeout(ctx, handlerBudget(c.spec.AckWait))
	defer cancel()
	return c.batch(ctx, envs)
}

// handleInPlace handles one message of a failed batch until it succeeds (and is
// acknowledged) or has to be dead-lettered, retrying it in place with the backoff, and
// keeping the ack wait of the messages behind it from running out meanwhile. A
// dependency that is down does not spend its attempts (up to HoldUnavailable). It
// reports false when the consumer stops first.
func (c *Consumer) handleInPlace(ctx context.Context, r received, behind []received) bool {
	waiting := make([]jetstream.Msg, 0, len(behind)+1)
	waiting = append(waiting, r.m)
	for _, b := range behind {
		waiting = append(waiting, b.m)
	}
	failures := 0
	held := time.Now()
	for try := 0; ; try++ {
		err := c.attemptBatch(ctx, []events.Envelope{r.env})
		switch {
		case err == nil:
			c.ack(ctx, r)
			return true
		case IsPermanent(err):
			c.deadLetter(ctx, r.m, r.meta, err)
			return true
		case apperr.Is(err, apperr.Unavailable) && time.Since(held) < c.spec.HoldUnavailable:
		default:
			failures++
			if failures >= c.spec.MaxDeliver {
				c.deadLetter(ctx, r.m, r.meta, fmt.Errorf("failed %d attempts, last: %w", failures, err))
				return true
			}
		}
		if ctx.Err() != nil {
			return false
		}
		delay := c.spec.Backoff[min(try, len(c.spec.Backoff)-1)]
		c.logger.WarnContext(ctx, "handler failed; retrying in place", "subject", r.m.Subject(), "failures", failures, "retry_in", delay, "error", err)
		if !c.hold(ctx, delay, waiting...) {
			return false
		}
	}
}
