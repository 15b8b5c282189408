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

// ErrDuplicate is a batched insert's answer for a document whose _id (or other
// unique key) is taken.
var ErrDuplicate = errors.New("store: duplicate key")

// batchLimit bounds how many documents one batched insert sends.
const batchLimit = 256

// batchTimeout bounds one batched insert.
const batchTimeout = 30 * time.Second

// batcher gathers work that arrives while the previous batch is being done, and hands
// it on a batch at a time (at most batchLimit). It adds no wait: a batch is whatever
// queued meanwhile, so under no load each item goes on its own at once.
type batcher[T any] struct {
	mu      sync.Mutex
	queue   []T
	running bool
}

// add queues items and, unless a drain is running, starts one that gives do every
// batch until the queue is empty.
func (b *batcher[T]) add(do func([]T), items ...T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, items...)
	if !b.running {
		b.running = true
		go b.drain(do)
	}
}

func (b *batcher[T]) drain(do func([]T)) {
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
		do(batch)
	}
}

// inserter groups concurrent inserts into one collection into one InsertMany. The
// embedded FerretDB writes each insert command in one SQLite transaction (falling
// back to one document at a time when one of them fails), and a transaction costs
// about the same for one document or many, so under load this takes many writes for
// the price of one. Each document still succeeds or fails on its own, on its own
// unique keys, exactly as an InsertOne would.
type inserter struct {
	coll    *mongo.Collection
	batches batcher[*insertion]
}

type insertion struct {
	doc  any
	done chan error
}

func newInserter(coll *mongo.Collection) *inserter { return &inserter{coll: coll} }

// insert stores doc and returns nil, ErrDuplicate, or the (classified) error. A
// caller whose ctx ends first gets its error, and the outcome is unknown to it, as
// with an InsertOne whose deadline passes while the server writes.
func (b *inserter) insert(ctx context.Context, doc any) error {
	in := &insertion{doc: doc, done: make(chan error, 1)}
	b.batches.add(b.write, in)
	select {
	case err := <-in.done:
		return err
	case <-ctx.Done():
		return Classify(ctx.Err())
	}
}

func (b *inserter) write(batch []*insertion) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	docs := make([]any, len(batch))
	for i, in := range batch {
		docs[i] = in.doc
	}
	for i, err := range InsertEach(ctx, b.coll, docs) {
		batch[i].done <- err
	}
}

// InsertEach inserts docs in one unordered InsertMany and returns each one's
// outcome: nil, ErrDuplicate, or the (classified) error.
func InsertEach(ctx context.Context, coll *mongo.Collection, docs []any) []error {
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
				failed[we.Index] = ErrDuplicate
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
