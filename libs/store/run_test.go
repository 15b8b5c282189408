package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/itss/techcommit/libs/store"
	"github.com/itss/techcommit/libs/testenv"
)

type runDoc struct {
	ID   string `bson:"_id"`
	What string `bson:"what"`
}

// Writers adding to one run at once, each of 8 entries twice: every entry is in the
// run once, at numbers 0 to 7 with none missing, and a full run says so.
func TestARunTakesWritersAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	run := store.Run[runDoc]{Coll: db.Collection("runs"), ID: func(n int) string { return fmt.Sprintf("owner#%d", n) }, Max: 8}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			what := fmt.Sprintf("entry %d", i%8)
			if _, err := run.Add(ctx, func(d runDoc) bool { return d.What == what }, func(id string) runDoc { return runDoc{ID: id, What: what} }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := run.Read(ctx)
	if !errors.Is(err, store.ErrRunFull) || len(got) != 8 {
		t.Fatalf("the run read %d (%v), want 8 and full", len(got), err)
	}
	seen := map[string]bool{}
	for n, d := range got {
		if d.ID != fmt.Sprintf("owner#%d", n) || seen[d.What] {
			t.Errorf("place %d: %+v (seen before: %v)", n, d, seen[d.What])
		}
		seen[d.What] = true
	}
	if _, err := run.Add(ctx, func(runDoc) bool { return false }, func(id string) runDoc { return runDoc{ID: id, What: "ninth"} }); !errors.Is(err, store.ErrRunFull) {
		t.Errorf("a ninth entry: %v, want the run full", err)
	}
}
