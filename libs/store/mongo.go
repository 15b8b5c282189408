// Package store is the suite's persistence on MongoDB (or FerretDB): a traced
// connection, the append-only event store of DESIGN.md with its unique index on
// (aggregate id, version), the relay that publishes stored events to JetStream, the
// processed-message log that makes consumers idempotent, and projection views.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/itss/techcommit/libs/apperr"
)

// Connect opens a client to uri whose commands are traced as client spans. There is
// no released OpenTelemetry instrumentation for driver v2, so this is our own monitor.
func Connect(ctx context.Context, uri string, tp trace.TracerProvider) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetTimeout(15 * time.Second)
	if tp != nil {
		opts.SetMonitor(newMonitor(tp))
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to mongo: %w", err)
	}
	return client, nil
}

// Ping checks the database is reachable; /readyz uses it.
func Ping(client *mongo.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		return client.Ping(ctx, readpref.Primary())
	}
}

// monitor turns command events into spans.
type monitor struct {
	tracer trace.Tracer
	spans  sync.Map // request id -> trace.Span
}

func newMonitor(tp trace.TracerProvider) *event.CommandMonitor {
	m := &monitor{tracer: tp.Tracer("github.com/itss/techcommit/libs/store")}
	return &event.CommandMonitor{Started: m.started, Succeeded: m.succeeded, Failed: m.failed}
}

func (m *monitor) started(ctx context.Context, e *event.CommandStartedEvent) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return // only trace commands that are part of a traced operation
	}
	coll := ""
	if v, err := e.Command.LookupErr(e.CommandName); err == nil {
		coll, _ = v.StringValueOK()
	}
	_, span := m.tracer.Start(ctx, "mongodb."+e.CommandName, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system", "mongodb"),
			attribute.String("db.namespace", e.DatabaseName),
			attribute.String("db.operation.name", e.CommandName),
			attribute.String("db.collection.name", coll),
			attribute.String("server.address", e.ConnectionID),
		))
	m.spans.Store(e.RequestID, span)
}

func (m *monitor) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if s, ok := m.spans.LoadAndDelete(e.RequestID); ok {
		s.(trace.Span).End()
	}
}

func (m *monitor) failed(_ context.Context, e *event.CommandFailedEvent) {
	if s, ok := m.spans.LoadAndDelete(e.RequestID); ok {
		span := s.(trace.Span)
		span.SetStatus(codes.Error, e.Failure.Error())
		span.SetAttributes(attribute.String("db.response.status_code", strconv.Itoa(int(e.RequestID))))
		span.End()
	}
}

// Classify marks database errors a caller can do nothing about but wait as
// Unavailable (503), and leaves others as they are.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var sse topology.ServerSelectionError
	// A pool the driver cleared after a connection to the server failed: the server is
	// unreachable, and the next operation finds out afresh whether it is back.
	var cleared driver.RetryablePoolError
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.As(err, &sse) || errors.As(err, &cleared) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mongo.ErrClientDisconnected) {
		return apperr.Wrap(apperr.Unavailable, err, "the database is unavailable")
	}
	return err
}

// FindByID reads the document of coll with _id id into out, and reports whether there
// is one; a database error is classified.
func FindByID(ctx context.Context, coll *mongo.Collection, id string, out any) (bool, error) {
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(out)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, Classify(err)
	}
	return true, nil
}

// CreateIndexes creates those of a collection's indexes that do not exist yet.
// Existing ones are left alone: FerretDB drops the connection when asked to create an
// index that is already there, which every restart of a service would do. It retries
// briefly, since replicas starting at once race to create the same indexes.
//
// On a server that answers no query from an index but _id's (see QueriesUseIndexes),
// an index that is not unique would only be a cost on every write, so it is not
// created there, and one that an earlier version created is dropped. Unique indexes
// guard concurrency, and are created everywhere.
func CreateIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) error {
	if slices.ContainsFunc(models, func(m mongo.IndexModel) bool { return !unique(m) }) && !QueriesUseIndexes(ctx, coll) {
		var err error
		if models, err = dropUnused(ctx, coll, models); err != nil {
			return err
		}
	}
	var err error
	for attempt := range 8 {
		var missing []mongo.IndexModel
		if missing, err = missingIndexes(ctx, coll, models); err == nil {
			if len(missing) == 0 {
				return nil
			}
			if _, err = coll.Indexes().CreateMany(ctx, missing); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(50*(attempt+1)) * time.Millisecond):
		}
	}
	return err
}

// QueriesUseIndexes reports whether the server behind coll may answer a query from an
// index other than _id's. FerretDB 1.x on SQLite, the embedded development store,
// does not: it hands SQLite a filter only when it is on _id alone, and sorts only in
// the order of insertion, so every other query reads the whole collection whatever
// its indexes; and each index costs every insert and update (measured: two on the
// fund's views made inserting a view a quarter dearer). Any other server is taken to
// use them.
func QueriesUseIndexes(ctx context.Context, coll *mongo.Collection) bool {
	admin := coll.Database().Client().Database("admin")
	var info struct {
		FerretDB string `bson:"ferretdbVersion"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil || info.FerretDB == "" {
		return true
	}
	// FerretDB names its backend in its startup warnings once it has opened a
	// database, so this collection's is opened first (created if it is new; an
	// existing one refuses, which is as good).
	_ = coll.Database().CreateCollection(ctx, coll.Name())
	var startup struct {
		Log []string `bson:"log"`
	}
	if err := admin.RunCommand(ctx, bson.D{{Key: "getLog", Value: "startupWarnings"}}).Decode(&startup); err != nil {
		return true
	}
	for _, line := range startup.Log {
		if strings.Contains(line, "Powered by FerretDB") && strings.Contains(line, " and SQLite ") {
			return false
		}
	}
	return true
}

// dropUnused drops those of models that are not unique and exist, and returns the
// unique ones.
func dropUnused(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) ([]mongo.IndexModel, error) {
	names, err := indexNames(ctx, coll)
	if err != nil {
		return nil, err
	}
	var kept []mongo.IndexModel
	for _, m := range models {
		switch {
		case unique(m):
			kept = append(kept, m)
		case names[indexName(m)]:
			if err := coll.Indexes().DropOne(ctx, indexName(m)); err != nil {
				return nil, fmt.Errorf("drop index %s, which this store does not use: %w", indexName(m), err)
			}
		}
	}
	return kept, nil
}

// unique reports whether the index is a unique one.
func unique(m mongo.IndexModel) bool {
	o := indexOptions(m)
	return o.Unique != nil && *o.Unique
}

// indexOptions are the options an index model was given.
func indexOptions(m mongo.IndexModel) options.IndexOptions {
	var o options.IndexOptions
	if m.Options != nil {
		for _, set := range m.Options.List() {
			_ = set(&o)
		}
	}
	return o
}

func missingIndexes(ctx context.Context, coll *mongo.Collection, models []mongo.IndexModel) ([]mongo.IndexModel, error) {
	have, err := indexNames(ctx, coll)
	if err != nil {
		return nil, err
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		if !have[indexName(m)] {
			missing = append(missing, m)
		}
	}
	return missing, nil
}

// indexNames lists the names of the collection's indexes.
func indexNames(ctx context.Context, coll *mongo.Collection) (map[string]bool, error) {
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	var existing []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &existing); err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range existing {
		have[e.Name] = true
	}
	return have, nil
}

// indexName is the index's given name, or the name MongoDB gives it by default
// ("field_1_other_-1").
func indexName(m mongo.IndexModel) string {
	if o := indexOptions(m); o.Name != nil {
		return *o.Name
	}
	var parts []string
	if keys, ok := m.Keys.(bson.D); ok {
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s_%v", k.Key, k.Value))
		}
	}
	return strings.Join(parts, "_")
}

// Replace writes doc as the document of coll with _id id, inserting it if there is
// none. Two upserts of one new _id at once can both find no document and both
// insert; the store refuses the second on _id (MongoDB retries that itself since 4.2,
// FerretDB does not), so the loser is tried once more and then finds the winner's
// document to replace. The error is returned as the driver gave it.
func Replace(ctx context.Context, coll *mongo.Collection, id, doc any) error {
	return upsert(func() error {
		_, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}}, doc, options.Replace().SetUpsert(true))
		return err
	})
}

// Update applies update to the document of coll with _id id, inserting one if there
// is none; a race with another insert of id is tried once more, as in Replace.
func Update(ctx context.Context, coll *mongo.Collection, id, update any) error {
	return upsert(func() error {
		_, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, update, options.UpdateOne().SetUpsert(true))
		return err
	})
}

func upsert(write func() error) error {
	err := write()
	if mongo.IsDuplicateKeyError(err) {
		err = write()
	}
	return err
}
