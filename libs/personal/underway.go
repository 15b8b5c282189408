package personal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/itss/techcommit/libs/store"
)

// UnderWayCollection holds a document for each forgetting of an erased person
// (Forgetting): a number of its own (never who is forgotten), when it started and
// when it was done. A document is kept a while after its forgetting is done
// (underWayKept) so that a writer can tell whether one overlapped its write
// (AwaitForgetting).
//
// A forgetting reads a whole collection before it writes (Forget): on the embedded
// store, where every write is a read and a replace, and on any store for a delete
// or replace of what was read, it undoes a write of the same document made after its
// read. A writer that puts a new address where an erased one was (a hand-over, a
// correction) writes again after any forgetting that overlapped its write.
const UnderWayCollection = "erasures_under_way"

// underWayLease is how long a forgetting may take: one not done after that died (its
// erasure is taken in again and forgets anew).
const underWayLease = 5 * time.Minute

// underWayKept is how long the document of a forgetting is kept after it was done,
// or after its lease ran out.
const underWayKept = 10 * time.Minute

// clocksApart is how far the clocks of two replicas may be apart.
const clocksApart = 5 * time.Second

type underWayDoc struct {
	ID   string     `bson:"_id"`
	At   time.Time  `bson:"at"`
	Done *time.Time `bson:"done,omitempty"`
}

// Forgetting says in coll (UnderWayCollection) that a forgetting of an erased person
// starts, before it reads anything, and returns how to say it is done. The times are the machine's, not a service's clock: a lease, not a date
// of the suite's.
func Forgetting(ctx context.Context, coll *mongo.Collection) (func() error, error) {
	now := time.Now().UTC()
	if _, err := coll.DeleteMany(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "done", Value: bson.D{{Key: "$lt", Value: now.Add(-underWayKept)}}}},
		bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-underWayLease - underWayKept)}}}},
	}}}); err != nil {
		return nil, fmt.Errorf("forget erasures done: %w", store.Classify(err))
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	if _, err := coll.InsertOne(ctx, underWayDoc{ID: id, At: now}); err != nil {
		return nil, fmt.Errorf("say an erasure is under way: %w", store.Classify(err))
	}
	return func() error {
		set := bson.D{{Key: "$set", Value: bson.D{{Key: "done", Value: time.Now().UTC()}}}}
		if _, err := coll.UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: id}}, set); err != nil {
			return fmt.Errorf("say an erasure is done: %w", store.Classify(err))
		}
		return nil
	}, nil
}

// AwaitForgetting reports whether a forgetting in coll (Forgetting) may have
// overlapped a write made at or after `since` (the machine's time): one done since,
// or under way, which it waits for (no longer than its lease, nor than ctx allows).
// Such a forgetting may have read what the write replaced and written over the write
// after it, so the write is to be made again. One that starts after this call reads
// the write.
func AwaitForgetting(ctx context.Context, coll *mongo.Collection, since time.Time) (bool, error) {
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		return false, fmt.Errorf("read erasures under way: %w", store.Classify(err))
	}
	var seen []underWayDoc
	if err := cur.All(ctx, &seen); err != nil {
		return false, fmt.Errorf("read erasures under way: %w", store.Classify(err))
	}
	overlapped := false
	for _, d := range seen {
		for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
			if d.Done != nil {
				overlapped = overlapped || !d.Done.Before(since.Add(-clocksApart))
				break
			}
			if time.Since(d.At) >= underWayLease {
				break
			}
			overlapped = true
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return true, fmt.Errorf("wait for an erasure under way: %w", ctx.Err())
			case <-t.C:
			}
			if ok, err := store.FindByID(ctx, coll, d.ID, &d); err != nil || !ok {
				if err != nil {
					return true, fmt.Errorf("read erasures under way: %w", err)
				}
				break
			}
		}
	}
	return overlapped, nil
}
