// Package bus carries the suite's events over NATS JetStream: one stream per producing
// service, CloudEvents attributes and W3C trace context in message headers, and
// durable consumers with explicit acks, bounded redelivery with backoff, idempotent
// handling and a dead-letter stream that keeps the message and the reason.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"

	"github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/libs/events"
)

// Header names. NATS headers are case-sensitive on Get, so these exact spellings are
// used everywhere.
const (
	HeaderSpecVersion   = "ce-specversion"
	HeaderID            = "ce-id"
	HeaderSource        = "ce-source"
	HeaderType          = "ce-type"
	HeaderSubject       = "ce-subject"
	HeaderTime          = "ce-time"
	HeaderContentType   = "ce-datacontenttype"
	HeaderTraceParent   = "traceparent"
	HeaderTraceState    = "tracestate"
	HeaderActor         = "tc-actor"
	HeaderAggregateType = "tc-aggregatetype"
	HeaderVersion       = "tc-version"

	HeaderDeadReason   = "tc-dead-reason"
	HeaderDeadConsumer = "tc-dead-consumer"
	HeaderDeadSubject  = "tc-dead-subject"
	HeaderDeadTime     = "tc-dead-time"
	HeaderDeadStream   = "tc-dead-stream"
	HeaderDeliveries   = "tc-dead-deliveries"
)

// Connect opens a NATS connection that reconnects forever and a JetStream context on
// it. Its error quotes no password the address carries.
func Connect(cfg config.NATS, name string) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(5 * time.Second),
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		// The address may carry the service's user and password, and the client's
		// own error quotes the one it could not read: the error goes to the log.
		return nil, nil, fmt.Errorf("connect to nats %s: %w", config.WithoutPassword(cfg.URL), config.WithoutPasswordIn(err, cfg.URL))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("open jetstream: %w", err)
	}
	return nc, js, nil
}

// Ping reports whether the NATS connection is up; /readyz uses it.
func Ping(nc *nats.Conn) func(context.Context) error {
	return func(ctx context.Context) error {
		if !nc.IsConnected() {
			return errors.New("nats is not connected")
		}
		return nc.FlushWithContext(ctx)
	}
}

// StreamSpec describes a stream a service owns.
type StreamSpec struct {
	Name     string
	Subjects []string
	Replicas int
	// Duplicates is JetStream's de-duplication window for Nats-Msg-Id; zero means two minutes.
	Duplicates time.Duration
	// MaxAge is how long a message is kept; zero keeps it until the limits remove it.
	// A stream carrying a secret (the portal's sign-in links) keeps it no longer than
	// the secret is good for.
	MaxAge time.Duration
}

// EnsureStream creates the stream or updates it to spec.
func EnsureStream(ctx context.Context, js jetstream.JetStream, spec StreamSpec) (jetstream.Stream, error) {
	if spec.Replicas < 1 {
		spec.Replicas = 1
	}
	if spec.Duplicates == 0 {
		spec.Duplicates = 2 * time.Minute
	}
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       spec.Name,
		Subjects:   spec.Subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Replicas:   spec.Replicas,
		Duplicates: spec.Duplicates,
		MaxAge:     spec.MaxAge,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", spec.Name, err)
	}
	return s, nil
}

// Message builds the NATS message of an event: its payload as the body, its
// attributes and trace context as headers, and its id as Nats-Msg-Id so JetStream
// drops a republished copy within the duplicate window.
func Message(e events.Envelope) *nats.Msg {
	m := nats.NewMsg(e.Subject())
	m.Data = e.Data
	h := m.Header
	h.Set(jetstream.MsgIDHeader, e.ID)
	h.Set(HeaderSpecVersion, events.SpecVersion)
	h.Set(HeaderID, e.ID)
	h.Set(HeaderSource, e.Source)
	h.Set(HeaderType, e.Type)
	h.Set(HeaderSubject, e.AggregateID)
	h.Set(HeaderTime, e.Time.UTC().Format(time.RFC3339Nano))
	h.Set(HeaderContentType, "application/json")
	h.Set(HeaderActor, e.Actor)
	h.Set(HeaderAggregateType, e.AggregateType)
	h.Set(HeaderVersion, strconv.Itoa(e.Version))
	if e.TraceParent != "" {
		h.Set(HeaderTraceParent, e.TraceParent)
	}
	return m
}

// Envelope reads an event back from a message's headers and body.
func Envelope(subject string, h nats.Header, data []byte) (events.Envelope, error) {
	e := events.Envelope{
		ID:            h.Get(HeaderID),
		Source:        h.Get(HeaderSource),
		Type:          h.Get(HeaderType),
		AggregateType: h.Get(HeaderAggregateType),
		AggregateID:   h.Get(HeaderSubject),
		Actor:         h.Get(HeaderActor),
		TraceParent:   h.Get(HeaderTraceParent),
		Data:          data,
	}
	if e.ID == "" || e.Type == "" {
		return e, fmt.Errorf("message on %s has no %s or %s header", subject, HeaderID, HeaderType)
	}
	if v := h.Get(HeaderVersion); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return e, fmt.Errorf("message %s: bad %s %q", e.ID, HeaderVersion, v)
		}
		e.Version = n
	}
	if t := h.Get(HeaderTime); t != "" {
		parsed, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return e, fmt.Errorf("message %s: bad %s %q", e.ID, HeaderTime, t)
		}
		e.Time = parsed
	}
	return e, nil
}

// headerCarrier adapts nats.Header to OpenTelemetry's propagation with exact-case keys.
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string { return nats.Header(c).Get(key) }
func (c headerCarrier) Set(key, value string) { nats.Header(c).Set(key, value) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

var _ propagation.TextMapCarrier = headerCarrier(nil)

// Behind returns nil when every durable consumer of every stream has been handed and
// has acknowledged everything in its stream, and otherwise an error naming one that
// has not: a check that there is no second effect, or a measurement of a system at
// rest, waits for it. An ordered consumer (a read of a stream from the start, such as
// a service's reading of a register as it starts) is not behind: it has no effect to
// wait for, and one left by a process killed while reading lingers with its messages
// pending until the server drops it.
func Behind(ctx context.Context, js jetstream.JetStream) error {
	streams := js.ListStreams(ctx)
	for info := range streams.Info() {
		st, err := js.Stream(ctx, info.Config.Name)
		if err != nil {
			return err
		}
		consumers := st.ListConsumers(ctx)
		for ci := range consumers.Info() {
			if ci.Config.Durable == "" {
				continue
			}
			if ci.NumPending > 0 || ci.NumAckPending > 0 {
				return fmt.Errorf("%s on %s: %d pending, %d unacknowledged", ci.Name, info.Config.Name, ci.NumPending, ci.NumAckPending)
			}
		}
		if err := consumers.Err(); err != nil {
			return err
		}
	}
	return streams.Err()
}
