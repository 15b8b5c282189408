package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/events"
)

// outboxDoc is a write-ahead record of a batch of commits about to be stored: the
// appends that queued while the previous batch was being written are named in the
// outbox in one small document, then go into the log in one insert, and the record
// goes when the relay has published every one of them that won its version. So a
// batch costs three writes however many commands it carries, and the record holds
// only keys, since FerretDB reads a document whole to delete it.
//
// A commit the record names that is not in the log was never answered as stored, so
// it is not published either; Commit is the one-commit record of earlier versions,
// which carried the commit itself, and is still finished if found.
type outboxDoc struct {
	ID      string    `bson:"_id"`
	Written time.Time `bson:"written"` // wall-clock time of the write, for Unpublished's grace
	// Names holds the keys of the batch's commits as one JSON string (see
	// newOutboxDoc); Keys holds them as earlier versions wrote them.
	Names  string      `bson:"names,omitempty"`
	Keys   []outboxKey `bson:"keys,omitempty"`
	Commit *commitDoc  `bson:"commit,omitempty"`
}

// outboxKey names one commit of a batch: its _id in the log, and its commit id,
// which tells it from another writer's commit of the same version.
type outboxKey struct {
	ID       string `bson:"id" json:"i"`
	CommitID string `bson:"commit_id" json:"c"`
}

// newOutboxDoc is a record naming keys. They go in one string: FerretDB writes and
// reads a string for a fraction of what an array of small documents costs it (a
// record of 12 keys took 130 µs of CPU to insert as a string, 364 µs as documents),
// and it reads every record of the outbox again to delete some (see deleteRecords).
func newOutboxDoc(written time.Time, keys []outboxKey) outboxDoc {
	names, _ := json.Marshal(keys) // strings only: it cannot fail
	return outboxDoc{ID: uuid.Must(uuid.NewV7()).String(), Written: written, Names: string(names)}
}

// keys are the keys a record names, in either shape.
func (d outboxDoc) keys() ([]outboxKey, error) {
	keys := slices.Clone(d.Keys)
	if d.Names != "" {
		var names []outboxKey
		if err := json.Unmarshal([]byte(d.Names), &names); err != nil {
			return nil, fmt.Errorf("outbox record %s: its names do not decode: %w", d.ID, err)
		}
		keys = append(keys, names...)
	}
	return keys, nil
}

// abandoned is how old an outbox record must be before a commit it names that is not
// in the log is taken never to arrive: well past the writer's own bound on its insert
// (batchTimeout), so that a slow writer's insert is not left unpublished.
const abandoned = 2 * batchTimeout

// record is an outbox record this process is seeing through: how many of its
// commits are still to publish, and whether it must be left for Unpublished's
// sweep to finish (a commit whose insert had no answer may be stored or not).
type record struct {
	left int
	keep bool
}

// pendingCommit is an append waiting for its batch (see EventStore.commits).
type pendingCommit struct {
	doc  commitDoc
	done chan commitOutcome
}

type commitOutcome struct {
	won bool
	err error
}

// appendCommit writes doc with the next batch and reports whether it took its
// version. The outcome is final however the caller's ctx ends: a commit that wins is
// handed to the relay even if its caller has gone.
func (s *EventStore) appendCommit(ctx context.Context, doc commitDoc) (bool, error) {
	p := &pendingCommit{doc: doc, done: make(chan commitOutcome, 1)}
	s.commits.add(s.writeBatch, p)
	select {
	case o := <-p.done:
		return o.won, o.err
	case <-ctx.Done():
		return false, Classify(ctx.Err())
	}
}

// writeBatch writes one batch: its outbox record, then its commits. Winners go to
// the relay (s.stored); a record none of whose commits won is deleted at once.
func (s *EventStore) writeBatch(batch []*pendingCommit) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	keys := make([]outboxKey, len(batch))
	docs := make([]any, len(batch))
	for i, p := range batch {
		keys[i], docs[i] = outboxKey{ID: p.doc.ID, CommitID: p.doc.CommitID}, p.doc
	}
	box := newOutboxDoc(time.Now(), keys)
	if _, err := s.outbox.InsertOne(ctx, box); err != nil {
		for _, p := range batch {
			p.done <- commitOutcome{err: fmt.Errorf("write outbox record: %w", Classify(err))}
		}
		return
	}
	outcomes := make([]commitOutcome, len(batch))
	unknown := false
	for i, err := range InsertEach(ctx, s.coll, docs) {
		outcomes[i].won = err == nil
		if errors.Is(err, ErrDuplicate) {
			// Taken, perhaps by this very commit before (a retried command whose
			// first answer was lost, stored by the relay's sweep meanwhile).
			outcomes[i].won, err = s.isStored(ctx, batch[i].doc)
		}
		outcomes[i].err = err
		unknown = unknown || err != nil
	}
	won := 0
	s.mu.Lock()
	for i, p := range batch {
		if outcomes[i].won {
			s.stored[p.doc.ID] = p.doc
			s.batchOf[p.doc.ID] = box.ID
			won++
		}
	}
	if won > 0 {
		s.records[box.ID] = &record{left: won, keep: unknown}
	}
	s.mu.Unlock()
	if won == 0 && !unknown {
		_, _ = s.outbox.DeleteOne(ctx, bson.D{{Key: "_id", Value: box.ID}}) // else Unpublished's sweep drops it
	}
	for i, p := range batch {
		p.done <- outcomes[i]
	}
	if won > 0 {
		select {
		case s.appended <- struct{}{}:
		default:
		}
	}
}

// store inserts a commit into the log. It reports false when another commit holds its
// version, and true when it is stored, by this call or before (by the relay finishing
// an outbox record, or a retry).
func (s *EventStore) store(ctx context.Context, doc commitDoc) (bool, error) {
	err := s.inserter(s.coll).insert(ctx, doc)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrDuplicate) {
		return false, err
	}
	return s.isStored(ctx, doc)
}

// isStored reports whether the log's commit at doc's version is doc itself, after an
// insert of it found the version taken.
func (s *EventStore) isStored(ctx context.Context, doc commitDoc) (bool, error) {
	there, found, err := s.commitAt(ctx, doc.ID)
	if err == nil && !found {
		err = fmt.Errorf("commit %s: the version is taken, yet no commit holds it", doc.ID)
	}
	return found && there.CommitID == doc.CommitID, err
}

// Commit is one command's stored events, as the relay sees them.
type Commit struct {
	ID     string
	Events []events.Envelope
}

// unconfirmedGrace is how long an outbox record this process did not write may be
// in flight before Unpublished finishes its commits: another replica is most likely
// still writing it, or publishing it. Unpublished reads the outbox for such records
// at most this often.
const unconfirmedGrace = 5 * time.Second

// Unpublished returns up to limit commits the relay may publish now, oldest first:
// the commits this process stored (kept in memory until published, so the relay
// does not read the outbox for them) and, at most every unconfirmedGrace, those of
// outbox records older than that grace which this process is not seeing through,
// whose writer may have died: each commit a record names that is in the log.
func (s *EventStore) Unpublished(ctx context.Context, limit int) ([]Commit, error) {
	s.mu.Lock()
	sweep := time.Since(s.swept) >= unconfirmedGrace
	if sweep {
		s.swept = time.Now()
	}
	s.mu.Unlock()
	if sweep {
		if err := s.adoptOthers(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	docs := make([]commitDoc, 0, len(s.stored))
	for _, d := range s.stored {
		docs = append(docs, d)
	}
	s.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool {
		a, b := docs[i], docs[j]
		return logBefore(a.Time, a.AggregateID, a.Version, b.Time, b.AggregateID, b.Version)
	})
	out := make([]Commit, 0, min(len(docs), limit))
	for _, d := range docs[:min(len(docs), limit)] {
		out = append(out, Commit{ID: d.ID, Events: d.envelopes()})
	}
	return out, nil
}

// adoptOthers reads the outbox for records older than the grace that this process
// is not seeing through and takes them on as its own: the commits they name that are
// in the log go to the relay, and a record with none to publish is deleted, unless
// one it names may yet arrive (see abandoned): then a later sweep looks again.
func (s *EventStore) adoptOthers(ctx context.Context) error {
	cur, err := s.outbox.Find(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("find unpublished events: %w", Classify(err))
	}
	var docs []outboxDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("find unpublished events: %w", Classify(err))
	}
	s.mu.Lock()
	s.sweptRecords = len(docs)
	s.mu.Unlock()
	for _, d := range docs {
		s.mu.Lock()
		_, mine := s.records[d.ID]
		s.mu.Unlock()
		if mine || time.Since(d.Written) < unconfirmedGrace {
			continue
		}
		publish, waiting, err := s.settle(ctx, d)
		if err != nil {
			return err
		}
		s.mu.Lock()
		fresh := 0
		for _, c := range publish {
			if _, ok := s.batchOf[c.ID]; !ok { // not already on its way in a record of this process
				s.stored[c.ID] = c
				s.batchOf[c.ID] = d.ID
				fresh++
			}
		}
		if fresh > 0 {
			s.records[d.ID] = &record{left: fresh, keep: waiting}
		}
		s.mu.Unlock()
		if fresh == 0 && !waiting {
			if _, err := s.outbox.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
				return fmt.Errorf("drop outbox record %s: %w", d.ID, Classify(err))
			}
		}
	}
	return nil
}

// settle finds which of the commits an outbox record names are in the log, to be
// published, and whether one that is not may yet arrive. A record of the earlier
// shape carries its commit, which is stored if its version is still free.
func (s *EventStore) settle(ctx context.Context, d outboxDoc) ([]commitDoc, bool, error) {
	var publish []commitDoc
	if d.Commit != nil {
		won, err := s.store(ctx, *d.Commit)
		if err != nil {
			return nil, false, fmt.Errorf("finish commit %s: %w", d.Commit.ID, err)
		}
		if won {
			publish = append(publish, *d.Commit)
		}
	}
	keys, err := d.keys()
	if err != nil {
		return nil, false, err
	}
	waiting := false
	for _, k := range keys {
		c, found, err := s.commitAt(ctx, k.ID)
		switch {
		case err != nil:
			return nil, false, fmt.Errorf("find commit %s: %w", k.ID, err)
		case !found:
			waiting = waiting || time.Since(d.Written) < abandoned
		case c.CommitID == k.CommitID:
			publish = append(publish, c)
		}
	}
	return publish, waiting, nil
}

// MarkPublished records that the relay published these commits. They leave memory
// at once, so the relay's next pass does not wait on a write; each outbox record
// whose commits are all published is then deleted in the background (see
// deleteRecords), with the others that queue meanwhile. A record whose delete fails,
// or that must be left for the sweep (see record.keep), stays: the sweep publishes
// its commits again, which consumers take as the duplicates they are, and deletes it.
func (s *EventStore) MarkPublished(ids []string) {
	var done []string
	s.mu.Lock()
	for _, id := range ids {
		b, ok := s.batchOf[id]
		if !ok {
			continue
		}
		delete(s.stored, id)
		delete(s.batchOf, id)
		if r := s.records[b]; r != nil {
			if r.left--; r.left <= 0 {
				delete(s.records, b)
				if !r.keep {
					done = append(done, b)
				}
			}
		}
	}
	s.mu.Unlock()
	if len(done) > 0 {
		s.deletes.add(s.deleteRecords, done...)
	}
}

// smallOutbox is how many records the outbox may hold for deleteRecords to delete
// by $in, and deleteEvery how long it then lets records queue before the next delete.
const (
	smallOutbox = 256
	deleteEvery = 200 * time.Millisecond
)

// deleteRecords deletes outbox records whose commits are all published. While the
// outbox is small, as it is unless publishing falls behind (the records of this
// process in flight and those the last sweep found, at most smallOutbox), one delete
// by $in takes them all, and then waits deleteEvery so that the next takes all that
// were published meanwhile: FerretDB reads the whole outbox to find them (it finds a
// document by index only when the filter is _id alone), which costs less than the
// read and the write it spends on each record deleted by _id (they were a seventh of
// the embedded store's CPU under a rush of drafts, a record every 10-15 drafts);
// MongoDB finds them by index either way. A larger outbox has each record deleted by
// _id. A record whose delete fails stays for the sweep.
func (s *EventStore) deleteRecords(ids []string) {
	s.mu.Lock()
	small := s.sweptRecords+len(s.records) <= smallOutbox
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if small {
		_, _ = s.outbox.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		time.Sleep(deleteEvery)
		return
	}
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		models[i] = mongo.NewDeleteOneModel().SetFilter(bson.D{{Key: "_id", Value: id}})
	}
	_, _ = s.outbox.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
}
