package testenv

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Reads counts what a client's find commands cost the server, whatever the timing:
// finds, the documents and bytes their first batches return, and the scans of one
// collection (finds on it that do not look a single document up by _id, which on the
// embedded store read the whole collection); and, for each collection, the commands
// that wrote to it. Tests of read models assert on these counts, never on durations.
type Reads struct {
	coll   string
	mu     sync.Mutex
	n      ReadCount
	writes map[string]int // collection -> insert, update and delete commands
}

// Writes is how many insert, update and delete commands the client has sent to the
// collection coll so far.
func (r *Reads) Writes(coll string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes[coll]
}

// ReadCount is a count of reads.
type ReadCount struct{ Finds, Docs, Bytes, Scans int }

// Sub is what was read between an earlier count and c.
func (c ReadCount) Sub(before ReadCount) ReadCount {
	return ReadCount{Finds: c.Finds - before.Finds, Docs: c.Docs - before.Docs, Bytes: c.Bytes - before.Bytes, Scans: c.Scans - before.Scans}
}

// Now is the count so far.
func (r *Reads) Now() ReadCount {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *Reads) started(_ context.Context, e *event.CommandStartedEvent) {
	switch e.CommandName {
	case "insert", "update", "delete":
		coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
		r.mu.Lock()
		if r.writes == nil {
			r.writes = map[string]int{}
		}
		r.writes[coll]++
		r.mu.Unlock()
		return
	}
	if e.CommandName != "find" || r.coll == "" {
		return
	}
	var cmd struct {
		Find   string `bson:"find"`
		Filter bson.M `bson:"filter"`
	}
	if err := bson.Unmarshal(e.Command, &cmd); err != nil || (cmd.Find != r.coll && r.coll != EveryCollection) {
		return
	}
	if _, one := cmd.Filter["_id"].(string); one && len(cmd.Filter) == 1 {
		return
	}
	r.mu.Lock()
	r.n.Scans++
	r.mu.Unlock()
}

func (r *Reads) succeeded(_ context.Context, e *event.CommandSucceededEvent) {
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
	r.n.Finds++
	r.n.Docs += len(reply.Cursor.FirstBatch)
	for _, d := range reply.Cursor.FirstBatch {
		r.n.Bytes += len(d)
	}
}

// EveryCollection, given to MonitoredDB, counts the scans of every collection: for a
// read that goes through several.
const EveryCollection = "*"

// MonitoredDB is a test database reached through a client whose reads are counted,
// with scans counted on the collection named scanned ("" counts none,
// EveryCollection all). It is dropped when the test ends.
func MonitoredDB(tb testing.TB, scanned string) (*mongo.Database, *Reads) {
	tb.Helper()
	r := &Reads{coll: scanned}
	client, err := mongo.Connect(options.Client().ApplyURI(MongoURI(tb)).
		SetMonitor(&event.CommandMonitor{Started: r.started, Succeeded: r.succeeded}))
	if err != nil {
		tb.Fatal(err)
	}
	db := client.Database(DatabaseName(tb))
	tb.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return db, r
}
