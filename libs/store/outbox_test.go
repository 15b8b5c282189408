package store_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

// TestOutboxRecordsOfADeadWriterAreFinished plays a writer that died after writing
// its outbox record and before its commit, and one that lost its race and died before
// withdrawing its record: a store opened afterwards (a restarted process) stores and
// publishes the first, and drops the second unpublished.
func TestOutboxRecordsOfADeadWriterAreFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	first, err := store.NewEventStore(ctx, db, "events", "/tc/test", clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := count(first, "won", ""); err != nil {
		t.Fatal(err)
	}
	record := func(aggregate, commitID string) bson.D {
		return bson.D{{Key: "_id", Value: aggregate + "/0000000001"}, {Key: "written", Value: time.Now().Add(-time.Minute)},
			{Key: "commit", Value: bson.D{{Key: "_id", Value: aggregate + "/0000000001"}, {Key: "commit_id", Value: commitID},
				{Key: "aggregate_type", Value: "counter"}, {Key: "aggregate_id", Value: aggregate}, {Key: "version", Value: 1},
				{Key: "source", Value: "/tc/test"}, {Key: "time", Value: time.Now()}, {Key: "actor", Value: "test"},
				{Key: "events", Value: bson.A{bson.D{{Key: "id", Value: commitID}, {Key: "type", Value: "tc.test.counter.counted.v1"},
					{Key: "version", Value: 1}, {Key: "data", Value: `{"n":0}`}}}}}}}
	}
	outbox := db.Collection("events_outbox")
	// The commit of "won" is published: its record is gone, and a loser's takes its key.
	if err := first.MarkPublished(ctx, []string{"won/0000000001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.InsertMany(ctx, []any{record("died", "e-died"), record("won", "e-lost")}); err != nil {
		t.Fatal(err)
	}

	restarted, err := store.NewEventStore(ctx, db, "events", "/tc/test", clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	commits, err := restarted.Unpublished(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 1 || commits[0].Events[0].ID != "e-died" {
		t.Fatalf("to publish: %+v, want only the dead writer's commit", commits)
	}
	history, err := restarted.Load(ctx, "died")
	if err != nil || len(history) != 1 || history[0].ID != "e-died" {
		t.Fatalf("dead writer's aggregate: %+v, %v; want its commit stored", history, err)
	}
	history, err = restarted.Load(ctx, "won")
	if err != nil || len(history) != 1 || history[0].ID == "e-lost" {
		t.Fatalf("won: %+v, %v; want the winner's commit only", history, err)
	}
	if n, err := outbox.CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Fatalf("outbox holds %d records (%v), want only the one to publish", n, err)
	}
}
