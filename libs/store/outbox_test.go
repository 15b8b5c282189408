package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/testenv"
)

// outboxHolds waits until the outbox holds exactly the records with these ids: the
// relay's marks delete records in the background.
func outboxHolds(t *testing.T, outbox *mongo.Collection, ids ...string) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() error {
		cur, err := outbox.Find(context.Background(), bson.D{})
		if err != nil {
			return err
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(context.Background(), &docs); err != nil {
			return err
		}
		var got []string
		for _, d := range docs {
			got = append(got, d.ID)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(ids))
		if !slices.Equal(got, want) {
			return fmt.Errorf("outbox holds %v, want %v", got, want)
		}
		return nil
	})
}

// TestOutboxRecordsOfADeadWriterAreFinished plays a writer that died after writing
// its outbox record and before its commit, and one that lost its race and died before
// withdrawing its record: a store opened afterwards (a restarted process) stores and
// publishes the first, and drops the second unpublished.
func TestOutboxRecordsOfADeadWriterAreFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	first := openLog(t, db)
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
	// The commit of "won" is published; then come records of the earlier shape (one
	// commit each): a dead writer's, and a loser's of the version "won" took.
	first.MarkPublished([]string{"won/0000000001"})
	if _, err := outbox.InsertMany(ctx, []any{record("died", "e-died"), record("won", "e-lost")}); err != nil {
		t.Fatal(err)
	}

	restarted := openLog(t, db)
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
	outboxHolds(t, outbox, "died/0000000001") // the one to publish
}

// TestABatchRecordOfADeadWriterIsFinished plays processes that died while writing
// batches: their outbox records name a commit that reached the log, one whose version
// another writer took, and one that never reached the log (so was never answered as
// stored). A restarted process publishes the first only; it drops the record of a
// writer long gone, and keeps that of a writer that may still be inserting (see
// abandoned) for a later look.
func TestABatchRecordOfADeadWriterIsFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	first := openLog(t, db)
	for _, id := range []string{"reached", "taken"} {
		if _, err := count(first, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	commits, err := first.Unpublished(ctx, 100)
	if err != nil || len(commits) != 2 {
		t.Fatalf("first store's unpublished: %v %v", commits, err)
	}
	var reachedID string
	for _, c := range commits {
		if c.Events[0].AggregateID == "reached" {
			reachedID = c.Events[0].ID
		}
	}
	first.MarkPublished([]string{commits[0].ID, commits[1].ID})
	outbox := db.Collection("events_outbox")
	outboxHolds(t, outbox)
	key := func(aggregate, commitID string) bson.D {
		return bson.D{{Key: "id", Value: aggregate + "/0000000001"}, {Key: "commit_id", Value: commitID}}
	}
	if _, err := outbox.InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: "long-gone"}, {Key: "written", Value: time.Now().Add(-time.Hour)},
			{Key: "keys", Value: bson.A{key("reached", reachedID), key("taken", "e-lost"), key("missing", "e-missing")}}},
		bson.D{{Key: "_id", Value: "maybe-slow"}, {Key: "written", Value: time.Now().Add(-10 * time.Second)},
			{Key: "keys", Value: bson.A{key("missing-too", "e-missing-too")}}},
	}); err != nil {
		t.Fatal(err)
	}

	restarted := openLog(t, db)
	commits, err = restarted.Unpublished(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 1 || commits[0].Events[0].ID != reachedID {
		t.Fatalf("to publish: %+v, want only the commit that reached the log", commits)
	}
	if history, err := restarted.Load(ctx, "missing"); err != nil || len(history) != 0 {
		t.Fatalf("the missing commit: %v %v; want none", history, err)
	}
	restarted.MarkPublished([]string{commits[0].ID})
	outboxHolds(t, outbox, "maybe-slow") // its writer may still be inserting
}

// TestConcurrentAppendsShareOutboxRecords races 40 appends to different aggregates:
// every one is stored and handed to the relay, they took fewer outbox records than
// commits, and publishing them all empties the outbox.
func TestConcurrentAppendsShareOutboxRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	es := openLog(t, db)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := count(es, fmt.Sprintf("agg-%d", i), "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	outbox := db.Collection("events_outbox")
	records, err := outbox.CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if records == 0 || records >= n {
		t.Fatalf("%d appends wrote %d outbox records, want at least one and fewer than %d", n, records, n)
	}
	commits, err := es.Unpublished(ctx, 1000)
	if err != nil || len(commits) != n {
		t.Fatalf("unpublished: %d commits (%v), want %d", len(commits), err, n)
	}
	ids := make([]string, len(commits))
	for i, c := range commits {
		ids[i] = c.ID
	}
	es.MarkPublished(ids[:n/2])
	es.MarkPublished(ids[n/2:])
	outboxHolds(t, outbox)
	if commits, err := es.Unpublished(ctx, 1000); err != nil || len(commits) != 0 {
		t.Fatalf("still unpublished: %d (%v)", len(commits), err)
	}
}

// TestPublishedRecordsGoWhateverTheOutboxHolds: the relay's marks delete this
// process's outbox records, and only those, both while the outbox is small (one
// delete takes them all) and while it holds hundreds of other writers' records
// still in flight (each goes by _id, so as not to read them all at every delete).
func TestPublishedRecordsGoWhateverTheOutboxHolds(t *testing.T) {
	t.Parallel()
	for _, others := range []int{0, 300} {
		t.Run(fmt.Sprint(others, " records of other writers"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, db := testenv.Mongo(t)
			outbox := db.Collection("events_outbox")
			var foreign []string
			var docs []any
			for i := range others {
				id := fmt.Sprintf("other-%03d", i)
				foreign = append(foreign, id)
				docs = append(docs, bson.D{{Key: "_id", Value: id}, {Key: "written", Value: time.Now()},
					{Key: "keys", Value: bson.A{bson.D{{Key: "id", Value: fmt.Sprintf("elsewhere-%d/0000000001", i)}, {Key: "commit_id", Value: "e"}}}}})
			}
			if others > 0 {
				if _, err := outbox.InsertMany(ctx, docs); err != nil {
					t.Fatal(err)
				}
			}
			es := openLog(t, db)
			for i := range 3 {
				for j := range 5 {
					if _, err := count(es, fmt.Sprintf("agg-%d-%d", i, j), ""); err != nil {
						t.Fatal(err)
					}
				}
				commits, err := es.Unpublished(ctx, 1000)
				if err != nil || len(commits) != 5 {
					t.Fatalf("unpublished: %d commits (%v), want 5", len(commits), err)
				}
				var ids []string
				for _, c := range commits {
					ids = append(ids, c.ID)
				}
				es.MarkPublished(ids)
			}
			outboxHolds(t, outbox, foreign...)
		})
	}
}

// TestARecordOfADeadWriterInThisShapeIsFinished: a writer dies after storing a batch
// of commits, before publishing them; once its outbox record is past the grace, a
// restarted process publishes every commit the record names.
func TestARecordOfADeadWriterInThisShapeIsFinished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	dead := openLog(t, db)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, err := count(dead, fmt.Sprintf("agg-%d", i), ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	outbox := db.Collection("events_outbox")
	if _, err := outbox.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "written", Value: time.Now().Add(-time.Hour)}}}}); err != nil {
		t.Fatal(err)
	}

	restarted := openLog(t, db)
	commits, err := restarted.Unpublished(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range commits {
		got = append(got, c.ID)
	}
	slices.Sort(got)
	want := []string{"agg-0/0000000001", "agg-1/0000000001", "agg-2/0000000001", "agg-3/0000000001", "agg-4/0000000001", "agg-5/0000000001"}
	if !slices.Equal(got, want) {
		t.Fatalf("the restarted process publishes %v, want %v", got, want)
	}
	restarted.MarkPublished(got)
	outboxHolds(t, outbox)
}
