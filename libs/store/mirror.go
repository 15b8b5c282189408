package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// Mirror keeps, in every replica's memory, the entries of a view collection that its
// lists are answered from, so that a list costs what its page costs, not what the
// collection holds.
//
// On the embedded FerretDB every query but a lookup by _id reads and sorts the whole
// collection; a list over a growing collection (applications, the delivery log) grew
// with it. A Mirror reads the collection once, when the process starts, and from then
// on follows a log of changes that it reads by _id only: the writer of a view appends
// the view's new entries as the next numbered change ("0000000042"), an insert that
// the unique _id makes safe for any number of writers (a writer that finds its number
// taken tries the next), so the numbers have no gaps; a reader reads the number after
// the last it applied until one is missing. When nothing changed, bringing the copy up
// to date is one lookup that finds nothing. Entries are small (what a list filters
// and sorts on); the page's documents themselves are read by _id.
//
// At start a reader reads the mark (a number all of whose changes are in the
// collection), then the collection, then the changes after the mark: a change applied
// twice must therefore leave the entry as once (apply keeps the newer of two entries).
// The log is never read whole, so it is not trimmed here; its documents are small.
type Mirror[T any] struct {
	views   *mongo.Collection
	changes *mongo.Collection
	project bson.D
	apply   func(entries []T)

	// syncing serialises reading the log forward; seen is the last change applied,
	// and began when the last sync that completed began.
	syncing sync.Mutex
	started bool
	seen    int64
	began   time.Time

	// writing serialises this process's appends; next is the number it tries first.
	writing sync.Mutex
	next    int64
}

// markID is the _id of the change log's mark document; the changes' own _ids are
// zero-padded numbers.
const markID = "mark"

// markEvery is how many changes a writer appends between two writes of the mark, and
// so at most how many changes a start reads beyond it.
const markEvery = 64

type changeDoc[T any] struct {
	ID      string `bson:"_id"`
	Entries []T    `bson:"entries"`
}

type markDoc struct {
	ID   string `bson:"_id"`
	Seen int64  `bson:"seen"`
}

// NewMirror mirrors views, whose documents decode into T (project, if not nil,
// limits the start's read to T's fields), with its change log in the collection
// changes. apply receives entries read from the collection or the log, oldest change
// first, one caller at a time; it must keep the newer of an entry it holds and one
// it is given.
func NewMirror[T any](views *mongo.Collection, changes string, project bson.D, apply func(entries []T)) (*Mirror[T], error) {
	if views == nil || changes == "" || apply == nil {
		return nil, errors.New("store: mirror needs its view collection, a change log name and apply")
	}
	return &Mirror[T]{views: views, changes: views.Database().Collection(changes), project: project, apply: apply}, nil
}

// Changes returns the change log collection (for tests and operational queries).
func (m *Mirror[T]) Changes() *mongo.Collection { return m.changes }

func changeKey(n int64) string { return fmt.Sprintf("%012d", n) }

// Record appends entries, the new state of views already written, as the next change.
// A failure after the views were written leaves replicas without it until they start
// again, so callers whose writes are redelivered on error (a projection) record again.
func (m *Mirror[T]) Record(ctx context.Context, entries ...T) error {
	if len(entries) == 0 {
		return nil
	}
	m.writing.Lock()
	defer m.writing.Unlock()
	if m.next == 0 {
		mark, err := m.mark(ctx)
		if err != nil {
			return err
		}
		m.next = mark + 1
	}
	for {
		_, err := m.changes.InsertOne(ctx, changeDoc[T]{ID: changeKey(m.next), Entries: entries})
		if mongo.IsDuplicateKeyError(err) {
			// Another writer's change: the log has no gap before it. A writer far
			// behind skips to the mark rather than trying every number.
			mark, err := m.mark(ctx)
			if err != nil {
				return err
			}
			m.next = max(m.next+1, mark+1)
			continue
		}
		if err != nil {
			return fmt.Errorf("record change in %s: %w", m.changes.Name(), Classify(err))
		}
		break
	}
	n := m.next
	m.next++
	// This process holds its own change at once: a read after this write sees it
	// without reading it back (and a replica that is the only writer never does).
	m.syncing.Lock()
	if m.started {
		m.apply(entries)
		if m.seen == n-1 {
			m.seen = n
		}
	}
	m.syncing.Unlock()
	if n%markEvery == 0 {
		// Only a hint for starting readers: every change up to n is stored. An older
		// mark written over a newer one by another writer costs a start a few reads.
		_ = Replace(ctx, m.changes, markID, markDoc{ID: markID, Seen: n})
	}
	return nil
}

func (m *Mirror[T]) mark(ctx context.Context) (int64, error) {
	var d markDoc
	if _, err := FindByID(ctx, m.changes, markID, &d); err != nil {
		return 0, fmt.Errorf("read the mark of %s: %w", m.changes.Name(), err)
	}
	return d.Seen, nil
}

// Reread reads the view collection whole again and applies it, for entries written
// there without a change (by a writer of a version before the log).
func (m *Mirror[T]) Reread(ctx context.Context) error {
	m.syncing.Lock()
	defer m.syncing.Unlock()
	return m.readViews(ctx)
}

// readViews reads the view collection whole (its projected fields) and applies it;
// the caller holds syncing.
func (m *Mirror[T]) readViews(ctx context.Context) error {
	opts := options.Find()
	if m.project != nil {
		opts.SetProjection(m.project)
	}
	cur, err := m.views.Find(ctx, bson.D{}, opts)
	if err != nil {
		return fmt.Errorf("read %s: %w", m.views.Name(), Classify(err))
	}
	var all []T
	if err := cur.All(ctx, &all); err != nil {
		return fmt.Errorf("read %s: %w", m.views.Name(), Classify(err))
	}
	m.apply(all)
	return nil
}

// Sync brings the copy up to date with every change recorded before it was called:
// the first time by reading the collection, then by reading the log forward.
func (m *Mirror[T]) Sync(ctx context.Context) error {
	called := time.Now()
	m.syncing.Lock()
	defer m.syncing.Unlock()
	if m.began.After(called) {
		return nil // a sync that began after this call has just read what it would
	}
	began := time.Now()
	if !m.started {
		mark, err := m.mark(ctx)
		if err != nil {
			return err
		}
		if err := m.readViews(ctx); err != nil {
			return err
		}
		m.started, m.seen = true, mark
	}
	// Read ahead a few numbers at once when the log is behind (after a burst of
	// other replicas' writes), one at a time when it is not.
	window := 1
	for {
		changes := make([]changeDoc[T], window)
		found := make([]bool, window)
		g, gctx := errgroup.WithContext(ctx)
		for i := range window {
			g.Go(func() error {
				var err error
				found[i], err = FindByID(gctx, m.changes, changeKey(m.seen+1+int64(i)), &changes[i])
				if err != nil {
					return fmt.Errorf("read change %d of %s: %w", m.seen+1+int64(i), m.changes.Name(), err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i := range window {
			if !found[i] {
				m.began = began
				return nil
			}
			m.apply(changes[i].Entries)
			m.seen++
		}
		window = min(window*2, 16)
	}
}
