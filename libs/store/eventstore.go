package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/events"
)

// ErrVersionConflict means another writer appended to the aggregate first; reload and decide again.
var ErrVersionConflict = errors.New("store: aggregate version already taken")

// ErrAlreadyApplied means the events' ids are already stored: the same command (for
// example a redelivered message) ran before, so it must have no second effect.
var ErrAlreadyApplied = errors.New("store: events already applied")

// EventStore is a service's append-only event log in one collection. Each command's
// events are stored together as one commit document, keyed by the aggregate and the
// version of its first event, under a unique index on (aggregate_id, version). A writer
// always appends at the version after the last commit it loaded, so two writers that
// loaded the same state collide on that index and exactly one wins, on MongoDB and on
// FerretDB alike, and a command's events are stored all or nothing. The collection is
// also the outbox the relay publishes from, and the audit trail.
type EventStore struct {
	coll   *mongo.Collection
	source string
	clock  clock.Clock
	// appended wakes the relay as soon as something is stored.
	appended chan struct{}
}

// commitDoc is one command's events as stored.
type commitDoc struct {
	ID            string     `bson:"_id"`
	AggregateType string     `bson:"aggregate_type"`
	AggregateID   string     `bson:"aggregate_id"`
	Version       int        `bson:"version"` // of the first event
	Source        string     `bson:"source"`
	Time          time.Time  `bson:"time"`
	Actor         string     `bson:"actor"`
	TraceParent   string     `bson:"traceparent,omitempty"`
	Events        []eventDoc `bson:"events"`
	Published     bool       `bson:"published"`
	PublishedAt   *time.Time `bson:"published_at,omitempty"`
}

// eventDoc is one event of a commit.
type eventDoc struct {
	ID      string `bson:"id"`
	Type    string `bson:"type"`
	Version int    `bson:"version"`
	Data    string `bson:"data"`
}

// NewEventStore opens the event log in collection name of db, creating its indexes.
// source is the CloudEvents source of the events it stores, e.g. "/tc/signatory".
func NewEventStore(ctx context.Context, db *mongo.Database, name, source string, clk clock.Clock) (*EventStore, error) {
	if db == nil || name == "" || source == "" {
		return nil, errors.New("store: database, collection name and source are required")
	}
	if clk == nil {
		clk = clock.System{}
	}
	coll := db.Collection(name)
	err := CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "aggregate_id", Value: 1}, {Key: "version", Value: 1}}, Options: options.Index().SetUnique(true).SetName("aggregate_version")},
		{Keys: bson.D{{Key: "published", Value: 1}, {Key: "time", Value: 1}}, Options: options.Index().SetName("unpublished")},
		{Keys: bson.D{{Key: "aggregate_type", Value: 1}, {Key: "time", Value: 1}}, Options: options.Index().SetName("by_type")},
	})
	if err != nil {
		return nil, fmt.Errorf("create event store indexes on %s: %w", name, Classify(err))
	}
	return &EventStore{coll: coll, source: source, clock: clk, appended: make(chan struct{}, 1)}, nil
}

// Collection returns the underlying collection (for tests and operational queries).
func (s *EventStore) Collection() *mongo.Collection { return s.coll }

// Load returns the events of one aggregate in version order.
func (s *EventStore) Load(ctx context.Context, aggregateID string) ([]events.Envelope, error) {
	return s.find(ctx, bson.D{{Key: "aggregate_id", Value: aggregateID}},
		bson.D{{Key: "version", Value: 1}}, "load aggregate "+aggregateID)
}

// LoadMany returns the events of several aggregates, each in version order, in one
// query: a page of a list costs one read, not one per aggregate (on FerretDB every
// read that is not by _id scans the collection).
func (s *EventStore) LoadMany(ctx context.Context, aggregateIDs []string) (map[string][]events.Envelope, error) {
	out := make(map[string][]events.Envelope, len(aggregateIDs))
	if len(aggregateIDs) == 0 {
		return out, nil
	}
	all, err := s.find(ctx, bson.D{{Key: "aggregate_id", Value: bson.D{{Key: "$in", Value: aggregateIDs}}}},
		bson.D{{Key: "aggregate_id", Value: 1}, {Key: "version", Value: 1}}, fmt.Sprintf("load %d aggregates", len(aggregateIDs)))
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		out[e.AggregateID] = append(out[e.AggregateID], e)
	}
	return out, nil
}

// LoadByType returns every event of an aggregate type, oldest first. Projections that
// must be rebuilt from scratch use it.
func (s *EventStore) LoadByType(ctx context.Context, aggregateType string) ([]events.Envelope, error) {
	return s.find(ctx, bson.D{{Key: "aggregate_type", Value: aggregateType}},
		bson.D{{Key: "time", Value: 1}, {Key: "aggregate_id", Value: 1}, {Key: "version", Value: 1}}, "load "+aggregateType+" events")
}

func (s *EventStore) find(ctx context.Context, filter, sort bson.D, op string) ([]events.Envelope, error) {
	cur, err := s.coll.Find(ctx, filter, options.Find().SetSort(sort))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, Classify(err))
	}
	var docs []commitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("%s: %w", op, Classify(err))
	}
	var out []events.Envelope
	for _, d := range docs {
		out = append(out, d.envelopes()...)
	}
	return out, nil
}

// Append stores the events of one command as one commit: all of them or none. It
// fails with ErrVersionConflict when another writer took the first version, and with
// ErrAlreadyApplied when the same commit (same causation) is stored already.
func (s *EventStore) Append(ctx context.Context, evs []events.Envelope) error {
	if len(evs) == 0 {
		return nil
	}
	doc := toCommit(evs)
	if _, err := s.coll.InsertOne(ctx, doc); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return s.whichDuplicate(ctx, doc.ID)
		}
		return fmt.Errorf("append to %s: %w", doc.AggregateID, Classify(err))
	}
	select {
	case s.appended <- struct{}{}:
	default:
	}
	return nil
}

// whichDuplicate tells a retried command (same commit id) from a concurrent writer.
func (s *EventStore) whichDuplicate(ctx context.Context, id string) error {
	n, err := s.coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: id}})
	if err == nil && n > 0 {
		return ErrAlreadyApplied
	}
	return ErrVersionConflict
}

// Appended is signalled (without blocking) after each successful append.
func (s *EventStore) Appended() <-chan struct{} { return s.appended }

// Command describes how to run one command against one aggregate.
type Command struct {
	AggregateType string
	AggregateID   string
	Actor         string
	// CausationID, when set, makes the new events' ids a function of it, so that the
	// same cause (a redelivered message) can never append its events twice.
	CausationID string
	// MaxAttempts bounds retries after losing a race (default 25). An aggregate many
	// writers contend for at once (a budget ledger) sets it higher; the request's
	// deadline still bounds the wait.
	MaxAttempts int
	// Decide receives the aggregate's history and returns the payloads of the new events,
	// or an error (which aborts the command and is returned as it is).
	Decide func(history []events.Envelope) ([]events.Payload, error)
}

// maxAttempts bounds how often a command is retried after losing a race.
const maxAttempts = 25

// Execute runs cmd: load, decide, append at the next versions; on a version conflict
// it reloads and decides again, up to a bound after which it answers Conflict. It
// returns the events appended (none when Decide returned none or the command had
// already been applied).
func (s *EventStore) Execute(ctx context.Context, cmd Command) ([]events.Envelope, error) {
	for attempt := 0; ; attempt++ {
		history, err := s.Load(ctx, cmd.AggregateID)
		if err != nil {
			return nil, err
		}
		payloads, err := cmd.Decide(history)
		if err != nil {
			return nil, err
		}
		if len(payloads) == 0 {
			return nil, nil
		}
		evs, err := s.Envelopes(ctx, cmd, len(history), payloads)
		if err != nil {
			return nil, err
		}
		err = s.Append(ctx, evs)
		switch {
		case err == nil:
			return evs, nil
		case errors.Is(err, ErrAlreadyApplied):
			return nil, nil
		case errors.Is(err, ErrVersionConflict):
			limit := cmd.MaxAttempts
			if limit <= 0 {
				limit = maxAttempts
			}
			if attempt+1 >= limit {
				return nil, apperr.Wrap(apperr.Conflict, err, "%s %s is being changed by someone else; retry", cmd.AggregateType, cmd.AggregateID)
			}
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	}
}

// Envelopes wraps payloads as the events following version `after` of an aggregate.
func (s *EventStore) Envelopes(ctx context.Context, cmd Command, after int, payloads []events.Payload) ([]events.Envelope, error) {
	now := s.clock.Now()
	tp := traceParent(ctx)
	out := make([]events.Envelope, len(payloads))
	for i, p := range payloads {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", p.EventType(), err)
		}
		id := uuid.Must(uuid.NewV7()).String()
		if cmd.CausationID != "" {
			id = uuid.NewSHA1(causationSpace, fmt.Appendf(nil, "%s|%s|%d", cmd.AggregateID, cmd.CausationID, i)).String()
		}
		out[i] = events.Envelope{
			ID: id, Source: s.source, Type: p.EventType(),
			AggregateType: cmd.AggregateType, AggregateID: cmd.AggregateID,
			Version: after + i + 1, Time: now, Actor: cmd.Actor, TraceParent: tp, Data: data,
		}
	}
	return out, nil
}

var causationSpace = uuid.MustParse("6f1c8a52-3a0e-4c55-9d6c-2f3c1e7b9a10")

func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(3+min(attempt, 20)*2)) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Classify(ctx.Err())
	case <-t.C:
		return nil
	}
}

// traceParent returns the W3C traceparent of the span in ctx, if any.
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// toCommit builds the commit document of one command's events. Its id is the first
// event's id, which is a function of the causation when there is one.
func toCommit(evs []events.Envelope) commitDoc {
	first := evs[0]
	d := commitDoc{
		ID: first.ID, AggregateType: first.AggregateType, AggregateID: first.AggregateID,
		Version: first.Version, Source: first.Source, Time: first.Time, Actor: first.Actor, TraceParent: first.TraceParent,
		Events: make([]eventDoc, len(evs)),
	}
	for i, e := range evs {
		d.Events[i] = eventDoc{ID: e.ID, Type: e.Type, Version: e.Version, Data: string(e.Data)}
	}
	return d
}

func (d commitDoc) envelopes() []events.Envelope {
	out := make([]events.Envelope, len(d.Events))
	for i, e := range d.Events {
		out[i] = events.Envelope{
			ID: e.ID, Source: d.Source, Type: e.Type, AggregateType: d.AggregateType, AggregateID: d.AggregateID,
			Version: e.Version, Time: d.Time, Actor: d.Actor, TraceParent: d.TraceParent, Data: json.RawMessage(e.Data),
		}
	}
	return out
}

// Commit is one command's stored events, as the relay sees them.
type Commit struct {
	ID     string
	Events []events.Envelope
}

// Unpublished returns up to limit commits the relay has not yet published, oldest first.
func (s *EventStore) Unpublished(ctx context.Context, limit int) ([]Commit, error) {
	cur, err := s.coll.Find(ctx, bson.D{{Key: "published", Value: false}},
		options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "aggregate_id", Value: 1}, {Key: "version", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("find unpublished events: %w", Classify(err))
	}
	var docs []commitDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find unpublished events: %w", Classify(err))
	}
	out := make([]Commit, len(docs))
	for i, d := range docs {
		out[i] = Commit{ID: d.ID, Events: d.envelopes()}
	}
	return out, nil
}

// MarkPublished records that the relay published these commits.
func (s *EventStore) MarkPublished(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.clock.Now()
	_, err := s.coll.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "published", Value: true}, {Key: "published_at", Value: now}}}})
	if err != nil {
		return fmt.Errorf("mark events published: %w", Classify(err))
	}
	return nil
}

// Executor runs commands; *EventStore is one.
type Executor interface {
	Execute(ctx context.Context, cmd Command) ([]events.Envelope, error)
}

var _ Executor = (*EventStore)(nil)

// Change runs cmd with its decision made on the aggregate that rebuild makes of the
// history, and returns the aggregate as the command left it (rebuilt from the history
// it decided on and the events it appended) with the events appended. cmd.Decide is
// set here.
func Change[A any](ctx context.Context, es Executor, cmd Command, rebuild func([]events.Envelope) (A, error), decide func(A) ([]events.Payload, error)) (A, []events.Envelope, error) {
	var seen []events.Envelope
	cmd.Decide = func(history []events.Envelope) ([]events.Payload, error) {
		seen = history
		agg, err := rebuild(history)
		if err != nil {
			return nil, err
		}
		return decide(agg)
	}
	appended, err := es.Execute(ctx, cmd)
	if err != nil {
		var zero A
		return zero, nil, err
	}
	agg, err := rebuild(append(seen, appended...))
	return agg, appended, err
}
