package store_test

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/testenv"
)

// reads counts the find commands a client sends and the documents and bytes their
// first batches return: what a read costs the server, whatever the timing.
type reads struct {
	mu sync.Mutex
	tally
}

// tally is a count of reads.
type tally struct{ finds, docs, bytes int }

func (r *reads) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
	if e.CommandName != "find" {
		return
	}
	var reply struct {
		Cursor struct {
			FirstBatch []bson.Raw `bson:"firstBatch"`
		} `bson:"cursor"`
	}
	_ = bson.Unmarshal(e.Reply, &reply)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finds++
	r.docs += len(reply.Cursor.FirstBatch)
	for _, d := range reply.Cursor.FirstBatch {
		r.bytes += len(d)
	}
}

// since returns what was read after an earlier count.
func (r *reads) since(before tally) tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return tally{finds: r.finds - before.finds, docs: r.docs - before.docs, bytes: r.bytes - before.bytes}
}

func (r *reads) now() tally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally
}

// monitoredDB is a test database reached through a client whose reads are counted.
func monitoredDB(t *testing.T) (*mongo.Database, *reads) {
	t.Helper()
	r := &reads{}
	client, err := mongo.Connect(options.Client().ApplyURI(testenv.MongoURI(t)).SetMonitor(&event.CommandMonitor{Succeeded: r.succeeded}))
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database(testenv.DatabaseName(t))
	t.Cleanup(func() {
		_ = db.Drop(context.Background())
		_ = client.Disconnect(context.Background())
	})
	return db, r
}

// TestALongAggregateIsRememberedAfterARestart: a process that starts after an
// aggregate's head was cached loads it from the head once, and then reads only what
// follows it, as it does for any aggregate it loaded.
func TestALongAggregateIsRememberedAfterARestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := monitoredDB(t)
	writer := openLog(t, db)
	const commits = 40
	for range commits {
		mustCount(t, writer, "long")
	}
	// A first restart reads every commit and caches them as the head.
	if n := (loaded{t}).n(openLog(t, db).Load(ctx, "long")); n != commits {
		t.Fatalf("loaded %d events, want %d", n, commits)
	}

	restarted := openLog(t, db)
	before := counted.now()
	if n := (loaded{t}).n(restarted.Load(ctx, "long")); n != commits {
		t.Fatalf("first load after the restart: %d events, want %d", n, commits)
	}
	first := counted.since(before)
	before = counted.now()
	if n := (loaded{t}).n(restarted.Load(ctx, "long")); n != commits {
		t.Fatalf("second load after the restart: %d events, want %d", n, commits)
	}
	second := counted.since(before)
	t.Logf("first load: %d finds, %d documents, %d bytes; second: %d finds, %d documents, %d bytes",
		first.finds, first.docs, first.bytes, second.finds, second.docs, second.bytes)
	if first.docs > 8+1 {
		t.Errorf("the first load read %d documents, want at most the %d before the head and the head", first.docs, 8+1)
	}
	if second.finds != 1 || second.docs != 0 {
		t.Errorf("the second load sent %d finds returning %d documents (%d bytes); want one find for the next commit, returning none",
			second.finds, second.docs, second.bytes)
	}
}
