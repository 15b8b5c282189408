package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

type entry struct {
	ID      string `bson:"_id"`
	Version int    `bson:"version"`
}

// copyOf is what a service keeps of a mirrored collection.
type copyOf struct {
	mu      sync.Mutex
	entries map[string]entry
}

func (c *copyOf) apply(es []entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range es {
		if e.Version > c.entries[e.ID].Version {
			c.entries[e.ID] = e
		}
	}
}

func (c *copyOf) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func mirrorOf(t *testing.T, db *mongo.Database) (*store.Mirror[entry], *copyOf) {
	t.Helper()
	c := &copyOf{entries: map[string]entry{}}
	m, err := store.NewMirror(db.Collection("views"), "views_changes", bson.D{{Key: "version", Value: 1}}, c.apply)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// put writes a view and records it, as a projection does.
func put(t *testing.T, m *store.Mirror[entry], e entry) {
	t.Helper()
	ctx := context.Background()
	if _, err := m.Changes().Database().Collection("views").ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.ID}}, e, options.Replace().SetUpsert(true)); err != nil {
		t.Fatal(err)
	}
	if err := m.Record(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// TestAMirrorFollowsChangesByIDWhateverTheCollectionHolds: once started, a replica
// brings its copy up to date with one lookup by _id when nothing changed, and one
// more per change, with 10 views or with 200; a restart reads the collection once.
func TestAMirrorFollowsChangesByIDWhateverTheCollectionHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, size := range []int{10, 200} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			db, counted := testenv.MonitoredDB(t, "")
			writer, _ := mirrorOf(t, db)
			for i := range size {
				put(t, writer, entry{ID: fmt.Sprintf("v%04d", i), Version: 1})
			}
			reader, copied := mirrorOf(t, db) // a replica starting
			before := counted.Now()
			if err := reader.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			start := counted.Now().Sub(before)
			if copied.len() != size {
				t.Fatalf("started with %d entries, want %d", copied.len(), size)
			}
			if start.Docs > size+1+64 {
				t.Errorf("the start read %d documents, want at most the %d views, the mark and the changes after it", start.Docs, size)
			}
			before = counted.Now()
			for range 10 {
				if err := reader.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if idle := counted.Now().Sub(before); idle.Finds != 10 || idle.Docs != 0 {
				t.Errorf("10 syncs with nothing changed: %d finds returning %d documents, want 10 returning none", idle.Finds, idle.Docs)
			}
			put(t, writer, entry{ID: "v0000", Version: 2})
			put(t, writer, entry{ID: "new", Version: 1})
			before = counted.Now()
			if err := reader.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if changed := counted.Now().Sub(before); changed.Finds != 3 || changed.Docs != 2 {
				t.Errorf("a sync after 2 changes: %d finds returning %d documents, want 3 returning the 2 changes", changed.Finds, changed.Docs)
			}
			copied.mu.Lock()
			defer copied.mu.Unlock()
			if copied.entries["v0000"].Version != 2 || copied.entries["new"].Version != 1 || len(copied.entries) != size+1 {
				t.Errorf("after the changes: v0000 at %d, new at %d, %d entries", copied.entries["v0000"].Version, copied.entries["new"].Version, len(copied.entries))
			}
		})
	}
}

// TestRacingWritersLoseNoChange: replicas recording at once each take a number of
// their own, so a reader sees every change.
func TestRacingWritersLoseNoChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testenv.MonitoredDB(t, "")
	reader, copied := mirrorOf(t, db)
	if err := reader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 20
	var wg sync.WaitGroup
	for w := range writers {
		writer, _ := mirrorOf(t, db)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := writer.Record(ctx, entry{ID: fmt.Sprintf("w%d-%d", w, i), Version: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := reader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if copied.len() != writers*each {
		t.Fatalf("the reader holds %d entries, want all %d recorded", copied.len(), writers*each)
	}
}
