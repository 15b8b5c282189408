package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// catalogue holds, in memory, the ids in one aggregate type's catalogue collection,
// kept current through a Mirror of it, so that listing the type (a page of the
// reviewer pool, every round) costs one lookup that finds nothing when no aggregate
// of the type was made since, not a read of one document per aggregate.
//
// The writer of a catalogue entry records it in the mirror's change log before the
// aggregate's first commit, so every aggregate that exists is in every replica's
// copy once that replica syncs. Writers of versions before the log did not record:
// during a rolling upgrade from one, the collection is also read whole every
// catalogueReread, and an aggregate they made shows within that time.
type catalogue struct {
	mirror *Mirror[catalogueEntry]

	mu sync.Mutex
	// ids is sorted, and never changed in place: a caller may hold it while an
	// entry is added.
	ids []string
	// synced is when the last sync that completed began; reread when the collection
	// was last read whole.
	synced time.Time
	reread time.Time
}

type catalogueEntry struct {
	ID string `bson:"_id"`
}

// catalogueReread is how often a catalogue is read whole, for entries written
// without a change (see catalogue). A variable for the tests.
var catalogueReread = 5 * time.Minute

func newCatalogue(s *EventStore, aggregateType string) *catalogue {
	c := &catalogue{}
	coll := s.catalog(aggregateType)
	m, err := NewMirror(coll, coll.Name()+"_changes", nil, c.add)
	if err != nil {
		panic(err) // NewMirror refuses only a nil collection, no name or no apply
	}
	c.mirror = m
	return c
}

// add takes entries into ids.
func (c *catalogue) add(entries []catalogueEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		i, found := slices.BinarySearch(c.ids, e.ID)
		if !found {
			c.ids = slices.Insert(slices.Clip(c.ids), i, e.ID)
		}
	}
}

// catalogueOf is the catalogue of a type named to Catalogue, or nil.
func (s *EventStore) catalogueOf(aggregateType string) *catalogue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catalogued[aggregateType]
}

// catalogueIDs is the type's catalogue in id order, at most maxAge behind other
// processes' changes (0: synced now). The slice is shared: a caller must not change it.
func (s *EventStore) catalogueIDs(ctx context.Context, aggregateType string, maxAge time.Duration) ([]string, error) {
	c := s.catalogueOf(aggregateType)
	if c == nil {
		return nil, fmt.Errorf("the type %s is not catalogued (see EventStore.Catalogue)", aggregateType)
	}
	now := time.Now()
	c.mu.Lock()
	ids, synced, reread := c.ids, c.synced, c.reread
	c.mu.Unlock()
	if maxAge > 0 && !synced.IsZero() && now.Sub(synced) <= maxAge {
		return ids, nil
	}
	if err := c.mirror.Sync(ctx); err != nil {
		return nil, err
	}
	whole := reread.IsZero() // the mirror's first sync reads the collection whole
	if !whole && now.Sub(reread) >= catalogueReread {
		if err := c.mirror.Reread(ctx); err != nil {
			return nil, err
		}
		whole = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if whole && now.After(c.reread) {
		c.reread = now
	}
	if now.After(c.synced) {
		c.synced = now
	}
	return c.ids, nil
}
