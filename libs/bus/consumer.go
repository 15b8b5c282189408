package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/events"
)

// Handler handles one event. Returning nil acknowledges it; returning an error has it
// redelivered after a backoff, up to the consumer's bound, and then dead-lettered.
// Wrap an error with Permanent to dead-letter at once (a message that can never succeed).
type Handler func(ctx context.Context, e events.Envelope) error

// Processed is the idempotency record of a consumer (see store.ProcessedLog).
type Processed interface {
	Seen(ctx context.Context, key string) (bool, error)
	Record(ctx context.Context, key string) (bool, error)
}

// permanentError marks an error that redelivery cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return "permanent: " + p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that redelivery cannot fix: the message goes straight to
// the dead-letter stream.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// ConsumerSpec describes a durable consumer. Durable names are contracts: once a
// consumer runs in production its name never changes, or it would start over.
type ConsumerSpec struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	// MaxDeliver bounds deliveries before a message is dead-lettered (default 5).
	MaxDeliver int
	// Backoff is the delay before each redelivery after a failure (default 1s, 5s, 15s, 30s).
	Backoff []time.Duration
	// AckWait is how long a delivery may take before JetStream redelivers it (default 30s).
	AckWait time.Duration
	// MaxAckPending bounds messages in flight; 1 keeps strict order across replicas,
	// which projections need (default 1).
	MaxAckPending int
	// Workers is how many messages one replica handles at once (default 1: one after
	// another, in order). More suit handlers whose messages are independent of each
	// other (an email per event), so that one slow message does not hold up the rest;
	// it is bounded by MaxAckPending.
	Workers int
	// Idempotent says the handler's effect is the same however often it runs (a
	// projection that writes the aggregate's current state), so no record of
	// processed messages is kept for it: that would be a read and a write per
	// message, for nothing.
	Idempotent bool
	// Batch, for a consumer made by NewBatchConsumer, is the most messages handed to
	// its handler at once (default 100).
	Batch int
	// HoldUnavailable is how long a message whose handler fails with
	// apperr.Unavailable is held and retried in place, without spending its
	// deliveries, before it goes the way of other failures (default 15 minutes).
	HoldUnavailable time.Duration
}

// Consumer runs a handler over a durable JetStream consumer.
type Consumer struct {
	js        jetstream.JetStream
	spec      ConsumerSpec
	handler   Handler
	batch     BatchHandler // set by NewBatchConsumer
	processed Processed
	logger    *slog.Logger
	tracer    trace.Tracer
	metrics   *Metrics // nil: nothing counted (see Observe)
}

// NewConsumer checks its dependencies and returns a consumer; Run starts it.
func NewConsumer(js jetstream.JetStream, spec ConsumerSpec, h Handler, processed Processed, logger *slog.Logger, tp trace.TracerProvider) (*Consumer, error) {
	if js == nil || h == nil || logger == nil || tp == nil {
		return nil, errors.New("bus: jetstream, handler, logger and tracer provider are required")
	}
	if spec.Stream == "" || spec.Durable == "" {
		return nil, errors.New("bus: stream and durable name are required")
	}
	if spec.MaxDeliver <= 0 {
		spec.MaxDeliver = 5
	}
	if len(spec.Backoff) == 0 {
		spec.Backoff = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second}
	}
	if spec.AckWait <= 0 {
		spec.AckWait = 30 * time.Second
	}
	if spec.MaxAckPending <= 0 {
		spec.MaxAckPending = 1
	}
	if spec.HoldUnavailable <= 0 {
		spec.HoldUnavailable = 15 * time.Minute
	}
	return &Consumer{js: js, spec: spec, handler: h, processed: processed,
		logger: logger.With("consumer", spec.Durable), tracer: tp.Tracer("github.com/itss/techcommit/libs/bus")}, nil
}

// config is the durable consumer's configuration on the server.
func (c *Consumer) config() jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:        c.spec.Durable,
		FilterSubjects: c.spec.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.spec.AckWait,
		// The consumer, not the server, bounds deliveries: a server that stopped at
		// MaxDeliver would drop the message whose dead-letter publish failed on the
		// last delivery, instead of redelivering it to be dead-lettered again.
		MaxDeliver:    -1,
		MaxAckPending: c.spec.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if c.batch != nil {
		// One replica at a time receives the messages, so batches keep the stream's
		// order across replicas; another takes over when it stops asking for more.
		cfg.PriorityPolicy = jetstream.PriorityPolicyPinned
		cfg.PriorityGroups = []string{pinnedGroup}
		cfg.PinnedTTL = pinnedTTL
	}
	return cfg
}

// Run consumes until ctx is cancelled. It creates or updates the durable consumer
// first, so a service can start before the streams it reads have any messages, and
// again whenever the server removes it (its store lost and rebuilt, an operator's
// `nats consumer rm`): the client's delivery ends then, and without a consumer the
// service would hear nothing more, while it stayed ready and no alert could see a
// consumer that no longer exists.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		cons := c.create(ctx)
		if cons == nil {
			return nil
		}
		var lost bool
		var err error
		if c.batch != nil {
			lost, err = c.runBatches(ctx, cons)
		} else {
			lost, err = c.runEach(ctx, cons)
		}
		if err != nil || !lost {
			return err
		}
		c.logger.WarnContext(ctx, "the consumer was removed from the server; creating it again", "stream", c.spec.Stream)
	}
}

// create creates or updates the durable consumer, retrying until the server takes
// it; nil once ctx is cancelled.
func (c *Consumer) create(ctx context.Context) jetstream.Consumer {
	wait := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		cons, err := c.js.CreateOrUpdateConsumer(ctx, c.spec.Stream, c.config())
		if err == nil {
			return cons
		}
		// The stream may belong to a service that has not started yet: wait for it
		// quietly, saying so once in a while.
		if attempt%20 == 0 {
			c.logger.WarnContext(ctx, "cannot create consumer yet; retrying", "stream", c.spec.Stream, "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// runEach hands messages to the handler, up to Workers at once, until ctx is
// cancelled (false) or the client's delivery ends because the consumer is gone (true).
func (c *Consumer) runEach(ctx context.Context, cons jetstream.Consumer) (lost bool, err error) {
	workers := max(1, min(c.spec.Workers, c.spec.MaxAckPending))
	slots := make(chan struct{}, workers)
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	stop, ended, err := c.consume(ctx, cons, func(m jetstream.Msg) {
		if workers == 1 {
			c.handle(ctx, m)
			return
		}
		slots <- struct{}{} // a full house holds the next message back
		inFlight.Add(1)
		go func() {
			defer func() { <-slots; inFlight.Done() }()
			c.handle(ctx, m)
		}()
	}, jetstream.PullMaxMessages(max(c.spec.MaxAckPending, 1)))
	if err != nil {
		return false, err
	}
	select {
	case <-ctx.Done():
	case <-ended:
		lost = true
	}
	stop()
	return lost, nil
}

// consume starts the client's delivery of messages to h and returns a function that
// stops it (it drains what was delivered and waits for that, up to 5 s), and a
// channel closed when the delivery ends of itself: the server removed the consumer.
func (c *Consumer) consume(ctx context.Context, cons jetstream.Consumer, h jetstream.MessageHandler, opts ...jetstream.PullConsumeOpt) (func(), <-chan struct{}, error) {
	warned := &warnings{every: consumeWarnEvery}
	opts = append(opts, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		c.consumeFailed(ctx, warned, err)
	}))
	cc, err := cons.Consume(h, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("consume %s: %w", c.spec.Durable, err)
	}
	return func() {
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
			cc.Stop()
		}
	}, cc.Closed(), nil
}

// consumeWarnEvery is how often one error of the client's delivery is logged at warn
// while it lasts: each fetch that fails reports it again.
const consumeWarnEvery = time.Minute

// consumeFailed logs an error of the client's delivery. A consumer the server removed
// is Run's to report (it creates it again), a consumer leader that moved and a batch
// consumer's pin handed to another replica are the server's ordinary business, and
// errors while stopping are expected: those stay at debug. Any other means the
// consumer may be reading nothing while its service looks ready (a fetch NATS refuses
// for permissions is answered by nothing at all, which the client reports as missed
// heartbeats; an idle consumer gets heartbeats, so it logs nothing), so it is a
// warning, once a minute for each distinct error so that a lasting fault does not
// flood the log.
func (c *Consumer) consumeFailed(ctx context.Context, warned *warnings, err error) {
	if ctx.Err() != nil || errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerLeadershipChanged) ||
		errors.Is(err, jetstream.ErrPinIDMismatch) || !warned.due(err.Error(), time.Now()) {
		c.logger.DebugContext(ctx, "consume", "error", err)
		return
	}
	args := []any{"stream", c.spec.Stream, "error", err}
	if errors.Is(err, jetstream.ErrNoHeartbeat) {
		// The server's answer, if it gave one, went to the connection: a refusal
		// ("Permissions Violation for Publish to $JS.API.CONSUMER.MSG.NEXT...") says
		// what to fix.
		if last := c.js.Conn().LastError(); last != nil {
			args = append(args, "nats_last_error", last.Error())
		}
	}
	c.logger.WarnContext(ctx, "the consumer cannot fetch messages; retrying", args...)
}

// warnings remembers when each distinct error was last logged at warn.
type warnings struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

// due reports whether the error keyed key is to be logged at warn now, and if so
// notes that it is.
func (w *warnings) due(key string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, at := range w.last {
		if now.Sub(at) >= w.every {
			delete(w.last, k) // so that the map holds only the last minute's errors
		}
	}
	if _, recent := w.last[key]; recent {
		return false
	}
	if w.last == nil {
		w.last = map[string]time.Time{}
	}
	w.last[key] = now
	return true
}

// received is a delivered message, decoded.
type received struct {
	m    jetstream.Msg
	meta *jetstream.MsgMetadata
	env  events.Envelope
}

// accept decodes a delivered message, or settles it and reports false: one without
// metadata is terminated, one that cannot be decoded or whose deliveries are spent is
// dead-lettered.
func (c *Consumer) accept(ctx context.Context, m jetstream.Msg) (received, bool) {
	meta, err := m.Metadata()
	if err != nil {
		c.logger.ErrorContext(ctx, "message without metadata", "error", err)
		_ = m.Term()
		return received{}, false
	}
	if meta.NumDelivered > 1 {
		c.metrics.redelivered(c.spec.Durable)
	}
	env, err := Envelope(m.Subject(), m.Headers(), m.Data())
	if err != nil {
		c.deadLetter(ctx, m, meta, fmt.Errorf("undecodable: %w", err))
		return received{}, false
	}
	if meta.NumDelivered > uint64(max(c.spec.MaxDeliver, 0)) {
		// Its deliveries are spent: its dead-letter publish failed, or it was never
		// settled (the process died or hung while handling it).
		c.deadLetter(ctx, m, meta, fmt.Errorf("delivered %d times, more than the %d allowed", meta.NumDelivered, c.spec.MaxDeliver))
		return received{}, false
	}
	return received{m: m, meta: meta, env: env}, true
}

func (c *Consumer) handle(parent context.Context, m jetstream.Msg) {
	r, ok := c.accept(parent, m)
	if !ok {
		return
	}
	meta, env := r.meta, r.env
	ctx := propagation.TraceContext{}.Extract(parent, headerCarrier(m.Headers()))
	ctx, span := c.tracer.Start(ctx, "consume "+m.Subject(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", m.Subject()),
			attribute.String("messaging.consumer.group.name", c.spec.Durable),
			attribute.String("messaging.message.id", env.ID),
			attribute.Int64("messaging.delivery.count", deliveries(meta)),
		))
	defer span.End()
	attempt := func() error {
		ctx, cancel := context.WithTimeout(ctx, handlerBudget(c.spec.AckWait))
		defer cancel()
		return c.Process(ctx, env)
	}
	err := attempt()
	// A dependency that is down (the database, the mail relay) fails every message
	// alike, and redelivery would spend their deliveries and dead-letter them all if
	// the outage outlasted the backoff. So the message is held, its ack wait renewed,
	// and tried again in place until the dependency returns, for up to HoldUnavailable.
	held := time.Now()
	for i := 0; err != nil && apperr.Is(err, apperr.Unavailable) && !IsPermanent(err) && time.Since(held) < c.spec.HoldUnavailable; i++ {
		delay := c.spec.Backoff[min(i, len(c.spec.Backoff)-1)]
		c.logger.WarnContext(ctx, "a dependency is unavailable; holding the message", "subject", m.Subject(), "retry_in", delay, "error", err)
		if !c.hold(ctx, delay, m) {
			_ = m.Nak() // the consumer is stopping: let another replica have it now
			return
		}
		err = attempt()
	}
	if err != nil {
		if IsPermanent(err) {
			span.SetStatus(codes.Error, err.Error())
			c.deadLetter(ctx, m, meta, err)
			return
		}
		c.retry(ctx, m, meta, span, err)
		return
	}
	if err := m.Ack(); err != nil {
		c.logger.WarnContext(ctx, "ack failed; the message will be redelivered and recognised", "id", env.ID, "error", err)
	}
}

// hold waits for d while keeping the ack wait of ms from running out, and reports whether
// the consumer is still running.
func (c *Consumer) hold(ctx context.Context, d time.Duration, ms ...jetstream.Msg) bool {
	until := time.Now().Add(d)
	for {
		for _, m := range ms {
			_ = m.InProgress()
		}
		step := min(time.Until(until), c.spec.AckWait/3)
		if step <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(step):
		}
	}
}

// handlerBudget is how long a handler may run: a little less than the ack wait, so
// that it gives up (and the message is nak'd) before JetStream redelivers it
// elsewhere. A flat second less would leave nothing, or less than nothing, of an ack
// wait of a second or under, failing every message; a tenth off keeps it positive.
func handlerBudget(ackWait time.Duration) time.Duration {
	return max(ackWait-time.Second, ackWait*9/10)
}

// Durable is the consumer's durable name.
func (c *Consumer) Durable() string { return c.spec.Durable }

// Process handles one event exactly once for this consumer: an event already recorded
// as processed is skipped; otherwise the handler runs and, if it succeeds, the event is
// recorded (unless the consumer is Idempotent: then the handler simply runs again).
// The dead-letter replay uses it to hand a message back to its consumer.
func (c *Consumer) Process(ctx context.Context, env events.Envelope) error {
	key := c.spec.Durable + ":" + env.ID
	record := c.processed != nil && !c.spec.Idempotent
	if record {
		seen, err := c.processed.Seen(ctx, key)
		if err != nil {
			return err
		}
		if seen {
			trace.SpanFromContext(ctx).SetAttributes(attribute.Bool("tc.duplicate", true))
			return nil
		}
	}
	if err := c.handler(ctx, env); err != nil {
		return err
	}
	if record {
		if _, err := c.processed.Record(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// retry naks with the backoff for this delivery, or dead-letters after the last one.
func (c *Consumer) retry(ctx context.Context, m jetstream.Msg, meta *jetstream.MsgMetadata, span trace.Span, err error) {
	span.SetStatus(codes.Error, err.Error())
	if meta.NumDelivered >= uint64(max(c.spec.MaxDeliver, 0)) {
		c.deadLetter(ctx, m, meta, fmt.Errorf("failed %d deliveries, last: %w", meta.NumDelivered, err))
		return
	}
	i := min(int(deliveries(meta))-1, len(c.spec.Backoff)-1)
	delay := c.spec.Backoff[max(i, 0)]
	c.logger.WarnContext(ctx, "handler failed; will retry", "subject", m.Subject(), "delivery", meta.NumDelivered, "retry_in", delay, "error", err)
	_ = m.NakWithDelay(delay)
}

// DeadLetterSubject is where a consumer's dead letters go.
func DeadLetterSubject(durable string) string { return "tc.deadletter." + durable }

// deadLetter keeps the message, with the reason, in the dead-letter stream, then
// terminates it so the messages behind it keep flowing.
func (c *Consumer) deadLetter(ctx context.Context, m jetstream.Msg, meta *jetstream.MsgMetadata, reason error) {
	dl := nats.NewMsg(DeadLetterSubject(c.spec.Durable))
	dl.Data = m.Data()
	for k, vs := range m.Headers() {
		for _, v := range vs {
			dl.Header.Add(k, v)
		}
	}
	dl.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s:%s:%d", c.spec.Durable, meta.Stream, meta.Sequence.Stream))
	dl.Header.Set(HeaderDeadReason, reason.Error())
	dl.Header.Set(HeaderDeadConsumer, c.spec.Durable)
	dl.Header.Set(HeaderDeadSubject, m.Subject())
	dl.Header.Set(HeaderDeadStream, meta.Stream)
	dl.Header.Set(HeaderDeliveries, strconv.FormatUint(meta.NumDelivered, 10))
	dl.Header.Set(HeaderDeadTime, time.Now().UTC().Format(time.RFC3339Nano))
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := c.js.PublishMsg(pubCtx, dl); err != nil {
		c.logger.ErrorContext(ctx, "dead-letter publish failed; will redeliver", "subject", m.Subject(), "error", err)
		_ = m.NakWithDelay(c.spec.Backoff[len(c.spec.Backoff)-1])
		return
	}
	c.logger.ErrorContext(ctx, "message dead-lettered", "subject", m.Subject(), "reason", reason.Error())
	c.metrics.deadLettered(c.spec.Durable)
	_ = m.Term()
}

// DeadLetterMaxAge is how long a dead letter is kept: a copy of an event, names and
// addresses included, that ops have a month to look at and redeliver (docs/PRIVACY.md).
// It is one constant, not a setting, because every service ensures the one stream and
// two values would undo each other.
const DeadLetterMaxAge = 30 * 24 * time.Hour

// PortalStream is the spec of the portal's stream of sign-in links, which keeps a
// message only as long as the link in it works.
func PortalStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamPortal, Subjects: []string{events.SubjectsPortal}, Replicas: replicas, MaxAge: events.PortalStreamMaxAge}
}

// PortalEndedStream is the spec of the portal's register of ended sign-ins: one entry
// a session or link (the last is kept), for events.PortalEndedMaxAge.
func PortalEndedStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamPortalEnded, Subjects: []string{events.SubjectsPortalEnded}, Replicas: replicas, MaxAge: events.PortalEndedMaxAge}
}

// NotifySentStream is the spec of notify's register of what it sent: one
// entry an email or a reminder, for events.NotifySentMaxAge.
func NotifySentStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamNotifySent, Subjects: []string{events.SubjectsNotifySent}, Replicas: replicas, MaxAge: events.NotifySentMaxAge}
}

// PortalRemovedStream is the spec of the portal's register of removed colleagues:
// one entry a removal, for events.PortalRemovedMaxAge.
func PortalRemovedStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamPortalRemoved, Subjects: []string{events.SubjectsPortalRemoved}, Replicas: replicas, MaxAge: events.PortalRemovedMaxAge}
}

// PortalTokenStream is the spec of the portal's stream of API token events, which
// keeps a message longer than any token lives (events.APITokenStreamMaxAge).
func PortalTokenStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamPortalTokens, Subjects: []string{events.SubjectsAPIToken}, Replicas: replicas, MaxAge: events.APITokenStreamMaxAge}
}

// DeadLetterStream is the spec of the stream that keeps every consumer's dead letters.
func DeadLetterStream(replicas int) StreamSpec {
	return StreamSpec{Name: events.StreamDeadLetter, Subjects: []string{events.SubjectsDeadLetter}, Replicas: replicas, MaxAge: DeadLetterMaxAge}
}

// deliveries is how many times the message has been delivered, as a signed count:
// JetStream counts in uint64, and a count past the int64 range (which no consumer
// bounded by MaxDeliver reaches) is held at its maximum instead of wrapping negative.
func deliveries(meta *jetstream.MsgMetadata) int64 {
	return int64(min(meta.NumDelivered, math.MaxInt64))
}
