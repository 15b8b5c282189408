package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// errDuplicate is a batched insert's answer for a document whose _id (or other
// unique key) is taken.
var errDuplicate = errors.New("store: duplicate key")

// batchLimit bounds how many documents one batched insert sends.
const batchLimit = 256

// batchTimeout bounds one batched insert.
const batchTimeout = 30 * time.Second

// inserter groups concurrent inserts into one collection into one InsertMany. The
// embedded FerretDB writes each insert command in one SQLite transaction (falling
// back to one document at a time when one of them fails), and a transaction costs
// about the same for one document or many, so under load this takes many writes for
// the price of one. It adds no wait: a batch is whatever queued while the previous
// one was being written. Each document still succeeds or fails on its own, on its
// own unique keys, exactly as an InsertOne would.
type inserter struct {
	coll    *mongo.Collection
	mu      sync.Mutex
	queue   []*insertion
	running bool
}

type insertion struct {
	doc  any
	done chan error
}

func newInserter(coll *mongo.Collection) *inserter { return &inserter{coll: coll} }

// insert stores doc and returns nil, errDuplicate, or the (classified) error. A
// caller whose ctx ends first gets its error, and the outcome is unknown to it, as
// with an InsertOne whose deadline passes while the server writes.
func (b *inserter) insert(ctx context.Context, doc any) error {
	in := &insertion{doc: doc, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, in)
	if !b.running {
		b.running = true
		go b.drain()
	}
	b.mu.Unlock()
	select {
	case err := <-in.done:
		return err
	case <-ctx.Done():
		return Classify(ctx.Err())
	}
}

// drain writes batches until the queue is empty, then stops.
func (b *inserter) drain() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), batchLimit)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		b.write(batch)
	}
}

func (b *inserter) write(batch []*insertion) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	docs := make([]any, len(batch))
	for i, in := range batch {
		docs[i] = in.doc
	}
	for i, err := range insertEach(ctx, b.coll, docs) {
		batch[i].done <- err
	}
}

// insertEach inserts docs in one unordered InsertMany and returns each one's
// outcome: nil, errDuplicate, or the (classified) error.
func insertEach(ctx context.Context, coll *mongo.Collection, docs []any) []error {
	_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	failed := make([]error, len(docs))
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bwe) && bwe.WriteConcernError == nil:
		for _, we := range bwe.WriteErrors {
			if we.Index < 0 || we.Index >= len(docs) {
				continue
			}
			if we.Code == 11000 || we.Code == 11001 {
				failed[we.Index] = errDuplicate
			} else {
				failed[we.Index] = fmt.Errorf("insert into %s: %s (code %d)", coll.Name(), we.Message, we.Code)
			}
		}
	default:
		for i := range failed {
			failed[i] = Classify(err)
		}
	}
	return failed
}
